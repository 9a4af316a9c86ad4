use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::*;
use crate::clock::ManualClock;
use crate::jwt::JwtKey;

const NOW: i64 = 1_750_000_000;
const ISSUER: &str = "https://idp.example";

/// Answers each URL with its document; any other URL is a 404.
struct Documents(HashMap<String, Value>);

#[async_trait]
impl Fetcher for Documents {
    async fn get(&self, url: &str, _timeout: Duration) -> Result<Fetched, FetchError> {
        let doc = self.0.get(url).ok_or(FetchError::Status(404))?;
        Ok(Fetched {
            body: serde_json::to_vec(doc).map_err(|e| FetchError::Invalid(e.to_string()))?,
            cache_control: None,
        })
    }
}

fn handler(jwks_uri: &str, jwks: Value) -> OidcHandler {
    let docs = HashMap::from([
        (
            format!("{ISSUER}/.well-known/openid-configuration"),
            json!({"issuer": ISSUER, "jwks_uri": jwks_uri}),
        ),
        (jwks_uri.to_owned(), jwks),
    ]);
    OidcHandler::builder()
        .fetcher(Arc::new(Documents(docs)))
        .clock(Arc::new(ManualClock::new(NOW)))
        .issuer(IssuerConfig::discover(ISSUER, "api"))
        .build()
        .expect("handler")
}

/// A token whose header and claims are these very JSON texts.
fn sign_text(key: &JwtKey, header: &str, claims: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let sig = key.sign(input.as_bytes()).expect("signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[tokio::test]
async fn a_discovered_jwks_uri_with_a_multibyte_character_is_refused_not_a_panic() {
    for uri in [
        "http://é/jwks",
        "http://é",
        "http:/é/jwks",
        "https:/é",
        "httpé://idp.example/jwks",
        "\u{1F600}https://idp.example/jwks",
        "http://[é]/jwks",
        "http://é@127.0.0.1/jwks",
    ] {
        let handler = handler(uri, json!({"keys": []}));
        assert_eq!(
            handler.prefetch().await,
            Err(FetchError::InsecureUrl(uri.to_owned())),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_token_repeating_a_name_is_refused_not_passed_on() {
    let key = JwtKey::generate(Algorithm::EdDSA)
        .expect("key")
        .with_kid("k1");
    let jwks = json!({"keys": [key.public_jwk().expect("jwk")]});
    let handler = handler("https://idp.example/jwks", jwks);
    let cx = AuthContext::http();
    let header = r#"{"alg":"EdDSA","kid":"k1"}"#;
    let claims = r#"{"sub":"alice","iss":"https://idp.example","aud":"api","exp":1750000600}"#;
    let ok = sign_text(&key, header, claims);
    let p = handler
        .authorize_jwt(&ok, &cx)
        .await
        .expect("valid")
        .expect("mine");
    assert_eq!(p.id, "alice");
    for (header, claims) in [
        (
            header,
            r#"{"sub":"alice","iss":"https://other.example","iss":"https://idp.example","aud":"api","exp":1750000600}"#,
        ),
        (
            header,
            r#"{"sub":"alice","sub":"admin","iss":"https://idp.example","aud":"api","exp":1750000600}"#,
        ),
        (r#"{"alg":"EdDSA","kid":"k1","kid":"k1"}"#, claims),
    ] {
        let token = sign_text(&key, header, claims);
        assert_eq!(
            handler
                .authorize_jwt(&token, &cx)
                .await
                .expect_err("refused"),
            AuthError::InvalidCredentials,
            "{header} {claims}"
        );
    }
}
