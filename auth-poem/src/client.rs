//! [`client_addr`]: the address of the client behind a request, the one
//! place that decides it for the log lines and the login throttle.

use std::net::{IpAddr, SocketAddr};

use poem::web::RemoteAddr;
use poem::{Addr, Request};

/// The IP address of the client that made `req`.
///
/// It is the socket peer's address, or, when the peer is one of
/// `trusted_proxies`, the right-most `X-Forwarded-For` entry that is not
/// itself a trusted proxy (the walk stops at an entry that is not an
/// address). No other header is read, and with no trusted proxy no header
/// is read at all: a client cannot choose the address it is known by.
/// `None` when the request came from no socket (a Unix socket, a test
/// client).
///
/// [`RequestLog`](crate::RequestLog) and
/// [`MaskedTracing`](crate::MaskedTracing) log this address, and the login
/// routes throttle by it, with the proxies given to
/// [`PoemAuthBuilder::trusted_proxies`](crate::PoemAuthBuilder::trusted_proxies).
///
/// ```
/// use auth_poem::client_addr;
///
/// // A test request comes from no socket: no address, whatever it claims.
/// let req = poem::Request::builder().header("x-forwarded-for", "6.6.6.6").finish();
/// assert_eq!(client_addr(&req, &["10.0.0.1".parse()?]), None);
/// # Ok::<_, std::net::AddrParseError>(())
/// ```
pub fn client_addr(req: &Request, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = match req.remote_addr() {
        RemoteAddr(Addr::SocketAddr(addr)) => addr.ip(),
        _ => return None,
    };
    behind(peer, forwarded_for(req).as_deref(), trusted_proxies)
}

/// [`client_addr`] as text, else the peer as poem names it: what a log
/// line and the login throttle key on.
pub(crate) fn client_label(req: &Request, trusted_proxies: &[IpAddr]) -> String {
    match client_addr(req, trusted_proxies) {
        Some(ip) => ip.to_string(),
        None => req.remote_addr().to_string(),
    }
}

/// Every `X-Forwarded-For` value of `req`, joined in order.
fn forwarded_for(req: &Request) -> Option<String> {
    let values: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// The client behind `peer`: walks `X-Forwarded-For` from the right while
/// the hop is trusted.
fn behind(peer: IpAddr, forwarded: Option<&str>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let canonical = |ip: IpAddr| ip.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| canonical(*t) == canonical(ip));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return Some(client);
    }
    for hop in forwarded.unwrap_or("").rsplit(',') {
        let hop = hop.trim();
        let Some(ip) = hop
            .parse::<IpAddr>()
            .ok()
            .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        else {
            // An unreadable hop: stop at the last address we could trust.
            break;
        };
        client = canonical(ip);
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

/// A request from the socket peer `peer` with `headers`, for tests.
#[cfg(test)]
pub(crate) fn request_from(peer: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = poem::http::Request::builder().uri("/");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let (parts, ()) = builder.body(()).expect("request").into_parts();
    let parts = poem::RequestParts::from((
        parts,
        poem::web::LocalAddr::default(),
        RemoteAddr(Addr::SocketAddr(peer.parse().expect("peer address"))),
        poem::http::uri::Scheme::HTTP,
    ));
    Request::from_parts(parts, poem::Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_ignored_from_an_untrusted_peer() {
        assert_eq!(
            behind(ip("203.0.113.9"), Some("1.2.3.4"), &[ip("10.0.0.1")]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_through_trusted_proxies() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client forged the left-most entry; the right-most untrusted hop wins.
        assert_eq!(
            behind(
                ip("10.0.0.1"),
                Some("6.6.6.6, 198.51.100.7, 10.0.0.2"),
                &trusted
            ),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(behind(ip("10.0.0.1"), None, &trusted), Some(ip("10.0.0.1")));
        assert_eq!(
            behind(ip("::ffff:10.0.0.1"), Some("198.51.100.7"), &trusted),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk() {
        let trusted = [ip("10.0.0.1")];
        assert_eq!(
            behind(ip("10.0.0.1"), Some("198.51.100.7, garbage"), &trusted),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn client_addr_reads_no_header_without_trusted_proxies() {
        let forged = [("x-forwarded-for", "6.6.6.6"), ("x-real-ip", "6.6.6.6")];
        let req = request_from("203.0.113.9:4242", &forged);
        assert_eq!(client_addr(&req, &[]), Some(ip("203.0.113.9")));
        assert_eq!(client_label(&req, &[]), "203.0.113.9");
        // Trusting another proxy does not make this peer's header believed.
        assert_eq!(
            client_addr(&req, &[ip("10.0.0.1")]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn client_addr_behind_a_trusted_proxy_is_the_right_most_untrusted_hop() {
        let req = request_from(
            "10.0.0.1:4242",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "198.51.100.7"),
                ("x-real-ip", "6.6.6.6"),
            ],
        );
        assert_eq!(
            client_addr(&req, &[ip("10.0.0.1")]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(client_addr(&req, &[]), Some(ip("10.0.0.1")));
    }

    #[test]
    fn a_request_from_no_socket_has_no_client_addr() {
        let req = Request::builder()
            .header("x-forwarded-for", "6.6.6.6")
            .finish();
        assert_eq!(client_addr(&req, &[ip("10.0.0.1")]), None);
        assert_eq!(client_label(&req, &[]), req.remote_addr().to_string());
    }
}
