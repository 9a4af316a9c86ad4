//! [`AuthMiddleware`]: an [`Authenticator`] as a reqwest middleware.

use std::fmt;
use std::sync::Arc;

use http::Extensions;
use reqwest::header::HeaderMap;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::authenticator::{AppliedGeneration, Authenticator, Verdict};
use crate::error::ClientError;
use crate::mask::MaskPolicy;

/// Authenticates every request of a `reqwest_middleware` client.
///
/// For each request: [`authenticate`](Authenticator::authenticate), add the
/// extra headers, [`modify_request`](Authenticator::modify_request), send;
/// then [`check_result`](Authenticator::check_result). On
/// [`Verdict::Reauthenticate`] the request is authenticated again and sent
/// once more, once; a request whose body cannot be cloned (a stream) is not
/// retried and its answer is returned as it came.
///
/// Errors of the authenticator arrive as
/// [`reqwest_middleware::Error::Middleware`] holding a
/// [`ClientError`]; the URL of a transport error has its secret query
/// values masked.
///
/// ```
/// use std::sync::Arc;
/// use auth_client::AuthMiddleware;
/// use auth_client::builtin::BasicAuthenticator;
///
/// let basic = BasicAuthenticator::new("monitor", "pw".into())?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(AuthMiddleware::new(Arc::new(basic)))
///     .build();
/// # let _ = client;
/// # Ok::<_, auth_client::ClientError>(())
/// ```
pub struct AuthMiddleware {
    authenticator: Arc<dyn Authenticator>,
    headers: HeaderMap,
    mask: MaskPolicy,
}

impl fmt::Debug for AuthMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMiddleware")
            .field("authenticator", &self.authenticator)
            .field("headers", &self.mask.mask_headers(&self.headers))
            .finish_non_exhaustive()
    }
}

impl AuthMiddleware {
    /// Authenticates with `authenticator`.
    pub fn new(authenticator: Arc<dyn Authenticator>) -> Self {
        Self {
            authenticator,
            headers: HeaderMap::new(),
            mask: MaskPolicy::new(),
        }
    }

    /// Also sends these headers with every request (the authenticator's own
    /// header wins over one of the same name).
    #[must_use]
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// Masks transport errors' URLs with this policy.
    #[must_use]
    pub fn with_mask(mut self, mask: MaskPolicy) -> Self {
        self.mask = mask;
        self
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &Arc<dyn Authenticator> {
        &self.authenticator
    }

    /// Authenticates and applies the credential; returns the generation
    /// applied.
    async fn prepare(&self, req: &mut Request) -> Result<u64, ClientError> {
        self.authenticator.authenticate().await?;
        for (name, value) in &self.headers {
            req.headers_mut().insert(name.clone(), value.clone());
        }
        // Read before applying: if a refresh lands in between, the request
        // carries the newer token, and a 401 for it invalidates nothing
        // older than what it was sent with.
        let generation = self.authenticator.generation();
        self.authenticator.modify_request(req)?;
        Ok(generation)
    }

    async fn send(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let generation = self
            .prepare(&mut req)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        match next.run(req, extensions).await {
            Ok(mut resp) => {
                resp.extensions_mut().insert(AppliedGeneration(generation));
                Ok(resp)
            }
            Err(mut err) => {
                if let Some(url) = err.url_mut() {
                    self.mask.mask_url_in_place(url);
                }
                Err(err)
            }
        }
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let retry = req.try_clone();
        let resp = self.send(req, extensions, next.clone()).await?;
        match (self.authenticator.check_result(&resp), retry) {
            (Verdict::Reauthenticate, Some(retry)) => {
                tracing::debug!(
                    authenticator = self.authenticator.name(),
                    status = resp.status().as_u16(),
                    "credential refused; authenticating again and retrying once"
                );
                drop(resp);
                self.send(retry, extensions, next).await
            }
            _ => Ok(resp),
        }
    }
}
