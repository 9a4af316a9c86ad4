use serde_json::json;

use super::*;

#[test]
fn a_switchable_handler_answers_at_once_as_its_active_handler_does() {
    let slot = SwitchableHandler::new();
    let key = Credential::api_key("k-1");
    let cx = AuthContext::http();
    // Empty: not mine, at once.
    assert!(matches!(slot.authorize_now(&key, &cx), Some(Ok(None))));
    slot.activate(
        "keys",
        Arc::new(crate::ApiKeyHandler::builder().http_key("k-1").build()),
    );
    let answer = slot.authorize_now(&key, &cx).expect("an answer at once");
    assert!(answer.expect("accepted").is_some());
    let wrong = slot.authorize_now(&Credential::api_key("k-2"), &cx);
    assert!(matches!(wrong, Some(Ok(None))));
}

#[test]
fn secrets_are_found_by_schema_and_by_name() {
    let schema = json!({
        "type": "object",
        "properties": {
            "url": {"type": "string"},
            "pin": {"type": "string", "writeOnly": true},
            "pass": {"type": "string", "format": "password"},
            "clientSecret": {"type": "string"},
            "nested": {"$ref": "#/$defs/Nested"},
            "keys": {"type": "array"}
        },
        "$defs": {"Nested": {"type": "object", "properties": {"api_key": {"type": "string"}, "host": {"type": "string"}}}}
    });
    let mut v = json!({
        "url": "https://idp", "pin": "1", "pass": "2", "clientSecret": "3",
        "nested": {"api_key": "4", "host": "h"}, "keys": ["5", "6"], "unset_token": null
    });
    mask(&mut v, &schema, &schema, false);
    assert_eq!(
        v,
        json!({
            "url": "https://idp", "pin": MASK, "pass": MASK, "clientSecret": MASK,
            "nested": {"api_key": MASK, "host": "h"}, "keys": MASK, "unset_token": null
        })
    );
}

#[test]
fn a_masked_secret_sent_back_keeps_the_stored_one() {
    let schema = json!({"type": "object", "properties": {"nested": {"type": "object"}}});
    let stored = json!({"password": "old", "nested": {"token": "t"}, "url": "u"});
    let mut sent = json!({"password": MASK, "nested": {"token": MASK}, "url": "new"});
    unmask(&mut sent, Some(&stored), &schema, &schema, "").expect("unmasked");
    assert_eq!(
        sent,
        json!({"password": "old", "nested": {"token": "t"}, "url": "new"})
    );
}

#[test]
fn a_mask_without_stored_secret_is_invalid_at_its_field() {
    let schema = json!({"type": "object"});
    let mut sent = json!({"password": MASK});
    let err = unmask(&mut sent, None, &schema, &schema, "").expect_err("nothing stored");
    let SwitchError::Invalid(fields) = err else {
        panic!("not a field error: {err:?}");
    };
    assert_eq!(fields[0].path, "/password");
}

#[test]
fn a_non_secret_field_keeps_a_literal_mask() {
    let schema = json!({"type": "object"});
    let mut sent = json!({"greeting": MASK});
    unmask(
        &mut sent,
        Some(&json!({"greeting": "hi"})),
        &schema,
        &schema,
        "",
    )
    .expect("unmasked");
    assert_eq!(sent, json!({"greeting": MASK}));
}
