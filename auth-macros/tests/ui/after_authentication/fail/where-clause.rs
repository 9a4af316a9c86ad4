use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication]
async fn check(cx: &AfterAuth) -> AuthResult<()>
where
    u8: Copy,
{
    let _ = cx;
    Ok(())
}

fn main() {}
