#[derive(auth_core::Resource)]
struct Res {
    name: String,
}

fn main() {}
