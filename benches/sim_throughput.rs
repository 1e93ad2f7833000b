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

async fn blast(
    client: &reqwest::Client,
    urls: &[(String, String)],
    total: usize,
    concurrency: usize,
) -> (f64, Duration) {
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

/// In a child process (so the allocator's history does not blur it): generate `n` messages and
/// print the resident set size.
fn measure_generation(n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let before = rss_mib();
    let t = Instant::now();
    let sim = Simulator::new(config(n))?;
    let took = t.elapsed();
    println!("{before:.1} {:.1} {:.3}", rss_mib(), took.as_secs_f64());
    drop(sim);
    Ok(())
}

fn generation_in_child(n: usize) -> Result<(f64, f64, f64), Box<dyn std::error::Error>> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["--measure-generation", &n.to_string()])
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    let v: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match v.as_slice() {
        [a, b, c] => Ok((*a, *b, *c)),
        _ => Err(format!("child printed {text:?}").into()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--measure-generation") {
        args.next();
        let n: usize = args.next().ok_or("missing count")?.parse()?;
        return measure_generation(n);
    }
    let total: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200_000);
    let concurrency: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let sizes = [200_000usize, 1_000_000];
        let mut generation = Vec::new();
        for n in sizes {
            generation.push((n, generation_in_child(n)?));
        }
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
        let rss_warm = rss_mib();
        let mut rates = Vec::new();
        let mut rss_after = Vec::new();
        for _ in 0..3 {
            rates.push(blast(&client, &urls, total, concurrency).await.0);
            rss_after.push(rss_mib());
        }
        rates.sort_by(f64::total_cmp);

        println!("| measure | value |");
        println!("|---|---|");
        for (n, (before, after, secs)) in &generation {
            println!(
                "| {n} messages: RSS before / after generating (separate process) | {before:.1} / {after:.1} MiB (+{:.1} MiB, {:.0} bytes per message; generated in {secs:.2}s) |",
                after - before,
                (after - before) * 1024.0 * 1024.0 / *n as f64
            );
        }
        println!("| serving 200,000 messages: RSS after {} warm-up requests (before {rss_before:.1}) | {rss_warm:.1} MiB |", 5_000);
        println!(
            "| RSS after {total}, {}, {} more requests | {:.1} / {:.1} / {:.1} MiB |",
            total * 2,
            total * 3,
            rss_after[0],
            rss_after[1],
            rss_after[2]
        );
        println!(
            "| simple requests/s, {concurrency} connections, median of 3 runs of {total} | {:.0} (runs: {:.0}, {:.0}, {:.0}) |",
            rates[1], rates[0], rates[1], rates[2]
        );
        sim.stop().await;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
