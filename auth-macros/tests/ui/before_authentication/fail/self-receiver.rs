use auth_core::{AuthResult, BeforeAuth};

struct Hooks;

impl Hooks {
    #[auth_core::before_authentication]
    async fn check(&self, cx: &mut BeforeAuth) -> AuthResult<()> {
        let _ = cx;
        Ok(())
    }
}

fn main() {}
