//! The OpenAPI document of an `[apis.NAME]` table: read from its file, or — for an https URL —
//! fetched once through the SSRF guard (the host resolved once and pinned, private addresses
//! refused unless allowed, no redirects, the body capped while it streams), kept in the cache
//! folder, and fetched again only when asked (`--refresh`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use apiops_openapi::{Spec, SpecError};
use apiops_providers::outbound::pin_public;
use futures::StreamExt as _;
use sha2::{Digest, Sha256};
use url::Url;

use crate::apis::{ApiSettings, SpecLocation};

/// How a document is loaded.
#[derive(Debug, Clone)]
pub struct SpecOptions {
    /// The cache folder for remote documents; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Fetch remote documents again even when cached.
    pub refresh: bool,
    /// Let a remote document come from a private or loopback address.
    pub allow_private: bool,
    /// The size cap.
    pub max_bytes: u64,
}

impl Default for SpecOptions {
    fn default() -> Self {
        SpecOptions {
            cache_dir: None,
            refresh: false,
            allow_private: false,
            max_bytes: apiops_openapi::DEFAULT_MAX_SPEC_BYTES,
        }
    }
}

/// The document of the API `name`. `Ok(None)` for a GraphQL-only API.
pub async fn load_spec(
    name: &str,
    api: &ApiSettings,
    options: &SpecOptions,
) -> Result<Option<Spec>, SpecError> {
    match &api.spec_location {
        None => Ok(None),
        Some(SpecLocation::File(path)) => Spec::load_file(path, options.max_bytes).map(Some),
        Some(SpecLocation::Url(url)) => {
            let cached = options.cache_dir.as_ref().map(|d| cache_path(d, url));
            if let Some(path) = &cached
                && !options.refresh
                && path.is_file()
            {
                tracing::debug!(api = name, path = %path.display(), "spec from the cache");
                return Spec::load_file(path, options.max_bytes).map(Some);
            }
            let bytes = fetch(url, options).await?;
            let spec = Spec::parse(&bytes, &shown(url), options.max_bytes)?;
            if let Some(path) = cached {
                // A cache that cannot be written only costs a fetch next time.
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                if let Err(e) = std::fs::write(&path, &bytes) {
                    tracing::warn!(api = name, error = %e, "could not cache the spec");
                }
            }
            Ok(Some(spec))
        }
    }
}

/// Where a remote document is cached: its URL's hash under `dir/specs/`.
pub fn cache_path(dir: &Path, url: &Url) -> PathBuf {
    let digest = hex::encode(Sha256::digest(url.as_str().as_bytes()));
    dir.join("specs").join(format!("{}.spec", &digest[..24]))
}

fn shown(url: &Url) -> String {
    apiops_client::redact::display_target(url)
}

async fn fetch(url: &Url, options: &SpecOptions) -> Result<Vec<u8>, SpecError> {
    let source = shown(url);
    let read = |reason: String| SpecError::Read {
        source_name: source.clone(),
        reason,
    };
    let (host, addr) = pin_public(url, options.allow_private)
        .await
        .map_err(|e| read(format!("refused: {e}")))?;
    let client = reqwest::Client::builder()
        .resolve(&host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| read(e.to_string()))?;
    let resp = client
        .get(url.clone())
        .header(
            "accept",
            "application/json, application/yaml;q=0.9, */*;q=0.5",
        )
        .send()
        .await
        .map_err(|e| read(e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(read(format!("answered HTTP {}", resp.status().as_u16())));
    }
    if let Some(len) = resp.content_length()
        && len > options.max_bytes
    {
        return Err(SpecError::TooLarge {
            source_name: source,
            size: len,
            max: options.max_bytes,
        });
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| read(e.without_url().to_string()))?;
        body.extend_from_slice(&chunk);
        if body.len() as u64 > options.max_bytes {
            return Err(SpecError::TooLarge {
                source_name: source,
                size: body.len() as u64,
                max: options.max_bytes,
            });
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"openapi":"3.0.3","info":{"title":"Remote","version":"1"},"paths":{"/ping":{"get":{"operationId":"ping","responses":{}}}}}"#;

    /// A loopback server answering `body` on every request, counting them.
    async fn serve(body: &'static str) -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering;
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().route(
            "/spec.json",
            axum::routing::get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { body }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = Url::parse(&format!("http://{addr}/spec.json")).expect("url");
        (url, hits)
    }

    fn settings(url: &Url) -> ApiSettings {
        let table = format!("spec = \"{url}\"");
        let mut api: ApiSettings = toml_table(&table);
        api.resolve(&crate::Environment::default(), None);
        api
    }

    fn toml_table(text: &str) -> ApiSettings {
        use figment::providers::Format as _;
        figment::Figment::from(figment::providers::Toml::string(text))
            .extract()
            .expect("table")
    }

    #[tokio::test]
    async fn remote_documents_go_through_the_guard_are_cached_and_refreshed_on_demand() {
        use std::sync::atomic::Ordering;
        let (url, hits) = serve(DOC).await;
        let api = settings(&url);
        let cache = tempfile::tempdir().expect("tempdir");
        // Loopback is refused by the SSRF guard unless allowed: nothing is fetched.
        let refused = SpecOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            ..SpecOptions::default()
        };
        let err = load_spec("r", &api, &refused).await.expect_err("loopback");
        assert!(err.to_string().contains("not a public address"), "{err}");
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        let allowed = SpecOptions {
            allow_private: true,
            ..refused.clone()
        };
        let spec = load_spec("r", &api, &allowed)
            .await
            .expect("fetched")
            .expect("spec");
        assert_eq!(spec.title(), "Remote");
        load_spec("r", &api, &allowed).await.expect("cached");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "the second load comes from the cache"
        );
        let refresh = SpecOptions {
            refresh: true,
            ..allowed.clone()
        };
        load_spec("r", &api, &refresh).await.expect("refetched");
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        // Over the cap while streaming: refused, and not cached.
        let small = SpecOptions {
            max_bytes: 20,
            refresh: true,
            ..allowed
        };
        let err = load_spec("r", &api, &small).await.expect_err("too big");
        assert!(matches!(err, SpecError::TooLarge { .. }), "{err}");
    }
}
