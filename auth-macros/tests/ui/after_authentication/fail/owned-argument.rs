use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication]
async fn check(cx: AfterAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
