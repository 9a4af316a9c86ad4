use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check(cx: BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
