//! The JWT engine against the Wycheproof JSON Web Signature vectors
//! (`shared/testdata/wycheproof/json_web_signature_test.json`, C2SP/wycheproof).
//!
//! Each group's JWK becomes a [`JwtKey`] in a one-key [`KeySet`]; each compact
//! `jws` goes through a [`JwtValidator`] with [`Validation::signature_only`].
//!
//! Wycheproof tests a JWS verifier, and none of its payloads (`foo`, `Test`,
//! ...) is a JSON object, so our JWT engine refuses every one of them with
//! [`NOT_A_JSON_OBJECT`]. That refusal comes last, after structure, header,
//! key, signature and payload base64url have all been checked (see
//! `validate_with`), so it means "a valid JWS that is not a JWT". Counting it
//! as a plain rejection would make every `invalid` case pass whatever the
//! signature check did; it is therefore counted as the JWS being *accepted*,
//! and each such payload is checked independently to really not be a JSON
//! object.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use auth_core::jwt::{Algorithm, JwtKey, JwtRejection, JwtValidator, KeyError, KeySet, Validation};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The file, relative to this crate (the repository is cloned with `shared/` beside it).
const JWS_VECTORS: &str = "/../../shared/testdata/wycheproof/json_web_signature_test.json";

/// The validator's last check: everything before it passed.
const NOT_A_JSON_OBJECT: JwtRejection = JwtRejection::Malformed("claims are not a JSON object");

/// Fewer cases than this means the file was not really run.
const MIN_CASES: usize = 350;

/// The valid token the base64 quirk cases are built from.
const BASE64_REFERENCE_TC_ID: u32 = 357;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Suite {
    number_of_tests: usize,
    test_groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    comment: String,
    public: Option<Value>,
    private: Option<Value>,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    tc_id: u32,
    comment: String,
    jws: String,
    result: Expected,
    flags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expected {
    Valid,
    Invalid,
}

/// What our engine did with a case.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The JWK did not give a key, so nothing verifies.
    KeyRefused(KeyError),
    /// The token was refused before its payload was found to be a JWS.
    Rejected(JwtRejection),
    /// A valid JWS whose payload is not a JSON object, refused only as a JWT.
    ValidJwsNotJwt,
    /// A valid JWT.
    Accepted,
}

impl Outcome {
    /// Whether the JWS (signature, header, encoding) was accepted.
    fn accepts_jws(&self) -> bool {
        matches!(self, Outcome::ValidJwsNotJwt | Outcome::Accepted)
    }
}

/// The outcome an exception expects: the documented reason must be the real one.
#[derive(Debug)]
enum Because {
    /// The key cannot be built: its algorithm is not supported.
    KeyUnsupported,
    /// The token is refused for this reason.
    Rejected(JwtRejection),
    /// The JWS verifies (the label is wrong: a data defect).
    ValidJws,
}

impl Because {
    fn holds_for(&self, outcome: &Outcome) -> bool {
        match self {
            Because::KeyUnsupported => {
                matches!(outcome, Outcome::KeyRefused(KeyError::Unsupported(_)))
            }
            Because::Rejected(want) => outcome == &Outcome::Rejected(want.clone()),
            Because::ValidJws => outcome.accepts_jws(),
        }
    }
}

/// Cases whose outcome differs from their label, each with what the engine
/// does instead, so an exception cannot hide a mismatch for another reason.
/// An `invalid` case we accept is a security bug and never belongs here, unless
/// its token is byte-identical to a `valid` one (checked).
const EXCEPTIONS: &[(u32, Because)] = &[
    // Labelled valid: RFC 7520 Figure 20 is signed PS384 but the JWK pins `alg: PS256`; keys verify only their own alg.
    (346, Because::Rejected(JwtRejection::AlgorithmMismatch)),
    // Labelled valid: as 346 (the JWK has `key_ops: ["verify"]` instead of `use: sig`).
    (350, Because::Rejected(JwtRejection::AlgorithmMismatch)),
    // Labelled valid: ES512 / P-521 is not supported, so the `alg: ES521` JWK gives no key.
    (347, Because::KeyUnsupported),
    // Labelled valid: as 347 (with `key_ops: ["verify"]`).
    (351, Because::KeyUnsupported),
    // Labelled invalid: data defect, byte-identical to the valid tcId 357 (the padding it tests was lost).
    (367, Because::ValidJws),
    // Labelled invalid: data defect, byte-identical to the valid tcId 357 (the padding it tests was lost).
    (370, Because::ValidJws),
    // Labelled valid: tcId 357 with a `?` inside the header segment; lenient decoders skip it, we refuse non-base64url.
    (372, Because::Rejected(JwtRejection::Malformed("header"))),
    // Labelled valid: tcId 357 with a `?` after the payload; the MAC is checked over the segment as sent, `?` included.
    (373, Because::Rejected(JwtRejection::BadSignature)),
];

fn vectors_path() -> PathBuf {
    PathBuf::from(format!("{}{JWS_VECTORS}", env!("CARGO_MANIFEST_DIR")))
}

fn load_suite() -> Suite {
    let path = vectors_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!(
            "the Wycheproof JWS vectors are missing at {} ({e}); clone the repository \
             with `shared/` beside it (CARGO_MANIFEST_DIR + {JWS_VECTORS})",
            path.display()
        ),
    };
    serde_json::from_str(&text).expect("the Wycheproof JWS vectors parse as the v1 schema")
}

/// The group's verification key: `public`, else (HMAC groups) `private`.
fn group_jwk(group: &Group) -> &Value {
    group
        .public
        .as_ref()
        .or(group.private.as_ref())
        .expect("every Wycheproof JWS group has a `public` or `private` JWK")
}

/// The comment of the group whose HMAC key is all zeros.
const ZERO_KEY_GROUP: &str = "base64";

/// The group's key. The [`ZERO_KEY_GROUP`]'s secret is all zeros: loading
/// refuses it as guessable, as it must (see
/// `wycheproofs_all_zero_hmac_key_is_refused_as_guessable`); its cases test
/// the base64url decoder, not the key, so they run with the key loaded past
/// that one check.
fn group_key(group: &Group) -> Result<JwtKey, KeyError> {
    let jwk = group_jwk(group);
    match JwtKey::from_jwk(jwk) {
        Err(KeyError::WeakSecret(_)) if group.comment == ZERO_KEY_GROUP => {
            let alg = jwk["alg"]
                .as_str()
                .and_then(Algorithm::from_name)
                .expect("the zero-key JWK names its alg");
            let secret = URL_SAFE_NO_PAD
                .decode(jwk["k"].as_str().expect("an oct JWK has `k`"))
                .expect("`k` is base64url");
            let key = JwtKey::insecure_hmac_accepting_guessable_secret(alg, &secret)?;
            Ok(match jwk.get("kid").and_then(Value::as_str) {
                Some(kid) => key.with_kid(kid),
                None => key,
            })
        }
        loaded => loaded,
    }
}

fn run(key: Result<JwtKey, KeyError>, jws: &str) -> Outcome {
    let key = match key {
        Ok(key) => key,
        Err(e) => return Outcome::KeyRefused(e),
    };
    let validator = JwtValidator::new(KeySet::single(key), Validation::new().signature_only());
    match validator.validate(jws) {
        Ok(_) => Outcome::Accepted,
        Err(e) if e == NOT_A_JSON_OBJECT => Outcome::ValidJwsNotJwt,
        Err(e) => Outcome::Rejected(e),
    }
}

/// Whether the compact token's payload decodes to a JSON object, decided here
/// rather than by the engine.
fn payload_is_json_object(jws: &str) -> bool {
    let payload = jws
        .split('.')
        .nth(1)
        .expect("a compact token has a payload segment");
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .expect("a token the engine verified has a base64url payload");
    serde_json::from_slice::<Map<String, Value>>(&bytes).is_ok()
}

#[test]
fn wycheproof_jws_vectors_give_expected_results() {
    let suite = load_suite();
    let exceptions: BTreeMap<u32, &Because> = EXCEPTIONS.iter().map(|(id, b)| (*id, b)).collect();
    assert_eq!(
        exceptions.len(),
        EXCEPTIONS.len(),
        "an exception is listed twice"
    );
    let valid_tokens: BTreeSet<&str> = suite
        .test_groups
        .iter()
        .flat_map(|g| &g.tests)
        .filter(|c| c.result == Expected::Valid)
        .map(|c| c.jws.as_str())
        .collect();

    let (mut run_count, mut matched, mut excused, mut not_jwt) = (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for group in &suite.test_groups {
        for case in &group.tests {
            assert!(seen.insert(case.tc_id), "tcId {} appears twice", case.tc_id);
            run_count += 1;
            let outcome = run(group_key(group), &case.jws);
            match outcome {
                Outcome::ValidJwsNotJwt => {
                    not_jwt += 1;
                    assert!(
                        !payload_is_json_object(&case.jws),
                        "tcId {}: refused as not a JSON object, but its payload is one",
                        case.tc_id
                    );
                }
                Outcome::Accepted => assert!(
                    payload_is_json_object(&case.jws),
                    "tcId {}: accepted as a JWT, but its payload is not a JSON object",
                    case.tc_id
                ),
                _ => {}
            }
            let as_labelled = outcome.accepts_jws() == (case.result == Expected::Valid);
            match (as_labelled, exceptions.get(&case.tc_id)) {
                (true, None) => matched += 1,
                (true, Some(because)) => failures.push(format!(
                    "tcId {}: listed as an exception ({because:?}) but gives its labelled \
                     result ({outcome:?}): a stale entry, remove it from EXCEPTIONS",
                    case.tc_id
                )),
                (false, Some(because)) => {
                    if !because.holds_for(&outcome) {
                        failures.push(format!(
                            "tcId {}: mismatches as listed but for another reason: \
                             expected {because:?}, got {outcome:?}",
                            case.tc_id
                        ));
                    } else if case.result == Expected::Invalid
                        && !valid_tokens.contains(case.jws.as_str())
                    {
                        failures.push(format!(
                            "tcId {}: an invalid token we accept can only be excused as a \
                             copy of a valid one, and this one is not",
                            case.tc_id
                        ));
                    } else {
                        excused += 1;
                    }
                }
                (false, None) => failures.push(format!(
                    "tcId {} [{}] {} {:?} (flags {:?}): labelled {:?}, got {outcome:?}{}",
                    case.tc_id,
                    group.comment,
                    case.comment,
                    case.jws,
                    case.flags,
                    case.result,
                    if outcome.accepts_jws() {
                        "  <-- SECURITY: an invalid token was accepted"
                    } else {
                        ""
                    }
                )),
            }
        }
    }
    let missing: Vec<u32> = exceptions
        .keys()
        .filter(|id| !seen.contains(id))
        .copied()
        .collect();

    println!(
        "wycheproof JWS: {run_count} cases run, {matched} matched, {excused} exceptions \
         ({not_jwt} verified JWS refused only for a non-object payload)"
    );
    assert!(
        failures.is_empty(),
        "{} Wycheproof case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        missing.is_empty(),
        "EXCEPTIONS names tcIds not in the file: {missing:?}"
    );
    assert_eq!(
        run_count, suite.number_of_tests,
        "numberOfTests disagrees with the cases run"
    );
    assert!(
        run_count >= MIN_CASES,
        "only {run_count} cases ran, expected >= {MIN_CASES}"
    );
    assert_eq!(matched + excused, run_count);
    assert_eq!(excused, EXCEPTIONS.len());
}

fn find_case(suite: &Suite, tc_id: u32) -> (&Group, &Case) {
    suite
        .test_groups
        .iter()
        .flat_map(|g| g.tests.iter().map(move |c| (g, c)))
        .find(|(_, c)| c.tc_id == tc_id)
        .unwrap_or_else(|| panic!("tcId {tc_id} is in the file"))
}

/// The exceptions around tcId 357 are what their reasons say: 367 and 370 are
/// its exact bytes, 372 and 373 are it with one stray `?`; and the tokens 367
/// and 370 were meant to be (357 with base64 padding) are refused.
#[test]
fn wycheproof_base64_quirk_cases_are_variants_of_357_and_padding_is_refused() {
    let suite = load_suite();
    let (group, reference) = find_case(&suite, BASE64_REFERENCE_TC_ID);
    assert_eq!(reference.result, Expected::Valid);
    for tc_id in [367, 370] {
        let (_, case) = find_case(&suite, tc_id);
        assert_eq!(case.result, Expected::Invalid);
        assert_eq!(
            case.jws, reference.jws,
            "tcId {tc_id} no longer copies tcId 357"
        );
    }
    for tc_id in [372, 373] {
        let (_, case) = find_case(&suite, tc_id);
        assert_ne!(case.jws, reference.jws);
        assert_eq!(case.jws.replacen('?', "", 1), reference.jws, "tcId {tc_id}");
    }

    let key = || group_key(group);
    assert_eq!(run(key(), &reference.jws), Outcome::ValidJwsNotJwt);
    let segments: Vec<&str> = reference.jws.split('.').collect();
    let [header, payload, signature] = segments[..] else {
        panic!("tcId 357 is a compact token");
    };
    assert_eq!(
        payload.len() % 4,
        2,
        "the payload segment needs `==` padding"
    );
    let padded_payload = format!("{header}.{payload}==.{signature}");
    assert_eq!(
        run(key(), &padded_payload),
        Outcome::Rejected(JwtRejection::BadSignature)
    );
    let padded_signature = format!("{header}.{payload}.{signature}=");
    assert_eq!(
        run(key(), &padded_signature),
        Outcome::Rejected(JwtRejection::Malformed("signature"))
    );
}

/// tcId 346 and 350 (RFC 7520 Figure 20) are refused only because the key is
/// pinned to PS256: pinned to PS384, the same key material verifies them.
#[test]
fn wycheproof_rfc7520_ps384_token_is_refused_only_by_alg_pinning() {
    let suite = load_suite();
    for tc_id in [346, 350] {
        let (group, case) = find_case(&suite, tc_id);
        let mut jwk = group_jwk(group).clone();
        assert_eq!(jwk["alg"], "PS256");
        assert_eq!(
            run(JwtKey::from_jwk(&jwk), &case.jws),
            Outcome::Rejected(JwtRejection::AlgorithmMismatch)
        );
        jwk["alg"] = "PS384".into();
        assert_eq!(
            run(JwtKey::from_jwk(&jwk), &case.jws),
            Outcome::ValidJwsNotJwt,
            "tcId {tc_id}"
        );
    }
}

/// The `use: enc` / `key_ops: [encrypt]` JWKs of tcId 353-356 also lack `alg`,
/// which is what refuses them in the main test. Pinned to the token's
/// algorithm they are still refused, for their `use` / `key_ops`; without
/// those members the same key verifies the token, so the refusal is what
/// stops it.
#[test]
fn wycheproof_encryption_keys_are_refused_even_when_alg_is_pinned() {
    let suite = load_suite();
    for (tc_id, alg) in [
        (353, Algorithm::RS256),
        (354, Algorithm::ES256),
        (355, Algorithm::RS256),
        (356, Algorithm::ES256),
    ] {
        let (group, case) = find_case(&suite, tc_id);
        assert_eq!(case.result, Expected::Invalid);
        let mut jwk = group_jwk(group).clone();
        assert!(jwk.get("alg").is_none(), "tcId {tc_id}");
        assert!(
            matches!(JwtKey::from_jwk(&jwk), Err(KeyError::Invalid(_))),
            "tcId {tc_id}: a JWK without `alg` is refused"
        );
        assert!(
            matches!(
                JwtKey::from_jwk_with_alg(&jwk, alg),
                Err(KeyError::NotForSignatures(_))
            ),
            "tcId {tc_id}: a key for encryption is refused for signatures"
        );
        let obj = jwk.as_object_mut().expect("a JWK is an object");
        assert!(obj.remove("use").is_some() || obj.remove("key_ops").is_some());
        assert_eq!(
            run(JwtKey::from_jwk_with_alg(&jwk, alg), &case.jws),
            Outcome::ValidJwsNotJwt,
            "tcId {tc_id}"
        );
    }
}

/// `json_web_key_test.json` tcId 7: an RSA key with the ROCA fingerprint.
#[test]
fn wycheproof_roca_vulnerable_rsa_key_is_refused_at_load() {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata/wycheproof/json_web_key_test.json"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let suite: Value = serde_json::from_str(&text).expect("json");
    let group = suite["testGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| {
            g["tests"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["tcId"] == 7))
        })
        .expect("tcId 7");
    let roca = group["public"]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == "kid-rsa-roca-sign")
        .expect("the ROCA key");
    assert_eq!(
        JwtKey::from_jwk(roca).expect_err("refused"),
        KeyError::RocaVulnerable
    );
    // The same check lets ordinary keys through: every RSA key of the JWS vectors loads.
    let jws: Value = serde_json::from_str(&std::fs::read_to_string(vectors_path()).expect("read"))
        .expect("json");
    let mut loaded = 0;
    for g in jws["testGroups"].as_array().expect("groups") {
        let key = &g["public"];
        if key["kty"] == "RSA"
            && key.get("alg").is_some()
            && key.get("use").is_none_or(|u| u == "sig")
        {
            JwtKey::from_jwk(key).unwrap_or_else(|e| panic!("{}: {e}", key["kid"]));
            loaded += 1;
        }
    }
    assert!(loaded >= 5, "only {loaded} RSA keys checked");
}

#[test]
fn wycheproofs_all_zero_hmac_key_is_refused_as_guessable() {
    let suite = load_suite();
    let groups: Vec<&Group> = suite
        .test_groups
        .iter()
        .filter(|g| g.comment == ZERO_KEY_GROUP)
        .collect();
    assert_eq!(groups.len(), 1, "one group holds the all-zero key");
    assert_eq!(
        JwtKey::from_jwk(group_jwk(groups[0])).expect_err("all zeros"),
        KeyError::WeakSecret("a short pattern repeated")
    );
    // Every other group's key loads as it is.
    for group in suite
        .test_groups
        .iter()
        .filter(|g| g.comment != ZERO_KEY_GROUP)
    {
        assert!(
            !matches!(
                JwtKey::from_jwk(group_jwk(group)),
                Err(KeyError::WeakSecret(_))
            ),
            "{}",
            group.comment
        );
    }
}
