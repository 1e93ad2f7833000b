//! The operations commands: `apiops do "REQUEST"` and the structured `apiops twilio|stripe|
//! openai ...` subcommands. Both build an [`Operation`] and share one flow: reads run at once;
//! changes are planned (shown with side effects, risks and cost), gated (a prompt on a terminal,
//! `--yes`, refused with exit 5 otherwise), executed with the journal, and reported per item
//! (exit 6 when some items failed).

use std::io::{self, BufRead as _, IsTerminal as _, Write};
use std::time::Duration;

use anyhow::Context as _;
use apiops_core::{ActionTaken, Service, mask};
use apiops_ops::catalog::{DEFAULT_TEST_EVENT, DEFAULT_TEST_MODEL};
use apiops_ops::exec::{ItemResult, Outcome, OutcomeStatus};
use apiops_ops::journal::Prepared;
use apiops_ops::plan::Planned;
use apiops_ops::{
    Executor, Gate, Intent, OpKind, Operation, OpsError, Origin, ReadAnswer, ReadError, Services,
};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::commands::{checks, errors};
use crate::config::{LoadedConfig, Settings};
use crate::exit::{AppError, Exit};
use crate::output::{self, Format, Render};

/// Flags every changing operation takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct OpFlags {
    /// Accept the plan without a prompt: a person typing it counts as their yes (for what an
    /// LLM chose with --llm, not for purchases, deletions or credential changes)
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Show the plan and stop
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Plan anew even if the same request ran in the last 24 h (a deliberate second run)
    #[arg(long)]
    pub(crate) new: bool,
    /// Let test events and re-deliveries go to loopback or private addresses (a local
    /// receiver); refused by default so a URL cannot make apiops reach internal hosts
    #[arg(long)]
    pub(crate) allow_private_targets: bool,
}

/// `apiops do`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DoArgs {
    /// The request, in plain words ("buy a phone number in 415")
    #[arg(required = true, num_args = 1.., value_name = "REQUEST")]
    pub(crate) request: Vec<String>,
    /// Ask the configured OpenAI-compatible endpoint to map the request (tool calling over the
    /// same catalog; its plan goes through the same confirmation)
    #[arg(long)]
    pub(crate) llm: bool,
    /// The model the LLM planner uses
    #[arg(long, default_value = DEFAULT_TEST_MODEL, requires = "llm")]
    pub(crate) llm_model: String,
    /// Say which operation the request maps to, its trust class (who may say yes to it) and
    /// why; plans nothing and reads nothing from the providers
    #[arg(long, conflicts_with_all = ["llm", "yes", "dry_run"])]
    pub(crate) explain: bool,
    #[command(flatten)]
    pub(crate) flags: OpFlags,
}

/// `apiops twilio ...`
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum TwilioCommand {
    /// Phone numbers: search, buy, release, update URLs
    #[command(subcommand)]
    Numbers(NumbersCommand),
    /// Messages: send a test SMS, list failed ones
    #[command(subcommand)]
    Messages(MessagesCommand),
}

/// `apiops twilio numbers ...`
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum NumbersCommand {
    /// Search numbers available to buy, with the monthly price
    Search {
        /// Area code
        #[arg(long)]
        area_code: Option<u16>,
        /// ISO country code
        #[arg(long, default_value = "US")]
        country: String,
        /// Digits the number must contain
        #[arg(long)]
        contains: Option<String>,
        /// How many to show
        #[arg(long, default_value_t = 5)]
        limit: u32,
    },
    /// Buy a number: NUMBER, or the first available in --area-code (a purchase: always confirmed)
    Buy {
        /// The E.164 number to buy
        #[arg(required_unless_present = "area_code")]
        number: Option<String>,
        /// Buy the first available number in this area code
        #[arg(long, conflicts_with = "number")]
        area_code: Option<u16>,
        /// ISO country code
        #[arg(long, default_value = "US")]
        country: String,
        /// SMS webhook URL to set on purchase
        #[arg(long)]
        sms_url: Option<String>,
        /// Voice webhook URL to set on purchase
        #[arg(long)]
        voice_url: Option<String>,
        #[command(flatten)]
        flags: OpFlags,
    },
    /// Release (delete) an owned number (a deletion: always confirmed)
    Release {
        /// E.164 or PN... SID
        number: String,
        #[command(flatten)]
        flags: OpFlags,
    },
    /// Set numbers' SMS, voice, status-callback or fallback URLs
    Update {
        /// E.164 or PN... SIDs
        #[arg(required = true, num_args = 1..)]
        numbers: Vec<String>,
        #[arg(long)]
        /// SMS webhook URL
        sms_url: Option<String>,
        /// SMS fallback URL
        #[arg(long)]
        sms_fallback_url: Option<String>,
        /// Voice webhook URL
        #[arg(long)]
        voice_url: Option<String>,
        /// Voice fallback URL
        #[arg(long)]
        voice_fallback_url: Option<String>,
        /// Status callback URL
        #[arg(long)]
        status_callback: Option<String>,
        #[command(flatten)]
        flags: OpFlags,
    },
}

/// `apiops twilio messages ...`
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum MessagesCommand {
    /// Send a test SMS to each --to
    SendTest {
        /// E.164 recipients (repeat the flag)
        #[arg(long, required = true)]
        to: Vec<String>,
        /// Owned number or MG... service to send from (default: the first SMS-capable number)
        #[arg(long)]
        from: Option<String>,
        /// The text
        #[arg(long)]
        body: Option<String>,
        #[command(flatten)]
        flags: OpFlags,
    },
    /// List failed and undelivered messages with their error codes
    Failed {
        /// How far back to look
        #[arg(long, default_value = "24h", value_parser = crate::commands::parse_duration)]
        since: Duration,
    },
}

/// `apiops stripe ...`
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum StripeCommand {
    /// Webhook endpoints: list, enable, disable, update, send a test event
    #[command(subcommand)]
    Endpoints(EndpointsCommand),
    /// Events: resend the undelivered ones to the receiver
    #[command(subcommand)]
    Events(StripeEventsCommand),
}

/// `apiops stripe endpoints ...`
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum EndpointsCommand {
    /// List webhook endpoints
    List,
    /// Enable an endpoint (we_... or "failing")
    Enable {
        /// we_... or "failing"
        endpoint: String,
        #[command(flatten)]
        flags: OpFlags,
    },
    /// Disable an endpoint (we_... or "failing")
    Disable {
        /// we_... or "failing"
        endpoint: String,
        #[command(flatten)]
        flags: OpFlags,
    },
    /// Change an endpoint's URL or enabled events
    Update {
        /// we_...
        endpoint: String,
        /// The new URL
        #[arg(long)]
        url: Option<String>,
        /// The enabled events, comma-separated
        #[arg(long)]
        events: Option<String>,
        #[command(flatten)]
        flags: OpFlags,
    },
    /// Send a signed test event to an endpoint's URL (built and signed by apiops with
    /// STRIPE_WEBHOOK_SECRET)
    SendTestEvent {
        /// we_...
        endpoint: String,
        /// The event type
        #[arg(long = "type", default_value = DEFAULT_TEST_EVENT)]
        event_type: String,
        #[command(flatten)]
        flags: OpFlags,
    },
}

/// `apiops stripe events ...`
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum StripeEventsCommand {
    /// Fetch events Stripe could not deliver and deliver them, signed, to the receiver
    ResendUndelivered {
        /// How far back to look
        #[arg(long, default_value = "24h", value_parser = crate::commands::parse_duration)]
        since: Duration,
        /// The receiver's Stripe webhook URL
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        flags: OpFlags,
    },
}

/// `apiops openai ...`
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum OpenaiCommand {
    /// List the models the key can use
    Models,
    /// Show rate-limit headroom
    RateLimits,
    /// Send a minimal test completion (costs a few tokens)
    TestCompletion {
        /// The model
        #[arg(long, default_value = DEFAULT_TEST_MODEL)]
        model: String,
        #[command(flatten)]
        flags: OpFlags,
    },
}

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

/// `apiops do --explain`: the operation a request maps to and who may say yes to it.
#[derive(Debug, Serialize)]
struct ExplainView {
    request: String,
    intent: Intent,
    batch_cap: usize,
}

impl Render for ExplainView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let Intent::Run { operation } = &self.intent else {
            writeln!(out, "{:?} does not map to one operation:", self.request)?;
            return IntentView {
                intent: self.intent.clone(),
            }
            .human(out);
        };
        let spec = operation.spec();
        let trust = apiops_ops::trust_of(spec.kind);
        writeln!(out, "{} — {}", spec.name, spec.summary)?;
        if !spec.side_effects.is_empty() {
            writeln!(out, "Side effects: {}", spec.side_effects)?;
        }
        let class = match trust.class {
            apiops_ops::TrustClass::Read => "read",
            apiops_ops::TrustClass::InAccount => "in-account change",
            apiops_ops::TrustClass::Person => "needs a person",
        };
        writeln!(out, "Trust class: {class} — {}", trust.why)?;
        let lines: Vec<String> = match trust.class {
            apiops_ops::TrustClass::Read => vec!["runs at once, everywhere".into()],
            apiops_ops::TrustClass::InAccount => vec![
                "terminal: the prompt, or --yes".into(),
                "MCP: the person through elicitation, or a server started with --allow-execute"
                    .into(),
                format!(
                    "over {} items ([policy] batch_cap) it needs a person like the class below",
                    self.batch_cap
                ),
            ],
            apiops_ops::TrustClass::Person => vec![
                if spec.purchase || spec.deletion || spec.auth {
                    "terminal: the prompt, or --yes typed by you (not for what --llm chose)".into()
                } else {
                    "terminal: the prompt, or --yes".into()
                },
                "MCP on stdio: the person through elicitation; --allow-execute never stands in"
                    .into(),
                "MCP over HTTP (apiops serve): only out of the agent's channel — `apiops confirm PLAN_ID` or the dashboard's Pending confirmations page".into(),
            ],
        };
        writeln!(out, "Who may say yes:")?;
        for l in lines {
            writeln!(out, "  - {l}")?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        self.human(out)
    }
}

/// A request that did not map to one operation.
#[derive(Debug, Serialize)]
struct IntentView {
    #[serde(flatten)]
    intent: Intent,
}

impl Render for IntentView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        match &self.intent {
            Intent::Ask {
                question,
                candidates,
                ..
            } => {
                writeln!(out, "{question}")?;
                if !candidates.is_empty() {
                    writeln!(out, "For example:")?;
                    for c in candidates {
                        writeln!(out, "  apiops do {c:?}")?;
                    }
                }
            }
            Intent::Unknown { reason, examples } => {
                writeln!(out, "Not understood: {reason}")?;
                if !examples.is_empty() {
                    writeln!(out, "Requests that work:")?;
                    for c in examples {
                        writeln!(out, "  apiops do {c:?}")?;
                    }
                }
            }
            Intent::Run { operation } => writeln!(out, "{}", operation.kind().name())?,
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        self.human(out)
    }
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

/// A plan, its gate and (once run) its outcome.
#[derive(Debug, Serialize)]
pub(crate) struct OpView {
    #[serde(flatten)]
    pub(crate) plan: Prepared,
    pub(crate) gate: Gate,
    pub(crate) trust: apiops_ops::Trust,
    pub(crate) confirmed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) outcome: Option<Outcome>,
}

impl Render for OpView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        match &self.outcome {
            None => self.plan_text(out),
            Some(o) => self.outcome_text(out, o),
        }
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        self.human(out)
    }
}

impl OpView {
    fn plan_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let plan = &self.plan.plan;
        let spec = plan.operation.spec();
        writeln!(out, "Plan: {} — {}", plan.name, spec.summary)?;
        writeln!(out, "  request: {}", plan.request)?;
        if let Some(why) = &self.plan.replanned {
            writeln!(
                out,
                "  this request ran before, but the account no longer shows it: {why}; planned anew"
            )?;
        }
        if let Some(r) = &self.plan.resumed {
            match r.finished_at {
                Some(f) => writeln!(
                    out,
                    "  this request already ran at {f}; done steps are not repeated (--new to run it again)"
                )?,
                None => writeln!(
                    out,
                    "  resuming the run started at {}: {} step(s) already done",
                    r.started_at,
                    r.done.len()
                )?,
            }
        }
        writeln!(out, "Steps:")?;
        for s in &plan.steps {
            match &s.planned {
                Planned::ToDo => writeln!(out, "  {}. {}", s.index + 1, s.action.describe())?,
                Planned::AlreadyDone { reason, .. } => writeln!(
                    out,
                    "  {}. {} — nothing to do: {reason}",
                    s.index + 1,
                    s.action.describe()
                )?,
            }
        }
        if !spec.side_effects.is_empty() {
            writeln!(out, "Side effects: {}", spec.side_effects)?;
        }
        let mut flags = vec![spec.risk.as_str().to_owned()];
        flags.push(
            if spec.reversible {
                "reversible"
            } else {
                "irreversible"
            }
            .into(),
        );
        if spec.purchase {
            flags.push("purchase".into());
        }
        if spec.deletion {
            flags.push("deletion".into());
        }
        if spec.costs_money {
            flags.push("costs money".into());
        }
        writeln!(out, "Risk: {}", flags.join(" · "))?;
        for r in &plan.risks {
            writeln!(out, "  - {r}")?;
        }
        if let Some(c) = &plan.cost {
            match (&c.amount, &c.currency) {
                (Some(a), cur) => writeln!(
                    out,
                    "Cost: {a} {} per {} ({})",
                    cur.as_deref().unwrap_or(""),
                    c.per,
                    c.source
                )?,
                (None, _) => writeln!(out, "Cost: per {} — {}", c.per, c.source)?,
            }
        }
        match &self.gate {
            Gate::Proceed { reason } => writeln!(out, "Gate: proceeds ({reason})")?,
            Gate::Confirm { reason, .. } => writeln!(out, "Gate: needs confirmation — {reason}")?,
        }
        if self.trust.needs_person() {
            writeln!(out, "Needs a person: {}", self.trust.why)?;
        }
        Ok(())
    }

    fn outcome_text(&self, out: &mut dyn Write, o: &Outcome) -> io::Result<()> {
        writeln!(out, "{} ({} step(s)):", o.operation, o.items.len())?;
        if let Some(why) = &self.plan.replanned {
            writeln!(
                out,
                "  the earlier run no longer holds: {why}; this run planned it anew"
            )?;
        }
        if let Some(r) = &self.plan.resumed {
            match r.finished_at {
                Some(f) => writeln!(
                    out,
                    "  this request already ran at {f}: nothing is repeated (--new to run it again)"
                )?,
                None => writeln!(
                    out,
                    "  resuming the run started at {}: done steps are skipped",
                    r.started_at
                )?,
            }
        }
        let (mut done, mut failed, mut skipped) = (0, 0, 0);
        for item in &o.items {
            match &item.result {
                ItemResult::Done {
                    resource_ids,
                    detail,
                    unchanged,
                } => {
                    done += 1;
                    let mark = if *unchanged { "=" } else { "✓" };
                    let ids = if resource_ids.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", resource_ids.join(", "))
                    };
                    writeln!(out, "  {mark} {}. {}{ids}", item.step + 1, detail)?;
                }
                ItemResult::Failed { error, code, .. } => {
                    failed += 1;
                    let code = code.as_deref().map(|c| format!("{c} ")).unwrap_or_default();
                    writeln!(
                        out,
                        "  ✗ {}. {} — {code}{error}",
                        item.step + 1,
                        item.description
                    )?;
                }
                ItemResult::Skipped { reason } => {
                    skipped += 1;
                    writeln!(
                        out,
                        "  - {}. {} — skipped: {reason}",
                        item.step + 1,
                        item.description
                    )?;
                }
            }
        }
        let status = match o.status {
            OutcomeStatus::Succeeded => "done",
            OutcomeStatus::NothingToDo => {
                "nothing to do: every step was done before (read back from the account where it shows)"
            }
            OutcomeStatus::Partial => "partial",
            OutcomeStatus::Failed => "failed",
        };
        writeln!(
            out,
            "Result: {status} — {done} done, {failed} failed, {skipped} skipped"
        )?;
        if failed + skipped > 0 {
            writeln!(
                out,
                "Retry the failures only: run the same command again (journal {}: done steps are skipped)",
                o.plan_key
            )?;
        }
        Ok(())
    }
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

/// The result of a listing read.
#[derive(Debug, Serialize)]
pub(crate) struct ListView {
    operation: &'static str,
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
}

impl Render for ListView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.rows.is_empty() {
            writeln!(out, "(none)")?;
        } else {
            writeln!(out, "{}", output::human_table(&self.columns, &self.rows))?;
        }
        for n in &self.notes {
            writeln!(out, "{n}")?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}", output::markdown_table(&self.columns, &self.rows))?;
        for n in &self.notes {
            writeln!(out, "\n{n}")?;
        }
        Ok(())
    }
}

/// A read's error as the command's: missing credentials keep their exit code; a provider's
/// typed error stays in the chain.
pub(crate) fn read_error(e: ReadError) -> anyhow::Error {
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

/// Runs a listing read (also for the MCP `plan_operation` tool): [`apiops_ops::read`], shown
/// as a table.
pub(crate) async fn read_view(services: &Services, op: &Operation) -> Result<ListView, ReadError> {
    apiops_ops::read::read(services, op)
        .await
        .map(|answer| list_view(op, answer))
}

/// A read's answer as a table.
fn list_view(op: &Operation, answer: ReadAnswer) -> ListView {
    let operation = op.kind().name();
    match answer {
        ReadAnswer::Numbers {
            numbers,
            monthly_price,
        } => ListView {
            operation,
            columns: vec!["number", "locality", "region", "sms", "voice", "price"],
            rows: numbers
                .iter()
                .map(|n| {
                    vec![
                        n.phone_number.clone(),
                        n.locality.clone().unwrap_or_default(),
                        n.region.clone().unwrap_or_default(),
                        yes_no(n.capabilities.as_ref().is_some_and(|c| c.sms)),
                        yes_no(n.capabilities.as_ref().is_some_and(|c| c.voice)),
                        monthly_price.clone().unwrap_or_else(|| "?".into()),
                    ]
                })
                .collect(),
            notes: vec!["Buy one with: apiops twilio numbers buy NUMBER".into()],
            data: None,
        },
        ReadAnswer::Endpoints(endpoints) => ListView {
            operation,
            columns: vec!["id", "status", "url", "events", "api version"],
            rows: endpoints
                .iter()
                .map(|e| {
                    vec![
                        e.id.clone(),
                        e.status.clone(),
                        safe_url(&e.url),
                        e.enabled_events.join(","),
                        e.api_version
                            .clone()
                            .unwrap_or_else(|| "account default".into()),
                    ]
                })
                .collect(),
            notes: Vec::new(),
            data: None,
        },
        ReadAnswer::Models(models) => ListView {
            operation,
            columns: vec!["model", "owned by"],
            rows: models
                .iter()
                .map(|m| vec![m.id.clone(), m.owned_by.clone()])
                .collect(),
            notes: Vec::new(),
            data: None,
        },
        ReadAnswer::RateLimits(h) => {
            let n = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
            let d = |v: Option<Duration>| {
                v.map_or_else(
                    || "-".to_owned(),
                    |v| humantime::format_duration(v).to_string(),
                )
            };
            let share = |v: Option<f64>| {
                v.map_or_else(|| "-".to_owned(), |v| format!("{:.0} %", v * 100.0))
            };
            let rows = vec![
                vec![
                    "requests".into(),
                    n(h.limit_requests),
                    n(h.remaining_requests),
                    share(h.request_share()),
                    d(h.reset_requests),
                ],
                vec![
                    "tokens".into(),
                    n(h.limit_tokens),
                    n(h.remaining_tokens),
                    share(h.token_share()),
                    d(h.reset_tokens),
                ],
            ];
            let data = json!({
                "limit_requests": h.limit_requests,
                "remaining_requests": h.remaining_requests,
                "reset_requests_ms": h.reset_requests.map(|d| d.as_millis() as u64),
                "limit_tokens": h.limit_tokens,
                "remaining_tokens": h.remaining_tokens,
                "reset_tokens_ms": h.reset_tokens.map(|d| d.as_millis() as u64),
            });
            let notes = if h.is_known() {
                Vec::new()
            } else {
                vec!["The answer carried no x-ratelimit headers; `apiops openai test-completion` reads them from a completion.".into()]
            };
            ListView {
                operation,
                columns: vec!["limit", "per window", "remaining", "headroom", "resets in"],
                rows,
                notes,
                data: Some(data),
            }
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

/// A URL for display: without a query (it may carry a token) or credentials.
fn safe_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.query().is_some() {
                u.set_query(Some("…"));
            }
            let _ = u.set_password(None);
            if !u.username().is_empty() {
                let _ = u.set_username("");
            }
            u.to_string()
        }
        Err(_) => mask(raw),
    }
}
