//! What the operations commands show: a plan with its gate and outcome, `do --explain`, a
//! request that did not map to one operation, and a read's answer as a table.

use super::*;

/// `apiops do --explain`: the operation a request maps to and who may say yes to it.
#[derive(Debug, Serialize)]
pub(super) struct ExplainView {
    pub(super) request: String,
    pub(super) intent: Intent,
    pub(super) batch_cap: usize,
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
pub(super) struct IntentView {
    #[serde(flatten)]
    pub(super) intent: Intent,
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

/// The result of a listing read.
#[derive(Debug, Serialize)]
pub(crate) struct ListView {
    pub(super) operation: &'static str,
    pub(super) columns: Vec<&'static str>,
    pub(super) rows: Vec<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) data: Option<Value>,
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

/// A read's answer as a table.
pub(crate) fn list_view(op: &Operation, answer: ReadAnswer) -> ListView {
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

pub(super) fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

/// A URL for display: without a query (it may carry a token) or credentials.
pub(super) fn safe_url(raw: &str) -> String {
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
