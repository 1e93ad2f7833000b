//! `apiops confirm [PLAN_ID]`: a person's yes (or no) to a plan an agent asked for over MCP
//! HTTP, out of the agent's channel (DESIGN.md §11). The plan waits in the store that
//! `apiops serve` uses; this command shows it, asks, and runs it once confirmed — under the
//! plan's lease and journal, so the agent's later `execute_plan` finds it done and repeats
//! nothing. A configured API's write (`call_api`) is shown the same way (method, path,
//! parameters and body masked, who asked) and decided here, but sent by the agent's next
//! `execute_plan`, which holds the API's client: once, under the journal.

use std::io::{self, IsTerminal as _, Write};

use anyhow::Context as _;
use apiops_ops::journal::Prepared;
use apiops_ops::pending::{ApiWrite, Pending};
use apiops_ops::{Origin, Plan};
use apiops_store::{Confirmation, ConfirmationState, Store};
use clap::Args;
use serde::Serialize;

use crate::commands::checks;
use crate::commands::ops::{OpView, confirm_prompt, outcome_exit};
use crate::config::{LoadedConfig, Settings};
use crate::exit::{AppError, Exit};
use crate::output::{self, Format, Render};

/// How many pending confirmations the listing shows.
const LIST_LIMIT: u32 = 100;

/// `apiops confirm` flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfirmArgs {
    /// The plan an agent's execute_plan named (plan_...); without it, the pending ones are listed
    #[arg(value_name = "PLAN_ID")]
    pub(crate) plan_id: Option<String>,
    /// Confirm without a prompt: you typed it, so it is your yes
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Refuse the plan: it will not run, and the agent is told so
    #[arg(long, conflicts_with = "yes")]
    pub(crate) refuse: bool,
}

/// Runs `apiops confirm`.
pub(crate) fn run(
    loaded: &LoadedConfig,
    args: &ConfirmArgs,
    format: Format,
) -> anyhow::Result<Exit> {
    let settings = &loaded.settings;
    let rt = checks::runtime()?;
    let store = rt
        .block_on(checks::open_store(settings))
        .map_err(|e| anyhow::anyhow!("the store with pending confirmations is required: {e}"))?;
    let Some(id) = &args.plan_id else {
        let pending =
            rt.block_on(store.confirmations_pending(jiff::Timestamp::now(), LIST_LIMIT))?;
        output::emit(
            format,
            &PendingView {
                pending: pending.iter().map(Listed::from).collect(),
            },
        )
        .context("writing")?;
        return Ok(Exit::Ok);
    };
    let found = rt.block_on(store.confirmation(id))?.ok_or_else(|| {
        AppError::Usage(format!(
            "no plan {id} waits for confirmation in this database (is APIOPS_DATABASE_URL the one apiops serve uses?)"
        ))
    })?;
    let plan = match Pending::parse(&found.plan_json)
        .map_err(|e| anyhow::anyhow!("plan {id} cannot be read by this version of apiops: {e}"))?
    {
        Pending::Operation(plan) => *plan,
        Pending::ApiWrite(write) => {
            return confirm_write(&rt, store.as_ref(), &found, args, *write, format);
        }
    };
    let mut view = view_of(settings, plan.clone());
    let now = jiff::Timestamp::now();
    match found.state {
        ConfirmationState::Refused => {
            anstream::eprintln!(
                "{id} was refused by {} at {}: it will not run.",
                found.decided_by.as_deref().unwrap_or("a person"),
                found.decided_at.map(|t| t.to_string()).unwrap_or_default()
            );
            return Ok(Exit::ConfirmationRequired);
        }
        ConfirmationState::Confirmed => {
            // Already confirmed: running it again resumes a run cut short and repeats nothing.
            anstream::eprintln!(
                "{id} was confirmed by {} at {}; resuming it (done steps are not repeated).",
                found.decided_by.as_deref().unwrap_or("a person"),
                found.decided_at.map(|t| t.to_string()).unwrap_or_default()
            );
        }
        ConfirmationState::Pending if found.expires_at <= now => {
            return Err(AppError::Usage(format!(
                "{id} expired at {}: ask the agent to plan it again",
                found.expires_at
            ))
            .into());
        }
        ConfirmationState::Pending => {
            let action = format!("{id} ({})", view.plan.plan.name);
            if !decide_here(&rt, store.as_ref(), &found, args, &view, &action, format)? {
                return Ok(Exit::ConfirmationRequired);
            }
        }
    }
    view.confirmed = true;
    let outcome = rt
        .block_on(execute_confirmed(settings, store.as_ref(), &plan))
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let exit = outcome_exit(outcome.status);
    view.outcome = Some(outcome);
    output::emit(format, &view).context("writing the outcome")?;
    Ok(exit)
}

/// An API write waiting for a person: shown, decided here, and left for the agent's
/// `execute_plan` to send (once, under the journal).
fn confirm_write(
    rt: &tokio::runtime::Runtime,
    store: &dyn Store,
    found: &Confirmation,
    args: &ConfirmArgs,
    write: ApiWrite,
    format: Format,
) -> anyhow::Result<Exit> {
    let id = &found.id;
    let decided = |state: &str| {
        format!(
            "{id} was {state} by {} at {}",
            found.decided_by.as_deref().unwrap_or("a person"),
            found.decided_at.map(|t| t.to_string()).unwrap_or_default()
        )
    };
    let mut view = WriteConfirmView {
        id: id.clone(),
        state: found.state.as_str(),
        summary: write.summary(),
        api: write.api_write.api.clone(),
        operation: write.api_write.operation.clone(),
        method: write.api_write.request.method.clone(),
        path: write.api_write.request.path.clone(),
        params: write.params_shown.clone(),
        body: write.body_shown.clone(),
        asked_by: write.asked_by.clone(),
        write,
    };
    match found.state {
        ConfirmationState::Refused => {
            anstream::eprintln!("{}: it will not be sent.", decided("refused"));
            return Ok(Exit::ConfirmationRequired);
        }
        ConfirmationState::Confirmed => {
            anstream::eprintln!(
                "{}: the agent's execute_plan sends it (once).",
                decided("confirmed")
            );
            output::emit(format, &view).context("writing")?;
            return Ok(Exit::Ok);
        }
        ConfirmationState::Pending if found.expires_at <= jiff::Timestamp::now() => {
            return Err(AppError::Usage(format!(
                "{id} expired at {}: ask the agent to plan it again",
                found.expires_at
            ))
            .into());
        }
        ConfirmationState::Pending => {}
    }
    let w = &view.write.api_write;
    let action = format!(
        "{id} ({} {} on {})",
        w.request.method, w.request.path, w.api
    );
    if !decide_here(rt, store, found, args, &view, &action, format)? {
        return Ok(Exit::ConfirmationRequired);
    }
    view.state = ConfirmationState::Confirmed.as_str();
    output::emit(format, &view).context("writing")?;
    Ok(Exit::Ok)
}

/// Shows the plan, takes the person's answer, records it; `true` when confirmed here.
fn decide_here(
    rt: &tokio::runtime::Runtime,
    store: &dyn Store,
    found: &Confirmation,
    args: &ConfirmArgs,
    view: &impl Render,
    action: &str,
    format: Format,
) -> anyhow::Result<bool> {
    let id = &found.id;
    let yes = if args.refuse {
        false
    } else if args.yes {
        true
    } else if io::stdin().is_terminal() && io::stderr().is_terminal() {
        output::emit(Format::Human, view).context("writing the plan")?;
        confirm_prompt(&format!("Confirm {id} and run it now? [y/N] "))?
    } else {
        output::emit(format, view).context("writing the plan")?;
        return Err(AppError::ConfirmationRequired {
            action: action.to_owned(),
        }
        .into());
    };
    let state = if yes {
        ConfirmationState::Confirmed
    } else {
        ConfirmationState::Refused
    };
    let now = jiff::Timestamp::now();
    if !rt.block_on(store.confirmation_decide(id, state, "terminal", now))? {
        let current = rt.block_on(store.confirmation(id))?;
        let what = current.map_or("gone".into(), |c| c.state.as_str().to_owned());
        return Err(AppError::Usage(format!(
            "{id} was decided elsewhere meanwhile (it is {what} now); nothing was done here"
        ))
        .into());
    }
    if !yes {
        let _ = writeln!(io::stderr(), "Refused: {id} will not run.");
    }
    Ok(yes)
}

/// The plan's view before it runs.
pub(crate) fn view_of(settings: &Settings, plan: Plan) -> OpView {
    let gate = apiops_ops::gate(
        plan.operation.spec(),
        &settings.policy.policy(),
        Origin::Requested,
    );
    OpView {
        trust: apiops_ops::trust_of_plan(&plan, settings.policy.batch_cap),
        plan: Prepared {
            plan,
            resumed: None,
            replanned: None,
        },
        gate,
        confirmed: false,
        outcome: None,
    }
}

/// Runs a plan a person confirmed, here or on the dashboard (one function for both).
pub(crate) use apiops_dashboard::execute_confirmed;

/// One pending confirmation in the listing.
#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    summary: String,
    created_at: jiff::Timestamp,
    expires_at: jiff::Timestamp,
}

impl From<&Confirmation> for Listed {
    fn from(c: &Confirmation) -> Self {
        Listed {
            id: c.id.clone(),
            summary: c.summary.clone(),
            created_at: c.created_at,
            expires_at: c.expires_at,
        }
    }
}

/// `apiops confirm` without a plan id.
#[derive(Debug, Serialize)]
struct PendingView {
    pending: Vec<Listed>,
}

impl Render for PendingView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.pending.is_empty() {
            return writeln!(out, "No plan waits for confirmation.");
        }
        writeln!(out, "Plans waiting for a person's confirmation:")?;
        for p in &self.pending {
            writeln!(
                out,
                "  {}  (asked {}, expires {})",
                p.id, p.created_at, p.expires_at
            )?;
            writeln!(out, "    {}", p.summary)?;
        }
        writeln!(
            out,
            "Confirm one: apiops confirm PLAN_ID   (refuse: --refuse)"
        )
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        self.human(out)
    }
}

/// An API write as `apiops confirm` shows it: masked, as recorded (the raw body is never
/// written out).
#[derive(Debug, Serialize)]
struct WriteConfirmView {
    id: String,
    /// `pending`, `confirmed` (here or before) or `refused`.
    state: &'static str,
    summary: String,
    api: String,
    operation: String,
    method: String,
    path: String,
    params: Vec<String>,
    body: Option<String>,
    asked_by: String,
    #[serde(skip)]
    write: ApiWrite,
}

impl Render for WriteConfirmView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let w = &self.write;
        let p = &w.api_write;
        writeln!(
            out,
            "{}: {} {} on {} ({})",
            self.id, p.request.method, p.request.path, p.api, p.operation
        )?;
        if !p.summary.is_empty() {
            writeln!(out, "  {}", p.summary)?;
        }
        for param in &w.params_shown {
            writeln!(out, "  parameter: {param}")?;
        }
        if let Some(b) = &w.body_shown {
            writeln!(out, "  body (summarized, secrets masked): {b}")?;
        }
        if let Some((h, k)) = &p.idempotency {
            writeln!(out, "  {h}: {k}")?;
        }
        writeln!(
            out,
            "  needs a person: {}",
            apiops_ops::apis::trust_of_write(p).why
        )?;
        writeln!(out, "  asked by MCP session {}", w.asked_by)?;
        if self.state == ConfirmationState::Confirmed.as_str() {
            writeln!(
                out,
                "Confirmed: the agent's execute_plan sends it now, once (a retry carries the same idempotency key)."
            )?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        self.human(out)
    }
}
