//! The macros as reached through auth-poem's re-export of auth-core.
use auth_poem::auth_core::{self, AuthResult, BeforeAuth, Resource};

#[derive(Clone, Copy, Resource)]
enum Res {
    Conversation,
}

#[auth_core::before_authentication]
async fn hook(cx: &mut BeforeAuth) -> AuthResult<()> {
    let _ = cx;
    Ok(())
}

#[test]
fn expands_and_runs() {
    assert_eq!(Res::Conversation.name(), "CONVERSATION");
    let _ = auth_core::Pipeline::builder().before_authentication(hook);
}
