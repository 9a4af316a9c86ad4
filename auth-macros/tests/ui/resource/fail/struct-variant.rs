#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    Thing,
    Other { id: u32 },
}

fn main() {}
