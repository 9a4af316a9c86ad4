use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check() -> AuthResult<()> {
    Ok(())
}

fn main() {
    let _ = std::any::type_name::<BeforeAuth>();
}
