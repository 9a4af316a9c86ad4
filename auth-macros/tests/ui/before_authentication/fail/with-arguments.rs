use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication(order = 1)]
async fn check(cx: &mut BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
