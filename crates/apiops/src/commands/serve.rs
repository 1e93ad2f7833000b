//! `apiops serve`: the always-on half — the webhook receiver (`/webhooks/{stripe,twilio,openai}`,
//! `/healthz`, and `/webhooks/{name}` of each `[apis.NAME]` with a `webhooks` table, in
//! `serve/apis.rs`), the processor that turns stored failures into events, and the poll reconciler
//! that backfills what webhooks missed; the monitor, `/metrics`, the dashboard, and the MCP
//! server over the streamable HTTP transport at `/mcp` (the same tools and rules as
//! `apiops mcp`, behind the dashboard's token).
//!
//! Shutdown (SIGINT/SIGTERM) is graceful: the listener stops accepting, requests in flight
//! finish — each waits for its commit — the writer commits what is queued, the processor
//! handles what was committed, and only then does the process exit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use apiops_store::Store;
use apiops_webhooks::ingest::{Ingest, IngestConfig};
use apiops_webhooks::receiver::{ReceiverConfig, ReceiverMetrics, ReceiverState};
use apiops_webhooks::reconcile::Reconciler;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::commands::checks;

mod apis;
use crate::config::LoadedConfig;
use crate::config::settings::rotation_parts;
use crate::exit::{AppError, Exit};

/// `apiops serve` flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen (port 0 picks a free one; the address is printed on stdout)
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub(crate) listen: SocketAddr,
    /// The public URL the providers call, without path (`https://hooks.example.com`): Twilio
    /// signs the full URL it requested
    #[arg(long, env = "APIOPS_PUBLIC_URL", value_name = "URL")]
    pub(crate) public_url: Option<url::Url>,
    /// The database (sqlite://PATH or postgres://...) [default: database.url]
    #[arg(long = "db", value_name = "URL")]
    pub(crate) db: Option<String>,
    /// How often to poll the providers for what webhooks missed (0s: never)
    #[arg(long, default_value = "60s", value_parser = crate::commands::parse_duration_or_zero, value_name = "DURATION")]
    pub(crate) reconcile_every: Duration,
    /// How far back the first poll reaches
    #[arg(long, default_value = "24h", value_parser = crate::commands::parse_duration, value_name = "DURATION")]
    pub(crate) backfill: Duration,
    /// Accepted distance of a webhook's signed timestamp from now, both directions
    #[arg(long, default_value = "5m", value_parser = crate::commands::parse_duration, value_name = "DURATION")]
    pub(crate) tolerance: Duration,
    /// Largest webhook body accepted, in bytes
    #[arg(long, default_value_t = apiops_webhooks::receiver::DEFAULT_MAX_BODY, value_name = "BYTES")]
    pub(crate) max_body: usize,
    /// The token the dashboard (`/`) and `/metrics` require, as `Authorization: Bearer` or once
    /// as `?token=` (which sets a cookie), and `/mcp` as `Authorization: Bearer` only;
    /// mandatory unless listening on loopback. The webhook receivers and `/healthz` never need it
    #[arg(long, env = "APIOPS_SERVE_TOKEN", hide_env_values = true, value_parser = parse_token, value_name = "TOKEN")]
    pub(crate) token: Option<SecretString>,
    /// The token `/mcp` requires instead (as `Authorization: Bearer`), so that agents hold a
    /// credential of their own: then the dashboard's Pending confirmations page (the
    /// dashboard token's) can decide what only a person may. Must differ from --token
    #[arg(long, env = "APIOPS_MCP_TOKEN", hide_env_values = true, value_parser = parse_token, value_name = "TOKEN")]
    pub(crate) mcp_token: Option<SecretString>,
    /// This instance's id in the monitor's slot claims and check records
    /// [default: hostname-pid-random]
    #[arg(long, value_name = "ID")]
    pub(crate) instance: Option<String>,
    /// Offer only the tools that read on `/mcp` (no execute_plan), like `apiops mcp --read-only`
    #[arg(long, conflicts_with = "mcp_allow_execute")]
    pub(crate) mcp_read_only: bool,
    /// Let execute_plan on `/mcp` run reversible changes that stay inside the account without
    /// asking, like `apiops mcp --allow-execute`. Purchases, deletions, credential changes,
    /// money-spending sends, URL redirections, signed test events and over-cap batches still
    /// need a person: over HTTP, `apiops confirm PLAN_ID` or the dashboard's Pending
    /// confirmations page
    #[arg(long)]
    pub(crate) mcp_allow_execute: bool,
    /// A reverse proxy in front (a CIDR or an address; repeatable): only requests from these
    /// peers may carry Forwarded / X-Forwarded-* headers that are believed. Without a token,
    /// the dashboard, /metrics and /mcp answer a forwarded request only from such a proxy, for
    /// a loopback client
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_cidr)]
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
}

fn parse_cidr(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or a CIDR such as 10.0.0.0/8"))
}

fn parse_token(s: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(s.to_owned()))
}

/// Runs until SIGINT or SIGTERM.
pub(crate) fn run(
    loaded: LoadedConfig,
    locations: &crate::config::Locations,
    args: &ServeArgs,
) -> anyhow::Result<Exit> {
    // Shared with the MCP server, which keeps it for as long as it serves.
    let loaded = Arc::new(loaded);
    let settings = &loaded.settings;
    let db = match &args.db {
        Some(u) => u.clone(),
        None => settings.database.url.expose_secret().to_owned(),
    };
    let config = ReceiverConfig {
        public_url: args.public_url.clone(),
        stripe_secrets: rotation_parts(settings.stripe.webhook_secret.as_ref()),
        twilio_auth_token: settings.twilio.auth_token.clone(),
        openai_secrets: rotation_parts(settings.openai.webhook_secret.as_ref()),
        tolerance: args.tolerance,
        max_body: args.max_body,
        max_twilio_body: settings.serve.max_twilio_body.min(args.max_body),
        max_form_params: settings.serve.max_form_params,
        commit_timeout: settings.serve.commit_timeout,
    };
    let enabled = config.enabled();
    // `/webhooks/{name}` of each `[apis.NAME]` with a `webhooks` table; secrets from the
    // environment only.
    let api_hooks =
        apis::receivers(settings, |v| std::env::var(v).ok()).map_err(AppError::Config)?;
    let api_names: Vec<String> = api_hooks.iter().map(|a| a.name.clone()).collect();
    if enabled.is_empty() && api_hooks.is_empty() {
        return Err(AppError::NothingConfigured(
            "no webhook secret is configured: set STRIPE_WEBHOOK_SECRET, TWILIO_AUTH_TOKEN or OPENAI_WEBHOOK_SECRET, or give an [apis.NAME] a webhooks table"
                .into(),
        )
        .into());
    }
    // The dashboard, /metrics and /mcp need a token anywhere but on loopback: checked before
    // binding.
    let access = crate::dashboard::Access::for_listen(args.listen, args.token.as_ref())
        .map_err(|e| AppError::Usage(e.to_string()))?
        .with_trusted_proxies(args.trusted_proxies.clone());
    if args.public_url.is_some() && args.token.is_none() {
        anstream::eprintln!(
            "apiops serve: warning: --public-url is set but no --token: the dashboard, /metrics and /mcp answer only local requests (loopback Host, no proxy); set --token (APIOPS_SERVE_TOKEN) to reach them through {}",
            args.public_url
                .as_ref()
                .map_or(String::new(), |u| u.to_string())
        );
    }
    // Agents' access to /mcp: their own token when given (never the people's), else the
    // dashboard's rule — and then the dashboard cannot tell a person from an agent.
    let (mcp_access, people_only) = match (&args.mcp_token, &args.token) {
        (Some(m), Some(t)) if m.expose_secret().trim() == t.expose_secret().trim() => {
            return Err(AppError::Usage(
                "--mcp-token must differ from --token: agents must not hold the credential people confirm with".into(),
            )
            .into());
        }
        (Some(m), t) => (
            crate::dashboard::Access::for_listen(args.listen, Some(m))
                .map_err(|e| AppError::Usage(e.to_string()))?
                .with_trusted_proxies(args.trusted_proxies.clone()),
            t.is_some(),
        ),
        (None, _) => (access.clone(), false),
    };
    let rt = checks::runtime()?;
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::from(
            apiops_store::open(&db)
                .await
                .map_err(|e| anyhow::anyhow!("opening the store {}: {e}", display_db(&db)))?,
        );
        let committed = Arc::new(Notify::new());
        let (ingest, writer) = Ingest::start(
            Arc::clone(&store),
            IngestConfig::default(),
            Arc::clone(&committed),
        );
        let stop = CancellationToken::new();
        let processor = tokio::spawn(apiops_webhooks::process::run(
            Arc::clone(&store),
            Arc::clone(&committed),
            stop.clone(),
        ));
        let status = Arc::new(apiops_webhooks::reconcile::ReconcileStatus::default());
        let reconciler = if args.reconcile_every.is_zero() {
            None
        } else {
            let r = Reconciler {
                status: Arc::clone(&status),
                store: Arc::clone(&store),
                stripe: checks::stripe(settings).ok().map(|s| s.client().clone()),
                twilio: checks::twilio(settings).ok().map(|t| t.client().clone()),
                backfill: args.backfill,
                overlap: Duration::from_secs(300),
            };
            (r.stripe.is_some() || r.twilio.is_some()).then(|| {
                tokio::spawn(r.run(args.reconcile_every, Arc::clone(&committed), stop.clone()))
            })
        };
        let (api_router, _api_metrics) = apis::router(
            api_hooks,
            ingest.clone(),
            args.max_body,
            settings.serve.commit_timeout,
            Arc::new(jiff::Timestamp::now),
        );
        let receiver_metrics = Arc::new(ReceiverMetrics::default());
        // `/`, `/errors`, `/alerts`, `/confirmations` and `/metrics` (installs the Prometheus
        // recorder).
        let dashboard = crate::dashboard::mount(crate::dashboard::Mount {
            store: Arc::clone(&store),
            receiver: Arc::clone(&receiver_metrics),
            receivers: enabled.clone(),
            config: Arc::clone(&loaded),
            token: args.token.as_ref(),
            access: access.clone(),
            people_only,
        });
        // `/mcp`: the MCP server of `apiops mcp` over this store, its sessions ended at shutdown.
        let mcp_stop = CancellationToken::new();
        let mcp_options = crate::mcp::Options {
            read_only: args.mcp_read_only,
            allow_execute: args.mcp_allow_execute,
            transport: crate::mcp::confirm::Transport::Http,
        };
        let mcp = crate::mcp::http::router(
            crate::mcp::ApiopsMcp::new(
                Arc::clone(&loaded),
                mcp_options,
                Ok(Arc::clone(&store)),
                crate::mcp::TerminalViews::shared(),
            ),
            mcp_access,
            args.listen.ip(),
            mcp_stop.clone(),
        );
        let state = Arc::new(ReceiverState {
            config,
            ingest: ingest.clone(),
            metrics: receiver_metrics,
            now: Arc::new(jiff::Timestamp::now),
            reconciler: reconciler.as_ref().map(|_| Arc::clone(&status)),
        });
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        // The first line on stdout is the address (port 0 picks one): scripts read it.
        println!("listening on http://{addr}");
        anstream::eprintln!(
            "apiops serve: receivers for {} at http://{addr}/webhooks/<provider>; store {}; reconciler {}",
            enabled
                .iter()
                .map(|s| s.as_str().to_owned())
                .chain(api_names.iter().cloned())
                .collect::<Vec<_>>()
                .join(", "),
            display_db(&db),
            if reconciler.is_some() {
                format!("every {}", humantime::format_duration(args.reconcile_every))
            } else {
                "off".to_owned()
            }
        );
        anstream::eprintln!(
            "apiops serve: dashboard at http://{addr}/, metrics at http://{addr}/metrics and MCP at http://{addr}{} ({}; MCP {})",
            crate::mcp::http::PATH,
            if access.required() {
                "token required"
            } else {
                "loopback, no token"
            },
            match (mcp_options.read_only, mcp_options.allow_execute) {
                (true, _) => "read-only",
                (false, true) => "allow-execute",
                (false, false) => "confirmation by elicitation",
            }
        );
        // Scheduled checks, alert rules, sinks and auto-fix (`[monitor]`); ends with `stop`.
        let monitor = crate::monitor::start(crate::monitor::Start {
            settings,
            store: Arc::clone(&store),
            receiver: Some(Arc::clone(&state.metrics)),
            public_url: args.public_url.clone(),
            instance: args.instance.clone(),
            clock: Arc::new(jiff::Timestamp::now),
            stop: stop.clone(),
            apis: if settings.monitor.enabled {
                crate::commands::api::monitor::checks(&loaded, locations).await
            } else {
                Vec::new()
            },
        })?;
        if let Some(m) = &monitor {
            anstream::eprintln!("apiops serve: {}", m.description);
        }
        // Old payloads and events pruned in small batches (`[retention]`); ends with `stop`.
        let retention =
            crate::monitor::spawn_retention(settings, Arc::clone(&store), stop.clone());
        // On a worker like every other task: the thread blocked in `block_on` would otherwise
        // poll the accept loop (and, measured, most of the request work) by itself.
        // Two route groups, each with its own concurrency cap (more are shed with 503) and the
        // request timeout: the webhooks (and /healthz), and everything a person or an agent
        // reaches. /healthz/details sits behind the dashboard's access rule.
        let limits = settings.serve.limits();
        let app = crate::server::app(crate::server::Parts {
            receiver: state,
            apis: api_router,
            dashboard,
            mcp,
            access: access.clone(),
            limits,
        });
        let server = tokio::spawn(crate::server::serve(listener, app, limits, async move {
            shutdown_signal().await;
            // Open MCP streams would otherwise hold the graceful shutdown up.
            mcp_stop.cancel();
        }));
        server
            .await
            .context("the server task")?
            .context("serving")?;
        // In-flight requests are done; commit what is queued, then process it.
        drop(ingest);
        let _ = writer.await;
        stop.cancel();
        let _ = processor.await;
        if let Some(m) = monitor {
            m.join().await;
        }
        if let Some(r) = reconciler {
            let _ = r.await;
        }
        if let Some(r) = retention {
            let _ = r.await;
        }
        anstream::eprintln!("apiops serve: stopped cleanly");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Exit::Ok)
}

/// A database URL with its passwords masked (user part and `password=` parameters); one that
/// does not parse is not shown at all.
fn display_db(db: &str) -> String {
    apiops_store::shown_url(db)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    anstream::eprintln!("apiops serve: shutting down (finishing in-flight commits)");
}
