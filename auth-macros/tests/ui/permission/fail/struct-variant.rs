#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    Thing,
    Other { id: u32 },
}

fn main() {}
