#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    #[resource(rename = "ONE")]
    #[resource(rename = "TWO")]
    Thing,
}

fn main() {}
