#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    #[permission(rname = "OTHER")]
    Thing,
}

fn main() {}
