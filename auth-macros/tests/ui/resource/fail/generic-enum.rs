#[derive(Clone, Copy, auth_core::Resource)]
enum Res<const N: usize> {
    Thing,
}

fn main() {}
