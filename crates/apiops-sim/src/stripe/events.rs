//! `GET /v1/events` and `GET /v1/events/{id}`: the account's events of the last 30 days and
//! those made to happen since (`/_sim/stripe/events`, see [`crate::live`]), newest first,
//! filtered by `created` (a timestamp, or a range with `gt`/`gte`/`lt`/`lte`),
//! `type` (a name, or a group with a trailing `*`), `types[]` (up to 20 names, not with
//! `type`) and `delivery_success`, and paged by Stripe's cursors.
//!
//! The query is parsed into an [`EventFilter`] (pure, tested alone); the handlers only wire it.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::paging::{self, PageRequest};
use super::request::{self, Params, StripeError};
use crate::server::SimState;

/// One event: the fields the filters read, and the event object as served.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// `evt_...`
    pub(crate) id: String,
    /// Unix seconds.
    pub(crate) created: i64,
    /// `charge.failed`, ...
    pub(crate) kind: &'static str,
    /// Endpoints still to deliver to (`> 0`: undelivered).
    pub(crate) pending_webhooks: u32,
    /// The event object.
    pub(crate) body: Value,
    /// For an event that happened at run time: the ids of the endpoints it still has to reach
    /// (`pending_webhooks` is their count). Empty for generated events, whose pending
    /// deliveries are to endpoints the simulator never calls.
    pub(crate) undelivered: Vec<String>,
}

impl Event {
    /// Sets the endpoints still to reach, keeping `pending_webhooks` (field and JSON) in step.
    pub(crate) fn set_undelivered(&mut self, endpoints: Vec<String>) {
        self.pending_webhooks = u32::try_from(endpoints.len()).unwrap_or(u32::MAX);
        self.body["pending_webhooks"] = Value::from(self.pending_webhooks);
        self.undelivered = endpoints;
    }
}

/// How many names `types[]` may hold.
const MAX_TYPES: usize = 20;

/// Which event types a request wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeFilter {
    /// Every type.
    Any,
    /// One name.
    Exact(String),
    /// A group: `charge.*` is every type starting `charge.`.
    Prefix(String),
    /// Any of these names.
    OneOf(Vec<String>),
}

impl TypeFilter {
    fn matches(&self, kind: &str) -> bool {
        match self {
            TypeFilter::Any => true,
            TypeFilter::Exact(t) => t == kind,
            TypeFilter::Prefix(p) => kind.starts_with(p.as_str()),
            TypeFilter::OneOf(ts) => ts.iter().any(|t| t == kind),
        }
    }
}

/// The filters of one `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventFilter {
    /// `created > gt`
    pub(crate) gt: Option<i64>,
    /// `created >= gte`
    pub(crate) gte: Option<i64>,
    /// `created < lt`
    pub(crate) lt: Option<i64>,
    /// `created <= lte`
    pub(crate) lte: Option<i64>,
    /// The types wanted.
    pub(crate) types: TypeFilter,
    /// `Some(false)`: only events not yet delivered everywhere; `Some(true)`: only delivered ones.
    pub(crate) delivery_success: Option<bool>,
}

impl EventFilter {
    /// Reads the filters from the query (the caller has checked the parameter names).
    pub(crate) fn parse(p: &Params) -> Result<Self, StripeError> {
        let mut f = EventFilter {
            gt: None,
            gte: None,
            lt: None,
            lte: None,
            types: TypeFilter::Any,
            delivery_success: p.boolean("delivery_success")?,
        };
        for (part, value) in p.entries("created") {
            let name = part.map_or_else(|| "created".to_owned(), |b| format!("created[{b}]"));
            if part.is_none() && value.is_empty() {
                continue;
            }
            let t = request::parse_integer(&name, value)?;
            match part {
                None => {
                    f.gte = Some(t);
                    f.lte = Some(t);
                }
                Some("gt") => f.gt = Some(t),
                Some("gte") => f.gte = Some(t),
                Some("lt") => f.lt = Some(t),
                Some("lte") => f.lte = Some(t),
                Some(_) => return Err(request::unknown(&name)),
            }
        }
        let one = p.scalar("type")?.filter(|t| !t.is_empty());
        let many = p.array("types")?;
        f.types = match (one, many) {
            (Some(_), Some(_)) => {
                return Err(request::invalid(
                    "type",
                    None,
                    "You may only specify one of these parameters: type, types.",
                ));
            }
            (Some("*"), None) => TypeFilter::Any,
            (Some(t), None) => match t.strip_suffix('*') {
                Some(prefix) => TypeFilter::Prefix(prefix.to_owned()),
                None => TypeFilter::Exact(t.to_owned()),
            },
            (None, Some(ts)) if ts.len() > MAX_TYPES => {
                return Err(request::invalid(
                    "types",
                    Some("parameter_invalid_array"),
                    &format!("Invalid array: types may contain at most {MAX_TYPES} items"),
                ));
            }
            (None, Some(ts)) if ts.is_empty() => TypeFilter::Any,
            (None, Some(ts)) => TypeFilter::OneOf(ts),
            (None, None) => TypeFilter::Any,
        };
        Ok(f)
    }

    /// Whether `e` passes every filter.
    pub(crate) fn matches(&self, e: &Event) -> bool {
        self.gt.is_none_or(|t| e.created > t)
            && self.gte.is_none_or(|t| e.created >= t)
            && self.lt.is_none_or(|t| e.created < t)
            && self.lte.is_none_or(|t| e.created <= t)
            && self.types.matches(e.kind)
            && self
                .delivery_success
                .is_none_or(|ok| ok == (e.pending_webhooks == 0))
    }
}

/// The parameters `GET /v1/events` takes.
const LIST_PARAMS: &[&str] = &[
    "created",
    "delivery_success",
    "ending_before",
    "expand",
    "limit",
    "starting_after",
    "type",
    "types",
];

/// The list object answering `GET /v1/events` with parameters `p` over `events` (newest first).
pub(crate) fn list_events(events: &[Event], p: &Params) -> Result<Value, StripeError> {
    p.check_allowed(LIST_PARAMS)?;
    p.array("expand")?;
    let filter = EventFilter::parse(p)?;
    let req = PageRequest::parse(p)?;
    let (data, has_more) = paging::page(events, |e| &e.id, |e| filter.matches(e), &req, "event")?;
    Ok(paging::envelope(
        "/v1/events",
        data.into_iter().map(|e| e.body.clone()).collect(),
        has_more,
    ))
}

/// `GET /v1/events`
pub(crate) async fn list(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("stripe.events.list");
    let p = Params::from_query(q.as_deref());
    match list_events(&state.stripe.events(), &p) {
        Ok(body) => axum::Json(body).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /v1/events/{id}`
pub(crate) async fn retrieve(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("stripe.events.retrieve");
    request::retrieved(q.as_deref(), "event", &id, || {
        let events = state.stripe.events();
        events.iter().find(|e| e.id == id).map(|e| e.body.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<EventFilter, StripeError> {
        EventFilter::parse(&Params::parse(q.as_bytes()))
    }

    #[test]
    fn parses_created_types_and_delivery() {
        let f =
            parse("created[gte]=10&created[lt]=20&types[]=a.b&types[]=c.d&delivery_success=false")
                .ok();
        assert_eq!(
            f,
            Some(EventFilter {
                gt: None,
                gte: Some(10),
                lt: Some(20),
                lte: None,
                types: TypeFilter::OneOf(vec!["a.b".into(), "c.d".into()]),
                delivery_success: Some(false),
            })
        );
        let exact = parse("created=15").ok();
        assert_eq!(exact.as_ref().and_then(|f| f.gte), Some(15));
        assert_eq!(exact.as_ref().and_then(|f| f.lte), Some(15));
        assert_eq!(
            parse("type=charge.*").ok().map(|f| f.types),
            Some(TypeFilter::Prefix("charge.".into()))
        );
        assert_eq!(parse("type=*").ok().map(|f| f.types), Some(TypeFilter::Any));
        let too_many: String = (0..21).map(|i| format!("types[]=t.{i}&")).collect();
        for bad in [
            "created[gte]=soon",
            "created[since]=1",
            "type=a.b&types[]=c.d",
            too_many.as_str(),
            "delivery_success=no",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn type_groups_match_by_prefix() {
        let group = TypeFilter::Prefix("charge.".into());
        assert!(group.matches("charge.failed"));
        assert!(group.matches("charge.dispute.created"));
        assert!(!group.matches("payment_intent.payment_failed"));
        assert!(!TypeFilter::Exact("charge.failed".into()).matches("charge.failed.x"));
    }
}
