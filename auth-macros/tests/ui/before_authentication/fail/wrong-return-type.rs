use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check(cx: &mut BeforeAuth) -> Result<(), String> {
    let _ = cx;
    Ok(())
}

fn main() {
    let _: AuthResult<()> = Ok(());
}
