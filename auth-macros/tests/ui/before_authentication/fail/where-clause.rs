use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check(cx: &mut BeforeAuth) -> AuthResult<()>
where
    u8: Copy,
{
    let _ = cx;
    Ok(())
}

fn main() {}
