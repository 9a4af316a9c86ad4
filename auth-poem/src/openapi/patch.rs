//! The 401 and 403 answers and the scope lists a spec needs, which an
//! extractor cannot give it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::auth::PoemAuth;

/// The description of the 401 answer the spec patch adds.
const UNAUTHORIZED_DESCRIPTION: &str = "Missing or invalid credentials";
/// The description of the 403 answer the spec patch adds.
const FORBIDDEN_DESCRIPTION: &str = "Authenticated but not permitted";

/// The HTTP methods an OpenAPI path item may hold operations under.
pub(crate) const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Adds to a spec what the extractors cannot put there.
///
/// - Every operation whose `security` is non-empty and not only `{}` gets
///   the configured 401 answer ("Missing or invalid credentials", with its
///   `WWW-Authenticate` header) and 403 answer ("Authenticated but not
///   permitted"), each with the configured JSON body as its example. An
///   answer the operation documents already under that status is kept.
/// - Each OAuth2 flow without `scopes` gets an empty map (the field is
///   required; poem-openapi drops it when empty).
/// - In each operation's `security`, an alternative whose scheme is not
///   OAuth2 (or OpenID Connect) gets an empty scope list, as OpenAPI 3.0
///   requires: poem-openapi gives the scopes `#[requires]` declares to every
///   scheme of the argument. An alternative that repeats an earlier one is
///   dropped.
///
/// What needs the API's code rather than its spec, the
/// `x-required-permissions` of each `#[requires]` operation, is added by
/// [`PoemAuth::openapi_spec`] and [`PoemAuth::openapi_endpoints`], which
/// call this function too.
///
/// Operations without `security` are left alone, and so is anything that is
/// not shaped as OpenAPI expects.
///
/// ```
/// # let pipeline = auth_core::Pipeline::builder()
/// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
/// #     .build()?;
/// let auth = auth_poem::PoemAuth::new(pipeline);
/// let mut spec = serde_json::json!({"paths": {
///     "/me": {"get": {"security": [{"bearer": []}], "responses": {"200": {"description": "ok"}}}},
///     "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
/// }});
/// auth_poem::openapi::patch_spec(&mut spec, &auth);
/// assert_eq!(spec["paths"]["/me"]["get"]["responses"]["401"]["description"], "Missing or invalid credentials");
/// assert!(spec["paths"]["/health"]["get"]["responses"].get("401").is_none());
/// # Ok::<_, auth_core::AuthError>(())
/// ```
pub fn patch_spec(spec: &mut Value, auth: &PoemAuth) {
    let responses = auth.responses();
    let answers = [
        (
            responses.unauthorized_status.as_str().to_owned(),
            error_answer(UNAUTHORIZED_DESCRIPTION, &responses.unauthorized_body, true),
        ),
        (
            responses.forbidden_status.as_str().to_owned(),
            error_answer(FORBIDDEN_DESCRIPTION, &responses.forbidden_body, false),
        ),
    ];
    let scheme_types = scheme_types(spec);
    let operations = spec
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut())
        .filter(|(method, _)| METHODS.contains(&method.as_str()))
        .filter_map(|(_, operation)| operation.as_object_mut());
    for operation in operations {
        if let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) {
            tidy_security(security, &scheme_types);
        }
        if !is_protected(operation.get("security")) {
            continue;
        }
        let Some(documented) = operation
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        else {
            continue;
        };
        for (status, answer) in &answers {
            documented
                .entry(status.as_str())
                .or_insert_with(|| answer.clone());
        }
    }

    let flows = spec
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|schemes| schemes.values_mut())
        .filter(|scheme| scheme.get("type").and_then(Value::as_str) == Some("oauth2"))
        .filter_map(|scheme| scheme.get_mut("flows").and_then(Value::as_object_mut))
        .flat_map(|flows| flows.values_mut())
        .filter_map(Value::as_object_mut);
    for flow in flows {
        flow.entry("scopes").or_insert_with(|| json!({}));
    }
}

/// The type of each scheme of `components.securitySchemes`, by name.
fn scheme_types(spec: &Value) -> BTreeMap<String, String> {
    spec.pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, scheme)| {
            let ty = scheme.get("type")?.as_str()?;
            Some((name.clone(), ty.to_owned()))
        })
        .collect()
}

/// Empties the scope lists of alternatives whose scheme takes no scopes
/// (OpenAPI 3.0 allows scopes for `oauth2` and `openIdConnect` only;
/// poem-openapi copies an operation's scopes to every scheme), then drops
/// alternatives that repeat an earlier one.
fn tidy_security(security: &mut Vec<Value>, scheme_types: &BTreeMap<String, String>) {
    for alternative in security.iter_mut().filter_map(Value::as_object_mut) {
        for (name, scopes) in alternative.iter_mut() {
            let takes_scopes = scheme_types
                .get(name)
                .is_none_or(|ty| ty == "oauth2" || ty == "openIdConnect");
            if !takes_scopes {
                *scopes = json!([]);
            }
        }
    }
    let mut seen = Vec::with_capacity(security.len());
    security.retain(|alternative| {
        if seen.contains(alternative) {
            false
        } else {
            seen.push(alternative.clone());
            true
        }
    });
}

/// Whether a `security` value asks for a credential: some alternative is
/// not the empty `{}`.
fn is_protected(security: Option<&Value>) -> bool {
    security
        .and_then(Value::as_array)
        .is_some_and(|alternatives| {
            alternatives
                .iter()
                .any(|alt| alt.as_object().is_none_or(|alt| !alt.is_empty()))
        })
}

/// An OpenAPI response object for a refusal with `body`.
fn error_answer(description: &str, body: &str, challenge: bool) -> Value {
    let example = serde_json::from_str::<Value>(body).unwrap_or_else(|_| Value::from(body));
    let mut answer = json!({
        "description": description,
        "content": {
            "application/json": {
                "schema": {"type": json_type(&example)},
                "example": example,
            }
        }
    });
    if challenge {
        answer["headers"] = json!({
            "WWW-Authenticate": {
                "description": "`Bearer` when no credential came; \
                    `Bearer error=\"invalid_token\"` when one came and was refused.",
                "required": true,
                "schema": {"type": "string"}
            }
        });
    }
    answer
}

/// The JSON Schema type of a value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use auth_core::{ApiKeyHandler, Pipeline};
    use poem::http::StatusCode;

    use super::*;

    fn pipeline() -> Pipeline {
        Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .build()
            .expect("pipeline")
    }

    #[test]
    fn patch_adds_refusals_to_protected_operations_and_leaves_the_rest() {
        let auth = PoemAuth::from_pipeline(pipeline())
            .unauthorized_status(StatusCode::from_u16(419).expect("status"))
            .unauthorized_body(json!({"error": "who?"}))
            .forbidden_body(json!("no"))
            .build()
            .expect("valid");
        let mine = json!({"description": "mine"});
        let mut spec = json!({
            "paths": {
                "/a": {
                    "get": {"security": [{"bearer": []}], "responses": {"200": {"description": "ok"}}},
                    "post": {"security": [{}], "responses": {}},
                    "put": {"security": [], "responses": {}},
                    "delete": {"security": [{"bearer": []}, {}], "responses": {"403": mine.clone()}},
                    "parameters": [],
                },
                "/b": {"get": {"responses": {}}},
            },
            "components": {"securitySchemes": {
                "o": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/t"}}},
                "p": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/t", "scopes": {"x": "y"}}}},
            }},
        });
        patch_spec(&mut spec, &auth);

        let get = &spec["paths"]["/a"]["get"]["responses"];
        assert_eq!(get["419"]["description"], UNAUTHORIZED_DESCRIPTION);
        assert_eq!(
            get["419"]["content"]["application/json"]["example"],
            json!({"error": "who?"})
        );
        assert!(get["419"]["headers"]["WWW-Authenticate"].is_object());
        assert_eq!(get["403"]["description"], FORBIDDEN_DESCRIPTION);
        assert_eq!(
            get["403"]["content"]["application/json"]["schema"]["type"],
            "string"
        );
        assert!(get["403"].get("headers").is_none());
        assert!(get.get("401").is_none());

        let delete = &spec["paths"]["/a"]["delete"]["responses"];
        assert_eq!(delete["403"], mine, "a documented answer is kept");
        assert!(delete["419"].is_object());
        for (path, method) in [("/a", "post"), ("/a", "put"), ("/b", "get")] {
            assert_eq!(
                spec["paths"][path][method]["responses"],
                json!({}),
                "{method} {path}"
            );
        }
        assert_eq!(spec["paths"]["/a"]["parameters"], json!([]));
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(schemes["o"]["flows"]["password"]["scopes"], json!({}));
        assert_eq!(
            schemes["p"]["flows"]["password"]["scopes"],
            json!({"x": "y"})
        );
    }

    #[test]
    fn patch_empties_scopes_of_schemes_that_take_none_and_drops_repeats() {
        let auth = PoemAuth::new(pipeline());
        let mut spec = json!({
            "paths": {"/a": {"get": {
                "security": [
                    {"bearer": ["a:read"]}, {"o": ["a:read"]}, {"oidc": ["openid"]},
                    {"unknown": ["x"]}, {"bearer": []}, {"o": ["a:read"]},
                ],
                "responses": {},
            }}},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "o": {"type": "oauth2", "flows": {}},
                "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://id.example"},
            }},
        });
        patch_spec(&mut spec, &auth);
        assert_eq!(
            spec["paths"]["/a"]["get"]["security"],
            json!([{"bearer": []}, {"o": ["a:read"]}, {"oidc": ["openid"]}, {"unknown": ["x"]}])
        );
    }
}
