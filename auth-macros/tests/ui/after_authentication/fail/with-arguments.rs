use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication(order = 1)]
async fn check(cx: &AfterAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
