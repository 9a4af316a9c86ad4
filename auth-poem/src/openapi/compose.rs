//! The served spec, assembled: the API's own document, the auth routes
//! this [`PoemAuth`] serves, each operation at its full served path, and
//! this instance's schemes.

use poem::endpoint::make_sync;
use poem::web::Html;
use poem::{Response, Route, get};
use poem_openapi::{OpenApi, OpenApiService, Webhook};
use serde_json::{Map, Value, json};

use super::docs::{docs_html, swagger_assets};
use super::patch::patch_spec;
use crate::auth::PoemAuth;
use crate::requires::spec::{self as requires_spec, Protected};
use crate::routes::{discovery_document, published_jwks};

/// Whether an auth serves a route.
type Served = fn(&PoemAuth) -> bool;

/// The routes of [`TokenApi`](crate::routes::TokenApi) that answer 404 in
/// some configurations, and the test for whether they are served.
const CONDITIONAL: &[(&str, Served)] = &[
    ("/.well-known/jwks.json", |auth| {
        auth.token_service()
            .is_some_and(|tokens| published_jwks(tokens).is_some())
    }),
    ("/.well-known/openid-configuration", |auth| {
        auth.token_service()
            .is_some_and(|tokens| discovery_document(tokens).is_some())
    }),
];

impl PoemAuth {
    /// The OpenAPI document of `service` as JSON, as this auth serves it:
    ///
    /// - every operation keyed by its full served path: a relative path in
    ///   the document's `servers` (`OpenApiService::server("/api")`) is
    ///   folded into the paths, and the auth routes ([`routes`](Self::routes))
    ///   appear under the prefix the token URL names (`/auth/token` →
    ///   `/auth/me`, `/auth/users`...), those the configuration does not
    ///   serve left out (no JWKS without public keys), and a route the API
    ///   serves itself listed once, where the API has it;
    /// - this instance's [scheme names](crate::SchemeNames), API-key header
    ///   and token URL;
    /// - each `#[requires]` operation's `x-required-permissions`, its
    ///   `Requires:` line with the run-time names of its pairs, and one
    ///   `security` alternative per way of meeting it; `#[public]` ones
    ///   with `security: []`;
    /// - the 401 and 403 answers ([`patch_spec`]).
    ///
    /// Everything comes from `service` and this value: two APIs with two
    /// differently configured auths in one process each get their own.
    pub fn openapi_spec<T: OpenApi, W: Webhook>(&self, service: &OpenApiService<T, W>) -> String {
        let raw = service.spec();
        match self.patched(&raw, &requires_spec::collect::<T>()) {
            Some(spec) => serde_json::to_string_pretty(&spec).unwrap_or(raw),
            None => raw,
        }
    }

    /// Serves the spec of `service` as [`openapi_spec`](Self::openapi_spec)
    /// writes it at `GET /openapi.json`, and Swagger UI for it at `GET /docs`.
    ///
    /// Swagger UI is poem-openapi's embedded bundle: nothing is fetched from
    /// a CDN, and the spec is embedded in the page, so the route works
    /// offline and wherever it is nested. Its *Authorize* dialog logs in
    /// through the OAuth2 password flow against the token URL (client id
    /// `swagger-ui` filled in) and keeps the token in the page only, not in
    /// local storage.
    ///
    /// ```
    /// # use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
    /// # struct Api;
    /// # #[OpenApi]
    /// # impl Api {
    /// #     #[oai(path = "/me", method = "get")]
    /// #     async fn me(&self, user: auth_poem::ApiAuth) -> PlainText<String> { PlainText(user.id.clone()) }
    /// # }
    /// # let pipeline = auth_core::Pipeline::builder()
    /// #     .handler(auth_core::ApiKeyHandler::builder().http_key("k").build())
    /// #     .build()?;
    /// let auth = auth_poem::PoemAuth::new(pipeline);
    /// // Served under /api, and said so: the spec keys the operation `/api/me`.
    /// let service = OpenApiService::new(Api, "Demo", "1.0").server("/api");
    /// let app = poem::Route::new()
    ///     .nest("/", auth.openapi_endpoints(&service))
    ///     .nest("/api", service);
    /// # Ok::<_, auth_core::AuthError>(())
    /// ```
    pub fn openapi_endpoints<T: OpenApi, W: Webhook>(
        &self,
        service: &OpenApiService<T, W>,
    ) -> Route {
        let raw = service.spec();
        let spec = self.patched(&raw, &requires_spec::collect::<T>());
        let json = spec
            .as_ref()
            .and_then(|spec| serde_json::to_string_pretty(spec).ok())
            .unwrap_or_else(|| raw.clone());
        let stock = service.swagger_ui_html();
        let html = match (spec, swagger_assets(&stock)) {
            (Some(spec), Some(assets)) => docs_html(&spec, assets),
            _ => {
                tracing::warn!(
                    "cannot reuse poem-openapi's Swagger UI bundle; serving its own page, \
                     without the 401/403 answers and the login defaults"
                );
                stock
            }
        };
        Route::new()
            .at(
                "/openapi.json",
                get(make_sync(move |_| {
                    Response::builder()
                        .content_type("application/json")
                        .body(json.clone())
                })),
            )
            .at("/docs", get(make_sync(move |_| Html(html.clone()))))
    }

    /// `service` served with its documentation, carrying this auth (no
    /// `.data(auth)` needed): its operations at their own paths, the spec
    /// at `GET /openapi.json` and Swagger UI at `GET /docs`, as
    /// [`openapi_endpoints`](Self::openapi_endpoints) serves them. Nest it
    /// where the service's paths start: `Route::new().nest("/", auth.api_routes(service))`.
    pub fn api_routes<T, W>(&self, service: OpenApiService<T, W>) -> Route
    where
        T: OpenApi + 'static,
        W: Webhook + 'static,
    {
        use poem::{EndpointExt as _, IntoEndpoint as _};
        self.openapi_endpoints(&service)
            .nest("/", service.into_endpoint().data(self.clone()))
    }

    /// The spec text `raw`, parsed and assembled as
    /// [`openapi_spec`](Self::openapi_spec) says.
    fn patched(&self, raw: &str, protected: &Protected) -> Option<Value> {
        match serde_json::from_str::<Value>(raw) {
            Ok(mut spec) => {
                fold_server_path(&mut spec);
                requires_spec::apply(&mut spec, protected);
                self.add_token_routes(&mut spec);
                self.add_user_routes(&mut spec);
                self.scheme_config().apply(&mut spec);
                patch_spec(&mut spec, self);
                Some(spec)
            }
            Err(error) => {
                tracing::error!(%error, "poem-openapi produced a spec that does not parse; serving it unpatched");
                None
            }
        }
    }

    /// Where [`routes`](Self::routes) is mounted: the token URL's path less
    /// `/token`. `None` when the token URL does not end so (the routes are
    /// then left out of the spec, with a warning).
    pub(crate) fn routes_prefix(&self) -> Option<String> {
        let config = self.scheme_config();
        let url = config.token_url.as_str();
        let path = match url.find("://") {
            Some(at) => url[at + 3..]
                .find('/')
                .map_or("", |slash| &url[at + 3 + slash..]),
            None => url,
        };
        match path.strip_suffix("/token") {
            Some(prefix) => Some(prefix.to_owned()),
            None => {
                tracing::warn!(
                    token_url = %config.token_url,
                    "the token URL does not end in /token; the auth routes are left out of the spec"
                );
                None
            }
        }
    }

    /// Adds the token routes and the token registry ([`routes`](Self::routes))
    /// to `spec` when a token service is configured, at their full served
    /// paths; the routes this configuration does not serve are left out.
    fn add_token_routes(&self, spec: &mut Value) {
        if self.token_service().is_none() {
            return;
        }
        let Some(prefix) = self.routes_prefix() else {
            return;
        };
        let api = (self.token_api(), self.token_admin_api());
        let raw = OpenApiService::new(api, "auth", "").spec();
        let Ok(mut theirs) = serde_json::from_str::<Value>(&raw) else {
            return;
        };
        if let Some(paths) = theirs.get_mut("paths").and_then(Value::as_object_mut) {
            for (path, served) in CONDITIONAL {
                if !served(self) {
                    paths.remove(*path);
                }
            }
        }
        requires_spec::apply(
            &mut theirs,
            &requires_spec::collect::<crate::routes::tokens::TokenAdminApi>(),
        );
        merge_routes(spec, &theirs, &prefix);
    }
}

/// Folds the path of the document's servers into its paths, when every
/// server has the same one: `servers: [{"url": "/api"}]` and `/me` become
/// `servers: [{"url": "/"}]` and `/api/me`, so each operation is keyed by
/// the path it is served at, and routes added at other prefixes resolve.
fn fold_server_path(spec: &mut Value) {
    let Some(servers) = spec.get_mut("servers").and_then(Value::as_array_mut) else {
        return;
    };
    let split = |url: &str| -> (String, String) {
        let (origin, path) = match url.find("://") {
            Some(at) => match url[at + 3..].find('/') {
                Some(slash) => url.split_at(at + 3 + slash),
                None => (url, ""),
            },
            None => ("", url),
        };
        (origin.to_owned(), path.trim_end_matches('/').to_owned())
    };
    let parts: Vec<(String, String)> = servers
        .iter()
        .filter_map(|server| server.get("url").and_then(Value::as_str))
        .map(split)
        .collect();
    let Some((_, prefix)) = parts.first().cloned() else {
        return;
    };
    if prefix.is_empty() || parts.len() != servers.len() || parts.iter().any(|(_, p)| *p != prefix)
    {
        return;
    }
    for (server, (origin, _)) in servers.iter_mut().zip(&parts) {
        server["url"] = json!(if origin.is_empty() { "/" } else { origin });
    }
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        let folded: Map<String, Value> = std::mem::take(paths)
            .into_iter()
            .map(|(path, item)| (join(&prefix, &path), item))
            .collect();
        *paths = folded;
    }
}

/// `prefix` and `path` as one path.
fn join(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if path == "/" && !prefix.is_empty() {
        prefix.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}

/// Whether `ours` documents the same route as `theirs`: every method of
/// `theirs` is in `ours`, with the same summary and description (the same
/// operation mounted twice).
fn same_route(ours: &Value, theirs: &Value) -> bool {
    let (Some(ours), Some(theirs)) = (ours.as_object(), theirs.as_object()) else {
        return false;
    };
    theirs
        .iter()
        .filter(|(method, _)| super::patch::METHODS.contains(&method.as_str()))
        .all(|(method, operation)| {
            ours.get(method).is_some_and(|mine| {
                mine.get("summary") == operation.get("summary")
                    && mine.get("description") == operation.get("description")
            })
        })
}

/// Adds `theirs`' paths, under `prefix`, and its schemas and tags to
/// `spec`. What `spec` has already is kept: a path it has at the full
/// served path, and a route it serves itself at the unprefixed path (the
/// same operation mounted twice is listed once, where the API has it).
pub(crate) fn merge_routes(spec: &mut Value, theirs: &Value, prefix: &str) {
    let Some(root) = spec.as_object_mut() else {
        return;
    };
    if let (Some(paths), Some(new)) = (
        root.entry("paths")
            .or_insert_with(|| json!({}))
            .as_object_mut(),
        theirs.get("paths").and_then(Value::as_object),
    ) {
        for (path, item) in new {
            let full = join(prefix, path);
            if paths.contains_key(&full) {
                tracing::warn!(path = %full, "the API already has this path; the auth route mounted there is left out of the spec");
                continue;
            }
            if paths.get(path).is_some_and(|ours| same_route(ours, item)) {
                continue;
            }
            paths.insert(full, item.clone());
        }
    }
    if let (Some(schemas), Some(new)) = (
        root.entry("components")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|c| c.entry("schemas").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut),
        theirs
            .pointer("/components/schemas")
            .and_then(Value::as_object),
    ) {
        for (name, schema) in new {
            schemas
                .entry(name.clone())
                .or_insert_with(|| schema.clone());
        }
    }
    if let (Some(schemes), Some(new)) = (
        root.entry("components")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|c| c.entry("securitySchemes").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut),
        theirs
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object),
    ) {
        for (name, scheme) in new {
            match schemes.get_mut(name) {
                Some(ours) => merge_scopes(ours, scheme),
                None => {
                    schemes.insert(name.clone(), scheme.clone());
                }
            }
        }
    }
    if let (Some(tags), Some(new)) = (
        root.entry("tags")
            .or_insert_with(|| json!([]))
            .as_array_mut(),
        theirs.get("tags").and_then(Value::as_array),
    ) {
        for tag in new {
            if !tags.iter().any(|t| t.get("name") == tag.get("name")) {
                tags.push(tag.clone());
            }
        }
    }
}

/// Adds the OAuth2 scopes `theirs` declares to `ours`' flows.
fn merge_scopes(ours: &mut Value, theirs: &Value) {
    let Some(flows) = theirs.get("flows").and_then(Value::as_object) else {
        return;
    };
    for (flow, body) in flows {
        let (Some(mine), Some(scopes)) = (
            ours.pointer_mut(&format!("/flows/{flow}/scopes"))
                .and_then(Value::as_object_mut),
            body.get("scopes").and_then(Value::as_object),
        ) else {
            continue;
        };
        for (scope, description) in scopes {
            mine.entry(scope.clone())
                .or_insert_with(|| description.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_server_path_is_folded_into_the_paths() {
        let mut spec = json!({
            "servers": [{"url": "/api/"}],
            "paths": {"/me": {}, "/": {}},
        });
        fold_server_path(&mut spec);
        assert_eq!(spec["servers"], json!([{"url": "/"}]));
        let paths: Vec<&String> = spec["paths"].as_object().expect("paths").keys().collect();
        assert_eq!(paths.len(), 2);
        assert!(spec["paths"]["/api/me"].is_object());
        assert!(spec["paths"]["/api"].is_object());
    }

    #[test]
    fn an_absolute_server_keeps_its_origin_and_servers_that_differ_are_left() {
        let mut spec = json!({
            "servers": [{"url": "https://api.example/v1"}],
            "paths": {"/me": {}},
        });
        fold_server_path(&mut spec);
        assert_eq!(spec["servers"], json!([{"url": "https://api.example"}]));
        assert!(spec["paths"]["/v1/me"].is_object());

        let mut two = json!({
            "servers": [{"url": "/a"}, {"url": "/b"}],
            "paths": {"/me": {}},
        });
        let before = two.clone();
        fold_server_path(&mut two);
        assert_eq!(two, before);
    }

    #[test]
    fn merged_routes_take_the_prefix_and_a_double_mount_is_listed_once() {
        let login = json!({"post": {"summary": "Log in"}});
        let mut spec =
            json!({"paths": {"/login": login.clone(), "/me": {"get": {"summary": "Mine"}}}});
        let theirs = json!({"paths": {
            "/login": login,
            "/me": {"get": {"summary": "The caller"}},
            "/token": {"post": {"summary": "Token"}},
        }});
        merge_routes(&mut spec, &theirs, "/auth");
        let mut paths: Vec<&String> = spec["paths"].as_object().expect("paths").keys().collect();
        paths.sort();
        assert_eq!(paths, ["/auth/me", "/auth/token", "/login", "/me"]);
        assert!(spec["paths"]["/auth/me"].get("servers").is_none());
    }
}
