use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check<T>(cx: &mut BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
