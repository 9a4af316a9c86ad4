use auth_core::{AuthResult, AfterAuth};

#[auth_core::after_authentication]
async fn check(cx: &AfterAuth) -> AuthResult<()> {
    let counter = std::rc::Rc::new(1);
    std::future::ready(()).await;
    let _ = (cx, counter);
    Ok(())
}

fn main() {}
