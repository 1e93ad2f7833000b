//! `apiops serve`'s dashboard and `/metrics` as a process: the token rules (on loopback none is
//! needed; anywhere else serving without one is refused; a wrong one is a 401) and the webhook
//! receivers, which never need it.

use crate::util::{Sandbox, Served, block, run};

const SECRET: &str = "whsec_dashboard_cli_secret_0123456789";
const TOKEN: &str = "cli-dashboard-token-0123456789";

fn db_url(sb: &Sandbox) -> String {
    sb.sqlite_url("dash.db")
}

/// Starts `apiops serve --listen <listen>`; the URL it prints is rewritten to 127.0.0.1 (a
/// wildcard bind is reached through loopback here).
fn serve(sb: &Sandbox, listen: &str, token: Option<&str>) -> Served {
    let mut cmd = sb.serve_command(listen, &db_url(sb));
    cmd.env("STRIPE_WEBHOOK_SECRET", SECRET)
        .args(["--reconcile-every", "0s"]);
    if let Some(t) = token {
        cmd.env("APIOPS_SERVE_TOKEN", t);
    }
    sb.start_serving(cmd)
}

async fn status(url: &str, bearer: Option<&str>) -> u16 {
    let mut rb = reqwest::Client::new().get(url);
    if let Some(t) = bearer {
        rb = rb.bearer_auth(t);
    }
    rb.send().await.expect("get").status().as_u16()
}

async fn stripe_webhook(base: &str, id: &str) -> u16 {
    let body = format!(r#"{{"id":"{id}","type":"charge.succeeded","data":{{"object":{{}}}}}}"#);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let ts = jiff::Timestamp::from_second(now).expect("ts");
    let sig = apiops_webhooks::signature::stripe::sign(body.as_bytes(), SECRET, ts);
    reqwest::Client::new()
        .post(format!("{base}/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", sig)
        .body(body)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

#[test]
fn a_non_loopback_listen_without_a_token_is_refused_before_binding() {
    let sb = Sandbox::new();
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let out = run(sb.apiops().env("STRIPE_WEBHOOK_SECRET", SECRET).args([
            "serve",
            "--listen",
            listen,
            "--db",
            &db_url(&sb),
        ]));
        assert_eq!(out.code, Some(2), "{listen}: {}", out.stderr);
        assert!(out.stderr.contains("APIOPS_SERVE_TOKEN"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "nothing listened: {}", out.stdout);
    }
    // A token too short to be one is refused too, and never echoed.
    let out = run(sb
        .apiops()
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("APIOPS_SERVE_TOKEN", "hunter2")
        .args(["serve", "--listen", "0.0.0.0:0", "--db", &db_url(&sb)]));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(!out.all().contains("hunter2"));
}

#[test]
fn with_a_token_the_dashboard_needs_it_and_the_receivers_do_not() {
    let sb = Sandbox::new();
    let s = serve(&sb, "0.0.0.0:0", Some(TOKEN));
    block(async {
        for path in ["/", "/errors", "/alerts", "/metrics"] {
            let url = format!("{}{path}", s.url);
            assert_eq!(status(&url, None).await, 401, "{path} without a token");
            assert_eq!(
                status(&url, Some("wrong-token-0123456789abcdef")).await,
                401,
                "{path} with a wrong token"
            );
            assert_eq!(
                status(&url, Some(TOKEN)).await,
                200,
                "{path} with the token"
            );
        }
        assert_eq!(stripe_webhook(&s.url, "evt_cli_dash_1").await, 200);
        assert_eq!(status(&format!("{}/healthz", s.url), None).await, 200);
        // The webhook shows up in /metrics.
        let text = reqwest::Client::new()
            .get(format!("{}/metrics", s.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        assert!(
            text.contains(r#"apiops_webhooks_received_total{provider="stripe",outcome="new"} 1"#),
            "{text}"
        );
    });
}

#[test]
fn on_loopback_no_token_is_needed() {
    let sb = Sandbox::new();
    let s = serve(&sb, "127.0.0.1:0", None);
    block(async {
        for path in ["/", "/errors", "/alerts", "/metrics", "/healthz"] {
            assert_eq!(
                status(&format!("{}{path}", s.url), None).await,
                200,
                "{path}"
            );
        }
        assert_eq!(stripe_webhook(&s.url, "evt_cli_dash_2").await, 200);
    });
}
