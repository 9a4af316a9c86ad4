//! `#[derive(Resource)]`: names, renames, raw identifiers, parsing and scopes.

use auth_core::{Permission as _, Resource, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Resource)]
enum Res {
    Conversation,
    AuthHandler,
    #[resource(rename = "kb")]
    KnowledgeBase,
    #[deprecated = "use Conversation"]
    Chat,
    r#Static,
}

#[test]
fn expands_and_runs() {
    assert_eq!(Res::AuthHandler.name(), "AUTH_HANDLER");
    assert_eq!(Res::KnowledgeBase.to_string(), "KB");
    assert_eq!(Res::r#Static.name(), "STATIC");
    assert_eq!(Res::all().len(), 5);
    assert_eq!("auth_handler".parse::<Res>(), Ok(Res::AuthHandler));
    let scope = Scope::new(Res::AuthHandler, auth_core::AuthPermission::Read);
    assert_eq!(scope.to_string(), "auth_handler:read");
    let _ = auth_core::AuthPermission::Read.name();
}
