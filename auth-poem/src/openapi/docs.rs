//! Swagger UI, served offline from poem-openapi's embedded bundle.

use serde_json::Value;

/// The `clientId` Swagger UI's *Authorize* dialog starts with: the password
/// flow makes the field mandatory there.
const DOCS_CLIENT_ID: &str = "swagger-ui";

/// Swagger UI's stylesheet and script, as poem-openapi embeds them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Assets<'a> {
    css: &'a str,
    js: &'a str,
}

/// Finds the bundle in poem-openapi's Swagger UI page: the text of its
/// first `<style charset="UTF-8">` and `<script charset="UTF-8">` elements.
/// A browser ends a script at the first `</script>`, so that is its end here too.
pub(super) fn swagger_assets(html: &str) -> Option<Assets<'_>> {
    fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
        let start = text.find(open)? + open.len();
        let len = text[start..].find(close)?;
        Some(&text[start..start + len])
    }
    let css = between(html, r#"<style charset="UTF-8">"#, "</style>")?;
    let js = between(html, r#"<script charset="UTF-8">"#, "</script>")?;
    js.contains("SwaggerUIBundle").then_some(Assets { css, js })
}

/// The Swagger UI page for `spec`.
pub(super) fn docs_html(spec: &Value, assets: Assets<'_>) -> String {
    let title = spec
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    // `<` escaped, the spec cannot close the script element it sits in.
    let spec = spec.to_string().replace('<', r"\u003c");
    let mut html = String::with_capacity(assets.css.len() + assets.js.len() + spec.len() + 1024);
    html.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
    );
    html.push_str(&escape_html(title));
    html.push_str("</title>\n<style>");
    html.push_str(assets.css);
    html.push_str("</style>\n</head>\n<body>\n<div id=\"swagger-ui\"></div>\n<script>");
    html.push_str(assets.js);
    html.push_str(
        "</script>\n<script>\nwindow.ui = SwaggerUIBundle({\n  dom_id: \"#swagger-ui\",\n  spec: ",
    );
    html.push_str(&spec);
    html.push_str(
        ",\n  deepLinking: true,\n  persistAuthorization: false,\n  validatorUrl: null,\n});\n\
         window.ui.initOAuth({ clientId: \"",
    );
    html.push_str(DOCS_CLIENT_ID);
    html.push_str("\" });\n</script>\n</body>\n</html>\n");
    html
}

/// `text` safe inside an HTML element or attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use auth_core::{ApiKeyHandler, Pipeline};
    use poem::test::TestClient;
    use poem_openapi::payload::PlainText;
    use poem_openapi::{OpenApi, OpenApiService};

    use super::*;
    use crate::{ApiAuth, PoemAuth};

    struct Api;

    #[OpenApi]
    impl Api {
        /// Protected.
        #[oai(path = "/me", method = "get")]
        async fn me(&self, user: ApiAuth) -> PlainText<String> {
            PlainText(user.id.clone())
        }
    }

    fn service() -> OpenApiService<Api, ()> {
        OpenApiService::new(Api, "Test </script><script>alert(1)</script>", "1.0")
    }

    fn pipeline() -> Pipeline {
        Pipeline::builder()
            .handler(ApiKeyHandler::builder().http_key("k-1").build())
            .build()
            .expect("pipeline")
    }

    #[test]
    fn swagger_bundle_is_found_in_poem_openapi_page() {
        let stock = service().swagger_ui_html();
        let assets = swagger_assets(&stock).expect("bundle found");
        assert!(assets.js.len() > 100_000 && assets.js.contains("SwaggerUIBundle"));
        assert!(assets.css.contains(".swagger-ui"));
    }

    #[tokio::test]
    async fn docs_page_works_offline_and_cannot_be_broken_out_of_by_the_spec() {
        let auth = PoemAuth::new(pipeline());
        let cli = TestClient::new(auth.openapi_endpoints(&service()));
        let resp = cli.get("/docs").send().await;
        resp.assert_status_is_ok();
        let html = resp.0.into_body().into_string().await.expect("html");
        assert!(!html.contains("<script src") && !html.contains("<link"));
        assert!(html.contains("initOAuth({ clientId: \"swagger-ui\" })"));
        assert!(html.contains("validatorUrl: null"));
        assert!(html.contains(r#""tokenUrl":"/auth/token""#));
        assert!(html.contains(r#""401":"#), "the patched spec is embedded");
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("<title>Test &lt;/script&gt;"));

        let resp = cli.get("/openapi.json").send().await;
        resp.assert_status_is_ok();
        resp.assert_content_type("application/json");
    }
}
