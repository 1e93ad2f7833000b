//! The sender behind `apiops sim emit`: correctly signed webhooks for receiver tests and ingest
//! benchmarks — Stripe events (`Stripe-Signature`), Twilio status callbacks
//! (`X-Twilio-Signature`, `I-Twilio-Idempotency-Token`) and OpenAI events (Standard Webhooks) —
//! at a paced rate, with a share of exact duplicates (re-deliveries of an earlier event) and of
//! deliberately broken signatures, and a report of what was sent and what was acknowledged.
//!
//! It sends only to loopback unless told otherwise, like the rest of the simulator.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;
use url::Url;

use crate::rng;
use crate::signing::{self, SigningError};

/// Which provider's webhooks to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmitProvider {
    /// Stripe events.
    Stripe,
    /// Twilio status callbacks.
    Twilio,
    /// OpenAI events (Standard Webhooks).
    Openai,
}

impl std::str::FromStr for EmitProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "stripe" => Ok(EmitProvider::Stripe),
            "twilio" => Ok(EmitProvider::Twilio),
            "openai" => Ok(EmitProvider::Openai),
            other => Err(format!(
                "unknown provider {other:?}; expected stripe, twilio or openai"
            )),
        }
    }
}

/// What to send.
#[derive(Debug, Clone)]
pub struct EmitConfig {
    /// The receiver's URL.
    pub target: Url,
    /// The URL the receiver believes it is reached at (Twilio signs it); the target by default.
    pub public_url: Option<Url>,
    /// Which provider.
    pub provider: EmitProvider,
    /// How many requests to send (duplicates included).
    pub count: usize,
    /// Requests per second (0 = as fast as the concurrency allows).
    pub rate: f64,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Share of requests that re-deliver an earlier event unchanged.
    pub duplicate_rate: f64,
    /// Share of requests whose signature is deliberately wrong.
    pub bad_signature_rate: f64,
    /// The signing secret (Stripe `whsec_...`, Twilio auth token, Standard Webhooks `whsec_...`).
    pub secret: String,
    /// Seed of ids and choices.
    pub seed: u64,
    /// Permits a non-loopback target.
    pub allow_non_loopback: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// When set, the id of every event acknowledged (2xx, good signature) is appended to this
    /// file as it is acknowledged, one per line — what a crash test counts on the receiver.
    pub acked_log: Option<std::path::PathBuf>,
}

/// Why emitting could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// A setting that cannot work.
    #[error("{0}")]
    Config(String),
    /// The secret could not sign.
    #[error(transparent)]
    Signing(#[from] SigningError),
}

/// What was sent and how the receiver answered.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EmitReport {
    /// Requests sent.
    pub sent: usize,
    /// Answered 2xx.
    pub acknowledged: usize,
    /// Answered 4xx.
    pub rejected: usize,
    /// Answered 5xx.
    pub server_errors: usize,
    /// No answer (timeout, refused, reset).
    pub transport_errors: usize,
    /// Re-deliveries of an earlier event among `sent`.
    pub duplicates_sent: usize,
    /// Deliberately bad signatures among `sent`.
    pub bad_signatures_sent: usize,
    /// Bad signatures that were (wrongly) acknowledged.
    pub bad_signatures_acknowledged: usize,
    /// Distinct event ids sent with a good signature and acknowledged.
    pub distinct_acknowledged: usize,
    /// Answers per HTTP status.
    pub statuses: BTreeMap<u16, usize>,
    /// Median latency of an answer, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Wall time of the whole run, seconds.
    pub elapsed_s: f64,
    /// Requests per second achieved.
    pub rate_achieved: f64,
}

/// One prepared request.
#[derive(Debug, Clone)]
struct Delivery {
    event_id: String,
    body: Vec<u8>,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    url: Url,
    duplicate: bool,
    bad_signature: bool,
}

struct Outcome {
    status: Option<u16>,
    latency: Duration,
    event_id: String,
    bad_signature: bool,
}

impl EmitConfig {
    fn validate(&self) -> Result<(), EmitError> {
        let host_ok = match self.target.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if !host_ok && !self.allow_non_loopback {
            return Err(EmitError::Config(format!(
                "refusing to send to {}: not a loopback address (pass --allow-non-loopback to insist)",
                self.target.host_str().unwrap_or("?")
            )));
        }
        for (name, v) in [
            ("duplicate rate", self.duplicate_rate),
            ("bad signature rate", self.bad_signature_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(EmitError::Config(format!(
                    "{name} {v} must be within 0..=1"
                )));
            }
        }
        if self.rate < 0.0 || !self.rate.is_finite() {
            return Err(EmitError::Config(format!(
                "rate {} must be >= 0",
                self.rate
            )));
        }
        if self.secret.is_empty() {
            return Err(EmitError::Config(
                "a signing secret is required (--secret)".into(),
            ));
        }
        Ok(())
    }
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Builds the `index`-th fresh event body and its id.
fn fresh_event(
    provider: EmitProvider,
    r: &mut fastrand::Rng,
    now: i64,
) -> (String, Vec<u8>, &'static str) {
    match provider {
        EmitProvider::Stripe => {
            let id = rng::stripe_id("evt", r);
            let types = [
                ("charge.failed", 3),
                ("payment_intent.payment_failed", 3),
                ("invoice.payment_failed", 2),
                ("charge.succeeded", 6),
                ("payment_intent.succeeded", 6),
            ];
            let ty = *rng::weighted(r, &types);
            let failure = ty.contains("failed");
            let object = if failure {
                json!({"id": rng::stripe_id("ch", r), "object": "charge", "failure_code": "card_declined",
                       "failure_message": "Your card was declined.", "outcome": {"reason": "insufficient_funds"}})
            } else {
                json!({"id": rng::stripe_id("ch", r), "object": "charge", "status": "succeeded"})
            };
            let body = json!({"id": id, "object": "event", "api_version": "2023-08-16", "created": now,
                "data": {"object": object}, "livemode": false, "pending_webhooks": 1,
                "request": {"id": null, "idempotency_key": null}, "type": ty});
            (id, body.to_string().into_bytes(), "application/json")
        }
        EmitProvider::Openai => {
            let id = format!("evt_{:016x}{:08x}", r.u64(..), r.u32(..));
            let ty = *rng::weighted(
                r,
                &[
                    ("batch.failed", 2),
                    ("response.failed", 2),
                    ("fine_tuning.job.failed", 1),
                    ("batch.completed", 5),
                ],
            );
            let obj_id = match ty {
                t if t.starts_with("batch") => format!("batch_{:016x}", r.u64(..)),
                t if t.starts_with("response") => format!("resp_{:016x}", r.u64(..)),
                _ => format!("ftjob-{:016x}", r.u64(..)),
            };
            let body = json!({"id": id, "object": "event", "created_at": now, "type": ty, "data": {"id": obj_id}});
            (id, body.to_string().into_bytes(), "application/json")
        }
        EmitProvider::Twilio => {
            let sid = rng::twilio_sid("SM", r);
            let (status, code) = *rng::weighted(
                r,
                &[
                    (("delivered", ""), 8),
                    (("failed", "30007"), 1),
                    (("undelivered", "30003"), 1),
                    (("undelivered", "30006"), 1),
                ],
            );
            let mut params = vec![
                ("AccountSid".to_owned(), format!("AC{:032x}", 0)),
                ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
                ("From".to_owned(), "+14155550100".to_owned()),
                ("MessageSid".to_owned(), sid.clone()),
                ("MessageStatus".to_owned(), status.to_owned()),
                ("To".to_owned(), format!("+1415555{:04}", r.u32(..10_000))),
            ];
            if !code.is_empty() {
                params.push(("ErrorCode".to_owned(), code.to_owned()));
            }
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .finish();
            (
                format!("{sid}:{status}"),
                body.into_bytes(),
                "application/x-www-form-urlencoded",
            )
        }
    }
}

/// Signs a delivery at `now`; with `bad`, the signature is made wrong on purpose.
fn sign(
    config: &EmitConfig,
    public_url: &Url,
    id: &str,
    body: &[u8],
    now: i64,
    bad: bool,
) -> Result<Vec<(String, String)>, SigningError> {
    let secret: &str = &config.secret;
    let wrong = format!("{secret}-wrong");
    let key = if bad { wrong.as_str() } else { secret };
    Ok(match config.provider {
        EmitProvider::Stripe => vec![(
            "stripe-signature".into(),
            signing::stripe_signature(key, now, body)?,
        )],
        EmitProvider::Openai => {
            // A wrong key for Standard Webhooks must still be valid base64: flip the signature instead.
            let mut sig = signing::standard_webhooks_signature(secret, id, now, body)?;
            if bad {
                sig = format!("v1,{}", flip_base64(&sig[3..]));
            }
            vec![
                ("webhook-id".into(), id.to_owned()),
                ("webhook-timestamp".into(), now.to_string()),
                ("webhook-signature".into(), sig),
            ]
        }
        EmitProvider::Twilio => {
            let params: Vec<(String, String)> =
                url::form_urlencoded::parse(body).into_owned().collect();
            let sig = signing::twilio_signature(key, public_url.as_str(), &params)?;
            vec![
                ("x-twilio-signature".into(), sig),
                ("i-twilio-idempotency-token".into(), id.to_owned()),
            ]
        }
    })
}

fn flip_base64(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// Sends the webhooks and reports the answers.
pub async fn emit(config: EmitConfig) -> Result<EmitReport, EmitError> {
    config.validate()?;
    let http = reqwest::Client::builder()
        .timeout(config.timeout)
        .build()
        .map_err(|e| EmitError::Config(format!("HTTP client: {}", e.without_url())))?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| config.target.clone());
    let mut r = rng::for_purpose(config.seed, "emit");
    let now = unix_now();

    // Prepare every delivery up front (deterministic order), then pace them out.
    let mut deliveries = Vec::with_capacity(config.count);
    let mut history: Vec<(String, Vec<u8>, &'static str)> = Vec::new();
    for _ in 0..config.count {
        let duplicate = !history.is_empty() && r.f64() < config.duplicate_rate;
        let bad = r.f64() < config.bad_signature_rate;
        let (id, body, ct) = if duplicate {
            history[r.usize(..history.len())].clone()
        } else {
            let e = fresh_event(config.provider, &mut r, now);
            history.push(e.clone());
            e
        };
        let headers = sign(&config, &public_url, &id, &body, now, bad)?;
        deliveries.push(Delivery {
            event_id: id,
            body,
            content_type: ct,
            headers,
            url: config.target.clone(),
            duplicate,
            bad_signature: bad,
        });
    }

    let acked_log = match &config.acked_log {
        Some(path) => Some(std::sync::Arc::new(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| EmitError::Config(format!("opening {}: {e}", path.display())))?,
        ))),
        None => None,
    };
    let start = Instant::now();
    let interval = (config.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / config.rate));
    let mut report = EmitReport {
        duplicates_sent: deliveries.iter().filter(|d| d.duplicate).count(),
        bad_signatures_sent: deliveries.iter().filter(|d| d.bad_signature).count(),
        ..EmitReport::default()
    };
    let outcomes: Vec<Outcome> = futures::stream::iter(deliveries.into_iter().enumerate())
        .map(|(i, d)| {
            let http = http.clone();
            let acked_log = acked_log.clone();
            async move {
                if let Some(step) = interval {
                    let due = start + step.mul_f64(i as f64);
                    tokio::time::sleep_until(due).await;
                }
                let mut req = http
                    .post(d.url.clone())
                    .header("content-type", d.content_type)
                    .body(d.body.clone());
                for (k, v) in &d.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                let t = Instant::now();
                let status = match req.send().await {
                    Ok(resp) => {
                        let s = resp.status().as_u16();
                        let _ = resp.bytes().await;
                        if (200..300).contains(&s)
                            && !d.bad_signature
                            && let Some(log) = &acked_log
                            && let Ok(mut f) = log.lock()
                        {
                            use std::io::Write as _;
                            let _ = writeln!(f, "{}", d.event_id);
                        }
                        Some(s)
                    }
                    Err(_) => None,
                };
                Outcome {
                    status,
                    latency: t.elapsed(),
                    event_id: d.event_id,
                    bad_signature: d.bad_signature,
                }
            }
        })
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;

    let mut latencies: Vec<Duration> = Vec::with_capacity(outcomes.len());
    let mut distinct = std::collections::HashSet::new();
    for o in &outcomes {
        report.sent += 1;
        latencies.push(o.latency);
        match o.status {
            Some(s) => {
                *report.statuses.entry(s).or_default() += 1;
                match s {
                    200..=299 => {
                        report.acknowledged += 1;
                        if o.bad_signature {
                            report.bad_signatures_acknowledged += 1;
                        } else {
                            distinct.insert(o.event_id.clone());
                        }
                    }
                    400..=499 => report.rejected += 1,
                    _ => report.server_errors += 1,
                }
            }
            None => report.transport_errors += 1,
        }
    }
    report.distinct_acknowledged = distinct.len();
    latencies.sort_unstable();
    let pick = |p: f64| {
        latencies
            .get(((latencies.len().saturating_sub(1)) as f64 * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    report.p50_ms = pick(0.5);
    report.p99_ms = pick(0.99);
    report.elapsed_s = start.elapsed().as_secs_f64();
    report.rate_achieved = if report.elapsed_s > 0.0 {
        report.sent as f64 / report.elapsed_s
    } else {
        0.0
    };
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;

    /// A receiver that checks Stripe signatures with an independent computation and dedups ids.
    async fn receiver(secret: &'static str) -> (Url, Arc<Mutex<Vec<String>>>) {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let s2 = Arc::clone(&seen);
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = Arc::clone(&s2);
                async move {
                    let header = headers
                        .get("stripe-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let t: i64 = header
                        .split(',')
                        .find_map(|p| p.strip_prefix("t="))
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    let want = signing::stripe_signature(secret, t, &body).unwrap_or_default();
                    if header != want {
                        return StatusCode::BAD_REQUEST;
                    }
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    seen.lock()
                        .expect("lock")
                        .push(v["id"].as_str().unwrap_or("").to_owned());
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook").parse().expect("url"), seen)
    }

    fn config(target: Url) -> EmitConfig {
        EmitConfig {
            target,
            public_url: None,
            provider: EmitProvider::Stripe,
            count: 200,
            rate: 0.0,
            concurrency: 8,
            duplicate_rate: 0.2,
            bad_signature_rate: 0.1,
            secret: "whsec_emit_test_secret".into(),
            seed: 3,
            allow_non_loopback: false,
            timeout: Duration::from_secs(5),
            acked_log: None,
        }
    }

    #[tokio::test]
    async fn sends_signed_events_duplicates_and_bad_signatures() {
        let (url, seen) = receiver("whsec_emit_test_secret").await;
        let report = emit(config(url)).await.expect("emit");
        assert_eq!(report.sent, 200);
        assert!(report.duplicates_sent > 10, "{report:?}");
        assert!(report.bad_signatures_sent > 5, "{report:?}");
        assert_eq!(report.rejected, report.bad_signatures_sent);
        assert_eq!(report.acknowledged, 200 - report.bad_signatures_sent);
        assert_eq!(report.bad_signatures_acknowledged, 0);
        let ids = seen.lock().expect("lock").clone();
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), report.distinct_acknowledged);
        assert!(distinct.len() < ids.len(), "duplicates were re-delivered");
    }

    #[tokio::test]
    async fn refuses_non_loopback_and_bad_rates() {
        let mut c = config("http://192.0.2.1/hook".parse().expect("url"));
        assert!(matches!(emit(c.clone()).await, Err(EmitError::Config(_))));
        c.target = "http://127.0.0.1:9/hook".parse().expect("url");
        c.duplicate_rate = 2.0;
        assert!(matches!(emit(c.clone()).await, Err(EmitError::Config(_))));
        c.duplicate_rate = 0.0;
        c.secret.clear();
        assert!(matches!(emit(c).await, Err(EmitError::Config(_))));
    }

    #[test]
    fn twilio_deliveries_are_form_posts_signed_over_the_public_url() {
        let mut r = rng::for_purpose(1, "t");
        let (id, body, ct) = fresh_event(EmitProvider::Twilio, &mut r, 0);
        assert_eq!(ct, "application/x-www-form-urlencoded");
        let mut c = config("http://127.0.0.1:1/webhooks/twilio".parse().expect("url"));
        c.provider = EmitProvider::Twilio;
        c.secret = "12345".into();
        let public: Url = "https://hooks.example.com/webhooks/twilio"
            .parse()
            .expect("url");
        let headers = sign(&c, &public, &id, &body, 0, false).expect("sign");
        let params: Vec<(String, String)> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        let want = signing::twilio_signature("12345", public.as_str(), &params).expect("sign");
        assert_eq!(headers[0], ("x-twilio-signature".to_owned(), want));
        let bad = sign(&c, &public, &id, &body, 0, true).expect("sign");
        assert_ne!(bad[0], headers[0]);
    }
}
