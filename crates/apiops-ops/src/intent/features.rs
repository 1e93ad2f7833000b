//! What one clause of a request says: its verbs, the things it names, the services, and every
//! value with its role (a recipient or a sender, an area code or a count).

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::Duration;

use apiops_core::Service;

use super::lexicon::{self, Obj, Verb};
use super::text::{Tok, Token};
use super::values::{self, Bad, BadKind};
use crate::catalog::{UsageBy, UsagePeriod};

/// Which URL of a Twilio number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum UrlKind {
    /// `SmsUrl`
    Sms,
    /// `SmsFallbackUrl`
    SmsFallback,
    /// `VoiceUrl`
    Voice,
    /// `VoiceFallbackUrl`
    VoiceFallback,
    /// `StatusCallback`
    StatusCallback,
}

impl UrlKind {
    /// As a person says it.
    pub(super) fn label(self) -> &'static str {
        match self {
            UrlKind::Sms => "SMS URL",
            UrlKind::SmsFallback => "SMS fallback URL",
            UrlKind::Voice => "voice URL",
            UrlKind::VoiceFallback => "voice fallback URL",
            UrlKind::StatusCallback => "status callback",
        }
    }
}

/// What a clause says.
#[derive(Debug, Default)]
pub(super) struct Features {
    /// Its verbs.
    pub(super) verbs: BTreeSet<Verb>,
    /// The catalog's nouns it uses.
    pub(super) objects: BTreeSet<Obj>,
    /// Services it names ("twilio").
    pub(super) services: BTreeSet<Service>,
    /// Services its nouns imply ("calls" -> Twilio).
    pub(super) implied: BTreeSet<Service>,
    /// Resource types of the error audit it names ("call", "message").
    pub(super) resources: BTreeSet<&'static str>,
    /// A question about errors ("why", "what's wrong", "problems").
    pub(super) question: bool,
    /// "why" or "wrong": a question even with a verb ("why can't I buy a number").
    pub(super) why: bool,
    /// Something keeps failing.
    pub(super) failing: bool,
    /// Something failed ("failed messages", "undelivered events").
    pub(super) failed: bool,
    /// "available" numbers.
    pub(super) available: bool,
    /// Starts with "call" as a verb: placing a call.
    pub(super) places_call: bool,
    /// Verbs of things the catalog does not do.
    pub(super) out_of_scope_verbs: Vec<String>,
    /// Nouns the catalog does not act on.
    pub(super) out_of_scope_nouns: Vec<String>,
    /// Ids of things the catalog does not act on: what each is.
    pub(super) foreign_ids: Vec<&'static str>,
    /// Phone numbers (E.164) not introduced by "from".
    pub(super) recipients: Vec<String>,
    /// Phone numbers introduced by "from".
    pub(super) senders: Vec<String>,
    /// `PN...` SIDs.
    pub(super) sids: Vec<String>,
    /// Area codes.
    pub(super) area_codes: Vec<u16>,
    /// Three-digit numbers with no cue: area codes where an operation takes one.
    pub(super) loose: Vec<String>,
    /// Counts ("5 numbers", "top 10").
    pub(super) counts: Vec<u64>,
    /// Three digits before "numbers" with no other cue: "415 numbers" (an area code) or
    /// "500 numbers" (a count)?
    pub(super) count_or_area: Vec<String>,
    /// Digits a number must contain.
    pub(super) contains: Vec<String>,
    /// ISO countries.
    pub(super) countries: Vec<&'static str>,
    /// Time windows.
    pub(super) durations: Vec<Duration>,
    /// URLs, with their token index.
    pub(super) urls: Vec<(usize, String)>,
    /// Mentions of a number's URLs, with their token index.
    pub(super) url_kinds: Vec<(usize, UrlKind)>,
    /// Token indexes that may stand between two URL kinds of one list ("sms and voice url").
    pub(super) glue: BTreeSet<usize>,
    /// Stripe endpoint ids.
    pub(super) endpoint_ids: Vec<String>,
    /// Stripe event types.
    pub(super) event_types: Vec<String>,
    /// OpenAI model names.
    pub(super) models: Vec<String>,
    /// Quoted texts.
    pub(super) bodies: Vec<String>,
    /// Values that are not valid.
    pub(super) bad: Vec<Bad>,
    /// Asks whether services work ("health", "status", "is stripe working", "is twilio down").
    pub(super) health: bool,
    /// Asks about usage or money ("usage", "spend", "how much", "costs").
    pub(super) usage: bool,
    /// Asks about configuration ("config", "settings", "resources").
    pub(super) config: bool,
    /// Says "audit" (the configuration audit, unless it names errors).
    pub(super) audit_word: bool,
    /// A named period ("today", "this month", "last month").
    pub(super) period: Option<UsagePeriod>,
    /// A grouping ("by model", "per day", "daily").
    pub(super) group_by: Option<UsageBy>,
}

/// The tokens of a clause, with lookups of the words around a position.
struct Clause<'a> {
    tokens: &'a [Token],
    range: Range<usize>,
}

impl Clause<'_> {
    fn tok(&self, i: usize) -> Option<&Tok> {
        self.range
            .contains(&i)
            .then(|| self.tokens.get(i).map(|t| &t.tok))
            .flatten()
    }

    fn word(&self, i: usize) -> Option<&str> {
        match self.tok(i) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn prev_word(&self, i: usize) -> Option<&str> {
        i.checked_sub(1).and_then(|j| self.word(j))
    }

    fn next_word(&self, i: usize) -> Option<&str> {
        self.word(i + 1)
    }

    fn raw(&self, i: usize) -> &str {
        self.tokens.get(i).map_or("", |t| t.raw.as_str())
    }

    fn indexes(&self) -> Range<usize> {
        self.range.start..self.range.end.min(self.tokens.len())
    }
}

/// Reads the features of `tokens[range]`; `all_caps` says the whole request is in capitals
/// (then "IN" is not India).
pub(super) fn extract(tokens: &[Token], range: Range<usize>, all_caps: bool) -> Features {
    let c = Clause { tokens, range };
    let mut f = Features::default();
    imperative(&c, &mut f);
    for i in c.indexes() {
        if let Some(w) = c.word(i) {
            word(&c, i, w, &mut f);
        }
        value(&c, i, &mut f);
    }
    numbers(&c, &mut f);
    countries(&c, all_caps, &mut f);
    url_kinds(&c, &mut f);
    use_url_as(&c, &mut f);
    f
}

/// "use https://... as the sms url": "use" sets something only with a URL and no other verb
/// ("which models can I use" sets nothing).
fn use_url_as(c: &Clause<'_>, f: &mut Features) {
    let says_use = c.indexes().any(|i| c.word(i) == Some("use"));
    if says_use && !f.urls.is_empty() && f.verbs.is_empty() {
        f.verbs.insert(Verb::Update);
    }
}

/// The first word that is not politeness, when a number or "to" follows it: "text +1415..."
/// sends, "call +1415..." calls ("sms url of ..." is not a verb).
fn imperative(c: &Clause<'_>, f: &mut Features) {
    let first = c.indexes().find(|i| {
        c.word(*i)
            .is_some_and(|w| !lexicon::is_in(lexicon::LEADING_FILLERS, w))
    });
    let Some(i) = first else { return };
    let to_someone = matches!(c.tok(i + 1), Some(Tok::Phone(_))) || c.next_word(i) == Some("to");
    match c.word(i) {
        Some("text" | "sms" | "message" | "mms") if to_someone => {
            f.verbs.insert(Verb::Send);
        }
        Some("call" | "phone" | "dial") if to_someone => f.places_call = true,
        _ => {}
    }
}

/// What one word says.
fn word(c: &Clause<'_>, i: usize, w: &str, f: &mut Features) {
    let next = c.next_word(i);
    let prev = c.prev_word(i);
    if let Some(v) = verb_of(w, next) {
        f.verbs.insert(v);
    }
    if let Some((o, s)) = object_of(w, prev, next) {
        f.objects.insert(o);
        f.implied.extend(s);
    }
    if let Some(r) = resource_of(w) {
        f.resources.insert(r);
    }
    if let Some(s) = lexicon::lookup(lexicon::SERVICES, w) {
        f.services.insert(s);
    }
    if let Some(s) = lexicon::lookup(lexicon::SERVICE_HINTS, w) {
        f.implied.insert(s);
    }
    f.question |= lexicon::is_in(lexicon::QUESTION, w);
    f.why |= matches!(w, "why" | "wrong");
    let negated = prev.is_some_and(|p| lexicon::is_in(lexicon::NEGATIONS, p));
    f.failing |= lexicon::is_in(lexicon::FAILING, w) || (w == "working" && negated);
    f.health |= health_word(w, prev, negated);
    f.usage |= lexicon::is_in(lexicon::USAGE, w) || (w == "much" && prev == Some("how"));
    f.config |= lexicon::is_in(lexicon::CONFIG, w);
    f.audit_word |= matches!(w, "audit" | "auditing" | "audited" | "audits");
    match (w, prev) {
        ("today", _) => f.period = Some(UsagePeriod::Today),
        ("month", Some("this" | "current")) | ("mtd", _) => {
            f.period = Some(UsagePeriod::ThisMonth);
        }
        ("month", Some("last" | "previous" | "prior")) => f.period = Some(UsagePeriod::LastMonth),
        ("daily", _) => f.group_by = Some(UsageBy::Day),
        (_, Some("by" | "per" | "each")) => f.group_by = UsageBy::parse(w).or(f.group_by),
        _ => {}
    }
    f.failed |= lexicon::is_in(lexicon::FAILED, w) || (w == "delivered" && prev == Some("not"));
    f.available |= matches!(w, "available" | "availability");
    if lexicon::is_in(lexicon::OUT_OF_SCOPE_VERBS, w) {
        f.out_of_scope_verbs.push(w.to_owned());
    }
    if let Some(s) = lexicon::lookup(lexicon::OUT_OF_SCOPE_NOUNS, w) {
        f.out_of_scope_nouns.push(w.to_owned());
        f.implied.extend(s);
    }
    if matches!(
        w,
        "and"
            | "or"
            | "url"
            | "urls"
            | "webhook"
            | "webhooks"
            | "the"
            | "both"
            | "its"
            | "fallback"
            | "callback"
            | "callbacks"
    ) {
        f.glue.insert(i);
    }
}

/// Whether a word asks whether services work: a health word ("status", "healthy"; "working"
/// unless negated), or "up"/"down" right after a service or "it"/"apis" ("is stripe down").
fn health_word(w: &str, prev: Option<&str>, negated: bool) -> bool {
    match w {
        "working" => !negated,
        "up" | "down" => prev.is_some_and(|p| {
            lexicon::lookup(lexicon::SERVICES, p).is_some()
                || matches!(
                    p,
                    "it" | "api" | "apis" | "everything" | "they" | "services"
                )
        }),
        _ => lexicon::is_in(lexicon::HEALTH, w),
    }
}

/// The verb a word is, given the next word ("turn off", "look for", "get rid").
pub(super) fn verb_of(w: &str, next: Option<&str>) -> Option<Verb> {
    match (w, next) {
        ("turn" | "switch", Some("on")) => Some(Verb::Enable),
        ("turn" | "switch" | "shut", Some("off")) => Some(Verb::Disable),
        ("get", Some("rid")) => Some(Verb::Delete),
        ("look", Some("for")) => Some(Verb::Search),
        ("look", Some("at" | "into")) => Some(Verb::Check),
        ("look", _) => None,
        _ => lexicon::verb(w),
    }
}

/// The catalog noun a word is, with the service it implies ("rate limit", "limits").
fn object_of(w: &str, prev: Option<&str>, next: Option<&str>) -> Option<(Obj, Option<Service>)> {
    match (w, next) {
        ("rate", Some("limit" | "limits" | "limited" | "limiting")) => Some((Obj::RateLimit, None)),
        ("limits", _) if prev != Some("rate") => Some((Obj::RateLimit, None)),
        _ => lexicon::object(w),
    }
}

/// The audit resource type a word names.
fn resource_of(w: &str) -> Option<&'static str> {
    match w {
        "call" | "calls" | "voice" => Some("call"),
        "message" | "messages" | "sms" | "mms" | "text" | "texts" | "messaging" => Some("message"),
        "endpoint" | "endpoints" => Some("webhook_endpoint"),
        "alert" | "alerts" => Some("alert"),
        "event" | "events" => Some("event"),
        _ => None,
    }
}

/// What one value token is, in its place.
fn value(c: &Clause<'_>, i: usize, f: &mut Features) {
    let Some(tok) = c.tok(i) else { return };
    if long_amount_of_time(c, i).is_some() {
        return;
    }
    match tok {
        Tok::Phone(_) | Tok::NumberSid(_) => {
            f.implied.insert(Service::Twilio);
        }
        Tok::Endpoint(_) | Tok::EventType(_) => {
            f.implied.insert(Service::Stripe);
        }
        Tok::Model(_) => {
            f.implied.insert(Service::Openai);
        }
        _ => {}
    }
    match tok {
        Tok::Phone(Ok(n)) if c.prev_word(i) == Some("from") => f.senders.push(n.clone()),
        Tok::Phone(Ok(n)) => f.recipients.push(n.clone()),
        Tok::NumberSid(s) => f.sids.push(s.clone()),
        Tok::Url(Ok(u)) => f.urls.push((i, u.clone())),
        Tok::Endpoint(Ok(e)) => f.endpoint_ids.push(e.clone()),
        Tok::Phone(Err(b)) | Tok::Url(Err(b)) | Tok::Endpoint(Err(b)) | Tok::Duration(Err(b)) => {
            f.bad.push(b.clone());
        }
        Tok::Foreign(what) => f.foreign_ids.push(what),
        Tok::EventType(e) => f.event_types.push(e.clone()),
        Tok::Model(m) => f.models.push(m.clone()),
        Tok::Duration(Ok(d)) => f.durations.push(*d),
        Tok::Quoted(q) => f.bodies.push(q.clone()),
        Tok::Sep => {
            f.glue.insert(i);
        }
        Tok::Word(_) | Tok::Num(_) | Tok::Other(_) => {}
    }
}

/// Plain numbers and time words: durations ("6 hours", "last week", "today"), area codes
/// ("in 415", "area code 212", "a 415 number"), counts ("5 numbers"), digits to contain.
fn numbers(c: &Clause<'_>, f: &mut Features) {
    let mut in_duration = BTreeSet::new();
    for i in c.indexes() {
        match c.tok(i) {
            Some(Tok::Num(d)) => {
                if let Some(secs) = c.next_word(i).and_then(lexicon::unit) {
                    let n = d.parse::<u64>().unwrap_or(u64::MAX);
                    push_duration(f, values::duration(n, secs, &two_raws(c, i)));
                    in_duration.extend([i, i + 1]);
                } else {
                    plain_number(c, i, d, f);
                }
            }
            Some(Tok::Word(w)) if time_words(c, i, w, f) => {
                in_duration.extend([i, i + 1]);
            }
            Some(Tok::Phone(_)) => {
                if let Some((digits, secs)) = long_amount_of_time(c, i) {
                    let n = digits.parse::<u64>().unwrap_or(u64::MAX);
                    push_duration(f, values::duration(n, secs, &two_raws(c, i)));
                    in_duration.extend([i, i + 1]);
                }
            }
            _ => {}
        }
    }
    since_is_followed_by_a_time(c, &in_duration, f);
}

/// Digits too many for a plain number but followed by a unit ("99999999 hours"): the digits
/// and the unit's seconds.
fn long_amount_of_time<'a>(c: &'a Clause<'_>, i: usize) -> Option<(&'a str, u64)> {
    let Some(Tok::Phone(_)) = c.tok(i) else {
        return None;
    };
    let raw = c.raw(i);
    let secs = c.next_word(i).and_then(lexicon::unit)?;
    raw.chars()
        .all(|ch| ch.is_ascii_digit())
        .then_some((raw, secs))
}

fn two_raws(c: &Clause<'_>, i: usize) -> String {
    format!("{} {}", c.raw(i), c.raw(i + 1))
}

fn push_duration(f: &mut Features, d: Result<Duration, Bad>) {
    match d {
        Ok(d) => f.durations.push(d),
        Err(b) => f.bad.push(b),
    }
}

/// "six hours", "an hour", "last week", "today"; true if the word starts a duration.
fn time_words(c: &Clause<'_>, i: usize, w: &str, f: &mut Features) -> bool {
    let next = c.next_word(i);
    if let Some(secs) = lexicon::lookup(lexicon::TIME_WORDS, w) {
        f.durations.push(Duration::from_secs(secs));
        return true;
    }
    let unit = next.and_then(lexicon::unit);
    if let (Some(n), Some(secs)) = (lexicon::lookup(lexicon::NUMBER_WORDS, w), unit) {
        push_duration(f, values::duration(n, secs, &two_raws(c, i)));
        return true;
    }
    if let (true, Some(secs)) = (matches!(w, "last" | "past" | "previous" | "this"), unit) {
        f.durations.push(Duration::from_secs(secs));
        return true;
    }
    if let (Some(n), Some("number" | "numbers" | "phone" | "phones")) =
        (lexicon::lookup(lexicon::NUMBER_WORDS, w), next)
    {
        f.counts.push(n);
    }
    false
}

/// "since" must be followed by a time the parser read: "since Monday" is a question.
fn since_is_followed_by_a_time(c: &Clause<'_>, in_duration: &BTreeSet<usize>, f: &mut Features) {
    for i in c.indexes() {
        if c.word(i) != Some("since") {
            continue;
        }
        let next = i + 1;
        let read = in_duration.contains(&next)
            || matches!(c.tok(next), Some(Tok::Duration(_)))
            || matches!(c.word(next), Some("the" | "last" | "a" | "an"));
        if !read {
            let after = c.raw(next);
            f.bad.push(Bad::new(
                BadKind::Duration,
                format!("\"since {after}\" is not a time window I can read (try \"since 2d\" or \"last 6 hours\")"),
            ));
        }
    }
}

/// A number that is not an amount of time.
fn plain_number(c: &Clause<'_>, i: usize, digits: &str, f: &mut Features) {
    let prev = c.prev_word(i);
    let next = c.next_word(i);
    let before_number = matches!(next, Some("number" | "numbers" | "phone" | "phones"));
    let three = digits.len() == 3 && !digits.starts_with(['0', '1']);
    let area_cue = prev == Some("code")
        || next == Some("area")
        || (prev == Some("in") && (2..=4).contains(&digits.len()))
        || (matches!(prev, Some("a" | "an")) && before_number)
        || (three && matches!(next, Some("number" | "phone")));
    if three && matches!(next, Some("numbers" | "phones")) && !area_cue {
        f.count_or_area.push(digits.to_owned());
    } else if area_cue {
        match values::area_code(digits) {
            Ok(a) => f.area_codes.push(a),
            Err(b) => f.bad.push(b),
        }
    } else if before_number || matches!(prev, Some("limit" | "top" | "first" | "results")) {
        f.counts.push(digits.parse::<u64>().unwrap_or(u64::MAX));
    } else if matches!(
        prev,
        Some("containing" | "contains" | "contain" | "digits" | "with")
    ) {
        f.contains.push(digits.to_owned());
    } else if three {
        f.loose.push(digits.to_owned());
    }
}

/// Countries: names ("the UK", "Canada", "united kingdom") and ISO codes in capitals ("GB").
fn countries(c: &Clause<'_>, all_caps: bool, f: &mut Features) {
    let indexes: Vec<usize> = c.indexes().collect();
    let mut k = 0;
    while k < indexes.len() {
        let i = indexes[k];
        if let Some((iso, len)) = country_name_at(c, i) {
            f.countries.push(iso);
            k += len;
            continue;
        }
        let after_in = c.prev_word(i) == Some("in")
            || (c.prev_word(i) == Some("the")
                && i.checked_sub(2).and_then(|j| c.word(j)) == Some("in"));
        if let Some(iso) = iso_code(c.raw(i), all_caps, after_in) {
            f.countries.push(iso);
        }
        k += 1;
    }
}

/// The country whose (possibly multi-word) name starts at `i`, and its length in words.
fn country_name_at(c: &Clause<'_>, i: usize) -> Option<(&'static str, usize)> {
    lexicon::COUNTRIES
        .iter()
        .filter(|(name, _)| {
            name.split(' ')
                .enumerate()
                .all(|(k, part)| c.word(i + k) == Some(part))
        })
        .max_by_key(|(name, _)| name.len())
        .map(|(name, iso)| (*iso, name.split(' ').count()))
}

/// An ISO code written in capitals, unless the whole request shouts (then "IN" is a word);
/// in lower case only right after "in" ("numbers in gb"), and not one that is a word there
/// ("in it").
fn iso_code(raw: &str, all_caps: bool, after_in: bool) -> Option<&'static str> {
    let code = raw.trim_matches(|ch: char| !ch.is_ascii_alphanumeric());
    if code.len() != 2 {
        return None;
    }
    let upper = code.to_ascii_uppercase();
    let iso = lexicon::lookup(lexicon::ISO_CODES, &upper)?;
    let is_word = lexicon::is_in(lexicon::ISO_CODES_THAT_ARE_WORDS, &upper);
    let ok = if code == upper {
        !(all_caps && is_word)
    } else {
        after_in && (!is_word || upper == "US")
    };
    ok.then_some(iso)
}

/// Mentions of a number's URLs: "sms url", "voice fallback", "status callback".
fn url_kinds(c: &Clause<'_>, f: &mut Features) {
    for i in c.indexes() {
        let Some(w) = c.word(i) else { continue };
        let fallback = c.prev_word(i) == Some("fallback") || c.next_word(i) == Some("fallback");
        let kind = match w {
            "sms" | "message" | "messages" | "messaging" | "text" | "texts" | "mms" => {
                Some(if fallback {
                    UrlKind::SmsFallback
                } else {
                    UrlKind::Sms
                })
            }
            "voice" | "call" | "calls" => Some(if fallback {
                UrlKind::VoiceFallback
            } else {
                UrlKind::Voice
            }),
            "status"
                if matches!(
                    c.next_word(i),
                    Some("callback" | "callbacks" | "url" | "webhook")
                ) =>
            {
                Some(UrlKind::StatusCallback)
            }
            "callback" | "callbacks" if c.prev_word(i) != Some("status") => {
                Some(UrlKind::StatusCallback)
            }
            _ => None,
        };
        if let Some(k) = kind {
            f.url_kinds.push((i, k));
        }
    }
}

impl Features {
    /// Whether a phone number is in play: the noun, a value, or an area code.
    pub(super) fn mentions_number(&self) -> bool {
        self.objects.contains(&Obj::Number)
            || !self.recipients.is_empty()
            || !self.senders.is_empty()
            || !self.sids.is_empty()
            || !self.area_codes.is_empty()
            || self
                .bad
                .iter()
                .any(|b| matches!(b.what, BadKind::Number | BadKind::AreaCode))
    }

    /// Whether a Stripe endpoint is in play.
    pub(super) fn mentions_endpoint(&self) -> bool {
        self.objects.contains(&Obj::Endpoint)
            || !self.endpoint_ids.is_empty()
            || self.bad.iter().any(|b| b.what == BadKind::Endpoint)
    }

    /// Whether it names anything the catalog acts on.
    pub(super) fn names_catalog_thing(&self) -> bool {
        !self.objects.is_empty()
            || self.mentions_number()
            || self.mentions_endpoint()
            || !self.urls.is_empty()
            || !self.models.is_empty()
            || !self.event_types.is_empty()
    }

    /// Whether it has the noun.
    pub(super) fn has(&self, o: Obj) -> bool {
        self.objects.contains(&o)
    }

    /// Whether it has the verb.
    pub(super) fn says(&self, v: Verb) -> bool {
        self.verbs.contains(&v)
    }

    /// All phone numbers, recipients then senders, without repeats.
    pub(super) fn all_numbers(&self) -> Vec<String> {
        dedup(self.recipients.iter().chain(&self.senders).cloned())
    }
}

/// Values in order, without repeats.
pub(super) fn dedup<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
