#[auth_core::after_authentication]
struct Check;

fn main() {}
