//! `#[derive(AuthHandlerConfig)]`, `#[auth_handler]` and the
//! `HandlerRegistry`: list, validate with field-level errors, build, and the
//! process-wide registration.

use auth_core::handlers::config::ConfigError;
use auth_core::{
    AuthContext, AuthError, AuthHandler, AuthHandlerConfig, AuthMethod, AuthResult, Credential,
    FieldError, FromConfig, HandlerRegistry, Pipeline, Principal, async_trait, auth_handler,
};
use serde::Deserialize;
use serde_json::json;

/// Delegate authentication to an identity provider.
#[derive(AuthHandlerConfig, Deserialize, schemars::JsonSchema)]
#[auth_config(name = "Custom IdP", handler = IdpHandler)]
#[serde(deny_unknown_fields)]
struct IdpConfig {
    /// Where the identity provider answers.
    server_url: String,
    /// Seconds to wait for it.
    #[serde(default = "default_timeout")]
    timeout_secs: u32,
    /// The audiences it issues for.
    #[serde(default)]
    audiences: Vec<Audience>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Audience {
    name: String,
}

fn default_timeout() -> u32 {
    5
}

#[auth_handler(config = IdpConfig)]
struct IdpHandler {
    server_url: String,
    timeout_secs: u32,
    audiences: Vec<String>,
}

impl FromConfig<IdpConfig> for IdpHandler {
    fn from_config(config: IdpConfig) -> AuthResult<Self> {
        if !config.server_url.starts_with("https://") {
            return Err(AuthError::Misconfigured(
                "the identity provider must be reached over https".into(),
            ));
        }
        Ok(Self {
            server_url: config.server_url,
            timeout_secs: config.timeout_secs,
            audiences: config.audiences.into_iter().map(|a| a.name).collect(),
        })
    }
}

#[async_trait]
impl AuthHandler for IdpHandler {
    fn name(&self) -> &str {
        "idp"
    }

    async fn authorize_jwt(
        &self,
        _token: &str,
        _cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        // A real one would ask the IdP, within the timeout, for these audiences.
        let _ = (self.timeout_secs, &self.audiences);
        Err(AuthError::Unavailable(
            "the test IdP is not reachable".into(),
        ))
    }

    async fn authorize_key(&self, key: &str, _cx: &AuthContext) -> AuthResult<Option<Principal>> {
        Ok((key == self.server_url).then(|| {
            Principal::new(
                "idp-user",
                AuthMethod::Custom {
                    handler: "idp".into(),
                },
            )
        }))
    }
}

/// A config registered only explicitly: no `#[auth_handler]` names it.
#[derive(AuthHandlerConfig, Deserialize, schemars::JsonSchema)]
#[auth_config(id = "static-key", name = "Static key", description = "One fixed key.", handler = StaticKey)]
struct StaticKeyConfig {
    key: String,
}

struct StaticKey(String);

impl FromConfig<StaticKeyConfig> for StaticKey {
    fn from_config(config: StaticKeyConfig) -> AuthResult<Self> {
        Ok(StaticKey(config.key))
    }
}

#[async_trait]
impl AuthHandler for StaticKey {
    fn name(&self) -> &str {
        "static-key"
    }

    async fn authorize_key(&self, key: &str, _cx: &AuthContext) -> AuthResult<Option<Principal>> {
        Ok((key == self.0).then(|| {
            Principal::new(
                "static",
                AuthMethod::Custom {
                    handler: "static-key".into(),
                },
            )
        }))
    }
}

#[test]
fn the_derive_sets_id_name_description_and_handler() {
    assert_eq!(IdpConfig::ID, "IdpConfig");
    assert_eq!(IdpConfig::NAME, "Custom IdP");
    assert_eq!(
        IdpConfig::DESCRIPTION,
        "Delegate authentication to an identity provider."
    );
    assert_eq!(StaticKeyConfig::ID, "static-key");
    assert_eq!(StaticKeyConfig::DESCRIPTION, "One fixed key.");
}

#[test]
fn auth_handler_registers_its_config_process_wide() {
    let registry = HandlerRegistry::with_registered().expect("no id conflict");
    let ids: Vec<_> = registry.list().map(|info| info.id).collect();
    assert!(ids.contains(&"IdpConfig"), "{ids:?}");
    assert!(
        !ids.contains(&"static-key"),
        "only #[auth_handler] registers process-wide"
    );
}

#[test]
fn explicit_registration_lists_id_name_description_and_schema() {
    let mut registry = HandlerRegistry::new();
    registry
        .register::<StaticKeyConfig>()
        .and_then(|r| r.register::<IdpConfig>())
        .expect("registered");
    let list: Vec<_> = registry.list().collect();
    assert_eq!(
        list.iter().map(|i| i.id).collect::<Vec<_>>(),
        ["IdpConfig", "static-key"],
        "sorted by id"
    );
    let idp = registry.get("IdpConfig").expect("listed");
    assert_eq!(idp.name, "Custom IdP");
    let schema = serde_json::to_value(&idp.schema).expect("schema");
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["server_url"]));
    assert_eq!(
        schema["properties"]["server_url"]["description"],
        "Where the identity provider answers."
    );
    let listed = serde_json::to_value(idp).expect("info");
    assert_eq!(listed["description"], IdpConfig::DESCRIPTION);
}

#[test]
fn registering_a_type_twice_is_a_no_op_but_a_second_type_under_one_id_is_refused() {
    #[derive(AuthHandlerConfig, Deserialize, schemars::JsonSchema)]
    #[auth_config(id = "static-key", name = "Impostor", description = "x", handler = StaticKey)]
    struct Impostor {}
    impl FromConfig<Impostor> for StaticKey {
        fn from_config(_: Impostor) -> AuthResult<Self> {
            Ok(StaticKey(String::new()))
        }
    }

    let mut registry = HandlerRegistry::new();
    registry.register::<StaticKeyConfig>().expect("first");
    registry
        .register::<StaticKeyConfig>()
        .expect("same type again");
    let err = registry
        .register::<Impostor>()
        .map(drop)
        .expect_err("conflict");
    assert!(
        matches!(
            err,
            ConfigError::DuplicateId {
                id: "static-key",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(registry.get("static-key").expect("kept").name, "Static key");
}

fn registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register::<IdpConfig>().expect("registered");
    registry
}

#[test]
fn a_valid_config_validates() {
    let ok = json!({"server_url": "https://idp.example", "audiences": [{"name": "api"}]});
    assert_eq!(registry().validate("IdpConfig", &ok), Ok(()));
}

#[test]
fn a_value_of_the_wrong_type_is_reported_at_its_field() {
    let err = registry()
        .validate(
            "IdpConfig",
            &json!({"server_url": "https://idp.example", "timeout_secs": "soon"}),
        )
        .expect_err("invalid");
    assert_eq!(
        err.field_errors(),
        [FieldError::new(
            "/timeout_secs",
            "invalid type: string \"soon\", expected u32"
        )]
    );
    assert_eq!(
        err.to_string(),
        "invalid handler config: /timeout_secs: invalid type: string \"soon\", expected u32"
    );
}

#[test]
fn a_nested_field_is_reported_by_its_json_pointer() {
    let err = registry()
        .validate(
            "IdpConfig",
            &json!({"server_url": "https://x", "audiences": [{"name": "a"}, {"name": 7}]}),
        )
        .expect_err("invalid");
    assert_eq!(err.field_errors()[0].path, "/audiences/1/name");
}

#[test]
fn missing_and_unknown_fields_are_reported_at_the_field_they_name() {
    let reg = registry();
    let missing = reg.validate("IdpConfig", &json!({})).expect_err("missing");
    assert_eq!(
        missing.field_errors(),
        [FieldError::new("/server_url", "missing field `server_url`")]
    );
    let unknown = reg
        .validate("IdpConfig", &json!({"server_url": "https://x", "sever": 1}))
        .expect_err("unknown");
    assert_eq!(unknown.field_errors()[0].path, "/sever");
    assert!(
        unknown.field_errors()[0]
            .message
            .starts_with("unknown field `sever`, expected one of"),
        "{unknown}"
    );
}

#[test]
fn an_unknown_id_is_its_own_error() {
    assert_eq!(
        registry().validate("Nope", &json!({})),
        Err(ConfigError::UnknownHandler("Nope".into()))
    );
    assert!(matches!(
        registry().build("Nope", json!({})),
        Err(AuthError::Misconfigured(m)) if m.contains("`Nope`")
    ));
}

#[test]
fn build_makes_a_working_handler_from_json() {
    let handler = registry()
        .build("IdpConfig", json!({"server_url": "https://idp.example"}))
        .expect("built");
    assert_eq!(handler.name(), "idp");
    let pipeline = Pipeline::builder()
        .handler_arc(handler)
        .build()
        .expect("pipeline");
    let principal = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(pipeline.authenticate(
            Some(Credential::api_key("https://idp.example")),
            AuthContext::http(),
        ))
        .expect("authenticated");
    assert_eq!(principal.id, "idp-user");
}

#[test]
fn build_refuses_an_invalid_config_with_the_field_and_keeps_the_handlers_own_error() {
    let reg = registry();
    match reg.build("IdpConfig", json!({"server_url": 1})) {
        Err(AuthError::Misconfigured(m)) => assert_eq!(
            m,
            "invalid handler config: /server_url: invalid type: integer `1`, expected a string"
        ),
        other => panic!("{:?}", other.map(|h| h.name().to_owned())),
    }
    match reg.build("IdpConfig", json!({"server_url": "http://plain"})) {
        Err(AuthError::Misconfigured(m)) => assert!(m.contains("https"), "{m}"),
        other => panic!("{:?}", other.map(|h| h.name().to_owned())),
    }
}
