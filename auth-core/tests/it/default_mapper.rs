//! The default claims mapping: which claim lands where in the principal,
//! and which shapes deny the token. The handler moves claims out of a token
//! it has just verified (`map_owned`); a cached token is mapped through
//! `ClaimsMapper::map`; both must give the same principal.

use auth_core::jwt::{ClaimsMapper, DefaultClaimsMapper};
use auth_core::{AuthError, AuthMethod, Principal};
use serde_json::{Map, Value, json};

fn claims(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Maps both ways and checks they agree.
fn map(v: Value) -> Result<Principal, AuthError> {
    let c = claims(v);
    let borrowed = DefaultClaimsMapper.map(&c);
    let owned = DefaultClaimsMapper::map_owned(c);
    match (&borrowed, &owned) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("the two mappings disagree: {borrowed:?} / {owned:?}"),
    }
    owned
}

#[test]
fn name_takes_precedence_over_username_and_the_id_is_the_fallback() {
    let p = map(json!({"sub": "u1", "name": "Alice", "username": "alice"})).expect("maps");
    assert_eq!((p.id.as_str(), p.name.as_str()), ("u1", "Alice"));
    let p = map(json!({"sub": "u1", "username": "alice"})).expect("maps");
    assert_eq!(p.name, "alice");
    let p = map(json!({"sub": "u1"})).expect("maps");
    assert_eq!(p.name, "u1");
    assert_eq!(p.method, AuthMethod::Jwt);
}

#[test]
fn permissions_in_either_form_are_canonicalized_and_bad_names_dropped() {
    let p = map(json!({
        "sub": "u",
        "permissions": {"conversation": ["read", "Write"], "my-files": ["LIST"], "BAD NAME": ["READ"]}
    }))
    .expect("maps");
    assert!(p.permissions.contains_names("CONVERSATION", "READ"));
    assert!(p.permissions.contains_names("CONVERSATION", "WRITE"));
    assert!(p.permissions.contains_names("MY_FILES", "LIST"));
    assert_eq!(p.permissions.iter().count(), 3);

    let p =
        map(json!({"sub": "u", "permissions": ["conversation:read", "users:list"]})).expect("maps");
    assert!(p.permissions.contains_names("CONVERSATION", "READ"));
    assert!(p.permissions.contains_names("USERS", "LIST"));
}

#[test]
fn scope_items_are_permissions_or_plain_scopes() {
    let p = map(json!({"sub": "u", "scope": "openid conversation:read  profile"})).expect("maps");
    assert!(p.permissions.contains_names("CONVERSATION", "READ"));
    assert_eq!(
        p.scopes.iter().map(String::as_str).collect::<Vec<_>>(),
        ["openid", "profile"]
    );
}

#[test]
fn jti_exp_and_roles_are_mapped_and_only_other_claims_are_extra() {
    let p = map(json!({
        "sub": "u", "jti": "t-1", "exp": 2_000_000_000i64, "iat": 1, "iss": "me",
        "roles": ["admin", "ops"], "tenant": "acme", "plan": {"tier": 2}
    }))
    .expect("maps");
    assert_eq!(p.token_id.as_deref(), Some("t-1"));
    assert_eq!(p.expires_at, Some(2_000_000_000));
    assert!(p.roles.contains("admin") && p.roles.contains("ops"));
    let mut extra: Vec<&str> = p.extra.keys().map(String::as_str).collect();
    extra.sort_unstable();
    assert_eq!(extra, ["plan", "tenant"]);
    assert_eq!(p.extra["plan"], json!({"tier": 2}));
}

#[test]
fn a_claim_of_the_wrong_shape_denies_the_token() {
    for bad in [
        json!({}),
        json!({"sub": ""}),
        json!({"sub": 7}),
        json!({"sub": "u", "name": 1}),
        json!({"sub": "u", "username": ["a"]}),
        json!({"sub": "u", "permissions": "conversation:read"}),
        json!({"sub": "u", "permissions": {"CONVERSATION": "READ"}}),
        json!({"sub": "u", "permissions": {"CONVERSATION": [1]}}),
        json!({"sub": "u", "permissions": ["not-a-scope"]}),
        json!({"sub": "u", "roles": "admin"}),
        json!({"sub": "u", "roles": [1]}),
        json!({"sub": "u", "scope": ["openid"]}),
    ] {
        let shown = bad.to_string();
        match map(bad) {
            Err(AuthError::InvalidCredentials) => {}
            other => panic!("{shown} was not refused: {other:?}"),
        }
    }
}
