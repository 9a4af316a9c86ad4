//! poem-openapi integration: the [`ApiAuth`] and [`OptionalApiAuth`]
//! security extractors, the security schemes they document, the spec patch
//! for the 401/403 answers, and Swagger UI served offline.
//!
//! # The schemes
//!
//! An operation that takes [`ApiAuth`] lists these schemes in
//! `components.securitySchemes` (names are [`SchemeNames`], defaults shown):
//!
//! | name | scheme | when |
//! |---|---|---|
//! | `bearer` | HTTP bearer, `bearerFormat: JWT` | always: `Authorization: Bearer` is always read, and carries JWTs and API keys alike |
//! | `api_key` | `apiKey` in the configured API-key header | always: the header is always read |
//! | `basic` | HTTP basic | when the pipeline has a handler named `basic` (the built-in [`BasicHandler`](auth_core::BasicHandler)), or when set with [`PoemAuthBuilder::basic`](crate::PoemAuthBuilder::basic) |
//! | `oauth2` | OAuth2 password flow, `tokenUrl` and `refreshUrl` the configured [token URL](crate::PoemAuthBuilder::token_url) | always: it is what Swagger UI's *Authorize* button logs in with |
//!
//! The operation's `security` lists each of them as an alternative of its
//! own (`[{"bearer": []}, {"api_key": []}, ...]`): any one suffices, which is
//! what the pipeline does (the first handler that recognizes the credential
//! answers). [`OptionalApiAuth`] adds the empty alternative `{}`.
//!
//! # One spec per service, from the service and its auth
//!
//! poem-openapi asks an extractor for its schemes through static functions
//! ([`ApiExtractor::register`](poem_openapi::ApiExtractor::register), [`ApiExtractor::security_schemes`](poem_openapi::ApiExtractor::security_schemes)), while
//! the names, the API-key header and the token URL are settings of a
//! [`PoemAuth`](crate::PoemAuth). So every spec is generated with the default names, and
//! [`PoemAuth::openapi_spec`](crate::PoemAuth::openapi_spec), [`PoemAuth::openapi_endpoints`](crate::PoemAuth::openapi_endpoints) and
//! [`PoemAuth::api_routes`](crate::PoemAuth::api_routes) rewrite it with their instance's settings: no
//! state is shared between instances, and two APIs with two differently
//! configured auths in one process each serve their own spec. A bare
//! `OpenApiService::spec()` shows the defaults, without the auth routes,
//! the 401/403 answers or what each operation requires: serve the spec
//! through the auth.
//!
//! # What an extractor cannot say
//!
//! An extractor cannot add responses to an operation, and poem-openapi drops
//! an OAuth2 flow's empty `scopes`. [`patch_spec`] adds both; the spec from
//! [`PoemAuth::openapi_spec`](crate::PoemAuth::openapi_spec) is patched already.
//!
//! Nor can an operation carry an extension field: the
//! `x-required-permissions` of the operations protected with
//! `#[requires]` (see [`requires`](macro@crate::requires)) are added by
//! [`PoemAuth::openapi_spec`](crate::PoemAuth::openapi_spec) and [`PoemAuth::openapi_endpoints`](crate::PoemAuth::openapi_endpoints), which
//! know the API's type, as the crate README explains.
//!
//! The code: `schemes` (names, options, the rewrite), `patch` (the
//! 401/403 answers), `compose` (the served spec, paths and auth routes),
//! `docs` (Swagger UI).
//!
//! ```
//! use auth_core::{ApiKeyHandler, Pipeline};
//! use auth_poem::{ApiAuth, PoemAuth};
//! use poem::{EndpointExt, Route};
//! use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
//!
//! struct Api;
//!
//! #[OpenApi]
//! impl Api {
//!     /// Who am I?
//!     #[oai(path = "/me", method = "get")]
//!     async fn me(&self, user: ApiAuth) -> PlainText<String> {
//!         PlainText(user.id.clone())
//!     }
//! }
//!
//! let pipeline = Pipeline::builder()
//!     .handler(ApiKeyHandler::builder().http_key("k-123").build())
//!     .build()?;
//! let auth = PoemAuth::from_pipeline(pipeline).token_url("/auth/token").build()?;
//! let service = OpenApiService::new(Api, "Demo", "1.0");
//!
//! let spec: serde_json::Value = serde_json::from_str(&auth.openapi_spec(&service)).expect("JSON");
//! assert_eq!(spec["paths"]["/me"]["get"]["security"][1], serde_json::json!({"api_key": []}));
//! assert!(spec["paths"]["/me"]["get"]["responses"]["401"].is_object());
//!
//! let app = Route::new()
//!     .nest("/", auth.openapi_endpoints(&service)) // GET /openapi.json, GET /docs
//!     .nest("/api", service)
//!     .data(auth);
//! # Ok::<_, auth_core::AuthError>(())
//! ```

mod compose;
mod docs;
mod patch;
mod schemes;

pub(crate) use compose::merge_routes;
pub(crate) use patch::METHODS;
pub use patch::patch_spec;
pub use schemes::SchemeNames;
pub(crate) use schemes::{Options, SchemeConfig, generated, intern};

pub use crate::extract::openapi::{ApiAuth, OptionalApiAuth};

/// The default token URL of the OAuth2 password flow.
pub const DEFAULT_TOKEN_URL: &str = "/auth/token";

#[cfg(test)]
mod tests {
    use auth_core::password::PasswordHasher;
    use auth_core::{ApiKeyHandler, BasicHandler, MemoryUserStore};
    use poem::http::StatusCode;
    use poem::test::TestClient;
    use poem::{EndpointExt, Route};
    use poem_openapi::payload::PlainText;

    use auth_core::{AuthError, Pipeline};
    use poem_openapi::{OpenApi, OpenApiService};
    use serde_json::{Value, json};

    use super::*;
    use crate::auth::PoemAuth;

    struct Api;

    #[OpenApi]
    impl Api {
        /// Protected.
        #[oai(path = "/me", method = "get")]
        async fn me(&self, user: ApiAuth) -> PlainText<String> {
            PlainText(user.id.clone())
        }

        /// Optional.
        #[oai(path = "/feed", method = "get")]
        async fn feed(&self, user: OptionalApiAuth) -> PlainText<String> {
            PlainText(
                user.principal()
                    .map_or("anonymous".into(), |p| p.id.clone()),
            )
        }

        /// Public.
        #[oai(path = "/health", method = "get")]
        async fn health(&self) -> PlainText<&'static str> {
            PlainText("ok")
        }
    }

    fn service() -> OpenApiService<Api, ()> {
        OpenApiService::new(Api, "Test </script><script>alert(1)</script>", "1.0")
    }

    fn pipeline() -> Pipeline {
        Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .build()
            .expect("pipeline")
    }

    fn pipeline_with_basic() -> Pipeline {
        let store = MemoryUserStore::new(PasswordHasher::fast_insecure_for_tests());
        Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .handler(BasicHandler::new(std::sync::Arc::new(store)))
            .build()
            .expect("pipeline")
    }

    fn spec_of(auth: &PoemAuth) -> Value {
        serde_json::from_str(&auth.openapi_spec(&service())).expect("spec is JSON")
    }

    fn scheme_names(spec: &Value) -> Vec<String> {
        spec["components"]["securitySchemes"]
            .as_object()
            .expect("schemes")
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn builder_refuses_bad_scheme_names_and_blank_token_url() {
        let named = |names: SchemeNames| PoemAuth::from_pipeline(pipeline()).scheme_names(names);
        for bad in [
            named(SchemeNames {
                bearer: String::new(),
                ..SchemeNames::default()
            }),
            named(SchemeNames {
                api_key: "api key".into(),
                ..SchemeNames::default()
            }),
            named(SchemeNames {
                oauth2: "bearer".into(),
                ..SchemeNames::default()
            }),
            PoemAuth::from_pipeline(pipeline()).token_url("  "),
            PoemAuth::from_pipeline(pipeline()).token_url("/auth/to ken"),
        ] {
            assert!(matches!(bad.build(), Err(AuthError::Misconfigured(_))));
        }
    }

    #[test]
    fn default_spec_has_bearer_api_key_and_oauth2_at_the_default_token_url() {
        let spec = spec_of(&PoemAuth::new(pipeline()));
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(
            schemes["bearer"],
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": schemes["bearer"]["description"]})
        );
        assert_eq!(schemes["api_key"]["type"], "apiKey");
        assert_eq!(schemes["api_key"]["in"], "header");
        assert_eq!(schemes["api_key"]["name"], "x-api-key");
        assert_eq!(
            schemes["oauth2"]["flows"],
            json!({"password": {"tokenUrl": "/auth/token", "refreshUrl": "/auth/token", "scopes": {}}})
        );
        assert_eq!(scheme_names(&spec), ["api_key", "bearer", "oauth2"]);
    }

    #[test]
    fn basic_is_documented_when_the_pipeline_has_a_basic_handler_or_when_told() {
        let with_handler = spec_of(&PoemAuth::new(pipeline_with_basic()));
        assert_eq!(
            with_handler["components"]["securitySchemes"]["basic"]["scheme"],
            "basic"
        );
        assert!(
            with_handler["paths"]["/me"]["get"]["security"]
                .as_array()
                .expect("security")
                .contains(&json!({"basic": []}))
        );

        let turned_off = PoemAuth::from_pipeline(pipeline_with_basic())
            .basic(false)
            .build()
            .expect("valid");
        assert!(!scheme_names(&spec_of(&turned_off)).contains(&"basic".to_owned()));

        let turned_on = PoemAuth::from_pipeline(pipeline())
            .basic(true)
            .build()
            .expect("valid");
        assert!(scheme_names(&spec_of(&turned_on)).contains(&"basic".to_owned()));
    }

    #[test]
    fn two_auths_in_one_process_each_document_their_own_schemes() {
        let first = PoemAuth::from_pipeline(pipeline())
            .api_key_header("x-first-key")
            .token_url("/first/token")
            .scheme_names(SchemeNames {
                api_key: "first_key".into(),
                ..SchemeNames::default()
            })
            .build()
            .expect("valid");
        let _later = PoemAuth::from_pipeline(pipeline())
            .api_key_header("x-later-key")
            .build()
            .expect("valid");
        let spec = spec_of(&first);
        let schemes = &spec["components"]["securitySchemes"];
        assert_eq!(schemes["first_key"]["name"], "x-first-key");
        assert_eq!(
            schemes["oauth2"]["flows"]["password"]["tokenUrl"],
            "/first/token"
        );
        assert_eq!(
            spec["paths"]["/me"]["get"]["security"],
            json!([{"bearer": []}, {"first_key": []}, {"oauth2": []}])
        );
        let later = spec_of(&_later);
        assert_eq!(
            later["components"]["securitySchemes"]["api_key"]["name"],
            "x-later-key"
        );
        assert_eq!(
            later["paths"]["/me"]["get"]["security"],
            json!([{"bearer": []}, {"api_key": []}, {"oauth2": []}])
        );
        assert_eq!(
            spec_of(&first),
            spec,
            "the later auth changed nothing of the first's"
        );
    }

    #[tokio::test]
    async fn optional_extractor_without_auth_fails_closed_with_500() {
        let cli = TestClient::new(Route::new().nest("/", service()));
        cli.get("/feed")
            .send()
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        cli.get("/me")
            .send()
            .await
            .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn extractors_take_the_principal_the_layer_stored() {
        let auth = PoemAuth::new(pipeline());
        let cli = TestClient::new(Route::new().nest("/", service()).with(auth.layer()));
        for path in ["/me", "/feed"] {
            let resp = cli
                .get(path)
                .header("x-api-key", "k-1")
                .header("user_id", "carol")
                .send()
                .await;
            resp.assert_status_is_ok();
            resp.assert_text("carol").await;
        }
    }
}
