//! [`MaskedTracing`]: request logging that keeps credentials out of the URI.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::{Instrument, Level};

use crate::client::client_label;
use crate::extract::credential::masked_uri;

/// Request-logging middleware like poem's `Tracing`, with the values of
/// credential-carrying query parameters replaced by `***` in the logged URI.
///
/// poem's own `Tracing` middleware records `uri = %req.original_uri()`: the
/// raw URI, so a WebSocket `?token=` or an API key in the query would reach
/// the logs. This one records the same span (`request`, with
/// `remote_addr`, `version`, `method`, `uri`) and the same `response` or
/// `error` event, with the URI passed through [`masked_uri`](crate::masked_uri).
/// Make it with [`PoemAuth::masked_tracing`](crate::PoemAuth::masked_tracing),
/// which hides the parameters that auth reads and trusts the auth's
/// [`trusted_proxies`](crate::PoemAuthBuilder::trusted_proxies), or with
/// [`MaskedTracing::new`].
///
/// The `remote_addr` it records is [`client_addr`](crate::client_addr):
/// the socket peer, or behind one of the
/// [`trusted_proxies`](Self::trusted_proxies) the right-most untrusted
/// `X-Forwarded-For` entry. Unlike poem's `Tracing`, it never believes an
/// `X-Forwarded-For` or `X-Real-IP` header a client sent directly.
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
    trusted: Arc<[IpAddr]>,
}

impl MaskedTracing {
    /// Logs requests with the values of the query parameters `names` hidden;
    /// `X-Forwarded-For` is ignored until proxies are trusted.
    pub fn new(names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            names: names.into_iter().map(Into::into).collect(),
            trusted: Arc::new([]),
        }
    }

    /// The proxies whose `X-Forwarded-For` header is believed, as
    /// [`RequestLog::trusted_proxies`](crate::RequestLog::trusted_proxies).
    ///
    /// ```
    /// use auth_poem::MaskedTracing;
    ///
    /// let tracing = MaskedTracing::new(["token"]).trusted_proxies(["10.0.0.1".parse()?]);
    /// # let _ = tracing;
    /// # Ok::<_, std::net::AddrParseError>(())
    /// ```
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted = proxies.into_iter().collect();
        self
    }
}

impl<E: Endpoint> Middleware<E> for MaskedTracing {
    type Output = MaskedTracingEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        MaskedTracingEndpoint {
            inner: ep,
            names: self.names.clone(),
            trusted: self.trusted.clone(),
        }
    }
}

/// The endpoint [`MaskedTracing`] wraps around another.
#[derive(Debug)]
pub struct MaskedTracingEndpoint<E> {
    inner: E,
    names: Arc<[String]>,
    trusted: Arc<[IpAddr]>,
}

impl<E: Endpoint> Endpoint for MaskedTracingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let remote_addr = client_label(&req, &self.trusted);
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

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Mutex;

    use poem::{EndpointExt, handler};

    use super::*;
    use crate::client::request_from;

    /// A log sink the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("log lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[handler]
    fn index() {}

    /// What is logged while `middleware` serves `req`.
    async fn logged(middleware: MaskedTracing, req: Request) -> String {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        index.with(middleware).call(req).await.expect("answered");
        String::from_utf8_lossy(&logs.0.lock().expect("log lock")).into_owned()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn forged_forwarding_headers_from_an_untrusted_peer_are_not_logged() {
        let forged = [("x-forwarded-for", "6.6.6.6"), ("x-real-ip", "6.6.6.6")];
        for tracing in [
            MaskedTracing::new(["token"]),
            MaskedTracing::new(["token"]).trusted_proxies(["10.0.0.1".parse().expect("ip")]),
        ] {
            let text = logged(tracing, request_from("203.0.113.9:4242", &forged)).await;
            assert!(text.contains("remote_addr=203.0.113.9"), "{text}");
            assert!(!text.contains("6.6.6.6"), "{text}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_logged() {
        let tracing =
            MaskedTracing::new(["token"]).trusted_proxies(["10.0.0.1".parse().expect("ip")]);
        let req = request_from(
            "10.0.0.1:4242",
            &[
                ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
                ("x-real-ip", "6.6.6.6"),
            ],
        );
        let text = logged(tracing, req).await;
        assert!(text.contains("remote_addr=198.51.100.7"), "{text}");
        assert!(!text.contains("6.6.6.6"), "{text}");
    }
}
