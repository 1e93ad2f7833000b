//! `apiops events [--since] [--service] [--limit]`: the event log — failures seen by scans,
//! webhooks and polls, and actions apiops took — oldest first. `--json` prints JSON Lines (one
//! `ErrorEvent` per line), so it streams into `jq` and log shippers.

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context as _;
use apiops_core::{ErrorEvent, Service};
use apiops_store::EventFilter;
use clap::Args;

use crate::commands::checks;
use crate::config::LoadedConfig;
use crate::exit::Exit;
use crate::output::{self, Format};

/// `apiops events` arguments.
#[derive(Debug, Clone, Args)]
pub(crate) struct EventsArgs {
    /// Only events this recent
    #[arg(long, default_value = "24h", value_parser = crate::commands::parse_duration, value_name = "DURATION")]
    pub(crate) since: Duration,
    /// Only these services (repeat the flag)
    #[arg(long = "service", value_name = "SERVICE")]
    pub(crate) services: Vec<Service>,
    /// At most this many, the newest
    #[arg(long, default_value_t = 1_000)]
    pub(crate) limit: u32,
}

/// Prints the event log.
pub(crate) fn run(
    loaded: &LoadedConfig,
    args: &EventsArgs,
    format: Format,
) -> anyhow::Result<Exit> {
    let rt = checks::runtime()?;
    let events = rt.block_on(async {
        let store = checks::open_store(&loaded.settings)
            .await
            .map_err(|e| anyhow::anyhow!("opening the event log: {e}"))?;
        let span = jiff::SignedDuration::try_from(args.since).context("--since is too large")?;
        let since = jiff::Timestamp::now()
            .checked_sub(span)
            .context("--since is too large")?;
        store
            .events(&EventFilter {
                since: Some(since),
                services: args.services.clone(),
                limit: Some(args.limit),
            })
            .await
            .map_err(|e| anyhow::anyhow!("reading the event log: {e}"))
    })?;
    let mut out = anstream::stdout().lock();
    write(&mut out, format, &events).context("writing the event log")?;
    out.flush()?;
    Ok(Exit::Ok)
}

fn write(out: &mut dyn Write, format: Format, events: &[ErrorEvent]) -> io::Result<()> {
    let columns = [
        "time", "service", "code", "category", "severity", "resource", "action", "result",
        "context",
    ];
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.timestamp.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                e.service.to_string(),
                e.error_code.clone(),
                e.category.to_string(),
                e.severity.to_string(),
                format!("{} {}", e.resource_type, e.resource_id),
                e.action_taken.to_string(),
                e.result.to_string(),
                e.context.clone(),
            ]
        })
        .collect();
    match format {
        Format::Json => {
            for e in events {
                serde_json::to_writer(&mut *out, e)?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Md => write!(out, "{}", output::markdown_table(&columns, &rows)),
        Format::Human if events.is_empty() => writeln!(out, "No events in this period."),
        Format::Human => writeln!(out, "{}", output::human_table(&columns, &rows)),
    }
}

#[cfg(test)]
mod tests {
    use apiops_core::{ActionTaken, Category, EventResult, Severity};

    use super::*;

    #[test]
    fn json_is_one_event_per_line() {
        let e = ErrorEvent {
            timestamp: "2026-11-26T01:00:00Z".parse().expect("ts"),
            service: Service::Twilio,
            error_code: "twilio.numbers.buy".into(),
            category: Category::Config,
            severity: Severity::Info,
            resource_type: "operation".into(),
            resource_id: "PN1".into(),
            context: "bought".into(),
            action_taken: ActionTaken::Executed,
            result: EventResult::Success,
        };
        let mut out = Vec::new();
        write(&mut out, Format::Json, &[e.clone(), e.clone()]).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for l in lines {
            let back: ErrorEvent = serde_json::from_str(l).expect("each line is an event");
            assert_eq!(back, e);
        }
    }
}
