#[derive(auth_core::Resource)]
enum Res {
    Thing,
}

fn main() {}
