//! The token-registry routes: a caller's own tokens, and the administrator's
//! listing, revocation, cleanup and issuing of tokens for clients.
//!
//! | route | needs |
//! |---|---|
//! | `GET /tokens/mine` | a credential |
//! | `DELETE /tokens/mine/:jti` | a credential |
//! | `DELETE /tokens/mine` | a credential |
//! | `GET /tokens` | `USERS:LIST` |
//! | `POST /tokens/revoke` | `USERS:DELETE` |
//! | `DELETE /tokens/expired` | `USERS:DELETE` |
//! | `DELETE /tokens/sessions/:sid` | `USERS:DELETE` |
//! | `POST /tokens` | `USERS:WRITE` |
//!
//! Without a token service with a token store
//! ([`TokenService::with_token_store`](auth_core::tokens::TokenService::with_token_store))
//! they answer 501.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_core::store::{ManageError, Page, TokenFilter, TokenRecord};
use auth_core::tokens::TokenService;
use auth_core::{AuthPermission, AuthResource};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::openapi::ApiAuth;
use crate::routes::AuthTag;
use crate::routes::error::ManageFailure;

/// An issued access token as the registry keeps it (never the token itself).
#[derive(Debug, Clone, Object)]
pub struct TokenView {
    /// The token's `jti`.
    pub jti: String,
    /// The client it was issued to (its `sub`).
    pub client_id: String,
    /// The roles it carries.
    pub roles: Vec<String>,
    /// When it was issued (Unix seconds).
    pub created_at: i64,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// `login`, `refresh`, or the id of the administrator who issued it.
    pub issued_by: String,
    /// Whether it has been revoked.
    pub revoked: bool,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        Self {
            jti: t.jti,
            client_id: t.client_id,
            roles: t.roles.into_iter().collect(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            issued_by: t.issued_by,
            revoked: t.revoked,
        }
    }
}

/// One page of tokens, newest first.
#[derive(Debug, Clone, Object)]
pub struct TokenPage {
    /// The tokens.
    pub tokens: Vec<TokenView>,
    /// How many were skipped.
    pub offset: u64,
    /// The page size used.
    pub limit: u32,
}

/// How many tokens an operation revoked.
#[derive(Debug, Clone, Object)]
pub struct RevokedCount {
    /// The count.
    pub revoked: u64,
}

/// How many expired token records were deleted.
#[derive(Debug, Clone, Object)]
pub struct DeletedCount {
    /// The count.
    pub deleted: u64,
}

/// Which tokens to revoke: every set field must match. An empty filter is
/// refused unless `all` is `true`, so no body revokes everything by mistake.
#[derive(Debug, Clone, Default, Object)]
pub struct RevokeFilter {
    /// This one token.
    pub jti: Option<String>,
    /// Tokens of this client.
    pub client_id: Option<String>,
    /// Tokens carrying this role.
    pub role: Option<String>,
    /// Revoke every unexpired token (when no other field is set).
    #[oai(default)]
    pub all: bool,
}

/// A token to issue for a client.
#[derive(Debug, Clone, Object)]
pub struct IssueRequest {
    /// The client (user id) the token is for.
    pub client_id: String,
    /// Roles the token carries: a subset of the client's roles.
    #[oai(default)]
    pub roles: Vec<String>,
    /// The token's lifetime, within the configured bounds.
    pub lifetime_seconds: i64,
}

/// A token issued for a client.
#[derive(Debug, Object)]
pub struct IssuedTokenBody {
    /// The access token (a JWT).
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// Its `jti`, to revoke it by.
    pub jti: String,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
}

/// The answer of `POST /tokens`.
#[derive(ApiResponse)]
pub enum IssueAnswer {
    /// The token.
    #[oai(status = 201)]
    Created(Json<IssuedTokenBody>),
}

/// The answer of `DELETE /tokens/sessions/:sid`.
#[derive(ApiResponse)]
pub enum SessionEnded {
    /// The session is ended.
    #[oai(status = 204)]
    Done,
}

/// The token-registry routes, as a poem-openapi API (see the module docs).
pub struct TokenAdminApi {
    tokens: Option<Arc<TokenService>>,
}

impl TokenAdminApi {
    pub(crate) fn new(tokens: Option<Arc<TokenService>>) -> Self {
        Self { tokens }
    }

    fn service(&self) -> Result<&TokenService, ManageFailure> {
        match self.tokens.as_deref() {
            Some(s) if s.token_store().is_some() => Ok(s),
            _ => Err(ManageError::Unsupported("token registry").into()),
        }
    }
}

fn page(offset: Option<u64>, limit: Option<u32>) -> Page {
    let mut page = Page::default();
    if let Some(offset) = offset {
        page.offset = offset;
    }
    if let Some(limit) = limit {
        page.limit = limit;
    }
    page.limit = page.capped_limit();
    page
}

fn token_page(tokens: Vec<TokenRecord>, page: Page) -> Json<TokenPage> {
    Json(TokenPage {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
        offset: page.offset,
        limit: page.limit,
    })
}

#[auth_poem::api]
#[OpenApi(prefix_path = "/", tag = "AuthTag::Auth")]
impl TokenAdminApi {
    /// My tokens: the access tokens issued to the caller, newest first.
    #[requires(authenticated)]
    #[oai(path = "/tokens/mine", method = "get")]
    async fn my_tokens(
        &self,
        user: ApiAuth,
        /// Include expired tokens.
        include_expired: Query<Option<bool>>,
        /// How many to skip.
        offset: Query<Option<u64>>,
        /// How many to return (at most 500).
        limit: Query<Option<u32>>,
    ) -> Result<Json<TokenPage>, ManageFailure> {
        let service = self.service()?;
        let page = page(offset.0, limit.0);
        let filter = TokenFilter {
            client_id: Some(user.id.clone()),
            include_expired: include_expired.0.unwrap_or(false),
            ..TokenFilter::default()
        };
        Ok(token_page(service.list_tokens(&filter, page).await?, page))
    }

    /// Revoke one of my tokens. 404 when the caller has no live token with
    /// this `jti`.
    #[requires(authenticated)]
    #[oai(path = "/tokens/mine/:jti", method = "delete")]
    async fn revoke_my_token(
        &self,
        user: ApiAuth,
        /// The token's `jti`.
        jti: Path<String>,
    ) -> Result<Json<RevokedCount>, ManageFailure> {
        let filter = TokenFilter {
            jti: Some(jti.0.clone()),
            client_id: Some(user.id.clone()),
            ..TokenFilter::default()
        };
        match self.service()?.revoke_tokens(&filter).await? {
            0 => Err(ManageError::NotFound(format!("no live token `{}` of yours", jti.0)).into()),
            revoked => Ok(Json(RevokedCount { revoked })),
        }
    }

    /// Revoke all my tokens: every access token issued to the caller until
    /// now (this one included) and every refresh token.
    #[requires(authenticated)]
    #[oai(path = "/tokens/mine", method = "delete")]
    async fn revoke_my_tokens(&self, user: ApiAuth) -> Result<Json<RevokedCount>, ManageFailure> {
        let service = self.service()?;
        let filter = TokenFilter {
            client_id: Some(user.id.clone()),
            ..TokenFilter::default()
        };
        let revoked = service.revoke_tokens(&filter).await?;
        service
            .end_user_sessions(&user.id)
            .await
            .map_err(ManageError::from)?;
        Ok(Json(RevokedCount { revoked }))
    }

    /// List issued tokens (administrators), newest first.
    #[requires(AuthResource::Users, AuthPermission::List)]
    #[oai(path = "/tokens", method = "get")]
    async fn list_tokens(
        &self,
        /// Tokens of this client.
        client_id: Query<Option<String>>,
        /// Tokens carrying this role.
        role: Query<Option<String>>,
        /// Include expired tokens.
        include_expired: Query<Option<bool>>,
        /// How many to skip.
        offset: Query<Option<u64>>,
        /// How many to return (at most 500).
        limit: Query<Option<u32>>,
    ) -> Result<Json<TokenPage>, ManageFailure> {
        let service = self.service()?;
        let page = page(offset.0, limit.0);
        let filter = TokenFilter {
            client_id: client_id.0,
            role: role.0,
            include_expired: include_expired.0.unwrap_or(false),
            ..TokenFilter::default()
        };
        Ok(token_page(service.list_tokens(&filter, page).await?, page))
    }

    /// Revoke every unexpired token matching a filter (administrators);
    /// `{"all": true}` revokes them all. Returns how many were revoked.
    #[requires(AuthResource::Users, AuthPermission::Delete)]
    #[oai(path = "/tokens/revoke", method = "post")]
    async fn revoke_tokens(
        &self,
        body: Json<RevokeFilter>,
    ) -> Result<Json<RevokedCount>, ManageFailure> {
        let service = self.service()?;
        let RevokeFilter {
            jti,
            client_id,
            role,
            all,
        } = body.0;
        let empty = jti.is_none() && client_id.is_none() && role.is_none();
        if empty != all {
            return Err(ManageFailure::invalid(
                "give `jti`, `client_id` or `role`, or `\"all\": true` alone",
            ));
        }
        let filter = TokenFilter {
            jti,
            client_id,
            role,
            include_expired: false,
        };
        let revoked = service.revoke_tokens(&filter).await?;
        Ok(Json(RevokedCount { revoked }))
    }

    /// End a session (administrators): every access token whose `sid` it
    /// is, wherever it was minted, and its refresh tokens, on every
    /// instance sharing the registry. The session id is the `sid` of its
    /// tokens (`extra.sid` in `GET /me`). 204, also for an unknown session.
    #[requires(AuthResource::Users, AuthPermission::Delete)]
    #[oai(path = "/tokens/sessions/:sid", method = "delete")]
    async fn end_session(
        &self,
        /// The session's id.
        sid: Path<String>,
    ) -> Result<SessionEnded, ManageFailure> {
        self.service()?
            .end_session(&sid.0)
            .await
            .map_err(ManageError::from)?;
        Ok(SessionEnded::Done)
    }

    /// Delete the records of expired tokens (administrators). Returns how
    /// many were deleted.
    #[requires(AuthResource::Users, AuthPermission::Delete)]
    #[oai(path = "/tokens/expired", method = "delete")]
    async fn delete_expired(&self) -> Result<Json<DeletedCount>, ManageFailure> {
        let deleted = self.service()?.delete_expired_tokens().await?;
        Ok(Json(DeletedCount { deleted }))
    }

    /// Issue an access token for a client (administrators): its roles a
    /// subset of the client's, its lifetime within the configured bounds.
    /// The caller must hold every role and permission the client holds
    /// (403 otherwise): nobody mints a token more powerful than themselves.
    #[requires(AuthResource::Users, AuthPermission::Write)]
    #[oai(path = "/tokens", method = "post")]
    async fn issue(
        &self,
        admin: ApiAuth,
        body: Json<IssueRequest>,
    ) -> Result<IssueAnswer, ManageFailure> {
        let service = self.service()?;
        let IssueRequest {
            client_id,
            roles,
            lifetime_seconds,
        } = body.0;
        let roles: BTreeSet<String> = roles.into_iter().collect();
        let token = service
            .issue_for_client(&client_id, &roles, lifetime_seconds, admin.principal())
            .await
            .map_err(|e| match e {
                ManageError::Forbidden => ManageFailure::forbidden(format!(
                    "the roles must be a subset of the roles of client `{client_id}`"
                )),
                other => other.into(),
            })?;
        Ok(IssueAnswer::Created(Json(IssuedTokenBody {
            access_token: token.expose().to_owned(),
            token_type: "bearer".into(),
            expires_in: token.expires_in(),
            jti: token.jti.clone(),
            expires_at: token.expires_at,
        })))
    }
}
