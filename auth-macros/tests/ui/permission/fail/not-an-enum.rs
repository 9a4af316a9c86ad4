#[derive(auth_core::Permission)]
struct Res {
    name: String,
}

fn main() {}
