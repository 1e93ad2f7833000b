//! Benchmark: per-request overhead of apiops-client's full middleware stack over bare reqwest,
//! on loopback against a trivial axum server.
//!
//! Both clients send the same GET in interleaved rounds (so machine drift hits both alike);
//! the figure is the median added latency, plus the ratio of medians. Run:
//! `cargo run --release -p apiops-benches --bin client-overhead -- [requests-per-round] [rounds]`.

use std::time::{Duration, Instant};

use apiops_client::auth::Auth;
use apiops_client::rate::RateConfig;
use apiops_client::{ApiClient, Method, SecretString};
use axum::Router;
use axum::routing::get;

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let per_round: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2_000);
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);

    // The server runs on its own thread and runtime, so it is not measured as client work.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let app = Router::new().route(
                "/v1/ping",
                get(|| async { ([("content-type", "application/json")], r#"{"ok":true}"#) }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv()?;
    let base = format!("http://{addr}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let bare = reqwest::Client::builder().build()?;
        let full = ApiClient::builder("bench", &base)
            .auth(Auth::Bearer(SecretString::from("sk_test_bench_0123456789")))
            .idempotency_header("Idempotency-Key")?
            .version_pin("Stripe-Version", "2023-08-16")?
            .rate(RateConfig {
                quota: None,
                max_concurrency: Some(100),
                max_pause: Duration::from_secs(60),
            })
            .build()?;
        let url = format!("{base}/v1/ping");

        // Warm up connections and code paths.
        for _ in 0..200 {
            bare.get(&url).send().await?.bytes().await?;
            full.send(full.request(Method::GET, "/v1/ping")?)
                .await?
                .bytes()
                .await?;
        }

        let mut bare_t = Vec::with_capacity(per_round * rounds);
        let mut full_t = Vec::with_capacity(per_round * rounds);
        for _ in 0..rounds {
            for _ in 0..per_round {
                let t = Instant::now();
                bare.get(&url).send().await?.bytes().await?;
                bare_t.push(t.elapsed());
            }
            for _ in 0..per_round {
                let t = Instant::now();
                full.send(full.request(Method::GET, "/v1/ping")?)
                    .await?
                    .bytes()
                    .await?;
                full_t.push(t.elapsed());
            }
        }
        let (bm, fm) = (median(&mut bare_t), median(&mut full_t));
        let (b99, f99) = (percentile(&mut bare_t, 0.99), percentile(&mut full_t, 0.99));
        let added = fm.saturating_sub(bm);
        println!("| client | median | p99 |");
        println!("|---|---|---|");
        println!(
            "| bare reqwest | {:.1} µs | {:.1} µs |",
            micros(bm),
            micros(b99)
        );
        println!(
            "| apiops-client full stack | {:.1} µs | {:.1} µs |",
            micros(fm),
            micros(f99)
        );
        println!();
        println!(
            "median added per request: {:.1} µs (ratio {:.2}x), over {} requests each",
            micros(added),
            fm.as_secs_f64() / bm.as_secs_f64(),
            bare_t.len()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
