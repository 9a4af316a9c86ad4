use auth_core::Channel;
use base64::engine::general_purpose::STANDARD;
use poem::http::header::AUTHORIZATION;
use secrecy::ExposeSecret;

use super::*;

const KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

fn with_header(name: &str, value: &[u8]) -> Request {
    let value = HeaderValue::from_bytes(value).expect("valid header bytes");
    Request::builder().header(name, value).finish()
}

fn sources() -> Sources {
    Sources {
        api_key_header: KEY_HEADER,
        api_key_cookie: None,
        api_key_query: None,
        ws_token_query: "token".to_owned(),
    }
}

fn read(req: &Request) -> Result<Option<Credential>, AuthError> {
    credential(req, &sources(), Channel::Http)
}

fn secret_of(c: &Credential) -> String {
    match c {
        Credential::Bearer(s) | Credential::ApiKey(s) => s.expose_secret().to_owned(),
        Credential::Basic { username, password } => {
            format!("{username}:{}", password.expose_secret())
        }
    }
}

#[test]
fn bearer_scheme_is_case_insensitive_and_trimmed() {
    for value in ["Bearer tok", "bearer tok", "BEARER   tok  ", "Bearer\ttok"] {
        let c = read(&with_header("authorization", value.as_bytes()))
            .expect("ok")
            .expect("present");
        assert_eq!(c.kind(), "bearer", "{value}");
        assert_eq!(secret_of(&c), "tok", "{value}");
    }
}

#[test]
fn basic_decodes_user_and_password_with_or_without_padding() {
    let padded = STANDARD.encode("alice:won:der");
    let unpadded = padded.trim_end_matches('=').to_owned();
    for enc in [padded, unpadded] {
        let c = read(&with_header(
            "authorization",
            format!("Basic {enc}").as_bytes(),
        ))
        .expect("ok")
        .expect("present");
        assert_eq!(c.kind(), "basic");
        assert_eq!(secret_of(&c), "alice:won:der");
    }
}

#[test]
fn malformed_basic_is_a_refused_credential() {
    let no_colon = format!("Basic {}", STANDARD.encode("alice"));
    let not_utf8 = format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'x']));
    for value in [
        "Basic !!!not-base64!!!",
        no_colon.as_str(),
        not_utf8.as_str(),
    ] {
        assert_eq!(
            read(&with_header("authorization", value.as_bytes())).expect_err(value),
            AuthError::InvalidCredentials
        );
    }
}

#[test]
fn unknown_scheme_and_non_text_values_are_refused() {
    for value in [&b"Digest abc"[..], b"just-a-token", b"Bearer \xfftok"] {
        assert_eq!(
            read(&with_header("authorization", value)).expect_err("refused"),
            AuthError::InvalidCredentials
        );
    }
    assert_eq!(
        read(&with_header("x-api-key", b"k\xff")).expect_err("refused"),
        AuthError::InvalidCredentials
    );
}

#[test]
fn empty_values_count_as_absent() {
    for value in ["", "   ", "Bearer", "Bearer   ", "Basic "] {
        assert!(
            read(&with_header("authorization", value.as_bytes()))
                .expect("ok")
                .is_none(),
            "{value:?}"
        );
    }
    assert!(read(&with_header("x-api-key", b"")).expect("ok").is_none());
    assert!(read(&Request::default()).expect("ok").is_none());
}

#[test]
fn api_key_header_is_read_when_authorization_is_absent_or_empty() {
    let req = Request::builder().header("x-api-key", " k-1 ").finish();
    let c = read(&req).expect("ok").expect("present");
    assert_eq!(c.kind(), "api_key");
    assert_eq!(secret_of(&c), "k-1");

    let req = Request::builder()
        .header(AUTHORIZATION, "")
        .header("x-api-key", "k-1")
        .finish();
    assert_eq!(read(&req).expect("ok").expect("present").kind(), "api_key");

    let req = Request::builder()
        .header(AUTHORIZATION, "Bearer tok")
        .header("x-api-key", "k-1")
        .finish();
    let c = read(&req).expect("ok").expect("present");
    assert_eq!((c.kind(), secret_of(&c).as_str()), ("bearer", "tok"));
}

#[test]
fn repeated_credential_headers_are_refused() {
    for name in ["authorization", "x-api-key"] {
        let mut req = Request::builder().finish();
        for value in ["Bearer a", "Bearer b"] {
            req.headers_mut().append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        assert_eq!(read(&req).expect_err(name), AuthError::InvalidCredentials);
    }
}

#[test]
fn context_carries_hint_agent_and_channel() {
    let req = Request::builder()
        .header("user_id", "alice")
        .header(USER_AGENT, "curl/8")
        .finish();
    let cx = context(
        &req,
        &HeaderName::from_static("user_id"),
        &[],
        Channel::Http,
    );
    assert_eq!(cx.channel, Channel::Http);
    assert_eq!(cx.user_id_hint(), Some("alice"));
    assert_eq!(cx.user_agent.as_deref(), Some("curl/8"));
    // The placeholder address of a request that came from no socket is no address.
    assert_eq!(cx.remote_addr, None);

    let peer: std::net::SocketAddr = "192.0.2.7:4242".parse().expect("addr");
    let (parts, ()) = poem::http::Request::new(()).into_parts();
    let parts = poem::RequestParts::from((
        parts,
        poem::web::LocalAddr::default(),
        poem::web::RemoteAddr(Addr::SocketAddr(peer)),
        poem::http::uri::Scheme::HTTP,
    ));
    let req = Request::from_parts(parts, poem::Body::empty());
    let cx = context(
        &req,
        &HeaderName::from_static("user_id"),
        &[],
        Channel::Http,
    );
    assert_eq!(cx.remote_addr, Some(peer));

    let cx = context(
        &Request::default(),
        &HeaderName::from_static("user_id"),
        &[],
        Channel::Http,
    );
    assert_eq!(cx.user_id_hint(), None);
    assert_eq!(cx.user_agent, None);
}

#[test]
fn the_client_address_is_forwarded_only_through_trusted_proxies() {
    let proxy: std::net::SocketAddr = "10.0.0.1:4242".parse().expect("addr");
    let (mut parts, ()) = poem::http::Request::new(()).into_parts();
    parts
        .headers
        .insert("x-forwarded-for", "203.0.113.9".parse().expect("header"));
    let parts = poem::RequestParts::from((
        parts,
        poem::web::LocalAddr::default(),
        poem::web::RemoteAddr(Addr::SocketAddr(proxy)),
        poem::http::uri::Scheme::HTTP,
    ));
    let req = Request::from_parts(parts, poem::Body::empty());
    let header = HeaderName::from_static("user_id");
    let untrusted = context(&req, &header, &[], Channel::Http);
    assert_eq!(untrusted.client_label(), "10.0.0.1");
    let trusted = context(&req, &header, &[proxy.ip()], Channel::Http);
    assert_eq!(trusted.client_label(), "203.0.113.9");
    assert_eq!(trusted.remote_addr, Some(proxy));
}

fn with_sources(
    req: &Request,
    channel: Channel,
    f: impl FnOnce(&mut Sources),
) -> Result<Option<Credential>, AuthError> {
    let mut sources = sources();
    f(&mut sources);
    credential(req, &sources, channel)
}

fn get(uri: &str) -> Request {
    Request::builder().uri_str(uri).finish()
}

#[test]
fn cookie_api_key_is_read_only_when_enabled() {
    let req = Request::builder()
        .header(COOKIE, "theme=dark; session-key=k-1; other=x")
        .finish();
    assert!(read(&req).expect("ok").is_none());
    let c = with_sources(&req, Channel::Http, |s| {
        s.api_key_cookie = Some("session-key".into());
    })
    .expect("ok")
    .expect("present");
    assert_eq!((c.kind(), secret_of(&c).as_str()), ("api_key", "k-1"));
}

#[test]
fn first_cookie_of_a_name_counts_and_empty_cookie_is_absent() {
    let enable = |s: &mut Sources| s.api_key_cookie = Some("key".into());
    let mut req = Request::builder().header(COOKIE, "key=first").finish();
    req.headers_mut()
        .append(COOKIE, HeaderValue::from_static("key=second"));
    let c = with_sources(&req, Channel::Http, enable)
        .expect("ok")
        .expect("present");
    assert_eq!(secret_of(&c), "first");
    for value in ["key=", "key=  ", "other=k"] {
        let req = Request::builder().header(COOKIE, value).finish();
        assert!(
            with_sources(&req, Channel::Http, enable)
                .expect("ok")
                .is_none(),
            "{value}"
        );
    }
}

#[test]
fn query_api_key_is_read_only_when_enabled_on_both_channels() {
    let req = get("/x?api_key=k%2B1&page=2");
    for channel in [Channel::Http, Channel::WebSocket] {
        assert!(credential(&req, &sources(), channel).expect("ok").is_none());
        let c = with_sources(&req, channel, |s| s.api_key_query = Some("api_key".into()))
            .expect("ok")
            .expect("present");
        assert_eq!((c.kind(), secret_of(&c).as_str()), ("api_key", "k+1"));
    }
}

#[test]
fn ws_token_query_is_read_as_bearer_on_websocket_only() {
    let req = get("/ws?token=eyJh.eyJz.c2ln");
    assert!(read(&req).expect("ok").is_none());
    let c = credential(&req, &sources(), Channel::WebSocket)
        .expect("ok")
        .expect("present");
    assert_eq!(c.kind(), "bearer");
    assert!(c.is_jwt_shaped());
    let c = with_sources(&get("/ws?t=plain-key"), Channel::WebSocket, |s| {
        s.ws_token_query = "t".into();
    })
    .expect("ok")
    .expect("present");
    assert_eq!((c.kind(), secret_of(&c).as_str()), ("bearer", "plain-key"));
    // Same name for both parameters: on WebSocket it is the token.
    let c = with_sources(&get("/ws?token=k"), Channel::WebSocket, |s| {
        s.api_key_query = Some("token".into());
    })
    .expect("ok")
    .expect("present");
    assert_eq!(c.kind(), "bearer");
}

#[test]
fn precedence_is_authorization_then_header_then_cookie_then_query() {
    let all = |s: &mut Sources| {
        s.api_key_cookie = Some("key".into());
        s.api_key_query = Some("api_key".into());
    };
    let uri = "/ws?token=from-token&api_key=from-query";
    let full = Request::builder()
        .uri_str(uri)
        .header(AUTHORIZATION, "Bearer from-authorization")
        .header("x-api-key", "from-header")
        .header(COOKIE, "key=from-cookie")
        .finish();
    let no_auth = Request::builder()
        .uri_str(uri)
        .header(AUTHORIZATION, "")
        .header("x-api-key", "from-header")
        .header(COOKIE, "key=from-cookie")
        .finish();
    let cookie_only = Request::builder()
        .uri_str(uri)
        .header("x-api-key", " ")
        .header(COOKIE, "key=from-cookie")
        .finish();
    let query_only = Request::builder()
        .uri_str(uri)
        .header(COOKIE, "key=")
        .finish();
    for (req, http, ws) in [
        (&full, "from-authorization", "from-authorization"),
        (&no_auth, "from-header", "from-header"),
        (&cookie_only, "from-cookie", "from-cookie"),
        (&query_only, "from-query", "from-token"),
    ] {
        let got = |channel| {
            secret_of(
                &with_sources(req, channel, all)
                    .expect("ok")
                    .expect("present"),
            )
        };
        assert_eq!(got(Channel::Http), http);
        assert_eq!(got(Channel::WebSocket), ws);
    }
}

#[test]
fn empty_or_repeated_query_values() {
    let enable = |s: &mut Sources| s.api_key_query = Some("api_key".into());
    for uri in [
        "/?api_key=",
        "/?api_key=+",
        "/?api_key",
        "/?token=&api_key=%20",
    ] {
        assert!(
            with_sources(&get(uri), Channel::WebSocket, enable)
                .expect("ok")
                .is_none(),
            "{uri}"
        );
    }
    // An empty duplicate is absent, not ambiguous.
    let c = with_sources(&get("/?api_key=&api_key=k"), Channel::Http, enable)
        .expect("ok")
        .expect("present");
    assert_eq!(secret_of(&c), "k");
    for uri in ["/?api_key=a&api_key=b", "/?api_key=a&api_key=a"] {
        assert_eq!(
            with_sources(&get(uri), Channel::Http, enable).expect_err(uri),
            AuthError::InvalidCredentials
        );
    }
    assert_eq!(
        credential(&get("/?token=a&token=b"), &sources(), Channel::WebSocket).expect_err("twice"),
        AuthError::InvalidCredentials
    );
}

#[test]
fn masked_uri_hides_the_named_values_only() {
    let mask = |uri: &str, names: &[&str]| masked_uri(&uri.parse().expect("uri"), names);
    assert_eq!(
        mask("/ws/alice?token=s3cr3t&room=7", &["token"]),
        "/ws/alice?token=***&room=7"
    );
    assert_eq!(
        mask("/x?%74oken=s3cr3t&TOKEN=s3cr3t&tokens=ok&token", &["token"]),
        "/x?%74oken=***&TOKEN=***&tokens=ok&token"
    );
    assert_eq!(
        mask(
            "http://h:8080/a?api_key=k&token=t&a=b=c",
            &["token", "api_key"]
        ),
        "http://h:8080/a?api_key=***&token=***&a=b=c"
    );
    assert_eq!(mask("/plain", &["token"]), "/plain");
    assert_eq!(mask("/?token=t", &[]), "/?token=t");
}
