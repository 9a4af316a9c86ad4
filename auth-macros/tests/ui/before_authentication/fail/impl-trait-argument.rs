use auth_core::AuthResult;

#[auth_core::before_authentication]
async fn check(cx: impl std::any::Any) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

fn main() {}
