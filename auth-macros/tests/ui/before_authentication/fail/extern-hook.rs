use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async extern "C" fn check(cx: &mut BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
