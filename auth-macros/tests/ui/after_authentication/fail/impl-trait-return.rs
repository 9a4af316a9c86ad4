use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication]
async fn check(cx: &AfterAuth) -> impl Sized {
    let _ = cx;
}

fn main() {
    let _: AuthResult<()> = Ok(());
}
