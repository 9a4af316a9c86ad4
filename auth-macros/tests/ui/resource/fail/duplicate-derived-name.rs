#[derive(Clone, Copy, auth_core::Resource)]
#[allow(non_camel_case_types)]
enum Res {
    AuthHandler,
    Auth_Handler,
}

fn main() {}
