//! Open mode's guard against web pages: [`LoopbackOnly`].
//!
//! With a channel left without its key, the service binds loopback only
//! ([`check_bind`](crate::check_bind)), but a web page in a browser on the
//! same machine can still reach it: by DNS rebinding (a name of the page's
//! own, such as `evil.example`, made to resolve to `127.0.0.1`) or by
//! simply posting a form or opening a WebSocket to `127.0.0.1` from another
//! site. The browser then names the page's site in `Host` or `Origin`,
//! which no local client does. So in open mode a request is refused when
//!
//! - its `Host` is not a loopback name or address: `localhost`, an IPv4
//!   address in `127.0.0.0/8` or `[::1]`, with any port or none (names
//!   under `.localhost` are refused too: nothing here needs them); or
//! - it is unsafe (`POST`, `PUT`, `PATCH`, `DELETE`, or a WebSocket
//!   upgrade, which a browser opens across sites without asking) and
//!   carries an `Origin` that is not `http://` or `https://` on such a
//!   host (`null` included). Requests without `Origin` (curl, SDKs) pass.
//!
//! The refusal is the service's usual `403 {"detail": {"error": "Invalid
//! Credentials"}}`: the chat server's clients know no other refusal, and it
//! tells a probing page nothing.

use std::net::{Ipv4Addr, Ipv6Addr};

use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// The middleware described in the [module documentation](self); wrap the
/// service in it only in open mode.
///
/// ```
/// use chat_service::loopback::LoopbackOnly;
/// use poem::{EndpointExt, Route, get, handler};
///
/// #[handler]
/// fn hello() -> &'static str {
///     "hello"
/// }
///
/// let open = true;
/// let app = Route::new().at("/", get(hello)).with_if(open, LoopbackOnly);
/// # let _ = app;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopbackOnly;

impl<E: Endpoint> Middleware<E> for LoopbackOnly {
    type Output = LoopbackOnlyEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        LoopbackOnlyEndpoint { inner }
    }
}

/// The endpoint [`LoopbackOnly`] makes.
#[derive(Debug)]
pub struct LoopbackOnlyEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for LoopbackOnlyEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        if let Err(why) = check(&req) {
            tracing::warn!(
                reason = why,
                "open mode: refused a request that may come from a web page"
            );
            return Ok((
                StatusCode::FORBIDDEN,
                poem::web::Json(crate::invalid_credentials()),
            )
                .into_response());
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// Why `req` is refused, if it is.
fn check(req: &Request) -> std::result::Result<(), &'static str> {
    let host = match req.headers().get(header::HOST) {
        Some(value) => value.to_str().ok(),
        // HTTP/2 carries the host in the URI's authority instead.
        None => req.uri().authority().map(|a| a.as_str()),
    };
    if !host.is_some_and(is_loopback_host) {
        return Err("the Host is not a loopback name or address");
    }
    let unsafe_method = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) || req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if unsafe_method
        && let Some(origin) = req.headers().get(header::ORIGIN)
        && !origin.to_str().is_ok_and(is_loopback_origin)
    {
        return Err("the Origin of an unsafe request is another site");
    }
    Ok(())
}

/// Whether `host` (a `Host` value: a name or address, then perhaps
/// `:port`) is `localhost`, `127.x.y.z` or `[::1]`.
fn is_loopback_host(host: &str) -> bool {
    let (loopback, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let Some((v6, after)) = rest.split_once(']') else {
                return false;
            };
            let port = match after {
                "" => "",
                _ => match after.strip_prefix(':') {
                    Some(port) => port,
                    None => return false,
                },
            };
            (
                v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()),
                port,
            )
        }
        None => {
            let (name, port) = host.rsplit_once(':').unwrap_or((host, ""));
            let loopback = name.eq_ignore_ascii_case("localhost")
                || name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
            (loopback, port)
        }
    };
    loopback
        && port.bytes().all(|b| b.is_ascii_digit())
        && (port.is_empty() || port.parse::<u16>().is_ok())
}

/// Whether `origin` (an `Origin` value) is `http://` or `https://` on a
/// loopback host.
fn is_loopback_origin(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && !host.contains('/')
        && is_loopback_host(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_with_any_port_or_none() {
        for host in [
            "localhost",
            "LocalHost:1865",
            "127.0.0.1",
            "127.0.0.1:1865",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:1865",
            "localhost:",
            "[::1]:",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn other_hosts_are_refused() {
        for host in [
            "",
            "evil.example",
            "evil.example:1865",
            "localhost.evil.example",
            "app.localhost",
            "localhost.",
            "127.0.0.1.evil.example",
            "10.0.0.1:1865",
            "0.0.0.0:1865",
            "[::2]:1865",
            "::1",
            "[::1",
            "[::1]x",
            "localhost:+80",
            "localhost:99999",
            "localhost:1865:1",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn only_http_origins_on_loopback_hosts_are_local() {
        for origin in [
            "http://localhost:1865",
            "https://127.0.0.1",
            "http://[::1]:8080",
        ] {
            assert!(is_loopback_origin(origin), "{origin}");
        }
        for origin in [
            "null",
            "http://evil.example",
            "https://localhost.evil.example",
            "file://localhost",
            "http://localhost/path",
            "localhost:1865",
        ] {
            assert!(!is_loopback_origin(origin), "{origin}");
        }
    }
}
