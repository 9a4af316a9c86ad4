use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check(cx: &mut BeforeAuth, extra: u32) -> AuthResult<()> {
    let _ = (cx, extra);
    Ok(())
}

fn main() {}
