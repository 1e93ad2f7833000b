//! The Pending confirmations page: the dashboard's way for a person to say yes (or no) to a
//! plan an agent asked for over MCP HTTP, beside `apiops confirm PLAN_ID` (DESIGN.md §11).
//!
//! - `GET /confirmations` lists the plans waiting, each in full (steps, side effects, risks,
//!   cost, why it needs a person) with a form to confirm or refuse it.
//! - `POST /confirmations/{id}` decides one. Past the dashboard's access rule, a browser's
//!   `Origin` must be this server's own, and the form must carry the plan's CSRF token: an
//!   HMAC-SHA256 of `confirm:<id>` under a secret drawn when the process starts ([`CsrfKey`]),
//!   so a page elsewhere cannot make the person's browser decide, and a token for one plan
//!   decides no other. The store's atomic decision makes any second one (another tab, the
//!   terminal, an expired plan) a 409. A confirmed plan runs at once through
//!   [`execute_confirmed`], under the plan's lease and journal: the agent's later
//!   `execute_plan` finds it done and repeats nothing. A configured API's write (`call_api`)
//!   is listed the same way (the API, method, path, parameters and body masked, who asked;
//!   `views.rs`) but a yes only records it: the agent's next `execute_plan` sends it, once.
//!
//! Not here: making plans (the MCP server), or running them any other way than the terminal's
//! `apiops confirm` does.

use std::sync::Arc;

use apiops_ops::Plan;
use apiops_ops::exec::{ItemResult, Outcome, OutcomeStatus};
use apiops_ops::pending::Pending;
use apiops_store::{Confirmation, ConfirmationState, StoreError};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::access::{host_and_port, unbracket};
use super::view::{Layout, ago, clean, duration, layout};
use super::{CSP_FORMS, DashboardState, WINDOWS, page_with};

mod views;

pub(crate) use views::{PlanView, WriteView};

/// Runs a plan a person confirmed (here or in a terminal): the executor's lease, journal and
/// state-first checks make a second call (the agent's `execute_plan`, a retry) repeat nothing.
pub async fn execute_confirmed(
    settings: &apiops_config::Settings,
    store: &dyn apiops_store::Store,
    plan: &Plan,
) -> Result<Outcome, apiops_ops::OpsError> {
    let services = apiops_config::providers::services(settings).allowing_private_targets(false);
    let clock = jiff::Timestamp::now;
    let executor = apiops_ops::Executor {
        services: &services,
        store,
        now: &clock,
        action: apiops_core::ActionTaken::Executed,
    };
    executor.execute(plan).await
}

/// Largest decision form accepted, in bytes (it holds a token and a word).
pub(super) const FORM_LIMIT: usize = 4 * 1024;

/// How many pending confirmations the page shows.
const LIST_LIMIT: u32 = 100;

/// Longest free text shown from a plan (an SMS body, a URL list), in characters.
const MAX_TEXT: usize = 2_000;

/// Who decided, as the store records it.
const DECIDED_BY: &str = "dashboard";

/// The key of the confirmation forms' CSRF tokens: random, this process's own, never shown.
/// A restart draws a new one, so a form left open across it has to be reloaded.
pub struct CsrfKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

impl CsrfKey {
    /// A key from the operating system's CSPRNG (256 bits).
    pub fn generate() -> Self {
        CsrfKey {
            key: apiops_ops::ids::random_hex(32).into_bytes(),
        }
    }

    fn mac(&self, id: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length: `new_from_slice` cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"confirm:");
        mac.update(id.as_bytes());
        mac
    }

    /// The token of the form deciding `id` (lower-case hex).
    pub fn token(&self, id: &str) -> String {
        self.mac(id)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `presented` is the token of `id`, compared in constant time.
    pub fn verify(&self, id: &str, presented: &str) -> bool {
        self.token(id)
            .as_bytes()
            .ct_eq(presented.trim().as_bytes())
            .into()
    }
}

/// Whether a browser's `Origin` names the server the request was sent to (`Host`). The
/// scheme is not known behind TLS termination, so a `Host` without a port stands for the
/// origin's default one.
fn same_origin(origin: &str, host: &str) -> bool {
    let Ok(o) = url::Url::parse(origin) else {
        return false;
    };
    let (Some(o_host), Some(o_port)) = (o.host_str(), o.port_or_known_default()) else {
        return false;
    };
    if !matches!(o.scheme(), "http" | "https") {
        return false;
    }
    let Some((h_host, h_port)) = host_and_port(host) else {
        return false;
    };
    let h_port = h_port.unwrap_or(if o.scheme() == "https" { 443 } else { 80 });
    unbracket(o_host) == h_host && o_port == h_port
}

/// `/confirmations`.
#[derive(Debug, Template)]
#[template(path = "dashboard/confirmations.html")]
pub(crate) struct PendingPage {
    pub layout: Layout,
    pub items: Vec<PendingRow>,
    /// Whether the forms decide here (see [`DashboardState::people_only`]).
    pub decide_here: bool,
}

/// One plan waiting.
#[derive(Debug)]
pub(crate) struct PendingRow {
    pub id: String,
    pub asked: String,
    pub asked_ago: String,
    pub expires: String,
    pub expires_in: String,
    pub summary: String,
    pub session: String,
    pub csrf: String,
    /// A catalog plan, when it is one.
    pub plan: Option<PlanView>,
    /// A configured API's write, when it is one. Neither when this version cannot read what
    /// was recorded ([`PendingRow::unreadable`] says why): then it can only be refused.
    pub write: Option<WriteView>,
    pub unreadable: String,
}

/// The answer to a decision.
#[derive(Debug, Template)]
#[template(path = "dashboard/decision.html")]
pub(crate) struct DecisionPage {
    pub layout: Layout,
    pub heading: String,
    pub class: &'static str,
    pub id: String,
    pub lines: Vec<String>,
    pub items: Vec<OutcomeRow>,
}

/// One step of a confirmed plan's run.
#[derive(Debug)]
pub(crate) struct OutcomeRow {
    pub mark: &'static str,
    pub class: &'static str,
    pub n: u32,
    pub text: String,
    pub resources: String,
}

/// The decision form.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct DecisionForm {
    csrf: Option<String>,
    decision: Option<String>,
}

type St = State<Arc<DashboardState>>;

/// Why the page does not decide when agents hold the dashboard's credential.
const NOT_HERE: &str = "This server gives agents on /mcp the same credential as people (the dashboard's token), so a decision here could be an agent's: nothing was decided. Confirm in a terminal with `apiops confirm PLAN_ID`, or restart apiops serve with --mcp-token (a token of the agents' own) to decide here.";

/// `GET /confirmations`.
pub(super) async fn list(State(state): St) -> Response {
    page_with(
        StatusCode::OK,
        pending_page(&state, Timestamp::now()).await,
        CSP_FORMS,
    )
}

async fn pending_page(state: &DashboardState, now: Timestamp) -> Result<PendingPage, StoreError> {
    let pending = state.store.confirmations_pending(now, LIST_LIMIT).await?;
    let firing = state.store.alerts(true, 1_000).await?.len();
    Ok(PendingPage {
        decide_here: state.people_only,
        layout: frame(state, "Pending confirmations", now, firing),
        items: pending.iter().map(|c| pending_row(state, c, now)).collect(),
    })
}

/// The page frame of the confirmations: no window choice, no reload under a reading person.
fn frame(state: &DashboardState, title: &'static str, now: Timestamp, firing: usize) -> Layout {
    let mut l = layout(state, title, "/confirmations", WINDOWS[2].0, now, firing);
    l.windows.clear();
    l.refresh = 0;
    l
}

fn pending_row(state: &DashboardState, c: &Confirmation, now: Timestamp) -> PendingRow {
    let (plan, write, unreadable) = match Pending::parse(&c.plan_json) {
        Ok(Pending::Operation(p)) => (Some(views::plan_view(state, &p)), None, String::new()),
        Ok(Pending::ApiWrite(w)) => (None, Some(views::write_view(state, &w)), String::new()),
        Err(e) => (
            None,
            None,
            clean(
                state,
                &format!("this version of apiops cannot read the plan ({e})"),
                300,
            ),
        ),
    };
    let left = c.expires_at.as_second() - now.as_second();
    PendingRow {
        id: c.id.clone(),
        asked: utc(c.created_at),
        asked_ago: ago(now, c.created_at),
        expires: utc(c.expires_at),
        expires_in: format!("in {}", duration(left)),
        summary: clean(state, &c.summary, MAX_TEXT),
        session: clean(state, &c.session, 100),
        csrf: state.csrf.token(&c.id),
        plan,
        write,
        unreadable,
    }
}

fn utc(t: Timestamp) -> String {
    format!("{} UTC", t.strftime("%Y-%m-%d %H:%M:%S"))
}

/// What the person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Confirm,
    Refuse,
}

/// Why a decision was not taken, before anything was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The `Origin` is another site's.
    CrossOrigin,
    /// No CSRF token, or not this plan's.
    BadToken,
    /// `decision` is neither `confirm` nor `refuse`.
    BadDecision,
}

/// Checks a decision request; pure.
fn check(
    key: &CsrfKey,
    id: &str,
    headers: &HeaderMap,
    form: &DecisionForm,
) -> Result<Decision, Refusal> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let same = origin
            .to_str()
            .ok()
            .zip(host)
            .is_some_and(|(o, h)| same_origin(o, h));
        if !same {
            return Err(Refusal::CrossOrigin);
        }
    }
    match form.csrf.as_deref() {
        Some(t) if key.verify(id, t) => {}
        _ => return Err(Refusal::BadToken),
    }
    match form.decision.as_deref() {
        Some("confirm") => Ok(Decision::Confirm),
        Some("refuse") => Ok(Decision::Refuse),
        _ => Err(Refusal::BadDecision),
    }
}

/// `POST /confirmations/{id}`.
pub(super) async fn decide(
    State(state): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Response {
    let now = Timestamp::now();
    if !state.people_only {
        return answer(
            &state,
            StatusCode::FORBIDDEN,
            "Not decided",
            "bad",
            &id,
            vec![NOT_HERE.into()],
            vec![],
        )
        .await;
    }
    let decision = match check(&state.csrf, &id, &headers, &form) {
        Ok(d) => d,
        Err(refusal) => {
            let (status, line) = match refusal {
                Refusal::CrossOrigin => (
                    StatusCode::FORBIDDEN,
                    "The request came from another site (its Origin is not this server's): nothing was decided.",
                ),
                Refusal::BadToken => (
                    StatusCode::FORBIDDEN,
                    "The form's security token is missing or is not this plan's (it may predate a restart of apiops serve): nothing was decided. Reload the Pending confirmations page and decide there.",
                ),
                Refusal::BadDecision => (
                    StatusCode::BAD_REQUEST,
                    "The form must say decision=confirm or decision=refuse: nothing was decided.",
                ),
            };
            return answer(
                &state,
                status,
                "Not decided",
                "bad",
                &id,
                vec![line.into()],
                vec![],
            )
            .await;
        }
    };
    let found = match state.store.confirmation(&id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return answer(
                &state,
                StatusCode::NOT_FOUND,
                "No such plan",
                "bad",
                &id,
                vec!["No plan with this id waits for confirmation in this server's store.".into()],
                vec![],
            )
            .await;
        }
        Err(e) => return store_failed(&state, &id, &e).await,
    };
    // Only a plan this version can read is confirmed: it is what runs. Any can be refused.
    let plan = match (decision, Pending::parse(&found.plan_json)) {
        (Decision::Confirm, Err(e)) => {
            return answer(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not confirmed",
                "bad",
                &id,
                vec![clean(
                    &state,
                    &format!(
                        "This version of apiops cannot read the plan ({e}), so it cannot run it: nothing was decided. Refuse it, and ask the agent to plan again."
                    ),
                    500,
                )],
                vec![],
            )
            .await;
        }
        (_, plan) => plan.ok(),
    };
    let to = match decision {
        Decision::Confirm => ConfirmationState::Confirmed,
        Decision::Refuse => ConfirmationState::Refused,
    };
    match state
        .store
        .confirmation_decide(&id, to, DECIDED_BY, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return already_decided(&state, &found, now).await,
        Err(e) => return store_failed(&state, &id, &e).await,
    }
    let plan = match plan.filter(|_| decision == Decision::Confirm) {
        Some(Pending::Operation(plan)) => Some(plan),
        Some(Pending::ApiWrite(w)) => {
            tracing::info!(plan = %id, api = %w.api_write.api, "dashboard: a person confirmed an API write");
            return answer(
                &state,
                StatusCode::OK,
                "Confirmed",
                "ok",
                &id,
                vec![clean(
                    &state,
                    &format!(
                        "Confirmed: {} {} on {} ({}). The agent's execute_plan sends it now, once: a retry carries the same idempotency key, and the journal never sends it twice.",
                        w.api_write.request.method,
                        w.api_write.request.path,
                        w.api_write.api,
                        w.api_write.operation
                    ),
                    MAX_TEXT,
                )],
                vec![],
            )
            .await;
        }
        None => None,
    };
    let Some(plan) = plan else {
        tracing::info!(plan = %id, "dashboard: a person refused the plan");
        return answer(
            &state,
            StatusCode::OK,
            "Refused",
            "warn",
            &id,
            vec![
                "Refused: this plan will not run. The agent is told so when it asks again.".into(),
            ],
            vec![],
        )
        .await;
    };
    tracing::info!(plan = %id, "dashboard: a person confirmed the plan; running it");
    // Run apart from the request: a closed tab must not cut a purchase short.
    let run = {
        let state = Arc::clone(&state);
        let plan = plan.clone();
        tokio::spawn(async move {
            execute_confirmed(&state.config.settings, state.store.as_ref(), &plan).await
        })
    };
    let result = match run.await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the run stopped: {e}")),
    };
    match result {
        Ok(outcome) => {
            let (heading, class, lines) = outcome_summary(&id, &outcome);
            let items = outcome_rows(&state, &outcome);
            answer(&state, StatusCode::OK, heading, class, &id, lines, items).await
        }
        Err(e) => {
            tracing::error!(plan = %id, error = %e, "dashboard: running a confirmed plan failed");
            answer(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Confirmed, but it could not run",
                "bad",
                &id,
                vec![
                    clean(&state, &format!("Running it failed: {e}"), 1_000),
                    format!(
                        "It stays confirmed: `apiops confirm {id}` (or the agent's execute_plan) resumes it, and steps already done are not repeated."
                    ),
                ],
                vec![],
            )
            .await
        }
    }
}

/// The 409 of a plan decided meanwhile or expired, saying which.
async fn already_decided(state: &DashboardState, found: &Confirmation, now: Timestamp) -> Response {
    let current = state.store.confirmation(&found.id).await.ok().flatten();
    let line = match current {
        Some(c) if c.state != ConfirmationState::Pending => format!(
            "Already decided: it was {} by {}{}. Nothing was done now.",
            c.state.as_str(),
            c.decided_by.as_deref().unwrap_or("someone"),
            c.decided_at
                .map(|t| format!(" at {}", utc(t)))
                .unwrap_or_default()
        ),
        Some(c) if c.expires_at <= now => format!(
            "Expired at {}: nobody can confirm it now. Ask the agent to plan it again.",
            utc(c.expires_at)
        ),
        _ => "Already decided or expired: nothing was done now.".to_owned(),
    };
    answer(
        state,
        StatusCode::CONFLICT,
        "Already decided or expired",
        "warn",
        &found.id,
        vec![line],
        vec![],
    )
    .await
}

async fn store_failed(state: &DashboardState, id: &str, e: &StoreError) -> Response {
    tracing::error!(plan = %id, error = %e, "dashboard: reading the confirmations failed");
    answer(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "The store could not be read",
        "bad",
        id,
        vec!["Nothing was decided here; see the logs.".into()],
        vec![],
    )
    .await
}

/// Renders a [`DecisionPage`].
async fn answer(
    state: &DashboardState,
    status: StatusCode,
    heading: impl Into<String>,
    class: &'static str,
    id: &str,
    lines: Vec<String>,
    items: Vec<OutcomeRow>,
) -> Response {
    let now = Timestamp::now();
    // The header's firing count is a courtesy: a store that fails it does not hide the answer.
    let firing = state.store.alerts(true, 1_000).await.map_or(0, |a| a.len());
    let page = DecisionPage {
        layout: frame(state, "Pending confirmations", now, firing),
        heading: heading.into(),
        class,
        id: clean(state, id, 100),
        lines,
        items,
    };
    page_with(status, Ok::<_, StoreError>(page), CSP_FORMS)
}

/// The heading, its class and the result line of a run.
fn outcome_summary(id: &str, o: &Outcome) -> (&'static str, &'static str, Vec<String>) {
    let done = o
        .items
        .iter()
        .filter(|i| matches!(i.result, ItemResult::Done { .. }))
        .count();
    let failed = o
        .items
        .iter()
        .filter(|i| matches!(i.result, ItemResult::Failed { .. }))
        .count();
    let skipped = o.items.len() - done - failed;
    let (heading, class) = match o.status {
        OutcomeStatus::Succeeded => ("Confirmed and done", "ok"),
        OutcomeStatus::NothingToDo => ("Confirmed: nothing left to do", "ok"),
        OutcomeStatus::Partial => ("Confirmed: partly done", "warn"),
        OutcomeStatus::Failed => ("Confirmed, but it failed", "bad"),
    };
    let mut lines = vec![format!(
        "{}: {done} done, {failed} failed, {skipped} skipped.",
        o.operation
    )];
    if failed + skipped > 0 {
        lines.push(format!(
            "Retry the failures only: `apiops confirm {id}` runs it again, and done steps are skipped."
        ));
    }
    (heading, class, lines)
}

fn outcome_rows(state: &DashboardState, o: &Outcome) -> Vec<OutcomeRow> {
    o.items
        .iter()
        .map(|item| {
            let n = item.step + 1;
            match &item.result {
                ItemResult::Done {
                    resource_ids,
                    detail,
                    unchanged,
                } => OutcomeRow {
                    mark: if *unchanged { "=" } else { "✓" },
                    class: "ok",
                    n,
                    text: clean(state, detail, MAX_TEXT),
                    resources: clean(state, &resource_ids.join(", "), MAX_TEXT),
                },
                ItemResult::Failed { error, code, .. } => OutcomeRow {
                    mark: "✗",
                    class: "bad",
                    n,
                    text: clean(
                        state,
                        &format!(
                            "{} — {}{error}",
                            item.description,
                            code.as_deref().map(|c| format!("{c} ")).unwrap_or_default()
                        ),
                        MAX_TEXT,
                    ),
                    resources: String::new(),
                },
                ItemResult::Skipped { reason } => OutcomeRow {
                    mark: "-",
                    class: "warn",
                    n,
                    text: clean(
                        state,
                        &format!("{} — skipped: {reason}", item.description),
                        MAX_TEXT,
                    ),
                    resources: String::new(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn form(csrf: Option<&str>, decision: Option<&str>) -> DecisionForm {
        DecisionForm {
            csrf: csrf.map(str::to_owned),
            decision: decision.map(str::to_owned),
        }
    }

    #[test]
    fn a_token_decides_its_own_plan_only() {
        let key = CsrfKey::generate();
        let other = CsrfKey::generate();
        let id = "plan_0123456789abcdef0123456789abcdef";
        let t = key.token(id);
        assert_eq!(t.len(), 64);
        assert!(key.verify(id, &t));
        assert!(!key.verify("plan_ffffffffffffffffffffffffffffffff", &t));
        assert!(!other.verify(id, &t), "another process's key");
        assert!(!key.verify(id, ""));
        assert!(!key.verify(id, &t[..63]));
        assert!(!key.verify(id, &t.to_uppercase()));
        assert!(!format!("{key:?}").contains(&t[..8]));
    }

    #[test]
    fn origins_are_compared_with_the_host() {
        let cases = [
            ("http://127.0.0.1:8080", "127.0.0.1:8080", true),
            ("http://localhost:8080", "LOCALHOST:8080", true),
            ("https://ops.example.com", "ops.example.com", true),
            ("https://ops.example.com", "ops.example.com:443", true),
            ("http://ops.example.com", "ops.example.com", true),
            ("http://[::1]:8080", "[::1]:8080", true),
            ("http://127.0.0.1:8081", "127.0.0.1:8080", false),
            ("https://evil.example", "127.0.0.1:8080", false),
            (
                "https://ops.example.com.evil.example",
                "ops.example.com",
                false,
            ),
            ("https://ops.example.com", "ops.example.com:80", false),
            ("null", "127.0.0.1:8080", false),
            ("file:///tmp/x.html", "127.0.0.1:8080", false),
            ("http://127.0.0.1:8080", "", false),
        ];
        for (origin, host, same) in cases {
            assert_eq!(same_origin(origin, host), same, "{origin} vs {host}");
        }
    }

    #[test]
    fn a_decision_needs_the_token_of_its_plan_and_this_origin() {
        let key = CsrfKey::generate();
        let id = "plan_0123456789abcdef0123456789abcdef";
        let good = key.token(id);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(
            check(&key, id, &h, &form(Some(&good), Some("confirm"))),
            Ok(Decision::Confirm)
        );
        assert_eq!(
            check(&key, id, &h, &form(Some(&good), Some("refuse"))),
            Ok(Decision::Refuse)
        );
        assert_eq!(
            check(&key, id, &h, &form(None, Some("confirm"))),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            check(&key, id, &h, &form(Some(&good), Some("yes"))),
            Err(Refusal::BadDecision)
        );
        assert_eq!(
            check(&key, id, &h, &form(Some(&good), None)),
            Err(Refusal::BadDecision)
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert_eq!(
            check(&key, id, &h, &form(Some(&good), Some("confirm"))),
            Ok(Decision::Confirm)
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(
            check(&key, id, &h, &form(Some(&good), Some("confirm"))),
            Err(Refusal::CrossOrigin)
        );
        h.remove(header::HOST);
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert_eq!(
            check(&key, id, &h, &form(Some(&good), Some("confirm"))),
            Err(Refusal::CrossOrigin),
            "an Origin without a Host to compare it with"
        );
    }
}
