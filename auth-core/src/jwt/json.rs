//! The JSON of a token's header and claims, read strictly: a member name
//! that repeats in one object, at any depth, refuses the token.
//!
//! RFC 7515 §4 and RFC 7519 §4 leave a repeated name to the parser, and
//! parsers disagree (serde_json keeps the last, others the first): a token
//! carrying `{"sub":"alice","sub":"admin"}` would name one user here and
//! another to a gateway, a log or a second verifier reading the same signed
//! bytes. With the repeat refused, every reader that accepts the token reads
//! the same claims.
//!
//! The reading costs what serde_json's own does: one pass, the repeat found
//! by the insertion that builds each object.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why bytes are not a token's JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// A member name repeats in one object.
    RepeatedName,
    /// Not base64url, not JSON, or not an object.
    Malformed,
}

/// A JSON object in which every object, at any depth, names each member once.
pub(crate) fn object(json: &[u8]) -> Result<Map<String, Value>, JsonError> {
    let repeated = Cell::new(false);
    parse(json, ObjectSeed(Strict::new(&repeated)), &repeated)
}

/// One base64url JSON-object segment of a compact JWS, read as [`object`] does.
pub(crate) fn segment(segment: &str) -> Result<Map<String, Value>, JsonError> {
    let json = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JsonError::Malformed)?;
    object(&json)
}

/// The header members the validator reads. `alg` and `typ` borrow from the
/// decoded header unless they hold escapes.
#[derive(Debug, Default)]
pub(crate) struct Header<'a> {
    /// `alg`; `None` when absent or `null`.
    pub(crate) alg: Option<Cow<'a, str>>,
    /// `kid`; `None` when absent or `null`.
    pub(crate) kid: Option<String>,
    /// `typ`; `None` when absent or `null`.
    pub(crate) typ: Option<Cow<'a, str>>,
    /// Whether `crit` is present and not `null`.
    pub(crate) crit: bool,
}

/// A JOSE header: an object naming each member once, at any depth, whose
/// `alg`, `kid` and `typ` are strings (or `null`).
pub(crate) fn header(json: &[u8]) -> Result<Header<'_>, JsonError> {
    let repeated = Cell::new(false);
    parse(json, HeaderSeed(Strict::new(&repeated)), &repeated)
}

/// Runs `seed` over the whole of `json` (nothing may follow the value),
/// telling a repeated name, which `seed` notes in `repeated`, from other faults.
fn parse<'de, S: DeserializeSeed<'de>>(
    json: &'de [u8],
    seed: S,
    repeated: &Cell<bool>,
) -> Result<S::Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    value.map_err(|_| {
        if repeated.get() {
            JsonError::RepeatedName
        } else {
            JsonError::Malformed
        }
    })
}

/// Any JSON value, refusing a repeated name in its objects. It notes a
/// repeat in `repeated` before failing, so the caller can tell that fault
/// from the others serde_json reports.
#[derive(Clone, Copy)]
struct Strict<'a> {
    repeated: &'a Cell<bool>,
}

impl<'a> Strict<'a> {
    fn new(repeated: &'a Cell<bool>) -> Self {
        Self { repeated }
    }

    /// The members of one object, each name once.
    fn members<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Map<String, Value>, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            if members.insert(name, value).is_some() {
                return Err(self.repeat());
            }
        }
        Ok(members)
    }

    fn repeat<E: de::Error>(self) -> E {
        self.repeated.set(true);
        E::custom("a member name repeats in an object")
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        self.members(map).map(Value::Object)
    }
}

/// A JSON object (and nothing else), read by [`Strict`].
struct ObjectSeed<'a>(Strict<'a>);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.members(map)
    }
}

/// A JOSE header, read by [`Strict`] but keeping only what is checked.
struct HeaderSeed<'a>(Strict<'a>);

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = Header<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = Header<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let strict = self.0;
        let mut header = Header::default();
        // The members read are told apart by flags; the names of others
        // are kept only when there are any.
        let (mut alg, mut kid, mut typ, mut crit) = (false, false, false, false);
        let mut others: Vec<Cow<'de, str>> = Vec::new();
        while let Some(name) = map.next_key_seed(Text)? {
            let seen = match &*name {
                "alg" => std::mem::replace(&mut alg, true),
                "kid" => std::mem::replace(&mut kid, true),
                "typ" => std::mem::replace(&mut typ, true),
                "crit" => std::mem::replace(&mut crit, true),
                _ => others.contains(&name),
            };
            if seen {
                return Err(strict.repeat());
            }
            match &*name {
                "alg" => header.alg = map.next_value_seed(OptionalText)?,
                "kid" => header.kid = map.next_value()?,
                "typ" => header.typ = map.next_value_seed(OptionalText)?,
                "crit" => header.crit = !map.next_value_seed(strict)?.is_null(),
                _ => {
                    map.next_value_seed(strict)?;
                    others.push(name);
                }
            }
        }
        Ok(header)
    }
}

/// A string, borrowed from the input when it holds no escape.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// A string as [`Text`] reads it, or `null`.
struct OptionalText;

impl<'de> DeserializeSeed<'de> for OptionalText {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalText {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Text.deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_without_repeats_reads_as_serde_json_reads_it() {
        let json = br#"{"sub":"al\u0069ce","n":[1,-2,1.5,18446744073709551615,-9223372036854775808,1.0e300],
            "o":{"a":{"b":[{"c":null,"d":true}]},"e":"\ud83d\ude00"},"empty":{},"none":[]}"#;
        let strict = object(json).expect("no repeat");
        let plain: Map<String, Value> = serde_json::from_slice(json).expect("json");
        assert_eq!(strict, plain);
    }

    #[test]
    fn a_name_repeated_at_the_top_level_is_refused() {
        for json in [
            r#"{"sub":"alice","sub":"admin"}"#,
            r#"{"exp":1,"sub":"a","exp":9999999999}"#,
            r#"{"aud":"api","aud":["api","admin"]}"#,
            r#"{"a":1,"a":1}"#,
        ] {
            assert_eq!(
                object(json.as_bytes()),
                Err(JsonError::RepeatedName),
                "{json}"
            );
        }
    }

    #[test]
    fn a_name_repeated_through_an_escape_is_refused() {
        // `\u0073ub` is `sub`: the names are compared as the JSON text means them.
        let json = br#"{"sub":"alice","\u0073ub":"admin"}"#;
        assert_eq!(object(json), Err(JsonError::RepeatedName));
        let json = br#"{"alg":"HS256","\u0061lg":"none"}"#;
        assert!(matches!(header(json), Err(JsonError::RepeatedName)));
    }

    #[test]
    fn a_name_repeated_in_a_nested_object_is_refused() {
        for json in [
            r#"{"permissions":{"CONVERSATION":["READ"],"CONVERSATION":["ADMIN"]}}"#,
            r#"{"realm_access":{"roles":["user"],"roles":["admin"]}}"#,
            r#"{"a":[1,{"b":{"c":1,"c":2}}]}"#,
        ] {
            assert_eq!(
                object(json.as_bytes()),
                Err(JsonError::RepeatedName),
                "{json}"
            );
        }
    }

    #[test]
    fn one_name_in_sibling_objects_is_not_a_repeat() {
        let json = br#"{"a":{"x":1},"b":{"x":2},"c":[{"x":3},{"x":4}]}"#;
        assert!(object(json).is_ok());
    }

    #[test]
    fn anything_but_one_object_is_malformed() {
        for json in [
            "",
            "[]",
            "1",
            "\"s\"",
            "null",
            "{",
            "{}x",
            "{} {}",
            r#"{"a":}"#,
        ] {
            assert_eq!(object(json.as_bytes()), Err(JsonError::Malformed), "{json}");
            assert!(
                matches!(header(json.as_bytes()), Err(JsonError::Malformed)),
                "{json}"
            );
        }
        // A repeat after which the text is not JSON at all is still a repeat.
        assert_eq!(object(br#"{"a":1,"a":2"#), Err(JsonError::RepeatedName));
    }

    #[test]
    fn a_header_repeating_any_member_is_refused() {
        for json in [
            r#"{"alg":"none","alg":"HS256"}"#,
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
            r#"{"alg":"HS256","typ":"JWT","typ":"at+jwt"}"#,
            r#"{"alg":"HS256","crit":null,"crit":["exp"]}"#,
            r#"{"alg":"HS256","cty":"a","cty":"b"}"#,
            r#"{"alg":"HS256","jwk":{"kty":"oct","kty":"RSA"}}"#,
        ] {
            assert!(
                matches!(header(json.as_bytes()), Err(JsonError::RepeatedName)),
                "{json}"
            );
        }
    }

    #[test]
    fn header_members_are_read_borrowed_unless_escaped() {
        let h =
            header(br#"{"alg":"HS256","typ":"J\u0057T","kid":"k1","x5t":"z"}"#).expect("header");
        assert!(matches!(h.alg, Some(Cow::Borrowed("HS256"))));
        assert!(matches!(h.typ.as_deref(), Some("JWT")));
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert!(!h.crit);
        let h = header(br#"{"alg":null,"kid":null,"typ":null,"crit":null}"#).expect("header");
        assert!(h.alg.is_none() && h.kid.is_none() && h.typ.is_none() && !h.crit);
        assert!(header(br#"{"crit":[]}"#).expect("header").crit);
        for wrong in [r#"{"alg":0}"#, r#"{"kid":["k"]}"#, r#"{"typ":{}}"#] {
            assert!(
                matches!(header(wrong.as_bytes()), Err(JsonError::Malformed)),
                "{wrong}"
            );
        }
    }

    #[test]
    fn nesting_past_serde_jsons_limit_is_malformed_not_a_stack_overflow() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(object(deep.as_bytes()), Err(JsonError::Malformed));
    }
}
