//! Refusals as poem responses: 401, 403, 500 and 503 with JSON bodies.

use std::fmt;
use std::sync::Arc;

use auth_core::{AuthError, Channel};
use poem::Response;
use poem::error::ResponseError;
use poem::http::header::WWW_AUTHENTICATE;
use poem::http::{HeaderValue, StatusCode};

/// The body of a 500 answer: it says nothing of the cause.
const INTERNAL_BODY: &str = r#"{"detail":{"error":"Internal Server Error"}}"#;
/// The body of a 503 answer: it says nothing of the cause.
const UNAVAILABLE_BODY: &str = r#"{"detail":{"error":"Service Unavailable"}}"#;
/// The body of a 429: too many failed password checks (as the token route's).
const THROTTLED_BODY: &str = r#"{"error":"slow_down"}"#;

/// The configured statuses and pre-serialized JSON bodies of refusals.
#[derive(Debug, Clone)]
pub(crate) struct Responses {
    pub(crate) unauthorized_status: StatusCode,
    pub(crate) unauthorized_body: String,
    pub(crate) forbidden_status: StatusCode,
    pub(crate) forbidden_body: String,
    /// The status of a WebSocket upgrade refused for want of a good credential.
    pub(crate) ws_refused_status: StatusCode,
    /// `Basic realm="..."`, sent beside the Bearer challenge when a realm is set.
    pub(crate) basic_challenge: Option<HeaderValue>,
}

/// The default body of both 401 and 403 answers.
pub(crate) fn default_body() -> serde_json::Value {
    serde_json::json!({"detail": {"error": "Invalid Credentials"}})
}

impl Default for Responses {
    fn default() -> Self {
        let body = default_body().to_string();
        Self {
            unauthorized_status: StatusCode::UNAUTHORIZED,
            unauthorized_body: body.clone(),
            forbidden_status: StatusCode::FORBIDDEN,
            forbidden_body: body,
            ws_refused_status: StatusCode::FORBIDDEN,
            basic_challenge: None,
        }
    }
}

/// A request refused by authentication or authorization, ready to become a
/// response.
///
/// It converts into a [`poem::Error`] (through [`ResponseError`]), so `?`
/// works in handlers and middleware. The response is:
///
/// | [`AuthError`] | status (default) | body | `WWW-Authenticate` |
/// |---|---|---|---|
/// | `MissingCredentials`, `InvalidCredentials` | 401 (403 on a WebSocket upgrade) | configured | `Bearer`, plus `error="invalid_token"` when a credential was presented; and `Basic realm="..."` when a realm is set |
/// | `Forbidden` | 403 | configured | none |
/// | `Misconfigured` | 500 | generic | none |
/// | `Unavailable` | 503 | generic | none |
///
/// The 500 and 503 bodies never carry the cause; it is logged instead. A
/// refused WebSocket upgrade carries the challenges only when its status is
/// configured to be 401 (see
/// [`PoemAuthBuilder::ws_refused_status`](crate::PoemAuthBuilder::ws_refused_status)).
///
/// ```
/// use auth_core::{AuthMethod, AuthPermission as P, AuthResource as R, Principal, Requirement};
/// use poem::error::ResponseError;
///
/// # let pipeline = auth_core::Pipeline::builder()
/// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
/// #     .build()
/// #     .expect("pipeline");
/// let auth = auth_poem::PoemAuth::new(pipeline);
/// let user = Principal::new("u", AuthMethod::Jwt);
/// let refusal = auth
///     .check(&user, &Requirement::permission(R::Users, P::Delete))
///     .expect_err("no permission");
/// assert_eq!(refusal.status(), 403);
/// ```
#[derive(Clone)]
pub struct AuthRejection {
    error: AuthError,
    presented: bool,
    channel: Channel,
    responses: Arc<Responses>,
}

impl AuthRejection {
    pub(crate) fn new(error: AuthError, presented: bool, responses: Arc<Responses>) -> Self {
        Self {
            error,
            presented,
            channel: Channel::Http,
            responses,
        }
    }

    /// The 403 of a caller that lacks what a route requires: every
    /// permission check of the crate refuses through here, so the answer
    /// and its log line are the same wherever the check runs.
    pub(crate) fn forbidden(
        principal: &str,
        requirement: &dyn fmt::Display,
        responses: &Arc<Responses>,
    ) -> Self {
        tracing::debug!(principal, %requirement, "permission denied");
        Self::new(AuthError::Forbidden, true, responses.clone())
    }

    /// The same refusal, of a WebSocket upgrade.
    pub(crate) fn on_channel(mut self, channel: Channel) -> Self {
        self.channel = channel;
        self
    }

    /// The channel the refused request came in on.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The outcome that caused the refusal.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// Whether the request carried a credential (one that was then refused,
    /// or that could not be read).
    pub fn credential_presented(&self) -> bool {
        self.presented
    }

    /// The `WWW-Authenticate` challenges, for a 401 outcome: Bearer, then
    /// Basic when a realm is set. A WebSocket refusal carries them only when
    /// it is answered with 401.
    fn challenges(&self) -> Vec<HeaderValue> {
        if !self.error.is_unauthenticated()
            || (self.channel == Channel::WebSocket && self.status() != StatusCode::UNAUTHORIZED)
        {
            return Vec::new();
        }
        let bearer = if self.presented {
            HeaderValue::from_static(r#"Bearer error="invalid_token""#)
        } else {
            HeaderValue::from_static("Bearer")
        };
        let mut challenges = vec![bearer];
        challenges.extend(self.responses.basic_challenge.clone());
        challenges
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("error", &self.error)
            .field("credential_presented", &self.presented)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl ResponseError for AuthRejection {
    fn status(&self) -> StatusCode {
        match self.error {
            AuthError::MissingCredentials | AuthError::InvalidCredentials => match self.channel {
                Channel::Http => self.responses.unauthorized_status,
                Channel::WebSocket => self.responses.ws_refused_status,
            },
            AuthError::Forbidden => self.responses.forbidden_status,
            AuthError::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn as_response(&self) -> Response {
        let body = match self.error {
            AuthError::MissingCredentials | AuthError::InvalidCredentials => {
                self.responses.unauthorized_body.clone()
            }
            AuthError::Forbidden => self.responses.forbidden_body.clone(),
            AuthError::Misconfigured(_) => INTERNAL_BODY.to_owned(),
            AuthError::Unavailable(_) => UNAVAILABLE_BODY.to_owned(),
            AuthError::Throttled { .. } => THROTTLED_BODY.to_owned(),
        };
        let mut builder = Response::builder()
            .status(self.status())
            .content_type("application/json");
        if let AuthError::Throttled { retry_after } = self.error {
            builder = builder.header("retry-after", retry_after.max(1).to_string());
        }
        for challenge in self.challenges() {
            builder = builder.header(WWW_AUTHENTICATE, challenge);
        }
        builder.body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(error: AuthError, presented: bool) -> Response {
        AuthRejection::new(error, presented, Arc::new(Responses::default())).as_response()
    }

    async fn body_of(resp: Response) -> serde_json::Value {
        let text = resp.into_body().into_string().await.expect("body");
        serde_json::from_str(&text).expect("json body")
    }

    #[tokio::test]
    async fn missing_credential_is_a_bare_bearer_challenge() {
        let resp = reject(AuthError::MissingCredentials, false);
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.header(WWW_AUTHENTICATE), Some("Bearer"));
        assert_eq!(resp.content_type(), Some("application/json"));
        assert_eq!(body_of(resp).await, default_body());
    }

    #[tokio::test]
    async fn refused_credential_names_invalid_token() {
        let resp = reject(AuthError::InvalidCredentials, true);
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            resp.header(WWW_AUTHENTICATE),
            Some(r#"Bearer error="invalid_token""#)
        );
        assert_eq!(body_of(resp).await, default_body());
    }

    #[tokio::test]
    async fn forbidden_is_403_without_challenge() {
        let resp = reject(AuthError::Forbidden, true);
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(resp.header(WWW_AUTHENTICATE), None);
        assert_eq!(body_of(resp).await, default_body());
    }

    #[tokio::test]
    async fn server_side_failures_hide_their_cause() {
        for (error, status) in [
            (
                AuthError::Misconfigured("secret-detail".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                AuthError::Unavailable("db at 10.0.0.7".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ] {
            let resp = reject(error, true);
            assert_eq!(resp.status(), status);
            assert_eq!(resp.header(WWW_AUTHENTICATE), None);
            let text = resp.into_body().into_string().await.expect("body");
            assert!(
                !text.contains("secret-detail") && !text.contains("10.0.0.7"),
                "{text}"
            );
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn poem_error_keeps_the_response() {
        let err: poem::Error = AuthRejection::new(
            AuthError::InvalidCredentials,
            true,
            Arc::new(Responses::default()),
        )
        .into();
        assert!(err.is::<AuthRejection>());
        let resp = err.into_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.header(WWW_AUTHENTICATE).is_some());
    }

    fn challenges_of(resp: &Response) -> Vec<&str> {
        resp.headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().expect("text"))
            .collect()
    }

    #[test]
    fn basic_realm_is_a_second_challenge_after_bearer() {
        let responses = Arc::new(Responses {
            basic_challenge: Some(HeaderValue::from_static(r#"Basic realm="chat""#)),
            ..Responses::default()
        });
        for (presented, bearer) in [(false, "Bearer"), (true, r#"Bearer error="invalid_token""#)] {
            let resp =
                AuthRejection::new(AuthError::InvalidCredentials, presented, responses.clone())
                    .as_response();
            assert_eq!(challenges_of(&resp), [bearer, r#"Basic realm="chat""#]);
        }
        let resp = AuthRejection::new(AuthError::Forbidden, true, responses).as_response();
        assert!(challenges_of(&resp).is_empty());
    }

    #[test]
    fn websocket_refusal_is_403_without_challenge_unless_configured_401() {
        let resp = AuthRejection::new(
            AuthError::MissingCredentials,
            false,
            Arc::new(Responses::default()),
        )
        .on_channel(Channel::WebSocket)
        .as_response();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(challenges_of(&resp).is_empty());

        let responses = Arc::new(Responses {
            ws_refused_status: StatusCode::UNAUTHORIZED,
            ..Responses::default()
        });
        let resp = AuthRejection::new(AuthError::InvalidCredentials, true, responses)
            .on_channel(Channel::WebSocket)
            .as_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenges_of(&resp), [r#"Bearer error="invalid_token""#]);
    }
}
