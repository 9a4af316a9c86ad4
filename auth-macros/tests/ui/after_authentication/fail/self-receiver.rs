use auth_core::{AuthResult, AfterAuth};

struct Hooks;

impl Hooks {
    #[auth_core::after_authentication]
    async fn check(&self, cx: &AfterAuth) -> AuthResult<()> {
        let _ = cx;
        Ok(())
    }
}

fn main() {}
