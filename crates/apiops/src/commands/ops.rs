//! The operations commands: `apiops do "REQUEST"` and the structured `apiops twilio|stripe|
//! openai ...` subcommands. Both build an [`Operation`] and share one flow: reads run at once;
//! changes are planned (shown with side effects, risks and cost), gated (a prompt on a terminal,
//! `--yes`, refused with exit 5 otherwise), executed with the journal, and reported per item
//! (exit 6 when some items failed).

use std::io::{self, BufRead as _, IsTerminal as _, Write};
use std::time::Duration;

use anyhow::Context as _;
use apiops_core::{ActionTaken, Service, mask};
use apiops_ops::exec::{ItemResult, Outcome, OutcomeStatus};
use apiops_ops::journal::Prepared;
use apiops_ops::plan::Planned;
use apiops_ops::{
    Executor, Gate, Intent, OpKind, Operation, OpsError, Origin, ReadAnswer, ReadError, Services,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

mod args;
mod views;

pub(crate) use args::{
    DoArgs, EndpointsCommand, MessagesCommand, NumbersCommand, OpFlags, OpenaiCommand,
    StripeCommand, StripeEventsCommand, TwilioCommand,
};
use views::*;
pub(crate) use views::{OpView, list_view};

use crate::commands::{checks, errors};
use crate::config::{LoadedConfig, Settings};
use crate::exit::{AppError, Exit};
use crate::output::{self, Format, Render};

const NO_FLAGS: OpFlags = OpFlags {
    yes: false,
    dry_run: false,
    new: false,
    allow_private_targets: false,
};

fn params(pairs: &[(&str, Option<Value>)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| ((*k).to_owned(), v)))
        .collect()
}

fn text(v: &Option<String>) -> Option<Value> {
    v.as_ref().map(|s| Value::String(s.clone()))
}

/// Builds an operation from structured arguments: the same checks as every other path.
fn build(kind: OpKind, p: Map<String, Value>) -> anyhow::Result<Operation> {
    apiops_ops::params::build(kind, &p).map_err(|e| AppError::Usage(e.to_string()).into())
}

/// The request as a person would retype it, for the journal and messages.
fn command_line() -> String {
    std::env::args()
        .skip(1)
        .map(|a| if a.contains(' ') { format!("{a:?}") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `apiops twilio ...`
pub(crate) fn run_twilio(
    loaded: &LoadedConfig,
    command: &TwilioCommand,
    format: Format,
) -> anyhow::Result<Exit> {
    let (op, flags) = match command {
        TwilioCommand::Numbers(NumbersCommand::Search {
            area_code,
            country,
            contains,
            limit,
        }) => (
            build(
                OpKind::TwilioSearchNumbers,
                params(&[
                    ("area_code", area_code.map(|a| json!(a))),
                    ("country", Some(json!(country))),
                    ("contains", text(contains)),
                    ("limit", Some(json!(limit))),
                ]),
            )?,
            NO_FLAGS,
        ),
        TwilioCommand::Numbers(NumbersCommand::Buy {
            number,
            area_code,
            country,
            sms_url,
            voice_url,
            flags,
        }) => (
            build(
                OpKind::TwilioBuyNumber,
                params(&[
                    ("number", text(number)),
                    ("area_code", area_code.map(|a| json!(a))),
                    ("country", Some(json!(country))),
                    ("sms_url", text(sms_url)),
                    ("voice_url", text(voice_url)),
                ]),
            )?,
            flags.clone(),
        ),
        TwilioCommand::Numbers(NumbersCommand::Release { number, flags }) => (
            build(
                OpKind::TwilioReleaseNumber,
                params(&[("number", Some(json!(number)))]),
            )?,
            flags.clone(),
        ),
        TwilioCommand::Numbers(NumbersCommand::Update {
            numbers,
            sms_url,
            sms_fallback_url,
            voice_url,
            voice_fallback_url,
            status_callback,
            flags,
        }) => {
            let urls = [
                ("sms_url", text(sms_url)),
                ("sms_fallback_url", text(sms_fallback_url)),
                ("voice_url", text(voice_url)),
                ("voice_fallback_url", text(voice_fallback_url)),
                ("status_callback", text(status_callback)),
            ];
            // One number at a time through the checks, then one operation for all of them.
            let mut all = Vec::new();
            let mut template = None;
            for n in numbers {
                let mut p = params(&urls);
                p.insert("number".into(), json!(n));
                match build(OpKind::TwilioUpdateNumber, p)? {
                    Operation::TwilioUpdateNumber { numbers, urls } => {
                        all.extend(numbers);
                        template = Some(urls);
                    }
                    other => return Err(anyhow::anyhow!("unexpected operation {other:?}")),
                }
            }
            let urls = template.unwrap_or_default();
            (
                Operation::TwilioUpdateNumber { numbers: all, urls },
                flags.clone(),
            )
        }
        TwilioCommand::Messages(MessagesCommand::SendTest {
            to,
            from,
            body,
            flags,
        }) => (
            build(
                OpKind::TwilioSendTestSms,
                params(&[
                    ("to", Some(json!(to))),
                    ("from", text(from)),
                    ("body", text(body)),
                ]),
            )?,
            flags.clone(),
        ),
        TwilioCommand::Messages(MessagesCommand::Failed { since }) => (
            Operation::TwilioListFailedMessages { since: *since },
            NO_FLAGS,
        ),
    };
    run_operation(loaded, op, &command_line(), &flags, Chosen::Exactly, format)
}

/// `apiops stripe ...`
pub(crate) fn run_stripe(
    loaded: &LoadedConfig,
    command: &StripeCommand,
    format: Format,
) -> anyhow::Result<Exit> {
    let (op, flags) = match command {
        StripeCommand::Endpoints(EndpointsCommand::List) => {
            (Operation::StripeListEndpoints, NO_FLAGS)
        }
        StripeCommand::Endpoints(EndpointsCommand::Enable { endpoint, flags }) => (
            build(
                OpKind::StripeEnableEndpoint,
                params(&[("endpoint", Some(json!(endpoint)))]),
            )?,
            flags.clone(),
        ),
        StripeCommand::Endpoints(EndpointsCommand::Disable { endpoint, flags }) => (
            build(
                OpKind::StripeDisableEndpoint,
                params(&[("endpoint", Some(json!(endpoint)))]),
            )?,
            flags.clone(),
        ),
        StripeCommand::Endpoints(EndpointsCommand::Update {
            endpoint,
            url,
            events,
            flags,
        }) => (
            build(
                OpKind::StripeUpdateEndpoint,
                params(&[
                    ("endpoint", Some(json!(endpoint))),
                    ("url", text(url)),
                    ("events", text(events)),
                ]),
            )?,
            flags.clone(),
        ),
        StripeCommand::Endpoints(EndpointsCommand::SendTestEvent {
            endpoint,
            event_type,
            flags,
        }) => (
            build(
                OpKind::StripeSendTestEvent,
                params(&[
                    ("endpoint", Some(json!(endpoint))),
                    ("event_type", Some(json!(event_type))),
                ]),
            )?,
            flags.clone(),
        ),
        StripeCommand::Events(StripeEventsCommand::ResendUndelivered { since, to, flags }) => (
            Operation::StripeResendUndelivered {
                since: *since,
                to: match to {
                    Some(t) => build(
                        OpKind::StripeResendUndelivered,
                        params(&[("to", Some(json!(t)))]),
                    )
                    .map(|op| match op {
                        Operation::StripeResendUndelivered { to, .. } => to,
                        _ => None,
                    })?,
                    None => None,
                },
            },
            flags.clone(),
        ),
    };
    run_operation(loaded, op, &command_line(), &flags, Chosen::Exactly, format)
}

/// `apiops openai ...`
pub(crate) fn run_openai(
    loaded: &LoadedConfig,
    command: &OpenaiCommand,
    format: Format,
) -> anyhow::Result<Exit> {
    let (op, flags) = match command {
        OpenaiCommand::Models => (Operation::OpenaiListModels, NO_FLAGS),
        OpenaiCommand::RateLimits => (Operation::OpenaiCheckRateLimits, NO_FLAGS),
        OpenaiCommand::TestCompletion { model, flags } => (
            Operation::OpenaiTestCompletion {
                model: model.clone(),
            },
            flags.clone(),
        ),
    };
    run_operation(loaded, op, &command_line(), &flags, Chosen::Exactly, format)
}

/// `apiops do "REQUEST"`.
pub(crate) fn run_do(loaded: &LoadedConfig, args: &DoArgs, format: Format) -> anyhow::Result<Exit> {
    let request = args.request.join(" ");
    if args.explain {
        let view = ExplainView {
            request: request.clone(),
            intent: apiops_ops::intent::parse(&request),
            batch_cap: loaded.settings.policy.batch_cap,
        };
        output::emit(format, &view).context("writing")?;
        return Ok(Exit::Ok);
    }
    // What the words say comes first, even with --llm: a negated request or a question about
    // an action plans nothing, whatever a model would make of it.
    let literal = apiops_ops::intent::parse(&request);
    if args.llm
        && let Intent::Ask {
            kind: Some(kind), ..
        } = &literal
        && !kind.spec().read_only()
        && apiops_ops::intent::declines_action(&request)
    {
        output::emit(format, &IntentView { intent: literal }).context("writing")?;
        return Ok(Exit::Usage);
    }
    let intent = if args.llm {
        let settings = &loaded.settings;
        let openai = checks::openai(settings).map_err(|e| {
            AppError::Usage(format!("--llm needs an OpenAI-compatible endpoint: {e}"))
        })?;
        let rt = checks::runtime()?;
        rt.block_on(apiops_ops::llm::propose(
            openai.client(),
            &args.llm_model,
            &request,
        ))
        .map_err(|e| anyhow::anyhow!("the LLM planner failed: {e}"))?
    } else {
        literal
    };
    let chosen = if args.llm {
        Chosen::ByLlm
    } else {
        Chosen::Exactly
    };
    match intent {
        Intent::Run { operation } => {
            run_operation(loaded, operation, &request, &args.flags, chosen, format)
        }
        other => {
            let view = IntentView { intent: other };
            output::emit(format, &view).context("writing")?;
            Ok(Exit::Usage)
        }
    }
}

/// Who picked the operation: the person's exact words or subcommand, or a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chosen {
    /// A catalog subcommand, or the deterministic parser's reading of the person's words.
    Exactly,
    /// The `--llm` planner: `--yes` does not confirm purchases, deletions or credential
    /// changes it chose.
    ByLlm,
}

/// The providers and settings operations use.
fn services(settings: &Settings, flags: &OpFlags) -> anyhow::Result<Services> {
    services_for(settings, flags.allow_private_targets)
}

/// The providers operations use, from the settings.
pub(crate) fn services_for(settings: &Settings, allow_private: bool) -> anyhow::Result<Services> {
    Ok(checks::services(settings).allowing_private_targets(allow_private))
}

/// Maps an operations error to the app's errors (exit codes).
fn app_error(e: OpsError) -> anyhow::Error {
    match e {
        OpsError::NotConfigured(m) => AppError::NothingConfigured(m).into(),
        OpsError::Invalid(m) => AppError::Usage(m).into(),
        OpsError::Ambiguous {
            question,
            candidates,
        } => {
            let mut m = question;
            for c in candidates {
                m.push_str(&format!("\n  {c}"));
            }
            AppError::Usage(m).into()
        }
        other => anyhow::anyhow!(other),
    }
}

/// The one flow of every operation.
fn run_operation(
    loaded: &LoadedConfig,
    op: Operation,
    request: &str,
    flags: &OpFlags,
    chosen: Chosen,
    format: Format,
) -> anyhow::Result<Exit> {
    let settings = &loaded.settings;
    if op.spec().read_only() {
        return run_read(loaded, op, format);
    }
    let services = services(settings, flags)?;
    let rt = checks::runtime()?;
    let store = rt
        .block_on(checks::open_store(settings))
        .map_err(|e| anyhow::anyhow!("the operations journal is required: {e}"))?;
    let now = jiff::Timestamp::now();
    let prepared = rt
        .block_on(apiops_ops::prepare(
            &op,
            request,
            &services,
            store.as_ref(),
            now,
            flags.new,
        ))
        .map_err(app_error)?;
    let gate = apiops_ops::gate(op.spec(), &settings.policy.policy(), Origin::Requested);
    let nothing_to_do = prepared.plan.to_do().next().is_none();
    let spec = op.spec();
    let mut view = OpView {
        trust: apiops_ops::trust_of_plan(&prepared.plan, settings.policy.batch_cap),
        plan: prepared.clone(),
        gate: gate.clone(),
        confirmed: false,
        outcome: None,
    };
    if flags.dry_run {
        output::emit(format, &view).context("writing the plan")?;
        return Ok(Exit::Ok);
    }
    // `--yes` is the person's yes for what they asked exactly; not for a purchase, a deletion
    // or a credential change that a model picked.
    let llm_irreversible = chosen == Chosen::ByLlm && (spec.purchase || spec.deletion || spec.auth);
    let yes = flags.yes && !llm_irreversible;
    if gate.needs_confirmation() && !nothing_to_do && !yes {
        let interactive = io::stdin().is_terminal() && io::stderr().is_terminal();
        if !interactive {
            output::emit(format, &view).context("writing the plan")?;
            let action = format!(
                "{} ({} step(s))",
                prepared.plan.name,
                prepared.plan.to_do().count()
            );
            if llm_irreversible && flags.yes {
                return Err(AppError::PersonRequired(format!(
                    "{action} was chosen by the LLM planner: --yes does not confirm a purchase, a deletion or a credential change a model chose. Use the exact subcommand (see `apiops {} --help`) with --yes, or answer the prompt on a terminal",
                    spec.service.map_or("do", |s| s.as_str())
                ))
                .into());
            }
            return Err(AppError::ConfirmationRequired { action }.into());
        }
        // The plan first, then the question on the terminal.
        output::emit(Format::Human, &view).context("writing the plan")?;
        if !confirm_prompt(&format!(
            "Proceed with {} step(s)? [y/N] ",
            prepared.plan.to_do().count()
        ))? {
            anstream::eprintln!("Not confirmed: nothing was done.");
            return Ok(Exit::ConfirmationRequired);
        }
    }
    view.confirmed = true;
    let clock = jiff::Timestamp::now;
    let executor = Executor {
        services: &services,
        store: store.as_ref(),
        now: &clock,
        action: ActionTaken::Executed,
    };
    let outcome = rt
        .block_on(executor.execute(&prepared.plan))
        .map_err(app_error)?;
    let exit = outcome_exit(outcome.status);
    view.outcome = Some(outcome);
    output::emit(format, &view).context("writing the outcome")?;
    Ok(exit)
}

/// The exit status of a run that ended so.
pub(crate) fn outcome_exit(status: OutcomeStatus) -> Exit {
    match status {
        OutcomeStatus::Succeeded | OutcomeStatus::NothingToDo => Exit::Ok,
        OutcomeStatus::Partial => Exit::PartialBatch,
        OutcomeStatus::Failed => Exit::Failure,
    }
}

/// Asks on stderr, reads a line from stdin.
pub(crate) fn confirm_prompt(question: &str) -> anyhow::Result<bool> {
    let mut err = io::stderr().lock();
    write!(err, "{question}")?;
    err.flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Reads: run at once, no plan, no confirmation.
fn run_read(loaded: &LoadedConfig, op: Operation, format: Format) -> anyhow::Result<Exit> {
    let settings = &loaded.settings;
    match op {
        Operation::AuditErrors {
            services,
            since,
            resource,
        } => errors::run(loaded, &services, since, resource.as_deref(), format),
        Operation::TwilioListFailedMessages { since } => {
            errors::run(loaded, &[Service::Twilio], since, Some("message"), format)
        }
        Operation::HealthCheck { services } => super::health::run(loaded, &services, format),
        Operation::AuditConfig {
            services,
            webhooks_only,
        } => super::audit::run_scoped(loaded, &services, false, webhooks_only, format),
        Operation::AuditWebhooks { services, since } => {
            super::webhooks::run(loaded, &services, since, format)
        }
        Operation::UsageReport {
            services,
            period,
            by,
        } => super::usage::run_op(loaded, &services, period, by, format),
        other => {
            let rt = checks::runtime()?;
            let services = checks::services(settings);
            let view = rt
                .block_on(read_view(&services, &other))
                .map_err(read_error)?;
            output::emit(format, &view).context("writing")?;
            Ok(Exit::Ok)
        }
    }
}

/// A read's error as the command's: missing credentials keep their exit code; a provider's
/// typed error stays in the chain.
fn read_error(e: ReadError) -> anyhow::Error {
    match e {
        ReadError::Unavailable(p) => match &*p {
            apiops_providers::ProviderError::MissingCredentials { service, variables } => {
                AppError::MissingCredentials {
                    service: *service,
                    variables: variables.clone(),
                }
                .into()
            }
            _ => anyhow::Error::new(ReadError::Unavailable(p)),
        },
        ReadError::NotARead(_) => AppError::Usage(e.to_string()).into(),
        ReadError::Client(e) => anyhow::Error::new(e),
    }
}

/// Runs a listing read: [`apiops_ops::read`], shown as a table (the MCP `plan_operation` tool
/// shows the same table, through `crate::mcp::TerminalViews`).
async fn read_view(services: &Services, op: &Operation) -> Result<views::ListView, ReadError> {
    apiops_ops::read::read(services, op)
        .await
        .map(|answer| list_view(op, answer))
}
