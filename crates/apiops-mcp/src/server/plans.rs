//! Changing things over MCP: `plan_operation` (a plan kept in the registry for its session),
//! `execute_plan` (the gate, the trust class and, when a person must say yes, elicitation on
//! stdio or an out-of-band confirmation over HTTP), and the run itself through the journal.

use super::*;

impl State {
    pub(super) async fn plan_operation(
        &self,
        request: PlanRequest,
        fresh: bool,
        session: &str,
    ) -> Result<CallToolResult, ToolError> {
        let op = Self::operation(&request)?;
        let spec = op.spec();
        if spec.read_only() {
            return self.read(op).await;
        }
        let services = self.services()?;
        let store = self.store()?;
        let prepared = apiops_ops::prepare(
            &op,
            &request.display(),
            services,
            store,
            jiff::Timestamp::now(),
            fresh,
        )
        .await
        .map_err(ops_error)?;
        let gate = apiops_ops::gate(
            spec,
            &self.loaded.settings.policy.policy(),
            Origin::Requested,
        );
        let in_words = matches!(request, PlanRequest::Text(_));
        let plan_id = self.remember(prepared.clone(), gate.clone(), in_words, session);
        let plan = &prepared.plan;
        let nothing_to_do = plan.to_do().next().is_none();
        let o = self.options;
        let trust = apiops_ops::trust_of_plan(plan, self.loaded.settings.policy.batch_cap);
        let mut execution = confirm::how(
            spec,
            &gate,
            &trust,
            o.allow_execute,
            o.read_only,
            o.transport,
        );
        execution["nothing_to_do"] = json!(nothing_to_do);
        let value = json!({
            "plan_id": plan_id,
            "journal_key": plan.key,
            "operation": plan.name,
            "summary": spec.summary,
            "request": plan.request,
            "steps": plan.steps.iter().map(step_json).collect::<Vec<_>>(),
            "risks": plan.risks,
            "cost": plan.cost,
            "gate": gate,
            "execution": execution,
            "resumed": prepared.resumed,
            "replanned": prepared.replanned,
            "trust": trust,
            "batch": plan.batch,
            "planned_at": plan.planned_at,
            "expires_in_seconds": PLAN_TTL.as_secs(),
        });
        let value = with_effects(value, spec);
        let steps: Vec<String> = plan.to_do().map(|s| s.action.describe()).collect();
        let mut flags = vec![spec.risk.as_str().to_owned()];
        if spec.purchase {
            flags.push("purchase".into());
        }
        if spec.deletion {
            flags.push("deletion".into());
        }
        if !spec.reversible {
            flags.push("irreversible".into());
        }
        let mut summary = format!("Plan {plan_id}: {} — ", plan.name);
        if nothing_to_do {
            summary.push_str("nothing to do, already in place");
        } else {
            summary.push_str(&format!("{} step(s): {}", steps.len(), steps.join("; ")));
        }
        summary.push_str(&format!(". Risk: {}.", flags.join(", ")));
        if let Some(c) = &plan.cost {
            match &c.amount {
                Some(a) => summary.push_str(&format!(
                    " Cost: {a} {} per {}.",
                    c.currency.as_deref().unwrap_or(""),
                    c.per
                )),
                None => summary.push_str(&format!(" Cost per {}: {}.", c.per, c.source)),
            }
        }
        match &gate {
            Gate::Proceed { reason } => summary.push_str(&format!(" Gate: proceeds ({reason}).")),
            Gate::Confirm { reason, .. } => {
                summary.push_str(&format!(" Gate: needs a person's confirmation — {reason}."));
            }
        }
        if o.read_only {
            summary.push_str(" This server is read-only: the plan cannot be executed here.");
        } else {
            summary.push_str(&format!(" Next: execute_plan with plan_id {plan_id}."));
        }
        Ok(success(summary, value))
    }

    /// Keeps a plan for `execute_plan`; returns its id.
    fn remember(&self, prepared: Prepared, gate: Gate, in_words: bool, session: &str) -> String {
        self.plans.remember(prepared, gate, in_words, session)
    }

    pub(super) fn plan(&self, plan_id: &str, session: &str) -> Result<PlanEntry, ToolError> {
        // Another session's plan is answered like a plan that does not exist.
        self.plans
            .get(plan_id, session)
            .map_err(|missing| match missing {
                Missing::Expired => ToolError::new(
                    Kind::UnknownPlan,
                    Some(Category::BadParams),
                    format!(
                        "{plan_id} expired (plans are kept for an hour): call plan_operation again"
                    ),
                ),
                Missing::Unknown => ToolError::new(
                    Kind::UnknownPlan,
                    Some(Category::BadParams),
                    format!("no plan {plan_id} in this server session: call plan_operation first"),
                ),
            })
    }

    /// Whether every step of `plan` is in place already: planned so, or done by an earlier run
    /// of the same plan (the journal says). Then executing it changes nothing, and nobody needs
    /// to be asked.
    async fn nothing_left(&self, plan: &apiops_ops::Plan) -> bool {
        let done: Vec<u32> = match self.store.as_deref() {
            Ok(store) => store
                .journal_steps(&plan.key)
                .await
                .map(|steps| {
                    steps
                        .iter()
                        .filter(|s| s.status == apiops_store::StepStatus::Done)
                        .map(|s| s.step)
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        plan.to_do().all(|s| done.contains(&s.index))
    }

    pub(super) async fn execute_plan(
        &self,
        plan_id: &str,
        session: &str,
        input_responses: Option<&rmcp::model::InputResponses>,
        request_state: Option<&str>,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        // An API write (kept or expired) is answered by its own path.
        if !matches!(self.plans.get_api(plan_id, session), Err(Missing::Unknown)) {
            return self
                .execute_api_plan(plan_id, session, input_responses, request_state, context)
                .await;
        }
        let entry = match self.plan(plan_id, session) {
            Ok(e) => e,
            Err(e) => return Ok(e.into_result().into()),
        };
        let nothing_to_do = self.nothing_left(&entry.prepared.plan).await;
        let trust =
            apiops_ops::trust_of_plan(&entry.prepared.plan, self.loaded.settings.policy.batch_cap);
        let decision = confirm::decide(
            &entry.gate,
            &trust,
            nothing_to_do,
            self.options.allow_execute,
            self.options.transport,
        );
        let via = match decision {
            Decision::Run { via } => via,
            Decision::Person { reason } => {
                match self.person(plan_id, session, &entry, &reason).await {
                    Ok(()) => Via::Person,
                    Err(e) => return Ok(e.into_result().into()),
                }
            }
            Decision::Ask { reason, always } => {
                match self
                    .ask(
                        plan_id,
                        session,
                        &Subject::of(&entry),
                        &reason,
                        always,
                        input_responses,
                        request_state,
                        context,
                    )
                    .await
                {
                    Asked::Yes => Via::Elicitation,
                    Asked::InputRequired(r) => return Ok(r.into()),
                    Asked::Refused(e) => return Ok(e.into_result().into()),
                }
            }
        };
        if context.ct.is_cancelled() {
            return Ok(ToolError::new(
                Kind::Cancelled,
                None,
                "cancelled by the client before anything was done",
            )
            .into_result()
            .into());
        }
        // Once started, a run finishes (the journal records each step); a cancellation now
        // only means nobody reads the answer.
        Ok(self
            .run_plan(plan_id, &entry, via)
            .await
            .unwrap_or_else(ToolError::into_result)
            .into())
    }

    /// Asks the person, the way the client's protocol version allows.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn ask(
        &self,
        plan_id: &str,
        session: &str,
        subject: &Subject,
        reason: &str,
        always: bool,
        input_responses: Option<&rmcp::model::InputResponses>,
        request_state: Option<&str>,
        context: &RequestContext<RoleServer>,
    ) -> Asked {
        let refused = |why: String| {
            let mut how =
                vec!["confirm it through MCP elicitation in a client that supports it".to_owned()];
            if !always {
                how.push("start `apiops mcp --allow-execute` (in-account changes only)".into());
            }
            match &subject.terminal {
                Some(command) => how.push(format!("or run it in a terminal: {command}")),
                None => how.push("or run it from a terminal with the apiops CLI".into()),
            }
            Asked::Refused(
                ToolError::new(
                    Kind::ConfirmationRequired,
                    None,
                    format!(
                        "confirmation required: {reason}. {why} Nothing was done. To go ahead: {}.",
                        how.join("; ")
                    ),
                )
                .with_details(json!({
                    "plan_id": plan_id,
                    "operation": subject.operation,
                    "always_needs_a_person": always,
                    "purchase": subject.purchase,
                    "deletion": subject.deletion,
                })),
            )
        };

        // A retried call carrying the answer to the question asked through InputRequiredResult.
        if let Some(handle) = request_state {
            let key = confirm::question_key(plan_id, session);
            if let Err(why) = lock(&self.pending).take(handle, &key, Instant::now()) {
                return refused(format!("The confirmation does not count: {why}."));
            }
            let answer = input_responses
                .and_then(|r| r.get(confirm::INPUT_KEY))
                .map_or(
                    Answer::No("the retried call carried no answer".into()),
                    confirm::answer,
                );
            return match answer {
                Answer::Yes => Asked::Yes,
                Answer::No(why) => refused(format!("Not confirmed: {why}.")),
            };
        }

        let capabilities = context.client_capabilities();
        let form = capabilities
            .as_ref()
            .and_then(|c| c.elicitation.as_ref())
            .is_some_and(|e| e.form.is_some() || e.url.is_none());
        if !form {
            return refused(
                "This client did not declare MCP elicitation (form mode), so apiops cannot ask the person."
                    .into(),
            );
        }
        let message = subject.question.clone();
        let schema = match ElicitationSchema::from_json_schema(confirm::schema()) {
            Ok(s) => s,
            Err(e) => return refused(format!("Building the question failed: {e}.")),
        };
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message,
            requested_schema: schema,
        };
        let modern = context
            .protocol_version()
            .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        if modern {
            let key = confirm::question_key(plan_id, session);
            let handle = lock(&self.pending).ask(&key, Instant::now());
            let mut requests = rmcp::model::InputRequests::new();
            requests.insert(
                confirm::INPUT_KEY.to_owned(),
                InputRequest::Elicitation(ElicitRequest::new(params)),
            );
            return Asked::InputRequired(InputRequiredResult::new(Some(requests), Some(handle)));
        }
        let answer = tokio::select! {
            r = context.peer.create_elicitation_with_timeout(params, Some(ELICITATION_TIMEOUT)) => r,
            () = context.ct.cancelled() => return refused("The call was cancelled while waiting for the answer.".into()),
        };
        match answer {
            Ok(result) => {
                match confirm::answer(&serde_json::to_value(&result).unwrap_or(Value::Null)) {
                    Answer::Yes => Asked::Yes,
                    Answer::No(why) => refused(format!("Not confirmed: {why}.")),
                }
            }
            Err(e) => refused(format!("Asking the person failed: {e}.")),
        }
    }

    /// A plan only a person can confirm, out of the agent's channel: recorded in the store as
    /// a pending confirmation (once); `Ok` once a person confirmed it, else a refusal that says
    /// how a person confirms it.
    async fn person(
        &self,
        plan_id: &str,
        session: &str,
        entry: &PlanEntry,
        reason: &str,
    ) -> Result<(), ToolError> {
        let plan = &entry.prepared.plan;
        let plan_json = serde_json::to_string(plan).map_err(|e| {
            ToolError::new(Kind::Internal, None, format!("serializing the plan: {e}"))
        })?;
        let spec = plan.operation.spec();
        let asked = Asking {
            plan_json,
            summary: confirm::question(plan, spec),
            details: json!({
                "plan_id": plan_id,
                "operation": plan.name,
                "always_needs_a_person": true,
                "purchase": spec.purchase,
                "deletion": spec.deletion,
            }),
            unknown: "call plan_operation first",
            confirmed_runs: "then call execute_plan again for the outcome",
            expires_in: PLAN_TTL.saturating_sub(entry.made.elapsed()),
        };
        self.person_of(plan_id, session, asked, reason, |_| true)
            .await
    }

    /// What [`State::person`] does, for any plan: the pending confirmation recorded once (its
    /// `plan_json` and summary from `asked`), then its state read. A confirmation of this id
    /// that is another session's, or whose plan `same` does not recognize, finds nothing.
    pub(super) async fn person_of(
        &self,
        plan_id: &str,
        session: &str,
        asked: Asking,
        reason: &str,
        same: impl Fn(&str) -> bool,
    ) -> Result<(), ToolError> {
        let store = self.store()?;
        let now = jiff::Timestamp::now();
        let existing = store.confirmation(plan_id).await.map_err(store_error)?;
        let state = match existing {
            Some(c) if c.session == session && same(&c.plan_json) => c.state,
            Some(_) => {
                return Err(ToolError::new(
                    Kind::UnknownPlan,
                    Some(Category::BadParams),
                    format!(
                        "no plan {plan_id} in this server session: {}",
                        asked.unknown
                    ),
                ));
            }
            None => {
                // The confirmation lasts as long as the plan it would let run.
                let expires = jiff::SignedDuration::try_from(asked.expires_in).unwrap_or_default();
                store
                    .confirmation_put(&apiops_store::Confirmation {
                        id: plan_id.to_owned(),
                        session: session.to_owned(),
                        plan_json: asked.plan_json,
                        summary: asked.summary,
                        created_at: now,
                        expires_at: now + expires,
                        state: apiops_store::ConfirmationState::Pending,
                        decided_by: None,
                        decided_at: None,
                    })
                    .await
                    .map_err(store_error)?;
                apiops_store::ConfirmationState::Pending
            }
        };
        let mut details = asked.details;
        details["always_needs_a_person"] = json!(true);
        details["confirm_in_terminal"] = json!(format!("apiops confirm {plan_id}"));
        details["confirm_on_dashboard"] = json!("/confirmations");
        match state {
            apiops_store::ConfirmationState::Confirmed => Ok(()),
            apiops_store::ConfirmationState::Refused => Err(ToolError::new(
                Kind::ConfirmationRequired,
                None,
                format!("a person refused plan {plan_id}: nothing was done, and it will not run"),
            )
            .with_details(details)),
            apiops_store::ConfirmationState::Pending => Err(ToolError::new(
                Kind::ConfirmationRequired,
                None,
                format!(
                    "confirmation required: {reason}. Only a person can confirm this, outside this agent's channel: over MCP HTTP neither confirm: true nor an elicitation answer counts. Nothing was done. A person confirms it with `apiops confirm {plan_id}` in a terminal (same database), or on the dashboard's Pending confirmations page (/confirmations) when agents have a token of their own (--mcp-token); {}.",
                    asked.confirmed_runs
                ),
            )
            .with_details(details)),
        }
    }

    async fn run_plan(
        &self,
        plan_id: &str,
        entry: &PlanEntry,
        via: Via,
    ) -> Result<CallToolResult, ToolError> {
        let services = self.services()?;
        let store = self.store()?;
        let clock = jiff::Timestamp::now;
        let executor = Executor {
            services,
            store,
            now: &clock,
            action: ActionTaken::Executed,
        };
        let plan = &entry.prepared.plan;
        tracing::info!(
            plan = plan_id,
            operation = plan.name,
            ?via,
            "executing a plan over MCP"
        );
        let outcome = executor.execute(plan).await.map_err(ops_error)?;
        let lines = outcome_lines(&outcome);
        let status = match outcome.status {
            OutcomeStatus::Succeeded => "succeeded",
            OutcomeStatus::NothingToDo => "nothing to do: already in place",
            OutcomeStatus::Partial => "partial",
            OutcomeStatus::Failed => "failed",
        };
        let value = json!({
            "plan_id": plan_id,
            "operation": plan.name,
            "confirmed_via": via,
            "status": outcome.status,
            "outcome": outcome,
        });
        let summary = format!("{} {status}: {}", plan.name, lines.join("; "));
        match outcome.status {
            OutcomeStatus::Succeeded | OutcomeStatus::NothingToDo => Ok(success(summary, value)),
            OutcomeStatus::Partial | OutcomeStatus::Failed => {
                let first = outcome.items.iter().find_map(|i| match &i.result {
                    ItemResult::Failed { category, .. } => Some(*category),
                    _ => None,
                });
                Err(ToolError::new(
                    Kind::ExecutionFailed,
                    first.flatten(),
                    format!("{summary}. Executing the same plan_id again retries only what did not finish."),
                )
                .with_details(value))
            }
        }
    }
}

/// What a question to the person is about.
pub(super) struct Subject {
    /// The operation's name.
    pub(super) operation: String,
    /// The question shown.
    pub(super) question: String,
    /// The command a person runs in a terminal instead, when there is one.
    pub(super) terminal: Option<String>,
    /// A purchase.
    pub(super) purchase: bool,
    /// A deletion.
    pub(super) deletion: bool,
}

impl Subject {
    fn of(entry: &PlanEntry) -> Subject {
        let plan = &entry.prepared.plan;
        let spec = plan.operation.spec();
        Subject {
            operation: plan.name.clone(),
            question: confirm::question(plan, spec),
            terminal: entry
                .in_words
                .then(|| format!("apiops do {:?}", plan.request)),
            purchase: spec.purchase,
            deletion: spec.deletion,
        }
    }
}

/// A plan to record as a pending confirmation ([`State::person_of`]).
pub(super) struct Asking {
    /// What the store keeps (`Confirmation::plan_json`).
    pub(super) plan_json: String,
    /// The one line the listings show.
    pub(super) summary: String,
    /// The refusal's details (the confirmation commands are added).
    pub(super) details: Value,
    /// What to do when the id finds nothing.
    pub(super) unknown: &'static str,
    /// What happens once a person confirmed it.
    pub(super) confirmed_runs: &'static str,
    /// How long the plan stays executable: the confirmation expires with it.
    pub(super) expires_in: Duration,
}

/// What asking the person came to.
pub(super) enum Asked {
    Yes,
    /// The question travels in the result (protocol 2026-07-28 and later).
    InputRequired(InputRequiredResult),
    Refused(ToolError),
}
