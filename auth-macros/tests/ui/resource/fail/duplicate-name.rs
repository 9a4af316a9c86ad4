#[derive(Clone, Copy, auth_core::Resource)]
enum Res {
    Thing,
    #[resource(rename = "thing")]
    OtherThing,
}

fn main() {}
