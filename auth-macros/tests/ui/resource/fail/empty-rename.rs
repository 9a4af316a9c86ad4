#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    #[resource(rename = "")]
    Thing,
}

fn main() {}
