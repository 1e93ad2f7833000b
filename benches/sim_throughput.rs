//! Benchmark: the simulator must never be the bottleneck of a benchmark.
//!
//! 1. Memory: resident set size after generating N Twilio messages (for two sizes, to show it
//!    grows with the data), and after serving a burst of requests (to show it does not grow with
//!    the request count).
//! 2. Throughput: simple authenticated requests per second (`GET /openai/v1/models` and the Twilio
//!    account fetch) from concurrent keep-alive connections on loopback, client in the same
//!    process on the same 2 cores.
//!
//! Run: `cargo run --release -p apiops-benches --bin sim-throughput -- [requests] [concurrency]`.

use std::time::{Duration, Instant};

use apiops_sim::{SimConfig, Simulator};
use futures::StreamExt;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn config(messages: usize) -> SimConfig {
    SimConfig {
        messages,
        seed: 42,
        anchor: "2026-11-25T12:00:00Z".parse().expect("anchor"),
        ..SimConfig::default()
    }
}

async fn blast(client: &reqwest::Client, urls: &[(String, String)], total: usize, concurrency: usize) -> (f64, Duration) {
    let start = Instant::now();
    let ok = futures::stream::iter(0..total)
        .map(|i| {
            let (url, auth) = &urls[i % urls.len()];
            let req = client.get(url).header("authorization", auth);
            async move {
                match req.send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    let elapsed = start.elapsed();
    assert_eq!(ok, total, "every request must succeed");
    (total as f64 / elapsed.as_secs_f64(), elapsed)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(200_000);
    let concurrency: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let base_rss = rss_mib();
        let t = Instant::now();
        let small = Simulator::new(config(200_000))?;
        let gen_small = t.elapsed();
        let rss_small = rss_mib();
        drop(small);
        let t = Instant::now();
        let large = Simulator::new(config(1_000_000))?;
        let gen_large = t.elapsed();
        let rss_large = rss_mib();
        drop(large);

        let sim = Simulator::new(config(200_000))?.start().await?;
        let rss_before = rss_mib();
        let env: std::collections::HashMap<_, _> = sim.env_vars().into_iter().collect();
        use base64::Engine;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]))
        );
        let urls = vec![
            (format!("{}/models", env["OPENAI_BASE_URL"]), format!("Bearer {}", env["OPENAI_API_KEY"])),
            (
                format!("{}/2010-04-01/Accounts/{}.json", env["APIOPS_TWILIO_API_URL"], env["TWILIO_ACCOUNT_SID"]),
                basic,
            ),
        ];
        let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
        blast(&client, &urls, 5_000, concurrency).await; // warm-up
        let mut rates = Vec::new();
        for _ in 0..3 {
            rates.push(blast(&client, &urls, total / 3, concurrency).await.0);
        }
        rates.sort_by(f64::total_cmp);
        let rss_after = rss_mib();

        println!("| measure | value |");
        println!("|---|---|");
        println!("| RSS before any simulator | {base_rss:.1} MiB |");
        println!("| RSS with 200,000 messages (generated in {:.2}s) | {rss_small:.1} MiB |", gen_small.as_secs_f64());
        println!("| RSS with 1,000,000 messages (generated in {:.2}s) | {rss_large:.1} MiB |", gen_large.as_secs_f64());
        println!("| RSS serving 200,000 messages, before the requests | {rss_before:.1} MiB |");
        println!("| RSS after {} more requests | {rss_after:.1} MiB |", total / 3 * 3);
        println!(
            "| simple requests/s, {concurrency} connections, median of 3 runs | {:.0} (runs: {:.0}, {:.0}, {:.0}) |",
            rates[1], rates[0], rates[1], rates[2]
        );
        sim.stop().await;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
