use auth_core::AuthResult;

#[auth_core::after_authentication]
async fn check(cx: impl std::any::Any) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
