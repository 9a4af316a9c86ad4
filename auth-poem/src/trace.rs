//! [`MaskedTracing`]: request logging that keeps credentials out of the URI.

use std::sync::Arc;
use std::time::Instant;

use poem::web::RealIp;
use poem::{Endpoint, FromRequest, IntoResponse, Middleware, Request, Response, Result};
use tracing::{Instrument, Level};

use crate::extract::masked_uri;

/// Request-logging middleware like poem's `Tracing`, with the values of
/// credential-carrying query parameters replaced by `***` in the logged URI.
///
/// poem's own `Tracing` middleware records `uri = %req.original_uri()`: the
/// raw URI, so a WebSocket `?token=` or an API key in the query would reach
/// the logs. This one records the same span (`request`, with
/// `remote_addr`, `version`, `method`, `uri`) and the same `response` or
/// `error` event, with the URI passed through [`masked_uri`](crate::masked_uri).
/// Make it with [`PoemAuth::masked_tracing`](crate::PoemAuth::masked_tracing),
/// which hides the parameters that auth reads, or with [`MaskedTracing::new`].
///
/// ```
/// use auth_core::{ApiKeyHandler, Pipeline};
/// use auth_poem::PoemAuth;
/// use poem::{get, handler, EndpointExt, Route};
///
/// #[handler]
/// fn index() {}
///
/// let pipeline = Pipeline::builder()
///     .handler(ApiKeyHandler::builder().ws_key("k-123").build())
///     .build()?;
/// let auth = PoemAuth::new(pipeline);
/// // Instead of `.with(poem::middleware::Tracing)`:
/// let app = Route::new().at("/", get(index)).with(auth.masked_tracing());
/// # let _ = app;
/// # Ok::<_, auth_core::AuthError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MaskedTracing {
    names: Arc<[String]>,
}

impl MaskedTracing {
    /// Logs requests with the values of the query parameters `names` hidden.
    pub fn new(names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            names: names.into_iter().map(Into::into).collect(),
        }
    }
}

impl<E: Endpoint> Middleware<E> for MaskedTracing {
    type Output = MaskedTracingEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        MaskedTracingEndpoint {
            inner: ep,
            names: self.names.clone(),
        }
    }
}

/// The endpoint [`MaskedTracing`] wraps around another.
#[derive(Debug)]
pub struct MaskedTracingEndpoint<E> {
    inner: E,
    names: Arc<[String]>,
}

impl<E: Endpoint> Endpoint for MaskedTracingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let remote_addr = RealIp::from_request_without_body(&req)
            .await
            .ok()
            .and_then(|real_ip| real_ip.0)
            .map(|addr| addr.to_string())
            .unwrap_or_else(|| req.remote_addr().to_string());
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let span = tracing::span!(
            Level::INFO,
            "request",
            remote_addr = %remote_addr,
            version = ?req.version(),
            method = %req.method(),
            uri = %masked_uri(req.original_uri(), &names),
        );
        async move {
            let started = Instant::now();
            let res = self.inner.call(req).await;
            let duration = started.elapsed();
            match res {
                Ok(resp) => {
                    let resp = resp.into_response();
                    tracing::info!(status = %resp.status(), ?duration, "response");
                    Ok(resp)
                }
                Err(err) => {
                    tracing::info!(status = %err.status(), error = %err, ?duration, "error");
                    Err(err)
                }
            }
        }
        .instrument(span)
        .await
    }
}
