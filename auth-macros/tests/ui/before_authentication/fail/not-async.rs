use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
fn check(cx: &mut BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
