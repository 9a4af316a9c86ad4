#[derive(Clone, Copy, auth_core::Permission)]
enum Res<const N: usize> {
    Thing,
}

fn main() {}
