use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication]
async fn check(cx: &AfterAuth) -> Result<(), String> {
    let _ = cx;
    Ok(())
}

fn main() {
    let _: AuthResult<()> = Ok(());
}
