//! Carrying each protected operation's rule into the served spec.
//!
//! poem-openapi gives an operation no extension field, and its paths are
//! only known to poem-openapi. So [`collect`] asks poem-openapi for the
//! operations of an API (`OpenApi::meta`) while *tagging* is on: the
//! hidden [`ApiGuard`](super::ApiGuard) argument of each protected
//! operation then answers, as its only security scheme, a tag naming its
//! rule. The tag lands in that operation's metadata, next to the path and
//! method poem-openapi computed (prefixes included), and the metadata is
//! dropped once read: a tag never reaches a spec. [`apply`] then finds the
//! operations in the JSON spec by path and method.

use std::cell::RefCell;

use poem_openapi::OpenApi;
use serde_json::{Value, json};

use super::rule::Rule;
use crate::openapi::{METHODS, intern};

/// The prefix of a tag; no scheme name can start with a NUL.
const TAG_PREFIX: &str = "\u{0}auth-poem-operation-";

/// The tag of a `#[public]` operation.
const PUBLIC_TAG: &str = "\u{0}auth-poem-public";

/// The rule of one protected operation and the line its docs got at compile time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tagged {
    rule: &'static Rule,
    doc_line: &'static str,
}

thread_local! {
    /// The operations tagged so far, while [`collect`] runs on this thread.
    static TAGGING: RefCell<Option<Vec<Tagged>>> = const { RefCell::new(None) };
}

/// The tag of an operation with `rule`, when tagging is on.
pub(crate) fn tag(rule: &'static Rule, doc_line: &'static str) -> Option<&'static str> {
    TAGGING.with(|cell| {
        let mut tagging = cell.borrow_mut();
        let tagged = tagging.as_mut()?;
        tagged.push(Tagged { rule, doc_line });
        Some(intern(&format!("{TAG_PREFIX}{}", tagged.len() - 1)))
    })
}

/// The tag of a `#[public]` operation, when tagging is on.
pub(crate) fn public_tag() -> Option<&'static str> {
    TAGGING.with(|cell| cell.borrow().is_some().then_some(PUBLIC_TAG))
}

/// The protected operations of an API: path (as poem-openapi writes it in
/// the spec, without the service's URL prefix), lower-case method, rule.
#[derive(Debug, Default)]
pub(crate) struct Protected {
    operations: Vec<(String, String, Tagged)>,
    /// The `#[public]` operations: path and method, as above.
    public: Vec<(String, String)>,
}

/// The protected operations of `T`.
pub(crate) fn collect<T: OpenApi>() -> Protected {
    /// Turns tagging off again, even if `T::meta` panics.
    struct Off;
    impl Drop for Off {
        fn drop(&mut self) {
            TAGGING.with(|cell| cell.borrow_mut().take());
        }
    }
    TAGGING.with(|cell| *cell.borrow_mut() = Some(Vec::new()));
    let off = Off;
    let apis = T::meta();
    let tagged = TAGGING
        .with(|cell| cell.borrow_mut().take())
        .unwrap_or_default();
    drop(off);

    let mut operations = Vec::new();
    let mut public = Vec::new();
    for api in &apis {
        for path in &api.paths {
            for operation in &path.operations {
                let method = operation.method.as_str().to_ascii_lowercase();
                if operation
                    .security
                    .iter()
                    .any(|alternative| alternative.contains_key(PUBLIC_TAG))
                {
                    public.push((path.path.clone(), method));
                    continue;
                }
                let found = operation
                    .security
                    .iter()
                    .flat_map(|alternative| alternative.keys())
                    .filter_map(|name| name.strip_prefix(TAG_PREFIX)?.parse::<usize>().ok())
                    .find_map(|index| tagged.get(index));
                if let Some(tagged) = found {
                    operations.push((path.path.clone(), method, *tagged));
                }
            }
        }
    }
    Protected { operations, public }
}

impl Protected {
    /// The operation at spec path `key` and `method`: the one whose path is
    /// `key`, else the longest whose path ends `key` (a service's URL
    /// prefix comes before the paths poem-openapi knows).
    fn find(&self, key: &str, method: &str) -> Option<&Tagged> {
        let candidates = self
            .operations
            .iter()
            .filter(|(_, m, _)| m == method)
            .map(|(path, _, tagged)| (path.as_str(), tagged));
        best_match(candidates, key)
    }

    /// Whether the operation at spec path `key` and `method` is `#[public]`
    /// (matched as [`find`](Self::find) matches).
    fn is_public(&self, key: &str, method: &str) -> bool {
        let candidates = self
            .public
            .iter()
            .filter(|(_, m)| m == method)
            .map(|(path, _)| (path.as_str(), &()));
        best_match(candidates, key).is_some() && self.find(key, method).is_none()
    }
}

/// The item whose path is `key`, else the one with the longest path that
/// ends `key`.
fn best_match<'a, T>(
    candidates: impl Iterator<Item = (&'a str, &'a T)> + Clone,
    key: &str,
) -> Option<&'a T> {
    candidates
        .clone()
        .find(|(path, _)| *path == key)
        .or_else(|| {
            candidates
                .filter(|(path, _)| path.len() > 1 && key.ends_with(path))
                .max_by_key(|(path, _)| path.len())
        })
        .map(|(_, item)| item)
}

/// Writes what each protected operation requires into `spec`:
///
/// - `x-required-permissions`: the rule as JSON (see [`Rule::to_json`]);
/// - the `Requires:` line of its docs, rewritten with the run-time names of
///   its resource/permission pairs (the macro only saw their Rust paths);
/// - its `security` loses the empty alternative `{}` an optional
///   extractor adds: a protected operation always needs a credential;
/// - on the OAuth2 schemes, its `security` lists one alternative per way
///   of meeting the rule ([`Rule::scope_alternatives`]).
///
/// A `#[public]` operation gets `security: []` (anyone may call it), or
/// keeps its alternatives when they hold the empty one `{}` (it takes an
/// optional extractor, and says who may sign in).
pub(crate) fn apply(spec: &mut Value, protected: &Protected) {
    if protected.operations.is_empty() && protected.public.is_empty() {
        return;
    }
    let oauth2 = oauth2_schemes(spec);
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            if protected.is_public(key, method) {
                let optional = operation
                    .get("security")
                    .and_then(Value::as_array)
                    .is_some_and(|alts| alts.iter().any(|alt| alt == &json!({})));
                if !optional {
                    operation.insert("security".into(), json!([]));
                }
                continue;
            }
            let Some(tagged) = protected.find(key, method) else {
                continue;
            };
            operation.insert("x-required-permissions".into(), tagged.rule.to_json());
            rewrite_doc_line(operation, tagged);
            if let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) {
                security.retain(|alt| alt.as_object().is_none_or(|alt| !alt.is_empty()));
                split_alternatives(security, &oauth2, &tagged.rule.scope_alternatives());
            }
        }
    }
}

/// The names of the spec's OAuth2 and OpenID Connect schemes.
fn oauth2_schemes(spec: &Value) -> Vec<String> {
    spec.pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, scheme)| {
            matches!(
                scheme.get("type").and_then(Value::as_str),
                Some("oauth2" | "openIdConnect")
            )
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Replaces each alternative on one of the `oauth2` schemes with one
/// alternative per set of `ways`, where the first of them stood.
fn split_alternatives(security: &mut Vec<Value>, oauth2: &[String], ways: &[Vec<String>]) {
    let scheme_of = |alt: &Value| -> Option<String> {
        let alt = alt.as_object()?;
        let (name, _) = alt.iter().next().filter(|_| alt.len() == 1)?;
        oauth2.contains(name).then(|| name.clone())
    };
    let mut out = Vec::with_capacity(security.len() + ways.len());
    let mut done: Vec<String> = Vec::new();
    for alt in security.drain(..) {
        match scheme_of(&alt) {
            Some(name) if done.contains(&name) => {}
            Some(name) => {
                out.extend(ways.iter().map(|way| json!({ name.as_str(): way })));
                done.push(name);
            }
            None => out.push(alt),
        }
    }
    *security = out;
}

/// Replaces the compile-time `Requires:` line with the run-time one.
fn rewrite_doc_line(operation: &mut serde_json::Map<String, Value>, tagged: &Tagged) {
    let line = tagged.rule.describe();
    for field in ["description", "summary"] {
        let Some(text) = operation.get(field).and_then(Value::as_str) else {
            continue;
        };
        if let Some(at) = text.rfind(tagged.doc_line) {
            if line != tagged.doc_line {
                let mut text = text.to_owned();
                text.replace_range(at..at + tagged.doc_line.len(), &line);
                operation.insert(field.into(), json!(text));
            }
            return;
        }
    }
    // Docs that lost the line (a hand-edited spec): add it back.
    let text = match operation.get("description").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => format!("{text}\n\n{line}"),
        _ => line,
    };
    operation.insert("description".into(), json!(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> &'static Rule {
        static RULE: std::sync::LazyLock<Rule> =
            std::sync::LazyLock::new(|| Rule::any(vec![Rule::role("a"), Rule::expr(0, "x")]));
        &RULE
    }

    fn protected(path: &str) -> Protected {
        Protected {
            operations: vec![(
                path.to_owned(),
                "get".to_owned(),
                Tagged {
                    rule: rule(),
                    doc_line: "Requires: role `a` or condition `x`.",
                },
            )],
            public: Vec::new(),
        }
    }

    #[test]
    fn tags_exist_only_while_collecting() {
        assert_eq!(tag(rule(), ""), None);
    }

    #[test]
    fn apply_marks_the_operation_by_path_and_method_even_under_a_url_prefix() {
        let mut spec = json!({"paths": {
            "/v1/users/{id}": {
                "get": {"summary": "One user", "description": "Requires: role `a` or condition `x`.",
                        "security": [{"bearer": []}, {}]},
                "post": {"security": [{}]},
            },
            "/other": {"get": {}},
        }});
        apply(&mut spec, &protected("/users/{id}"));
        let get = &spec["paths"]["/v1/users/{id}"]["get"];
        assert_eq!(
            get["x-required-permissions"],
            json!({"any": [{"role": "a"}, {"expr": "x"}]})
        );
        assert_eq!(get["security"], json!([{"bearer": []}]));
        assert_eq!(get["description"], "Requires: role `a` or condition `x`.");
        assert_eq!(
            spec["paths"]["/v1/users/{id}"]["post"]["security"],
            json!([{}])
        );
        assert!(
            spec["paths"]["/other"]["get"]
                .get("x-required-permissions")
                .is_none()
        );
    }

    #[test]
    fn the_compile_time_line_is_rewritten_in_place() {
        let mut operation = serde_json::Map::new();
        operation.insert(
            "description".into(),
            json!("Details.\n\nRequires: (R::A, P::B)."),
        );
        let tagged = Tagged {
            rule: rule(),
            doc_line: "Requires: (R::A, P::B).",
        };
        rewrite_doc_line(&mut operation, &tagged);
        assert_eq!(
            operation["description"],
            "Details.\n\nRequires: role `a` or condition `x`."
        );
    }
}
