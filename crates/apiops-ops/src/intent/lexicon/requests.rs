//! The content words: what a request asks for. Verbs and the catalog's nouns, the services and
//! the words that hint at one, the words of a question about health, usage, configuration or
//! failures, and the verbs and nouns apiops does not serve (so it can say so).

use apiops_core::Service;
/// What a verb asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::intent) enum Verb {
    /// buy, purchase
    Buy,
    /// search, find
    Search,
    /// release (Twilio's word: a number is all it can apply to)
    Release,
    /// delete, remove (a number is all the catalog can delete)
    Delete,
    /// set, update, change
    Update,
    /// send
    Send,
    /// test, try
    Test,
    /// list, show
    List,
    /// enable
    Enable,
    /// disable
    Disable,
    /// resend, redeliver
    Resend,
    /// check, audit
    Check,
}

/// What a request talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::intent) enum Obj {
    /// a phone number
    Number,
    /// SMS / messages
    Message,
    /// calls / voice
    Call,
    /// a Stripe webhook endpoint
    Endpoint,
    /// a webhook (Stripe's endpoints, or a Twilio number's URL)
    Webhook,
    /// Stripe events
    Event,
    /// OpenAI models
    Model,
    /// a chat completion
    Completion,
    /// rate limits, quota
    RateLimit,
    /// errors, failures
    Error,
    /// alerts (Twilio's debugger)
    Alert,
    /// a URL
    Url,
}

/// Verbs, with their inflections.
pub(in crate::intent) const VERBS: &[(&str, Verb)] = &[
    ("buy", Verb::Buy),
    ("buying", Verb::Buy),
    ("bought", Verb::Buy),
    ("purchase", Verb::Buy),
    ("purchasing", Verb::Buy),
    ("provision", Verb::Buy),
    ("acquire", Verb::Buy),
    ("rent", Verb::Buy),
    ("search", Verb::Search),
    ("searching", Verb::Search),
    ("find", Verb::Search),
    ("browse", Verb::Search),
    ("look", Verb::Search),
    ("release", Verb::Release),
    ("releasing", Verb::Release),
    ("delete", Verb::Delete),
    ("deleting", Verb::Delete),
    ("remove", Verb::Delete),
    ("removing", Verb::Delete),
    ("drop", Verb::Delete),
    ("destroy", Verb::Delete),
    ("set", Verb::Update),
    ("setting", Verb::Update),
    ("update", Verb::Update),
    ("updating", Verb::Update),
    ("change", Verb::Update),
    ("changing", Verb::Update),
    ("point", Verb::Update),
    ("configure", Verb::Update),
    ("modify", Verb::Update),
    ("replace", Verb::Update),
    ("send", Verb::Send),
    ("sending", Verb::Send),
    ("test", Verb::Test),
    ("testing", Verb::Test),
    ("try", Verb::Test),
    ("ping", Verb::Test),
    ("verify", Verb::Test),
    ("list", Verb::List),
    ("listing", Verb::List),
    ("show", Verb::List),
    ("showing", Verb::List),
    ("display", Verb::List),
    ("view", Verb::List),
    ("see", Verb::List),
    ("get", Verb::List),
    ("fetch", Verb::List),
    ("print", Verb::List),
    ("enable", Verb::Enable),
    ("enabling", Verb::Enable),
    ("reenable", Verb::Enable),
    ("activate", Verb::Enable),
    ("reactivate", Verb::Enable),
    ("resume", Verb::Enable),
    ("unpause", Verb::Enable),
    ("disable", Verb::Disable),
    ("disabling", Verb::Disable),
    ("deactivate", Verb::Disable),
    ("pause", Verb::Disable),
    ("suspend", Verb::Disable),
    ("resend", Verb::Resend),
    ("resending", Verb::Resend),
    ("redeliver", Verb::Resend),
    ("replay", Verb::Resend),
    ("retry", Verb::Resend),
    ("reprocess", Verb::Resend),
    ("check", Verb::Check),
    ("checking", Verb::Check),
    ("audit", Verb::Check),
    ("diagnose", Verb::Check),
    ("investigate", Verb::Check),
    ("inspect", Verb::Check),
    ("troubleshoot", Verb::Check),
    ("debug", Verb::Check),
    ("scan", Verb::Check),
    ("review", Verb::Check),
    ("analyze", Verb::Check),
    ("analyse", Verb::Check),
    ("monitor", Verb::Check),
    ("monitoring", Verb::Check),
    ("track", Verb::Check),
    ("tracking", Verb::Check),
    ("watch", Verb::Check),
];

/// Nouns of the catalog, with the service they imply (`None`: several have them).
pub(in crate::intent) const OBJECTS: &[(&str, Obj, Option<Service>)] = &[
    ("number", Obj::Number, Some(Service::Twilio)),
    ("numbers", Obj::Number, Some(Service::Twilio)),
    ("phone", Obj::Number, Some(Service::Twilio)),
    ("phones", Obj::Number, Some(Service::Twilio)),
    ("message", Obj::Message, Some(Service::Twilio)),
    ("messages", Obj::Message, Some(Service::Twilio)),
    ("messaging", Obj::Message, Some(Service::Twilio)),
    ("sms", Obj::Message, Some(Service::Twilio)),
    ("mms", Obj::Message, Some(Service::Twilio)),
    ("text", Obj::Message, Some(Service::Twilio)),
    ("texts", Obj::Message, Some(Service::Twilio)),
    ("call", Obj::Call, Some(Service::Twilio)),
    ("calls", Obj::Call, Some(Service::Twilio)),
    ("voice", Obj::Call, Some(Service::Twilio)),
    ("endpoint", Obj::Endpoint, Some(Service::Stripe)),
    ("endpoints", Obj::Endpoint, Some(Service::Stripe)),
    ("webhook", Obj::Webhook, None),
    ("webhooks", Obj::Webhook, None),
    ("event", Obj::Event, Some(Service::Stripe)),
    ("events", Obj::Event, Some(Service::Stripe)),
    ("model", Obj::Model, Some(Service::Openai)),
    ("models", Obj::Model, Some(Service::Openai)),
    ("completion", Obj::Completion, Some(Service::Openai)),
    ("completions", Obj::Completion, Some(Service::Openai)),
    ("chat", Obj::Completion, Some(Service::Openai)),
    ("prompt", Obj::Completion, Some(Service::Openai)),
    ("ratelimit", Obj::RateLimit, None),
    ("ratelimits", Obj::RateLimit, None),
    ("headroom", Obj::RateLimit, None),
    ("quota", Obj::RateLimit, None),
    ("throttled", Obj::RateLimit, None),
    ("throttling", Obj::RateLimit, None),
    ("error", Obj::Error, None),
    ("errors", Obj::Error, None),
    ("failure", Obj::Error, None),
    ("failures", Obj::Error, None),
    ("alert", Obj::Alert, Some(Service::Twilio)),
    ("alerts", Obj::Alert, Some(Service::Twilio)),
    ("url", Obj::Url, None),
    ("urls", Obj::Url, None),
];

/// Service names (misspellings are corrected to these).
pub(in crate::intent) const SERVICES: &[(&str, Service)] = &[
    ("twilio", Service::Twilio),
    ("stripe", Service::Stripe),
    ("openai", Service::Openai),
];

/// Words that name no operation but imply a service.
pub(in crate::intent) const SERVICE_HINTS: &[(&str, Service)] = &[
    ("payment", Service::Stripe),
    ("payments", Service::Stripe),
    ("gpt", Service::Openai),
    ("chatgpt", Service::Openai),
    ("llm", Service::Openai),
    ("llms", Service::Openai),
];

/// Words that ask whether a service works: the health check ("is stripe working", "API
/// health", "check status"). "up" and "down" count only next to a service or "it"/"apis".
pub(in crate::intent) const HEALTH: &[&str] = &[
    "health",
    "healthy",
    "unhealthy",
    "healthcheck",
    "status",
    "statuses",
    "uptime",
    "operational",
    "alive",
    "reachable",
    "responsive",
    "working",
    "outage",
    "outages",
    "heartbeat",
];

/// Words that ask about usage or money: the usage report. A question with one never plans a
/// change ("how much did we spend on openai" must not send a paid completion).
pub(in crate::intent) const USAGE: &[&str] = &[
    "usage",
    "spend",
    "spent",
    "spending",
    "cost",
    "costs",
    "costing",
    "costly",
    "bill",
    "bills",
    "billed",
    "billing",
    "money",
    "expense",
    "expenses",
    "expensive",
    "paying",
    "paid",
    "fee",
    "fees",
    "revenue",
    "volume",
    "volumes",
    "tokens",
    "consumption",
    "consumed",
    "invoiced",
];

/// Words that ask about configuration: the configuration audit ("audit API config", "list
/// resources").
pub(in crate::intent) const CONFIG: &[&str] = &[
    "config",
    "configs",
    "configuration",
    "configurations",
    "configured",
    "misconfigured",
    "misconfiguration",
    "misconfigurations",
    "settings",
    "setup",
    "setups",
    "resources",
    "inventory",
];

/// Words that make a request a question about errors.
pub(in crate::intent) const QUESTION: &[&str] = &[
    "why",
    "wrong",
    "problem",
    "problems",
    "issue",
    "issues",
    "broken",
    "happening",
    "happened",
    "down",
];

/// Words saying something keeps failing (a process: "why are calls failing").
pub(in crate::intent) const FAILING: &[&str] =
    &["failing", "fail", "fails", "erroring", "broken", "bouncing"];

/// Words saying something failed (a state: "show failed messages").
pub(in crate::intent) const FAILED: &[&str] =
    &["failed", "undelivered", "bounced", "unsent", "missed"];

/// Verbs of things the catalog does not do; a request with one is unknown.
pub(in crate::intent) const OUT_OF_SCOPE_VERBS: &[&str] = &[
    "refund",
    "cancel",
    "rotate",
    "revoke",
    "create",
    "transfer",
    "upgrade",
    "downgrade",
    "close",
    "port",
    "record",
    "forward",
    "invite",
    "pay",
    "sell",
    "block",
    "unblock",
    "email",
    "train",
    "finetune",
    "generate",
    "translate",
    "dial",
];

/// Nouns the catalog has no operation on, with the service they belong to.
pub(in crate::intent) const OUT_OF_SCOPE_NOUNS: &[(&str, Option<Service>)] = &[
    ("account", None),
    ("accounts", None),
    ("charge", Some(Service::Stripe)),
    ("charges", Some(Service::Stripe)),
    ("refund", Some(Service::Stripe)),
    ("refunds", Some(Service::Stripe)),
    ("customer", Some(Service::Stripe)),
    ("customers", Some(Service::Stripe)),
    ("subscription", Some(Service::Stripe)),
    ("subscriptions", Some(Service::Stripe)),
    ("invoice", Some(Service::Stripe)),
    ("invoices", Some(Service::Stripe)),
    ("payout", Some(Service::Stripe)),
    ("payouts", Some(Service::Stripe)),
    ("dispute", Some(Service::Stripe)),
    ("disputes", Some(Service::Stripe)),
    ("coupon", Some(Service::Stripe)),
    ("coupons", Some(Service::Stripe)),
    ("product", Some(Service::Stripe)),
    ("products", Some(Service::Stripe)),
    ("balance", None),
    ("key", None),
    ("keys", None),
    ("password", None),
    ("card", None),
    ("cards", None),
    ("file", None),
    ("files", None),
    ("assistant", Some(Service::Openai)),
    ("assistants", Some(Service::Openai)),
    ("embedding", Some(Service::Openai)),
    ("embeddings", Some(Service::Openai)),
    ("image", Some(Service::Openai)),
    ("images", Some(Service::Openai)),
    ("conference", Some(Service::Twilio)),
    ("recording", Some(Service::Twilio)),
    ("recordings", Some(Service::Twilio)),
    ("transcript", None),
    ("trunk", Some(Service::Twilio)),
    ("domain", None),
    ("user", None),
    ("users", None),
    ("team", None),
    ("organization", None),
    ("project", None),
    ("invoicing", None),
    ("credits", None),
];
