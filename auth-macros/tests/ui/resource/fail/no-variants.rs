#[derive(Clone, Copy, auth_core::Resource)]
enum Res {}

fn main() {}
