use auth_core::{BeforeAuth, AuthResult};

#[auth_core::after_authentication]
async fn check(cx: &mut BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
