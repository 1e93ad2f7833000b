//! The simulator on 127.0.0.1, with realistic data, and `apiops` pointed at it.

use std::collections::HashMap;

use apiops_sim::{RunningSim, SimConfig, Simulator};

use super::Sandbox;

/// A running simulator and the variables that point `apiops` at it.
pub(crate) struct Sim {
    _rt: tokio::runtime::Runtime,
    pub(crate) running: RunningSim,
    pub(crate) env: HashMap<&'static str, String>,
}

impl Sim {
    /// The simulator's variables (URLs and credentials) for `services`: `twilio`, `stripe`,
    /// `openai`.
    pub(crate) fn env_for<'a>(
        &'a self,
        services: &'a [&str],
    ) -> impl Iterator<Item = (&'static str, &'a String)> + 'a {
        self.env.iter().map(|(k, v)| (*k, v)).filter(|(k, _)| {
            services.iter().any(|svc| match *svc {
                "twilio" => k.contains("TWILIO"),
                "stripe" => k.contains("STRIPE"),
                "openai" => k.contains("OPENAI"),
                _ => false,
            })
        })
    }
}

pub(crate) fn sim(config: SimConfig) -> Sim {
    let rt = super::runtime();
    let sim = rt
        .block_on(Simulator::new(config).expect("config").start())
        .expect("start");
    let env = sim.env_vars().into_iter().collect();
    Sim {
        _rt: rt,
        running: sim,
        env,
    }
}

pub(crate) fn base() -> SimConfig {
    SimConfig {
        messages: 3_000,
        ..SimConfig::default()
    }
}

/// The `apiops` process pointed at the simulator for `services`, database in the sandbox (to
/// spawn and kill it).
pub(crate) fn sim_command(sb: &Sandbox, s: &Sim, services: &[&str]) -> std::process::Command {
    let mut cmd = sb.command();
    cmd.env("APIOPS_DATABASE_URL", sb.sqlite_url("events.db"))
        .envs(s.env_for(services));
    cmd
}

/// `apiops` pointed at the simulator for `services`, database in the sandbox.
pub(crate) fn apiops(sb: &Sandbox, s: &Sim, services: &[&str]) -> assert_cmd::Command {
    assert_cmd::Command::from_std(sim_command(sb, s, services))
}

fn secrets(s: &Sim) -> Vec<String> {
    [
        "TWILIO_AUTH_TOKEN",
        "STRIPE_SECRET_KEY",
        "OPENAI_API_KEY",
        "OPENAI_ADMIN_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "OPENAI_WEBHOOK_SECRET",
    ]
    .iter()
    .map(|k| s.env[k].clone())
    .collect()
}

pub(crate) fn assert_no_secret(s: &Sim, text: &str) {
    for secret in secrets(s) {
        assert!(!text.contains(&secret), "a secret leaked:\n{text}");
    }
    assert!(!text.contains("panicked"), "{text}");
}

/// Every item of a paged listing: Twilio's (`next_page_uri`, `meta.next_page_url`) or a
/// cursor list (`has_more`, the last id after `cursor`), read with `auth`, without apiops.
pub(crate) fn list_all(
    http: &reqwest::Client,
    first: String,
    key: &str,
    auth: &dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    next: &dyn Fn(&serde_json::Value, &str) -> Option<String>,
) -> Vec<serde_json::Value> {
    super::block(async {
        let mut out = Vec::new();
        let mut url = Some(first);
        while let Some(u) = url {
            let page: serde_json::Value = auth(http.get(&u))
                .send()
                .await
                .expect("page")
                .error_for_status()
                .expect("2xx")
                .json()
                .await
                .expect("json");
            let items = page[key].as_array().expect("items").clone();
            url = next(&page, &u);
            out.extend(items);
        }
        out
    })
}

/// The error groups of a JSON report (`apiops errors --json`) as (service, code, count), in
/// the report's order.
pub(crate) fn group_counts(doc: &serde_json::Value) -> Vec<(String, String, u64)> {
    doc["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["service"].as_str().unwrap_or("").to_owned(),
                g["error_code"].as_str().unwrap_or("").to_owned(),
                g["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}
