//! The token service over HTTP: login, refresh, revoke, logout, who-am-I,
//! the permission catalogue and the JWKS document.
//!
//! The routes are a poem-openapi API ([`TokenApi`]), so they appear with
//! their schemas in the OpenAPI document of a service that includes them;
//! [`PoemAuth::routes`](crate::PoemAuth::routes) serves them on their own,
//! mountable under any prefix.

use std::sync::Arc;

use auth_core::tokens::{LoginError, TokenPair, TokenService};
use auth_core::{AuthError, PermissionSet, Principal};
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::payload::{Form, Json, Response};
use poem_openapi::types::Password;
use poem_openapi::{ApiRequest, ApiResponse, Object, OpenApi};

use crate::auth::PoemAuth;
use crate::openapi::ApiAuth;

/// A login or refresh request as JSON.
///
/// `{"username": "...", "password": "..."}` logs in;
/// `{"refresh_token": "..."}` (with or without `"grant_type": "refresh_token"`)
/// exchanges a refresh token.
#[derive(Object)]
pub struct TokenJson {
    /// The login name.
    pub username: Option<String>,
    /// The password.
    pub password: Option<Password>,
    /// `password` or `refresh_token`; inferred when absent.
    pub grant_type: Option<String>,
    /// A refresh token from an earlier answer.
    pub refresh_token: Option<String>,
}

/// An OAuth2 token request (RFC 6749 §4.3 and §6), as Swagger UI's
/// *Authorize* dialog sends it.
#[derive(Object, serde::Deserialize)]
pub struct TokenForm {
    /// `password` or `refresh_token`.
    pub grant_type: String,
    /// The login name (password grant).
    pub username: Option<String>,
    /// The password (password grant).
    pub password: Option<String>,
    /// The refresh token (refresh grant).
    pub refresh_token: Option<String>,
    /// Requested scopes; the token carries the user's permissions whatever is asked.
    pub scope: Option<String>,
    /// The client id, accepted and ignored (public clients).
    pub client_id: Option<String>,
}

/// The body of `POST /token`: JSON or an OAuth2 form.
#[derive(ApiRequest)]
pub enum TokenRequest {
    /// JSON.
    Json(Json<TokenJson>),
    /// `application/x-www-form-urlencoded`.
    Form(Form<TokenForm>),
}

/// A successful token answer (RFC 6749 §5.1).
#[derive(Object)]
pub struct TokenResponse {
    /// The access token (a JWT).
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// An opaque refresh token, rotated at every use.
    pub refresh_token: String,
}

/// An OAuth2 error (RFC 6749 §5.2).
#[derive(Object)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_grant`, `unsupported_grant_type`, ...
    pub error: String,
}

/// Answers of `POST /token` other than a credential refusal (which is the
/// configured 401 response).
#[derive(ApiResponse)]
pub enum TokenAnswer {
    /// Tokens.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>),
    /// A malformed request, or a refused grant in the OAuth2 form.
    #[oai(status = 400)]
    BadRequest(Json<OAuthError>),
    /// Too many failed logins for this username from this address.
    #[oai(status = 429)]
    TooManyRequests(Json<OAuthError>, #[oai(header = "Retry-After")] i64),
}

/// A token to revoke (RFC 7009).
#[derive(Object, serde::Deserialize)]
pub struct RevokeJson {
    /// An access or refresh token.
    pub token: String,
    /// A hint, accepted and ignored: both kinds are looked up.
    pub token_type_hint: Option<String>,
}

/// The body of `POST /revoke`: JSON or a form.
#[derive(ApiRequest)]
pub enum RevokeRequest {
    /// JSON.
    Json(Json<RevokeJson>),
    /// `application/x-www-form-urlencoded`.
    Form(Form<RevokeJson>),
}

/// The token routes, as a poem-openapi API.
///
/// Include it in your `OpenApiService` next to your own API so the spec
/// documents it: `OpenApiService::new((MyApi, auth.token_api()), ...)`, and
/// mount the service where the token URL says (default `/auth`).
pub struct TokenApi {
    auth: PoemAuth,
    tokens: Option<Arc<TokenService>>,
    permissions: PermissionSet,
}

impl TokenApi {
    pub(crate) fn new(
        auth: PoemAuth,
        tokens: Option<Arc<TokenService>>,
        permissions: PermissionSet,
    ) -> Self {
        Self {
            auth,
            tokens,
            permissions,
        }
    }

    fn service(&self) -> poem::Result<&TokenService> {
        self.tokens.as_deref().ok_or_else(|| {
            poem::Error::from_string(
                "no token service is configured: add one with PoemAuthBuilder::token_service",
                StatusCode::NOT_IMPLEMENTED,
            )
        })
    }

    fn refused(&self) -> poem::Error {
        self.auth.refuse(AuthError::InvalidCredentials, true).into()
    }

    fn answer(pair: TokenPair) -> TokenAnswer {
        TokenAnswer::Ok(Json(TokenResponse {
            access_token: pair.access.expose().to_owned(),
            token_type: "bearer".into(),
            expires_in: pair.access.expires_in(),
            refresh_token: pair.refresh_token().to_owned(),
        }))
    }
}

fn oauth_error(error: &str) -> TokenAnswer {
    TokenAnswer::BadRequest(Json(OAuthError {
        error: error.into(),
    }))
}

enum Grant {
    Password(String, String),
    Refresh(String),
}

#[crate::api]
#[OpenApi(prefix_path = "/", tag = "AuthTag::Auth")]
impl TokenApi {
    /// Log in, or refresh a session.
    ///
    /// JSON `{"username", "password"}` or `{"refresh_token"}`, or the OAuth2
    /// form with `grant_type=password` or `grant_type=refresh_token`.
    /// Refresh tokens rotate at every use; presenting a used one revokes
    /// every token descended from the same login. Wrong credentials get the
    /// configured refusal (401 `{"detail": {"error": "Invalid Credentials"}}`
    /// by default) for a JSON request, and `400 invalid_grant` in the OAuth2
    /// form; the answer never says which part was wrong.
    #[public]
    #[oai(path = "/token", method = "post")]
    async fn token(&self, req: &Request, body: TokenRequest) -> poem::Result<TokenAnswer> {
        let service = self.service()?;
        let (grant, oauth_form) = match body {
            TokenRequest::Json(Json(j)) => {
                let grant = match (
                    j.grant_type.as_deref(),
                    j.refresh_token,
                    j.username,
                    j.password,
                ) {
                    (None | Some("refresh_token"), Some(token), None, None) => {
                        Grant::Refresh(token)
                    }
                    (None | Some("password"), None, Some(user), Some(pw)) => {
                        Grant::Password(user, pw.0)
                    }
                    _ => return Ok(oauth_error("invalid_request")),
                };
                (grant, false)
            }
            TokenRequest::Form(Form(f)) => {
                let grant = match (
                    f.grant_type.as_str(),
                    f.refresh_token,
                    f.username,
                    f.password,
                ) {
                    ("refresh_token", Some(token), _, _) => Grant::Refresh(token),
                    ("password", _, Some(user), Some(pw)) => Grant::Password(user, pw),
                    ("password" | "refresh_token", ..) => {
                        return Ok(oauth_error("invalid_request"));
                    }
                    _ => return Ok(oauth_error("unsupported_grant_type")),
                };
                (grant, true)
            }
        };
        let provider = self.auth.provider();
        let outcome = match grant {
            Grant::Password(user, password) => match provider {
                None => {
                    service
                        .login(&user, &password, &self.auth.client_label(req))
                        .await
                }
                Some(provider) => {
                    let package = serde_json::json!({"username": user, "password": password});
                    service
                        .login_client(&user, &self.auth.client_label(req), async {
                            provider
                                .authenticate(package)
                                .await
                                .map_err(crate::routes::users::login_error)
                        })
                        .await
                }
            }
            .map_err(|e| match e {
                LoginError::Throttled { retry_after } => Ok(TokenAnswer::TooManyRequests(
                    Json(OAuthError {
                        error: "slow_down".into(),
                    }),
                    retry_after,
                )),
                LoginError::InvalidCredentials => Err(None),
                LoginError::Other(e) => Err(Some(e)),
            }),
            Grant::Refresh(token) => service
                .refresh_with(&token, provider.map(|p| &**p))
                .await
                .map_err(|e| match e {
                    AuthError::InvalidCredentials | AuthError::MissingCredentials => Err(None),
                    other => Err(Some(other)),
                }),
        };
        match outcome {
            Ok(pair) => Ok(Self::answer(pair)),
            Err(Ok(answer)) => Ok(answer),
            Err(Err(None)) if oauth_form => Ok(oauth_error("invalid_grant")),
            Err(Err(None)) => Err(self.refused()),
            Err(Err(Some(e))) => Err(self.auth.refuse(e, false).into()),
        }
    }

    /// Revoke a token (RFC 7009).
    ///
    /// An access token is refused from then on; a refresh token ends its
    /// session. An unknown or invalid token still answers 200.
    #[public]
    #[oai(path = "/revoke", method = "post")]
    async fn revoke(&self, body: RevokeRequest) -> poem::Result<()> {
        let token = match body {
            RevokeRequest::Json(Json(j)) | RevokeRequest::Form(Form(j)) => j.token,
        };
        self.service()?
            .revoke(&token)
            .await
            .map_err(|e| self.auth.refuse(e, false).into())
    }

    /// Log out: end the session as a whole, every access token of it (this
    /// one and those minted before it by refreshing) and its refresh tokens.
    #[requires(authenticated)]
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, user: ApiAuth) -> poem::Result<()> {
        self.service()?
            .logout(user.principal())
            .await
            .map_err(|e| self.auth.refuse(e, false).into())
    }

    /// Who am I: the authenticated principal.
    #[requires(authenticated)]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, user: ApiAuth) -> Json<serde_json::Value> {
        Json(principal_json(user.principal()))
    }

    /// Every resource and the permissions that exist on it.
    #[public]
    #[oai(path = "/available-permissions", method = "get")]
    async fn available_permissions(&self) -> Json<serde_json::Value> {
        Json(serde_json::to_value(&self.permissions).unwrap_or_default())
    }

    /// The public keys tokens are signed with (RFC 7517), for other services
    /// to verify them. 404 when tokens are signed with a shared secret.
    ///
    /// Cacheable for [`JWKS_MAX_AGE_SECS`]: a key rotated in is published at
    /// least that long before it signs (see `TokenIssuer::rotate_to`).
    #[public]
    #[oai(path = "/.well-known/jwks.json", method = "get")]
    async fn jwks(&self) -> poem::Result<Response<Json<serde_json::Value>>> {
        let jwks = published_jwks(self.service()?)
            .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
        Ok(Response::new(Json(jwks)).header(
            "Cache-Control",
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
    }

    /// OpenID Provider metadata (OpenID Connect Discovery 1.0), minimal: the
    /// issuer, its JWKS and token endpoints, its signing algorithms, so other
    /// services can verify its tokens from the issuer URL alone.
    ///
    /// 404 unless the issuer (`iss`) is an http(s) URL (that of the place
    /// these routes are mounted, e.g. `https://api.example/auth`) and tokens
    /// are signed with public keys.
    #[public]
    #[oai(path = "/.well-known/openid-configuration", method = "get")]
    async fn openid_configuration(&self) -> poem::Result<Response<Json<serde_json::Value>>> {
        let metadata = discovery_document(self.service()?)
            .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))?;
        Ok(Response::new(Json(metadata)).header(
            "Cache-Control",
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
    }
}

/// The JWKS `service` publishes: `None` when its tokens are signed with
/// a shared secret, and `/.well-known/jwks.json` answers 404.
pub(crate) fn published_jwks(service: &TokenService) -> Option<serde_json::Value> {
    let jwks = service.issuer().keys().to_jwks();
    jwks["keys"]
        .as_array()
        .is_some_and(|keys| !keys.is_empty())
        .then_some(jwks)
}

/// The OpenID Provider metadata of `service`: `None` unless its issuer is
/// an http(s) URL and its tokens are signed with public keys, when
/// `/.well-known/openid-configuration` answers 404.
pub(crate) fn discovery_document(service: &TokenService) -> Option<serde_json::Value> {
    let issuer = service.issuer();
    let iss = issuer
        .issuer_id()
        .filter(|i| i.starts_with("https://") || i.starts_with("http://"))?;
    let mut algorithms: Vec<&str> = issuer
        .keys()
        .keys()
        .filter(|k| k.public_jwk().is_some())
        .map(|k| k.algorithm().name())
        .collect();
    algorithms.sort_unstable();
    algorithms.dedup();
    if algorithms.is_empty() {
        return None;
    }
    let base = iss.trim_end_matches('/');
    Some(serde_json::json!({
        "issuer": iss,
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "grant_types_supported": ["password", "refresh_token"],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "token_endpoint_auth_methods_supported": ["none"],
    }))
}

/// How long other services may cache `/.well-known/jwks.json` and
/// `/.well-known/openid-configuration`, in seconds. Rotate signing keys with
/// a `publish_ahead` of at least this plus the verifiers' refresh interval.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

/// The tag of the token routes.
#[derive(poem_openapi::Tags)]
pub enum AuthTag {
    /// Authentication: tokens, sessions, identity.
    Auth,
}

/// A principal as `/me` shows it: no secrets, every fact a client may use.
pub fn principal_json(p: &Principal) -> serde_json::Value {
    serde_json::json!({
        "id": p.id,
        "name": p.name,
        "roles": p.roles,
        "permissions": p.permissions,
        "scopes": p.scopes,
        "method": p.method,
        "expires_at": p.expires_at,
        "extra": p.extra,
    })
}
