//! `#[derive(Resource)]` and `#[derive(Permission)]`: names on the wire, in
//! scopes, `all()`, `Display` and `FromStr`.

use auth_core::permission::PermissionError;
use auth_core::{AuthPermission, Permission, PermissionSet, Resource, Scope};

#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
enum Res {
    Conversation,
    AuthHandler,
    HTTPServer,
    #[resource(rename = "kb")]
    KnowledgeBase,
    #[resource(rename = "LEGACY_V1")]
    Legacy,
}

#[derive(Permission, Debug, Clone, Copy, PartialEq, Eq)]
enum Perm {
    Read,
    Write,
    #[permission(rename = "approve_payment")]
    Approve,
}

#[test]
fn variants_are_named_in_screaming_snake_case() {
    assert_eq!(Res::Conversation.name(), "CONVERSATION");
    assert_eq!(Res::AuthHandler.name(), "AUTH_HANDLER");
    assert_eq!(Res::HTTPServer.name(), "HTTP_SERVER");
    assert_eq!(Perm::Write.name(), "WRITE");
}

#[test]
fn renames_are_normalized_to_upper_case() {
    assert_eq!(Res::KnowledgeBase.name(), "KB");
    assert_eq!(Res::Legacy.name(), "LEGACY_V1");
    assert_eq!(Perm::Approve.name(), "APPROVE_PAYMENT");
}

#[test]
fn all_lists_the_variants_in_declaration_order() {
    assert_eq!(
        Res::all(),
        [
            Res::Conversation,
            Res::AuthHandler,
            Res::HTTPServer,
            Res::KnowledgeBase,
            Res::Legacy
        ]
    );
    assert_eq!(Perm::all(), [Perm::Read, Perm::Write, Perm::Approve]);
}

#[test]
fn scopes_use_the_lower_case_form() {
    assert_eq!(
        Scope::new(Res::AuthHandler, Perm::Approve).to_string(),
        "auth_handler:approve_payment"
    );
    let parsed: Scope = "knowledge_base:read".parse().expect("scope");
    assert_ne!(parsed, Scope::new(Res::KnowledgeBase, Perm::Read));
    let parsed: Scope = "kb:read".parse().expect("scope");
    assert_eq!(parsed, Scope::new(Res::KnowledgeBase, Perm::Read));
}

#[test]
fn display_prints_the_wire_name_and_honours_width() {
    assert_eq!(Res::AuthHandler.to_string(), "AUTH_HANDLER");
    assert_eq!(format!("{:>8}|", Perm::Read), "    READ|");
}

#[test]
fn from_str_takes_the_wire_name_in_any_case() {
    assert_eq!("auth_handler".parse::<Res>(), Ok(Res::AuthHandler));
    assert_eq!("KB".parse::<Res>(), Ok(Res::KnowledgeBase));
    assert_eq!("Approve_Payment".parse::<Perm>(), Ok(Perm::Approve));
    assert_eq!(
        "KnowledgeBase".parse::<Res>(),
        Err(PermissionError::Unknown("KnowledgeBase".into())),
        "the variant's own name is not a wire name once renamed"
    );
}

#[test]
fn derived_enums_mix_with_the_built_in_ones_in_a_permission_set() {
    let mut set = PermissionSet::full_of::<Res, Perm>();
    assert_eq!(set.iter().count(), 5 * 3);
    assert!(set.contains(Res::HTTPServer, Perm::Approve));
    assert!(set.contains_names("AUTH_HANDLER", "WRITE"));
    set.insert(Res::Conversation, AuthPermission::Delete);
    assert!(set.contains_scope(&"conversation:delete".parse().expect("scope")));
    let json = serde_json::to_value(&set).expect("json");
    assert_eq!(
        json["KB"],
        serde_json::json!(["APPROVE_PAYMENT", "READ", "WRITE"])
    );
}
