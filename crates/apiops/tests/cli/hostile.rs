//! `apiops serve` as a process on a hostile network: clients that trickle their headers
//! (slowloris) are cut off while signed webhooks keep flowing, and unsigned megabyte bodies cost
//! the server nothing but their headers. Loopback only; every loop is bounded.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use apiops_sim::emit::{EmitConfig, EmitProvider};

use crate::util::{Sandbox, Served, block};

const SECRET: &str = "whsec_hostile_test_secret_0123456789";

fn serve(sb: &Sandbox, env: &[(&str, &str)]) -> Served {
    let mut cmd = sb.serve_command("127.0.0.1:0", &sb.sqlite_url("hostile.db"));
    cmd.env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("TWILIO_AUTH_TOKEN", "hostile_twilio_token_0123456789")
        .env("APIOPS_MONITOR_ENABLED", "false")
        .envs(env.iter().copied())
        .args(["--reconcile-every", "0s"]);
    sb.start_serving(cmd)
}

fn addr(served: &Served) -> String {
    served.url.trim_start_matches("http://").to_owned()
}

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn slow_clients_are_cut_off_while_signed_webhooks_keep_flowing() {
    let sb = Sandbox::new();
    // A short header timeout keeps the test short; the default (10 s) is measured in
    // BENCHMARKS.md.
    let served = serve(&sb, &[("APIOPS_SERVE_HEADER_READ_TIMEOUT", "2s")]);
    let addr = addr(&served);
    let mut slow = Vec::new();
    for _ in 0..500 {
        let mut s = TcpStream::connect(&addr).expect("connect");
        // Half a request head, then silence.
        s.write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: app")
            .expect("write");
        slow.push(s);
    }
    // Meanwhile, on other connections, signed events are answered.
    let report = block(apiops_sim::emit::emit(EmitConfig {
        target: format!("{}/webhooks/stripe", served.url)
            .parse()
            .expect("url"),
        public_url: None,
        provider: EmitProvider::Stripe,
        count: 300,
        rate: 0.0,
        concurrency: 8,
        duplicate_rate: 0.0,
        bad_signature_rate: 0.0,
        secret: SECRET.into(),
        seed: 5,
        allow_non_loopback: false,
        timeout: Duration::from_secs(10),
        acked_log: None,
    }))
    .expect("emit");
    assert_eq!(
        report.acknowledged, 300,
        "signed webhooks were refused: {report:?}"
    );
    // Every slow connection is closed by the server (EOF or reset) well within 15 s.
    for (i, s) in slow.iter_mut().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {} // an error answer, then the close
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("slow connection {i} still open after 15 s: {e}"),
            }
        }
    }
}

#[test]
fn unsigned_megabyte_bodies_are_refused_for_the_price_of_their_headers() {
    let sb = Sandbox::new();
    let served = serve(&sb, &[]);
    let addr = addr(&served);
    let pid = served.child.id();
    // Warm up: one request of each kind the test makes.
    let status = |s: &mut TcpStream| {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n") && head.len() < 1024 {
            match s.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&head)
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(0)
    };
    let body = vec![b'a'; 1024 * 1024];
    let one = |body: &[u8]| -> u16 {
        let mut s = TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let head = format!(
            "POST /webhooks/twilio HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("head");
        // The body goes out from another thread; the answer may come before it is all sent,
        // and the server may close without reading it (a write error then is expected).
        let mut w = s.try_clone().expect("clone");
        let body = body.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(&body);
        });
        let code = status(&mut s);
        drop(s);
        let _ = writer.join();
        code
    };
    assert!((400..500).contains(&one(&body)));
    let before = peak_rss_kib(pid);
    let codes: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32).map(|_| scope.spawn(|| one(&body))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let after = peak_rss_kib(pid);
    for (i, c) in codes.iter().enumerate() {
        assert!((400..500).contains(c), "request {i} got {c}");
    }
    let grown_mib = after.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 40,
        "32 unsigned 1 MB bodies raised the server's peak RSS by {grown_mib} MiB"
    );
    eprintln!("peak RSS {before} KiB -> {after} KiB");
}
