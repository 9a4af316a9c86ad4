use super::*;

#[test]
fn small_announcement_carries_the_tokens() {
    let event = RevocationEvent::Tokens(vec![("abc".into(), 5)]);
    let back: RevocationEvent = serde_json::from_str(&event.payload()).expect("parse");
    assert_eq!(back, event);
}

#[test]
fn oversized_announcement_asks_for_a_reload() {
    let many = (0..1000).map(|i| (format!("jti-{i:020}"), 1)).collect();
    let payload = RevocationEvent::Tokens(many).payload();
    assert!(payload.len() <= RevocationEvent::MAX_PAYLOAD);
    let back: RevocationEvent = serde_json::from_str(&payload).expect("parse");
    assert_eq!(back, RevocationEvent::Reload);
}
