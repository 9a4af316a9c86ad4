use super::*;
use AuthPermission as P;
use AuthResource as R;

#[test]
fn every_empty_set_is_the_same_set_however_it_was_made() {
    let made = [
        PermissionSet::new(),
        PermissionSet::default(),
        PermissionSet::from(BTreeMap::new()),
        serde_json::from_str("{}").expect("empty map"),
        PermissionSet::from_scope_string("").expect("no scopes"),
    ];
    for set in &made {
        assert_eq!(set, &made[0]);
        assert!(set.is_empty());
        assert_eq!(set.iter().count(), 0);
        assert!(!set.contains(R::Conversation, P::Read));
        assert_eq!(serde_json::to_string(set).expect("json"), "{}");
        assert_eq!(format!("{set:?}"), "PermissionSet { map: {} }");
        assert_eq!(set.union(&PermissionSet::base()), PermissionSet::base());
        assert_eq!(PermissionSet::base().union(set), PermissionSet::base());
    }
    assert_ne!(made[0], PermissionSet::base());
    let mut grown = PermissionSet::new();
    grown.insert(R::Status, P::Read);
    assert!(grown.contains(R::Status, P::Read));
    assert_ne!(grown, made[0]);
}

#[test]
fn base_preset_matches_the_chat_server_defaults() {
    let base = PermissionSet::base();
    assert!(base.contains(R::Status, P::Read));
    assert!(!base.contains(R::Status, P::Write));
    assert!(base.contains(R::Memory, P::Read));
    assert!(base.contains(R::Memory, P::List));
    assert!(!base.contains(R::Memory, P::Delete));
    for p in AuthPermission::all() {
        assert!(base.contains(R::Conversation, *p), "{p}");
    }
    assert!(base.contains(R::Static, P::Read));
    assert!(!base.contains(R::Users, P::Read));
    assert_eq!(base.iter().count(), 1 + 2 + 5 + 1);
}

#[test]
fn full_preset_grants_every_pair() {
    let full = PermissionSet::full();
    assert_eq!(
        full.iter().count(),
        AuthResource::all().len() * AuthPermission::all().len()
    );
    assert!(full.contains(R::AuthHandler, P::Delete));
    assert!(full.is_superset(&PermissionSet::base()));
    assert!(!PermissionSet::base().is_superset(&full));
}

#[test]
fn union_holds_both_sides() {
    let a: PermissionSet = [(R::Users, P::Read)].into_iter().collect();
    let b: PermissionSet = [(R::Users, P::List), (R::Llm, P::Edit)]
        .into_iter()
        .collect();
    let u = a.union(&b);
    assert!(u.contains(R::Users, P::Read));
    assert!(u.contains(R::Users, P::List));
    assert!(u.contains(R::Llm, P::Edit));
    assert!(!u.contains(R::Llm, P::Read));
    assert_eq!(u.iter().count(), 3);
}

#[test]
fn serializes_as_upper_case_resource_map() {
    let set: PermissionSet = [(R::Conversation, P::Read), (R::Conversation, P::Write)]
        .into_iter()
        .collect();
    let json = serde_json::to_value(&set).unwrap();
    assert_eq!(json, serde_json::json!({"CONVERSATION": ["READ", "WRITE"]}));
    let back: PermissionSet =
        serde_json::from_value(serde_json::json!({"conversation": ["read", "write"]})).unwrap();
    assert_eq!(back, set);
}

#[test]
fn deserializing_drops_invalid_names_and_resources_left_empty() {
    let set: PermissionSet = serde_json::from_value(serde_json::json!({
        "my-files": ["list", "bad name", " read "],
        "bad name": ["READ"],
        "EMPTY": [],
        "ONLY_BAD": ["no!"]
    }))
    .unwrap();
    assert_eq!(
        serde_json::to_value(&set).unwrap(),
        serde_json::json!({"MY_FILES": ["LIST", "READ"]})
    );
}

#[test]
fn scope_parses_and_prints_lower_case() {
    let s: Scope = "Conversation:READ".parse().unwrap();
    assert_eq!(s.resource(), "CONVERSATION");
    assert_eq!(s.permission(), "READ");
    assert_eq!(s.to_string(), "conversation:read");
    let s: Scope = "auth-handler:edit".parse().unwrap();
    assert_eq!(s, Scope::new(R::AuthHandler, P::Edit));
    assert_eq!(s.to_string(), "auth_handler:edit");
}

#[test]
fn malformed_scopes_are_rejected() {
    for bad in [
        "conversation",
        ":read",
        "conversation:",
        "a b:read",
        "x:y:z",
        "é:read",
    ] {
        assert!(bad.parse::<Scope>().is_err(), "{bad} parsed");
    }
}

#[test]
fn scope_string_round_trips() {
    let set = PermissionSet::base();
    let text = set.to_scope_string();
    assert!(text.contains("conversation:write"));
    assert_eq!(PermissionSet::from_scope_string(&text).unwrap(), set);
    assert!(PermissionSet::from_scope_string("openid conversation:read").is_err());
}

#[test]
fn enum_names_parse_case_insensitively() {
    assert_eq!(
        "conversation".parse::<AuthResource>().unwrap(),
        R::Conversation
    );
    assert_eq!(
        "Auth_Handler".parse::<AuthResource>().unwrap(),
        R::AuthHandler
    );
    assert!("conversations".parse::<AuthResource>().is_err());
    assert_eq!(serde_json::to_string(&P::List).unwrap(), "\"LIST\"");
}

#[test]
fn application_enums_mix_with_defaults() {
    #[derive(Clone, Copy)]
    enum Billing {
        Invoice,
    }
    impl Resource for Billing {
        fn name(&self) -> &'static str {
            "INVOICE"
        }
        fn all() -> &'static [Self] {
            &[Billing::Invoice]
        }
    }
    let mut set = PermissionSet::full_of::<Billing, AuthPermission>();
    assert!(set.contains(Billing::Invoice, P::Delete));
    set.insert(R::Users, P::Read);
    assert!(set.contains_names("INVOICE", "READ"));
    assert!(set.contains(R::Users, P::Read));
}
