use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication]
async fn check(cx: &AfterAuth, extra: u32) -> AuthResult<()> {
    let _ = (cx, extra);
    Ok(())
}

fn main() {}
