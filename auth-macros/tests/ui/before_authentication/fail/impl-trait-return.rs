use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check(cx: &mut BeforeAuth) -> impl Sized {
    let _ = cx;
}

fn main() {
    let _: AuthResult<()> = Ok(());
}
