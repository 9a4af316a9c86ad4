#[derive(Clone, Copy, auth_core::Resource)]
#[resource(rename = "THINGS")]
enum Res {
    Thing,
}

fn main() {}
