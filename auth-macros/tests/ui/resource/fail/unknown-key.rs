#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    #[resource(rname = "OTHER")]
    Thing,
}

fn main() {}
