//! The scheme names and options of a [`PoemAuth`](crate::PoemAuth), the
//! schemes poem-openapi generates, and the rewrite from one to the other.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use auth_core::{AuthError, AuthResult, Pipeline};
use poem::http::HeaderName;
use serde_json::{Value, json};

use super::super::DEFAULT_TOKEN_URL;
use super::patch::METHODS;

/// The names under which the schemes appear in `components.securitySchemes`
/// and in each operation's `security`.
///
/// Change them when your API declares poem-openapi schemes of its own under
/// the same names: poem-openapi keeps the first scheme registered under a
/// name and silently drops the others.
///
/// ```
/// use auth_poem::SchemeNames;
///
/// let names = SchemeNames { bearer: "jwt".into(), ..SchemeNames::default() };
/// assert_eq!(names.api_key, "api_key");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeNames {
    /// HTTP bearer (default `bearer`).
    pub bearer: String,
    /// The API key in its header (default `api_key`).
    pub api_key: String,
    /// HTTP basic (default `basic`), when Basic is documented.
    pub basic: String,
    /// The OAuth2 password flow (default `oauth2`).
    pub oauth2: String,
}

impl Default for SchemeNames {
    fn default() -> Self {
        Self {
            bearer: "bearer".into(),
            api_key: "api_key".into(),
            basic: "basic".into(),
            oauth2: "oauth2".into(),
        }
    }
}

/// The OpenAPI options a [`PoemAuthBuilder`](crate::PoemAuthBuilder) collects.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) names: SchemeNames,
    pub(crate) token_url: String,
    /// `None`: document Basic when the pipeline has a handler named `basic`.
    pub(crate) basic: Option<bool>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            names: SchemeNames::default(),
            token_url: DEFAULT_TOKEN_URL.to_owned(),
            basic: None,
        }
    }
}

impl Options {
    /// Checks the options and interns them into a scheme table.
    pub(crate) fn resolve(
        &self,
        pipeline: &Pipeline,
        api_key_header: &HeaderName,
    ) -> AuthResult<SchemeConfig> {
        let names = &self.names;
        let all = [
            ("bearer", &names.bearer),
            ("API-key", &names.api_key),
            ("basic", &names.basic),
            ("OAuth2", &names.oauth2),
        ];
        for (i, (what, name)) in all.iter().enumerate() {
            if !is_component_name(name) {
                return Err(AuthError::Misconfigured(format!(
                    "the {what} scheme name `{name}` must be non-empty letters, digits, `.`, `-` \
                     or `_` (an OpenAPI component name)"
                )));
            }
            if all[..i].iter().any(|(_, other)| other == name) {
                return Err(AuthError::Misconfigured(format!(
                    "the scheme name `{name}` is used twice: each scheme needs its own"
                )));
            }
        }
        let token_url = self.token_url.trim();
        if token_url.is_empty()
            || token_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(AuthError::Misconfigured(format!(
                "the token URL `{}` must be a non-empty URL or path without spaces",
                self.token_url
            )));
        }
        Ok(self.config(pipeline, api_key_header))
    }

    /// The scheme table of options known to be valid.
    pub(crate) fn config(&self, pipeline: &Pipeline, api_key_header: &HeaderName) -> SchemeConfig {
        let basic = self
            .basic
            .unwrap_or_else(|| pipeline.handler_names().any(|name| name == "basic"));
        SchemeConfig {
            bearer: self.names.bearer.clone(),
            api_key: self.names.api_key.clone(),
            basic: basic.then(|| self.names.basic.clone()),
            oauth2: self.names.oauth2.clone(),
            api_key_header: api_key_header.as_str().to_owned(),
            token_url: self.token_url.trim().to_owned(),
        }
    }
}

/// Whether `name` may key an OpenAPI component (`^[a-zA-Z0-9.\-_]+$`).
fn is_component_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The schemes of one [`PoemAuth`]: the names, API-key header and token
/// URL its served spec shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemeConfig {
    bearer: String,
    api_key: String,
    basic: Option<String>,
    oauth2: String,
    api_key_header: String,
    pub(crate) token_url: String,
}

/// The names poem-openapi generates the schemes under. Its extractor
/// traits are static, so every spec is generated with these, whatever the
/// [`PoemAuth`]; the served spec is then rewritten with the instance's own
/// ([`SchemeConfig::apply`]). A bare `OpenApiService::spec()` shows them.
pub(crate) mod generated {
    use poem_openapi::registry::{MetaOAuthFlow, MetaOAuthFlows, MetaSecurityScheme, Registry};

    /// The bearer scheme.
    pub(crate) const BEARER: &str = "bearer";
    /// The API-key scheme.
    pub(crate) const API_KEY: &str = "api_key";
    /// The OAuth2 password-flow scheme.
    pub(crate) const OAUTH2: &str = "oauth2";
    /// The bearer scheme's description, by which the rewrite knows it.
    pub(crate) const BEARER_DESCRIPTION: &str =
        "A JWT (from the token endpoint), or an API key, as `Authorization: Bearer <token>`.";
    /// The API-key scheme's description.
    pub(crate) const API_KEY_DESCRIPTION: &str = "An API key in its header.";
    /// The OAuth2 scheme's description.
    pub(crate) const OAUTH2_DESCRIPTION: &str =
        "Log in with a username and password; the token endpoint answers a bearer token.";

    /// The scheme names of an operation that needs a credential, each an
    /// alternative of its own.
    pub(crate) fn names() -> Vec<&'static str> {
        vec![BEARER, API_KEY, OAUTH2]
    }

    /// Adds the schemes to `components.securitySchemes`.
    pub(crate) fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            BEARER,
            MetaSecurityScheme {
                description: Some(BEARER_DESCRIPTION),
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                ..scheme("http")
            },
        );
        registry.create_security_scheme(
            API_KEY,
            MetaSecurityScheme {
                description: Some(API_KEY_DESCRIPTION),
                name: Some(crate::auth::DEFAULT_API_KEY_HEADER),
                key_in: Some("header"),
                ..scheme("apiKey")
            },
        );
        registry.create_security_scheme(
            OAUTH2,
            MetaSecurityScheme {
                description: Some(OAUTH2_DESCRIPTION),
                flows: Some(MetaOAuthFlows {
                    implicit: None,
                    password: Some(MetaOAuthFlow {
                        authorization_url: None,
                        token_url: Some(super::super::DEFAULT_TOKEN_URL),
                        refresh_url: Some(super::super::DEFAULT_TOKEN_URL),
                        scopes: Vec::new(),
                    }),
                    client_credentials: None,
                    authorization_code: None,
                }),
                ..scheme("oauth2")
            },
        );
    }

    /// A scheme of type `ty` with every optional field empty.
    fn scheme(ty: &'static str) -> MetaSecurityScheme {
        MetaSecurityScheme {
            ty,
            description: None,
            name: None,
            key_in: None,
            scheme: None,
            bearer_format: None,
            flows: None,
            openid_connect_url: None,
        }
    }
}

impl SchemeConfig {
    /// Rewrites a spec generated with the [`generated`] names into this
    /// configuration's: scheme names in `components.securitySchemes` and in
    /// every operation's `security`, the API-key header, the token URL,
    /// and the Basic scheme (an alternative after the API key's) when it is
    /// documented. A scheme of the API's own under one of the generated
    /// names (told apart by its description) is left as it is.
    pub(crate) fn apply(&self, spec: &mut Value) {
        let Some(schemes) = spec
            .pointer_mut("/components/securitySchemes")
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        let ours = |schemes: &serde_json::Map<String, Value>, name: &str, description: &str| {
            schemes
                .get(name)
                .and_then(|scheme| scheme.get("description"))
                .and_then(Value::as_str)
                == Some(description)
        };
        let mut renames: Vec<(&str, &str)> = Vec::new();
        for (generated, configured, description) in [
            (
                generated::BEARER,
                &self.bearer,
                generated::BEARER_DESCRIPTION,
            ),
            (
                generated::API_KEY,
                &self.api_key,
                generated::API_KEY_DESCRIPTION,
            ),
            (
                generated::OAUTH2,
                &self.oauth2,
                generated::OAUTH2_DESCRIPTION,
            ),
        ] {
            if !ours(schemes, generated, description) {
                continue;
            }
            let Some(mut scheme) = schemes.remove(generated) else {
                continue;
            };
            if generated == generated::API_KEY {
                scheme["name"] = json!(self.api_key_header);
            }
            if let Some(password) = scheme.pointer_mut("/flows/password") {
                password["tokenUrl"] = json!(self.token_url);
                password["refreshUrl"] = json!(self.token_url);
            }
            if schemes.contains_key(configured.as_str()) {
                tracing::warn!(
                    scheme = %configured,
                    "the API declares a scheme under this name; auth-poem's is left out of the spec"
                );
            } else {
                schemes.insert(configured.clone(), scheme);
            }
            renames.push((generated, configured.as_str()));
        }
        let basic = self.basic.as_deref().filter(|basic| {
            renames
                .iter()
                .any(|(generated, _)| *generated == generated::BEARER)
                && !schemes.contains_key(*basic)
        });
        if let Some(basic) = basic {
            schemes.insert(
                basic.to_owned(),
                json!({
                    "type": "http",
                    "scheme": "basic",
                    "description": "A username and password (HTTP Basic).",
                }),
            );
        }
        let api_key = renames
            .iter()
            .find(|(generated, _)| *generated == generated::API_KEY)
            .map(|(_, configured)| *configured);
        for operation in operations_mut(spec) {
            let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) else {
                continue;
            };
            let mut out = Vec::with_capacity(security.len() + 1);
            let mut has_bearer = false;
            for alternative in security.drain(..) {
                let Value::Object(map) = alternative else {
                    out.push(alternative);
                    continue;
                };
                let renamed: serde_json::Map<String, Value> = map
                    .into_iter()
                    .map(|(name, scopes)| {
                        has_bearer |= name == generated::BEARER;
                        let name = renames
                            .iter()
                            .find(|(generated, _)| *generated == name)
                            .map_or(name, |(_, configured)| (*configured).to_owned());
                        (name, scopes)
                    })
                    .collect();
                let after_api_key = api_key
                    .is_some_and(|api_key| renamed.len() == 1 && renamed.contains_key(api_key));
                out.push(Value::Object(renamed));
                if let (true, Some(basic)) = (after_api_key && has_bearer, basic) {
                    out.push(json!({ basic: [] }));
                }
            }
            *security = out;
        }
    }
}

/// Every operation object of `spec`.
pub(crate) fn operations_mut(
    spec: &mut Value,
) -> impl Iterator<Item = &mut serde_json::Map<String, Value>> {
    spec.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut())
        .filter(|(method, _)| METHODS.contains(&method.as_str()))
        .filter_map(|(_, operation)| operation.as_object_mut())
}

/// Every string interned so far.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// A `'static` copy of `s`, leaked only the first time this text is seen:
/// poem-openapi keeps scope names and descriptions as `&'static str`, and
/// the scopes of a rule are only known at run time. They come from the
/// rules compiled into the program, so the set is bounded.
pub(crate) fn intern(s: &str) -> &'static str {
    // The set is only ever inserted into: a poisoned lock still holds a valid set.
    let mut set = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = set.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_text_is_leaked_once_per_distinct_value() {
        let first = intern("x-interned-once");
        let again = intern(&String::from("x-interned-once"));
        assert!(std::ptr::eq(first, again));
        assert!(!std::ptr::eq(first, intern("x-interned-other")));
    }
}
