//! Webhook issues (`apiops do "stripe webhook issues"`, the `webhooks.audit` operation): the
//! error audit of the services and the webhook part of their configuration audit (Twilio
//! webhook URLs and callbacks, Stripe webhook endpoints), in one report.

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context as _;
use apiops_core::Service;
use serde::Serialize;

use crate::commands::{checks, errors};
use crate::config::LoadedConfig;
use crate::exit::Exit;
use crate::output::{self, Format, Render};
use crate::report::{AuditView, ErrorsView};

/// Errors and the webhook configuration, together.
#[derive(Debug, Serialize)]
pub(crate) struct WebhookIssuesView {
    pub(crate) errors: ErrorsView,
    pub(crate) webhook_config: AuditView,
}

impl Render for WebhookIssuesView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Errors\n")?;
        self.errors.human(out)?;
        writeln!(out, "\nWebhook configuration\n")?;
        self.webhook_config.human(out)
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# Webhook issues\n\n## Errors\n")?;
        self.errors.markdown(out)?;
        writeln!(out, "\n## Webhook configuration\n")?;
        self.webhook_config.markdown(out)
    }
}

/// Runs both and prints one report; exit 1 when a scan or an audit failed.
pub(crate) fn run(
    loaded: &LoadedConfig,
    services: &[Service],
    since: Duration,
    format: Format,
) -> anyhow::Result<Exit> {
    let selected = checks::select(&loaded.settings, services)?;
    let rt = checks::runtime()?;
    let view = rt.block_on(async {
        let store = checks::open_store(&loaded.settings).await.ok();
        let errors = errors::scan(
            &selected,
            since,
            jiff::Timestamp::now(),
            store.as_deref(),
            format,
            None,
        )
        .await?;
        let (mut findings, failures) = checks::audit(&selected).await;
        findings.retain(apiops_providers::webhook_url::about_webhooks);
        anyhow::Ok(WebhookIssuesView {
            errors,
            webhook_config: AuditView {
                services: selected.providers.iter().map(|p| p.service()).collect(),
                findings,
                failures,
            },
        })
    })?;
    let failed = !view.errors.failures.is_empty() || !view.webhook_config.failures.is_empty();
    output::emit(format, &view).context("writing the webhook report")?;
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}
