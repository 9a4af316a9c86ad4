#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    Thing,
    Other(u32),
}

fn main() {}
