#[derive(Clone, Copy, auth_core::Permission)]
#[allow(non_camel_case_types)]
enum Res {
    AuthHandler,
    Auth_Handler,
}

fn main() {}
