#[auth_core::before_authentication]
struct Check;

fn main() {}
