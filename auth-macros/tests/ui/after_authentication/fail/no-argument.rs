use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication]
async fn check() -> AuthResult<()> {
    Ok(())
}

fn main() {
    let _ = std::any::type_name::<AfterAuth>();
}
