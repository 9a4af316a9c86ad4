#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    #[resource(rename = THING)]
    Thing,
}

fn main() {}
