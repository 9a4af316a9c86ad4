use auth_core::{AuthResult, BeforeAuth};

#[auth_core::before_authentication]
async fn check(cx: &mut BeforeAuth) -> AuthResult<()> {
    let counter = std::rc::Rc::new(1);
    std::future::ready(()).await;
    let _ = (cx, counter);
    Ok(())
}

fn main() {}
