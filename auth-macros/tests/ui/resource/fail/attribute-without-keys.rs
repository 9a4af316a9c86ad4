#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    #[resource]
    Thing,
}

fn main() {}
