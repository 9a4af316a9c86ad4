use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async unsafe fn check(cx: &mut BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
