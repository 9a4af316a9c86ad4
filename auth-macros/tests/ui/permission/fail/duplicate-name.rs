#[derive(Clone, Copy, auth_core::Permission)]
enum Res {
    Thing,
    #[permission(rename = "thing")]
    OtherThing,
}

fn main() {}
