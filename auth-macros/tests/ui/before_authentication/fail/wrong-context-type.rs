use auth_core::{AfterAuth, AuthResult};

#[auth_core::before_authentication]
async fn check(cx: &AfterAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
