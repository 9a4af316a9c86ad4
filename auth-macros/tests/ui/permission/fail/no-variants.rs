#[derive(Clone, Copy, auth_core::Permission)]
enum Res {}

fn main() {}
