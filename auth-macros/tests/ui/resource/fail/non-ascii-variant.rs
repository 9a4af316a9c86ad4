#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    Café,
}

fn main() {}
