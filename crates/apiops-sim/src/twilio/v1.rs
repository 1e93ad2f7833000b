//! The v1 APIs: Monitor alerts (`monitor.twilio.com`; generated, and raised at run time through
//! `POST /_sim/twilio/alerts`, whose handler lives here too), messaging Services and their numbers
//! (`messaging.twilio.com`) and phone-number prices (`pricing.twilio.com`). Their lists carry a
//! `meta` object with absolute URLs, built from the request's `Host` and the path prefix the
//! simulator serves them under, so following `next_page_url` comes back here.
//!
//! Same rules as the 2010 handlers: count the request, never panic on input, answer Twilio's
//! error bodies.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::api::{error_response, form};
use super::data::AlertKind;
use super::paging::{self, Links, MetaPage, PageRequest, Params};
use super::render::{
    AlertView, NUMBER_PRICES, NumberPrice, NumberPricingView, ServiceNumberView, ServiceView,
};
use super::request::ServiceUpdate;
use super::state::{TwilioError, TwilioState};
use crate::server::SimState;

/// Where the server nests the Twilio routes (see `server`): absolute URLs need it, and the
/// nested router only sees the path below it.
const NEST_PREFIX: &str = "/twilio";

/// `http://host/twilio/<api>`: where this API is served, as the client reached it.
pub(crate) fn origin(headers: &HeaderMap, uri: &Uri, api: &str) -> String {
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    format!("http://{host}{NEST_PREFIX}/{api}")
}

fn answer<T: serde::Serialize>(r: Result<T, TwilioError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => error_response(&e),
    }
}

impl TwilioState {
    /// A page of `GET /v1/Alerts`, newest first: the alerts raised at run time, then the
    /// generated ones; `origin` is the Monitor API's base URL.
    pub(crate) fn alerts_page(
        &self,
        p: &Params,
        origin: &str,
    ) -> Result<MetaPage<AlertView>, TwilioError> {
        let req = PageRequest::parse(p)?;
        let window = paging::start_end_window(p)?;
        let level = p
            .non_empty("LogLevel")
            .map(|l| l.trim().to_ascii_lowercase());
        let level_ok = |kind: AlertKind| level.as_deref().is_none_or(|l| kind.log_level() == l);
        let live = self.read();
        let raised = &live.alerts;
        let c = raised.len();
        // Position `pos < c` is the `pos`-th newest raised alert.
        let raised_at = |pos: usize| raised.get(c.checked_sub(pos + 1)?);
        let alerts = &self.generated.alerts;
        let generated =
            self.window_range(|i| alerts.get(i).map_or(0, |a| a.age), alerts.len(), window);
        let ranges = [0..c, c + generated.start..c + generated.end];
        let keep = |pos: usize| {
            if pos < c {
                raised_at(pos).is_some_and(|l| window.contains(l.at) && level_ok(l.alert.kind))
            } else {
                alerts.get(pos - c).is_some_and(|a| level_ok(a.kind))
            }
        };
        let find = |sid: &str| -> Option<usize> {
            if let Some(i) = raised.iter().position(|l| l.sid == sid) {
                return Some(c - 1 - i);
            }
            self.alert_sids.find(sid).map(|i| c + i)
        };
        let (walk, has_next) = paging::walk(&req, &ranges, find, keep)?;
        let items = walk
            .positions
            .iter()
            .filter_map(|&pos| {
                if pos < c {
                    raised_at(pos).map(|l| self.live_alert_view(l, origin, false))
                } else {
                    self.alert_view(pos - c, origin, false)
                }
            })
            .collect();
        let links = Links::new(
            format!("{origin}/v1/Alerts"),
            p,
            &["LogLevel", "StartDate", "EndDate"],
            req.size,
        );
        let sid_at = |pos: usize| {
            if pos < c {
                raised_at(pos).map(|l| l.sid.clone())
            } else {
                Some(self.alert_sids.sid(pos - c))
            }
        };
        Ok(MetaPage {
            key: "alerts",
            links: walk.links(&links, &req, sid_at, has_next, walk.has_previous(&req)),
            items,
        })
    }

    /// Alert `sid`, raised or generated; `detail` adds what `GET /v1/Alerts/{Sid}` adds.
    pub(crate) fn alert(&self, sid: &str, origin: &str, detail: bool) -> Option<AlertView> {
        if let Some(l) = self.read().alerts.iter().find(|l| l.sid == sid) {
            return Some(self.live_alert_view(l, origin, detail));
        }
        self.alert_view(self.alert_sids.find(sid)?, origin, detail)
    }

    /// A page of `GET /v1/Services`.
    pub(crate) fn services_page(
        &self,
        p: &Params,
        origin: &str,
    ) -> Result<MetaPage<ServiceView>, TwilioError> {
        let req = PageRequest::parse(p)?;
        let live = self.read();
        let services = &live.services;
        let find = |sid: &str| services.iter().position(|s| s.sid == sid);
        let (walk, has_next) = paging::walk(
            &req,
            std::slice::from_ref(&(0..services.len())),
            find,
            |_| true,
        )?;
        let items = walk
            .positions
            .iter()
            .filter_map(|&i| services.get(i).map(|s| self.service_view(s, origin)))
            .collect();
        let links = Links::new(format!("{origin}/v1/Services"), p, &[], req.size);
        let sid_at = |i: usize| services.get(i).map(|s| s.sid.clone());
        let has_prev = req.token.is_some() || req.page > 0;
        Ok(MetaPage {
            key: "services",
            links: walk.links(&links, &req, sid_at, has_next, has_prev),
            items,
        })
    }

    /// A page of `GET /v1/Services/{Sid}/PhoneNumbers`.
    pub(crate) fn service_numbers_page(
        &self,
        service_sid: &str,
        p: &Params,
        origin: &str,
    ) -> Result<MetaPage<ServiceNumberView>, TwilioError> {
        let req = PageRequest::parse(p)?;
        let live = self.read();
        let base = format!("{origin}/v1/Services/{service_sid}/PhoneNumbers");
        let index = live
            .services
            .iter()
            .position(|s| s.sid == service_sid)
            .ok_or_else(|| {
                TwilioError::not_found(&format!("/v1/Services/{service_sid}/PhoneNumbers"))
            })?;
        let numbers = &live.numbers;
        let keep = |i: usize| numbers.get(i).is_some_and(|n| n.service == Some(index));
        let find = |sid: &str| numbers.iter().position(|n| n.sid == sid);
        let all = 0..numbers.len();
        let (walk, has_next) = paging::walk(&req, std::slice::from_ref(&all), find, keep)?;
        let items = walk
            .positions
            .iter()
            .filter_map(|&i| {
                numbers
                    .get(i)
                    .map(|n| self.service_number_view(service_sid, n, origin))
            })
            .collect();
        let links = Links::new(base, p, &[], req.size);
        let sid_at = |i: usize| numbers.get(i).map(|n| n.sid.clone());
        let has_prev = req.token.is_some() || req.page > 0;
        Ok(MetaPage {
            key: "phone_numbers",
            links: walk.links(&links, &req, sid_at, has_next, has_prev),
            items,
        })
    }

    /// `GET /v1/PhoneNumbers/Countries/{IsoCountry}`.
    pub(crate) fn number_pricing(
        &self,
        iso: &str,
        origin: &str,
    ) -> Result<NumberPricingView, TwilioError> {
        let c = NUMBER_PRICES
            .iter()
            .find(|c| c.iso.eq_ignore_ascii_case(iso))
            .ok_or_else(|| TwilioError::not_found(&format!("/v1/PhoneNumbers/Countries/{iso}")))?;
        let code = c.iso;
        Ok(NumberPricingView {
            country: c.name,
            iso_country: code,
            phone_number_prices: c
                .prices
                .iter()
                .map(|&(number_type, base_price, current_price)| NumberPrice {
                    number_type,
                    base_price,
                    current_price,
                })
                .collect(),
            price_unit: "USD",
            url: format!("{origin}/v1/PhoneNumbers/Countries/{code}"),
        })
    }
}

type St = State<Arc<SimState>>;

pub(crate) async fn list_alerts(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    st.stats.request("twilio.alerts.list");
    let base = origin(&headers, &uri, "monitor");
    answer(st.twilio.alerts_page(&Params::parse(q.as_deref()), &base))
}

pub(crate) async fn fetch_alert(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    Path(sid): Path<String>,
) -> Response {
    st.stats.request("twilio.alerts.fetch");
    let base = origin(&headers, &uri, "monitor");
    answer(
        st.twilio
            .alert(&sid, &base, true)
            .ok_or_else(|| TwilioError::not_found(&format!("/v1/Alerts/{sid}"))),
    )
}

/// `POST /_sim/twilio/alerts` (see [`crate::live`]): raises alerts now and answers them as
/// `GET /v1/Alerts` lists them.
pub(crate) async fn alerts_route(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Some(refused) = crate::live::refuse_remote(&st.config) {
        return refused;
    }
    let req: crate::live::TwilioAlertsRequest = match crate::live::parse_body(&body) {
        Ok(r) => r,
        Err(reason) => return crate::live::refuse(StatusCode::BAD_REQUEST, &reason),
    };
    match st.twilio_alerts_happen(req.count, req.error_code) {
        Ok(sids) => {
            let base = origin(&headers, &uri, "monitor");
            let alerts: Vec<AlertView> = sids
                .iter()
                .filter_map(|sid| st.twilio.alert(sid, &base, false))
                .collect();
            (
                StatusCode::CREATED,
                Json(serde_json::json!({ "sids": sids, "alerts": alerts })),
            )
                .into_response()
        }
        Err(reason) => crate::live::refuse(StatusCode::BAD_REQUEST, &reason),
    }
}

pub(crate) async fn list_services(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    st.stats.request("twilio.services.list");
    let base = origin(&headers, &uri, "messaging");
    answer(st.twilio.services_page(&Params::parse(q.as_deref()), &base))
}

pub(crate) async fn fetch_service(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    Path(sid): Path<String>,
) -> Response {
    st.stats.request("twilio.services.fetch");
    let base = origin(&headers, &uri, "messaging");
    let t = &st.twilio;
    let found = t.read().services.iter().find(|s| s.sid == sid).cloned();
    answer(
        found
            .map(|s| t.service_view(&s, &base))
            .ok_or_else(|| TwilioError::not_found(&format!("/v1/Services/{sid}"))),
    )
}

pub(crate) async fn update_service(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    Path(sid): Path<String>,
    body: Bytes,
) -> Response {
    st.stats.request("twilio.services.update");
    let base = origin(&headers, &uri, "messaging");
    let t = &st.twilio;
    let r = ServiceUpdate::from_form(&form(&body)).and_then(|u| {
        t.update_service(&sid, &u)
            .ok_or_else(|| TwilioError::not_found(&format!("/v1/Services/{sid}")))
    });
    match r {
        Ok(s) => {
            st.stats.side_effect("twilio.services.update");
            (StatusCode::OK, Json(t.service_view(&s, &base))).into_response()
        }
        Err(e) => error_response(&e),
    }
}

pub(crate) async fn list_service_numbers(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    Path(sid): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    st.stats.request("twilio.service_numbers.list");
    let base = origin(&headers, &uri, "messaging");
    answer(
        st.twilio
            .service_numbers_page(&sid, &Params::parse(q.as_deref()), &base),
    )
}

pub(crate) async fn fetch_number_pricing(
    State(st): St,
    headers: HeaderMap,
    uri: Uri,
    Path(iso): Path<String>,
) -> Response {
    st.stats.request("twilio.pricing.phone_numbers.fetch");
    let base = origin(&headers, &uri, "pricing");
    answer(st.twilio.number_pricing(&iso, &base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_names_the_host_and_the_nesting_prefix() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:4000".parse().expect("header"));
        let inner: Uri = "/monitor/v1/Alerts?PageSize=2".parse().expect("uri");
        assert_eq!(
            origin(&h, &inner, "monitor"),
            "http://127.0.0.1:4000/twilio/monitor"
        );
        let absolute: Uri = "http://sim.test:81/monitor/v1/Alerts".parse().expect("uri");
        assert_eq!(
            origin(&HeaderMap::new(), &absolute, "monitor"),
            "http://sim.test:81/twilio/monitor"
        );
    }
}
