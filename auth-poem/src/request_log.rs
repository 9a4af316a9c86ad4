//! [`RequestLog`]: one structured log line per request, with who made it.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use auth_core::{AuthMethod, Principal};
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// The request-id header [`RequestLog`] answers with.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What the log line says of the caller: filled in by
/// [`PoemAuth::authenticate`](crate::PoemAuth::authenticate) when it accepts.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    id: String,
    method: &'static str,
    token_id: Option<String>,
}

/// The slot [`RequestLog`] puts in a request's extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditSlot(Arc<Mutex<Option<Seen>>>);

/// Notes the accepted principal of `req` for its log line, if a
/// [`RequestLog`] is logging it.
pub(crate) fn record(req: &Request, principal: &Principal) {
    if let Some(slot) = req.extensions().get::<AuditSlot>()
        && let Ok(mut seen) = slot.0.lock()
    {
        *seen = Some(Seen {
            id: principal.id.clone(),
            method: method_name(&principal.method),
            token_id: principal.token_id.clone(),
        });
    }
}

fn method_name(method: &AuthMethod) -> &'static str {
    match method {
        AuthMethod::ApiKey { .. } => "api_key",
        AuthMethod::Basic => "basic",
        AuthMethod::Jwt => "jwt",
        AuthMethod::Custom { .. } => "custom",
        AuthMethod::Anonymous => "anonymous",
    }
}

/// Logs one `tracing` event per request, at `INFO`, target
/// `auth_poem::request`: `request_id`, `method`, `path`, `status`,
/// `principal`, `auth_method`, `token_id`, `client_ip`, `user_agent` and
/// `latency_ms`. The response carries the id in `x-request-id`.
///
/// The path is logged without its query string, so no credential carried in
/// a query parameter reaches the log; no header value but the user agent is
/// logged. The client IP is [`client_addr`](crate::client_addr): the peer's
/// address, or, when the peer is one of the
/// [`trusted_proxies`](Self::trusted_proxies), the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy: a client
/// cannot choose the address it is logged under by sending the header.
///
/// ```
/// use auth_poem::RequestLog;
/// use poem::{get, handler, EndpointExt, Route};
///
/// #[handler]
/// fn index() {}
///
/// let app = Route::new()
///     .at("/", get(index))
///     .with(RequestLog::new().trusted_proxies(["10.0.0.1".parse().unwrap()]));
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    trusted: Arc<[IpAddr]>,
}

impl RequestLog {
    /// Logs requests; `X-Forwarded-For` is ignored until proxies are trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// The proxies whose `X-Forwarded-For` header is believed.
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted = proxies.into_iter().collect();
        self
    }

    /// The client's address for `req`, as [`RequestLog`] logs it: the
    /// [`client_addr`](crate::client_addr) with these trusted proxies.
    pub fn client_ip(&self, req: &Request) -> Option<IpAddr> {
        crate::client::client_addr(req, &self.trusted)
    }
}

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestLogEndpoint {
            inner: ep,
            config: self.clone(),
        }
    }
}

/// The endpoint [`RequestLog`] wraps around another.
#[derive(Debug)]
pub struct RequestLogEndpoint<E> {
    inner: E,
    config: RequestLog,
}

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let started = Instant::now();
        let request_id = auth_core::random::random_id().unwrap_or_else(|_| "-".to_owned());
        let slot = AuditSlot::default();
        req.extensions_mut().insert(slot.clone());
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let user_agent = req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect::<String>());
        let client_ip = self.config.client_ip(&req);

        let mut resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        let seen = slot.0.lock().ok().and_then(|mut s| s.take());
        tracing::info!(
            target: "auth_poem::request",
            request_id = %request_id,
            method = %method,
            path = %path,
            status = resp.status().as_u16(),
            principal = seen.as_ref().map(|s| s.id.as_str()),
            auth_method = seen.as_ref().map(|s| s.method),
            token_id = seen.as_ref().and_then(|s| s.token_id.as_deref()),
            client_ip = client_ip.map(tracing::field::display),
            user_agent = user_agent.as_deref(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        Ok(resp)
    }
}
