//! Benchmark: any API from its OpenAPI document (issue 15).
//!
//! 1. Loading GitHub's REST description (about 13 MB of JSON, from the npm package
//!    `@octokit/openapi`, installed into `.tools` by `scripts/contract.sh`): read and parse with
//!    every `$ref` checked, index the operations, and list them (a word search over all). Median
//!    of `APIOPS_BENCH_RUNS` runs (default 5).
//! 2. `--all` over a long listing: the engine pages through N items (default 100,000; pages of
//!    100, cursor + `has_more`) served by a loopback axum server in this process, handing each
//!    item over as it comes; the process's resident set size (VmRSS) is sampled every 10,000
//!    items, so a listing held in memory would show as growth.
//!
//! Run: `cargo run --release -p apiops-benches --bin openapi-load -- [SPEC] [ITEMS]`

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use apiops_openapi::{Api, ApiConfig, Index, Spec};
use axum::Json;
use axum::extract::Query;
use serde_json::{Value, json};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn load(spec: &PathBuf, runs: usize) {
    let size = std::fs::metadata(spec).map_or(0, |m| m.len());
    let (mut parse, mut index, mut list, mut total) = (vec![], vec![], vec![], vec![]);
    let mut ops = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let s = match Spec::load_file(spec, apiops_openapi::DEFAULT_MAX_SPEC_BYTES) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let t1 = Instant::now();
        let i = Index::build(&s, None).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
        let t2 = Instant::now();
        let words = vec!["repos".to_owned()];
        let listed = i.search(&[]).count() + i.search(&words).count();
        let t3 = Instant::now();
        ops = i.operations().len();
        std::hint::black_box(listed);
        parse.push((t1 - t0).as_secs_f64() * 1e3);
        index.push((t2 - t1).as_secs_f64() * 1e3);
        list.push((t3 - t2).as_secs_f64() * 1e3);
        total.push((t3 - t0).as_secs_f64() * 1e3);
    }
    println!(
        "load {} ({:.1} MB, {ops} operations), median of {runs}: parse+check {:.0} ms, index {:.0} ms, list+search {:.1} ms, total {:.0} ms (runs: {})",
        spec.display(),
        size as f64 / 1e6,
        median(parse),
        median(index),
        median(list),
        median(total.clone()),
        total
            .iter()
            .map(|t| format!("{t:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

async fn page(Query(q): Query<HashMap<String, String>>, total: usize) -> Json<Value> {
    let after: usize = q
        .get("starting_after")
        .and_then(|s| s.strip_prefix("it_"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let end = (after + 100).min(total);
    let data: Vec<Value> = (after + 1..=end)
        .map(|i| json!({"id": format!("it_{i}"), "object": "item", "amount": i, "note": "x".repeat(64)}))
        .collect();
    Json(json!({"object": "list", "data": data, "has_more": end < total}))
}

async fn all(items: usize) {
    let app = axum::Router::new().route("/items", axum::routing::get(move |q| page(q, items)));
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bind: {e}");
            std::process::exit(1);
        }
    };
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let spec = Spec::from_value(
        json!({"openapi": "3.1.0", "info": {"title": "bench", "version": "1"}, "paths": {"/items": {"get": {
            "operationId": "items/list",
            "parameters": [{"name": "starting_after", "in": "query", "schema": {"type": "string"}}],
            "responses": {}
        }}}}),
        "bench",
    )
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let api = Api::new(
        ApiConfig {
            name: "bench".into(),
            base_url: Some(base),
            ..ApiConfig::default()
        },
        spec,
        Ok,
    )
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let (op, req) = match api.prepare("items/list", &[], None) {
        Ok((op, req)) => (op.clone(), req),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let mut count = 0usize;
    let mut samples = vec![(0usize, rss_mib())];
    let mut sink = std::io::sink();
    let result = api
        .each_item(&op, req, &mut |item| {
            use std::io::Write as _;
            count += 1;
            let _ = serde_json::to_writer(&mut sink, &item);
            let _ = sink.write_all(b"\n");
            if count.is_multiple_of(10_000) {
                samples.push((count, rss_mib()));
            }
            Ok(())
        })
        .await;
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "--all over {count} items ({} pages of 100) in {secs:.2} s ({:.0} items/s); VmRSS MiB at items: {}",
        count.div_ceil(100),
        count as f64 / secs,
        samples
            .iter()
            .map(|(n, r)| format!("{n}: {r:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = args.first().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../.tools/node_modules/@octokit/openapi/generated/api.github.com.json")
    });
    let items = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    load(&spec, env_usize("APIOPS_BENCH_RUNS", 5));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    rt.block_on(all(items));
}
