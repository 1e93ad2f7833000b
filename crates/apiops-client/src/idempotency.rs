//! Idempotency keys: one per logical request, generated before the retry loop so every retry
//! of that request carries the same key and the provider can replay the first result instead of
//! acting twice. A key the caller already set (for example one derived from an operation plan)
//! is kept as it is.

use http::{Extensions, HeaderName, HeaderValue, Method};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

/// The key a request was sent with, left in the request's extensions for callers and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

/// Adds an idempotency key to requests of the configured methods that have none.
#[derive(Debug, Clone)]
pub struct IdempotencyMiddleware {
    /// The header the provider reads (`Idempotency-Key` for Stripe).
    pub header: HeaderName,
    /// The methods that get a key (POST by default; GET and HEAD never need one).
    pub methods: Vec<Method>,
}

impl IdempotencyMiddleware {
    /// Keys on POST in `header`.
    pub fn new(header: HeaderName) -> Self {
        IdempotencyMiddleware {
            header,
            methods: vec![Method::POST],
        }
    }
}

/// A fresh random key (UUID v4, 36 characters: well under Stripe's 255).
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[async_trait::async_trait]
impl Middleware for IdempotencyMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if self.methods.contains(req.method()) {
            let existing = req
                .headers()
                .get(&self.header)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let key = match existing {
                Some(k) => k,
                None => {
                    let k = new_key();
                    if let Ok(v) = HeaderValue::from_str(&k) {
                        req.headers_mut().insert(self.header.clone(), v);
                    }
                    k
                }
            };
            extensions.insert(IdempotencyKey(key));
        }
        next.run(req, extensions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_short() {
        let a = new_key();
        let b = new_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
