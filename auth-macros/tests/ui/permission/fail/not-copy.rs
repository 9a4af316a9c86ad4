#[derive(auth_core::Permission)]
enum Res {
    Thing,
}

fn main() {}
