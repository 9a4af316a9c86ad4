//! The options of [`PoemAuthBuilder`] that say how requests are read and
//! answered: where credentials come from, the refusals, the trusted
//! proxies, and what the OpenAPI document shows.

use std::net::IpAddr;

use poem::http::StatusCode;

use super::builder::PoemAuthBuilder;
use crate::openapi::SchemeNames;

impl PoemAuthBuilder {
    /// The header an API key is read from (default `x-api-key`; names are
    /// case-insensitive).
    pub fn api_key_header(mut self, name: impl Into<String>) -> Self {
        self.api_key_header = name.into();
        self
    }

    /// Also reads an API key from the cookie `name` (off by default), after
    /// `Authorization` and the API-key header, on HTTP and WebSocket alike.
    ///
    /// A browser sends cookies with cross-site requests and cross-site
    /// WebSocket upgrades: set the cookie `SameSite=Strict` (and `HttpOnly`,
    /// `Secure`), and check `Origin` on WebSocket routes that accept it.
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::from_pipeline(pipeline).api_key_cookie("api_key").build()?;
    /// let req = poem::Request::builder().header("cookie", "api_key=k-123").finish();
    /// assert_eq!(auth.credential(&req)?.map(|c| c.kind()), Some("api_key"));
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn api_key_cookie(mut self, name: impl Into<String>) -> Self {
        self.api_key_cookie = Some(name.into());
        self
    }

    /// Also reads an API key from the query parameter `name`, on HTTP and
    /// WebSocket alike, after every other source. Off by default: a key in
    /// a URL ends up in proxy and access logs, browser history and
    /// `Referer` headers. This crate's own log lines mask it (see
    /// [`PoemAuth::masked_uri`](super::PoemAuth::masked_uri)); poem's `Tracing` middleware does not (see
    /// [`PoemAuth::masked_tracing`](super::PoemAuth::masked_tracing)).
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::from_pipeline(pipeline).api_key_query("api_key").build()?;
    /// let req = poem::Request::builder().uri_str("/items?api_key=k-123").finish();
    /// assert_eq!(auth.credential(&req)?.map(|c| c.kind()), Some("api_key"));
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn api_key_query(mut self, name: impl Into<String>) -> Self {
        self.api_key_query = Some(name.into());
        self
    }

    /// The query parameter a WebSocket upgrade carries its token in
    /// (default `token`). It is always read on WebSocket upgrades, never on
    /// plain HTTP requests.
    pub fn ws_token_query(mut self, name: impl Into<String>) -> Self {
        self.ws_token_query = name.into();
        self
    }

    /// The status of a WebSocket upgrade refused for a missing or bad
    /// credential (default 403, as the chat servers this mimics answer); a
    /// 4xx status. The body is the unauthorized body; the
    /// `WWW-Authenticate` challenges are sent only if this is 401.
    pub fn ws_refused_status(mut self, status: StatusCode) -> Self {
        self.ws_refused_status = status;
        self
    }

    /// Sends `WWW-Authenticate: Basic realm="<realm>"` beside the Bearer
    /// challenge on 401 answers (two header values, Bearer first), so
    /// browsers and tools offer a login for Basic. Off by default. The realm
    /// is visible ASCII without `"` or `\`.
    ///
    /// ```
    /// use poem::{get, handler, test::TestClient, EndpointExt, Route};
    ///
    /// #[handler]
    /// fn index() {}
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::from_pipeline(pipeline).basic_realm("chat").build()?;
    /// let cli = TestClient::new(Route::new().at("/", get(index)).with(auth.layer()));
    /// let resp = cli.get("/").send().await;
    /// let challenges: Vec<_> = resp.0.headers().get_all("www-authenticate").iter().collect();
    /// assert_eq!(challenges, ["Bearer", r#"Basic realm="chat""#]);
    /// # Ok::<_, auth_core::AuthError>(())
    /// # }).unwrap();
    /// ```
    pub fn basic_realm(mut self, realm: impl Into<String>) -> Self {
        self.basic_realm = Some(realm.into());
        self
    }

    /// The reverse proxies whose `X-Forwarded-For` header is believed
    /// (default: none, so the client address is always the socket peer's).
    ///
    /// The client address is [`client_addr`](crate::client_addr) with these
    /// proxies: the login routes (`POST /token`, `POST /login`) throttle
    /// failed logins by it, and [`PoemAuth::masked_tracing`](super::PoemAuth::masked_tracing) logs it. Behind
    /// a proxy that is not listed, every client shares the proxy's address
    /// (and its throttle); list only proxies that set the header themselves,
    /// since a listed address is believed about the hops before it.
    ///
    /// ```
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let proxy = "10.0.0.1".parse().expect("an address");
    /// let auth = auth_poem::PoemAuth::from_pipeline(pipeline).trusted_proxies([proxy]).build()?;
    /// assert_eq!(auth.trusted_proxies(), [proxy]);
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// The header the user-id hint is read from (default `user_id`).
    pub fn user_id_header(mut self, name: impl Into<String>) -> Self {
        self.user_id_header = name.into();
        self
    }

    /// The status of "who are you?" refusals (default 401); a 4xx status.
    pub fn unauthorized_status(mut self, status: StatusCode) -> Self {
        self.unauthorized_status = status;
        self
    }

    /// The JSON body of "who are you?" refusals.
    pub fn unauthorized_body(mut self, body: serde_json::Value) -> Self {
        self.unauthorized_body = body;
        self
    }

    /// The status of "you may not" refusals (default 403); a 4xx status.
    pub fn forbidden_status(mut self, status: StatusCode) -> Self {
        self.forbidden_status = status;
        self
    }

    /// The JSON body of "you may not" refusals.
    pub fn forbidden_body(mut self, body: serde_json::Value) -> Self {
        self.forbidden_body = body;
        self
    }

    /// The token URL of the OAuth2 password flow in the OpenAPI document,
    /// also its refresh URL (default `/auth/token`): where Swagger UI's
    /// *Authorize* dialog posts the username and password.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.openapi.token_url = url.into();
        self
    }

    /// Whether the OpenAPI document lists HTTP Basic among the schemes.
    ///
    /// By default it does when the pipeline has a handler named `basic`
    /// (the name of [`BasicHandler`](auth_core::BasicHandler)); say so
    /// here for a handler of your own that takes Basic credentials.
    pub fn basic(mut self, documented: bool) -> Self {
        self.openapi.basic = Some(documented);
        self
    }

    /// The names of the OpenAPI security schemes (default `bearer`,
    /// `api_key`, `basic` and `oauth2`).
    pub fn scheme_names(mut self, names: SchemeNames) -> Self {
        self.openapi.names = names;
        self
    }
}
