#[auth_poem::api]
struct Api;

fn main() {}
