//! The words the parser knows: what each one means, and the vocabulary spelling correction
//! aims at. Every word a rule looks at is listed here, so a misspelling of it can be corrected;
//! common words no rule needs are listed too, so that they are not "corrected" into one that a
//! rule does ("best" must not become "test").

use apiops_core::Service;

/// What a verb asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Verb {
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
pub(super) enum Obj {
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
pub(super) const VERBS: &[(&str, Verb)] = &[
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
pub(super) const OBJECTS: &[(&str, Obj, Option<Service>)] = &[
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
pub(super) const SERVICES: &[(&str, Service)] = &[
    ("twilio", Service::Twilio),
    ("stripe", Service::Stripe),
    ("openai", Service::Openai),
];

/// Words that name no operation but imply a service.
pub(super) const SERVICE_HINTS: &[(&str, Service)] = &[
    ("payment", Service::Stripe),
    ("payments", Service::Stripe),
    ("gpt", Service::Openai),
    ("chatgpt", Service::Openai),
    ("llm", Service::Openai),
    ("llms", Service::Openai),
];

/// Words that ask whether a service works: the health check ("is stripe working", "API
/// health", "check status"). "up" and "down" count only next to a service or "it"/"apis".
pub(super) const HEALTH: &[&str] = &[
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
pub(super) const USAGE: &[&str] = &[
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
pub(super) const CONFIG: &[&str] = &[
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
pub(super) const QUESTION: &[&str] = &[
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
pub(super) const FAILING: &[&str] = &["failing", "fail", "fails", "erroring", "broken", "bouncing"];

/// Words saying something failed (a state: "show failed messages").
pub(super) const FAILED: &[&str] = &["failed", "undelivered", "bounced", "unsent", "missed"];

/// Verbs of things the catalog does not do; a request with one is unknown.
pub(super) const OUT_OF_SCOPE_VERBS: &[&str] = &[
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
pub(super) const OUT_OF_SCOPE_NOUNS: &[(&str, Option<Service>)] = &[
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

/// Units of time, in seconds.
pub(super) const UNITS: &[(&str, u64)] = &[
    ("second", 1),
    ("seconds", 1),
    ("sec", 1),
    ("secs", 1),
    ("minute", 60),
    ("minutes", 60),
    ("min", 60),
    ("mins", 60),
    ("hour", 3600),
    ("hours", 3600),
    ("hr", 3600),
    ("hrs", 3600),
    ("h", 3600),
    ("day", 86_400),
    ("days", 86_400),
    ("d", 86_400),
    ("week", 7 * 86_400),
    ("weeks", 7 * 86_400),
    ("wk", 7 * 86_400),
    ("wks", 7 * 86_400),
    ("w", 7 * 86_400),
    ("month", 30 * 86_400),
    ("months", 30 * 86_400),
    ("mo", 30 * 86_400),
];

/// Number words, for durations and counts ("the last two hours").
pub(super) const NUMBER_WORDS: &[(&str, u64)] = &[
    ("a", 1),
    ("an", 1),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fifteen", 15),
    ("twenty", 20),
    ("thirty", 30),
];

/// Words for a time window without a number.
pub(super) const TIME_WORDS: &[(&str, u64)] = &[("today", 86_400), ("yesterday", 2 * 86_400)];

/// Countries by name, ISO 3166-1 alpha-2; multi-word names are matched word by word.
pub(super) const COUNTRIES: &[(&str, &str)] = &[
    ("united states", "US"),
    ("united states of america", "US"),
    ("usa", "US"),
    ("america", "US"),
    ("uk", "GB"),
    ("united kingdom", "GB"),
    ("great britain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("canada", "CA"),
    ("australia", "AU"),
    ("germany", "DE"),
    ("france", "FR"),
    ("spain", "ES"),
    ("italy", "IT"),
    ("ireland", "IE"),
    ("netherlands", "NL"),
    ("mexico", "MX"),
    ("brazil", "BR"),
    ("india", "IN"),
    ("japan", "JP"),
    ("sweden", "SE"),
    ("norway", "NO"),
    ("denmark", "DK"),
    ("finland", "FI"),
    ("poland", "PL"),
    ("belgium", "BE"),
    ("switzerland", "CH"),
    ("austria", "AT"),
    ("portugal", "PT"),
    ("new zealand", "NZ"),
    ("south africa", "ZA"),
    ("singapore", "SG"),
    ("hong kong", "HK"),
    ("israel", "IL"),
    ("puerto rico", "PR"),
];

/// ISO codes recognized when written in capitals ("GB", "CA"); `UK` is GB.
pub(super) const ISO_CODES: &[(&str, &str)] = &[
    ("US", "US"),
    ("GB", "GB"),
    ("UK", "GB"),
    ("CA", "CA"),
    ("AU", "AU"),
    ("DE", "DE"),
    ("FR", "FR"),
    ("ES", "ES"),
    ("IT", "IT"),
    ("IE", "IE"),
    ("NL", "NL"),
    ("MX", "MX"),
    ("BR", "BR"),
    ("IN", "IN"),
    ("JP", "JP"),
    ("SE", "SE"),
    ("NO", "NO"),
    ("DK", "DK"),
    ("FI", "FI"),
    ("PL", "PL"),
    ("BE", "BE"),
    ("CH", "CH"),
    ("AT", "AT"),
    ("PT", "PT"),
    ("NZ", "NZ"),
    ("ZA", "ZA"),
    ("SG", "SG"),
    ("HK", "HK"),
    ("IL", "IL"),
    ("PR", "PR"),
];

/// ISO codes that are also English words in capitals ("IN", "IT"): not taken from all-caps text.
pub(super) const ISO_CODES_THAT_ARE_WORDS: &[&str] = &["IN", "IT", "NO", "AT", "BE", "US", "DE"];

/// Calling codes of the countries above (longest match wins), for a number's country.
pub(super) const CALLING_CODES: &[(&str, &str)] = &[
    ("1787", "PR"),
    ("1939", "PR"),
    ("1", "US"),
    ("44", "GB"),
    ("61", "AU"),
    ("49", "DE"),
    ("33", "FR"),
    ("34", "ES"),
    ("39", "IT"),
    ("353", "IE"),
    ("31", "NL"),
    ("52", "MX"),
    ("55", "BR"),
    ("91", "IN"),
    ("81", "JP"),
    ("46", "SE"),
    ("47", "NO"),
    ("45", "DK"),
    ("358", "FI"),
    ("48", "PL"),
    ("32", "BE"),
    ("41", "CH"),
    ("43", "AT"),
    ("351", "PT"),
    ("64", "NZ"),
    ("27", "ZA"),
    ("65", "SG"),
    ("852", "HK"),
    ("972", "IL"),
];

/// Words that join two requests ("buy a number and disable the endpoint").
pub(super) const CONJUNCTIONS: &[&str] = &["and", "then", "also", "plus", "afterwards"];

/// Words that may come before the verb of an imperative ("please", "can you").
pub(super) const LEADING_FILLERS: &[&str] = &[
    "please", "pls", "plz", "can", "could", "would", "will", "you", "i", "want", "wanna", "to",
    "need", "like", "lets", "let", "us", "go", "ahead", "hey", "hi", "hello", "ok", "okay", "now",
    "just", "apiops", "kindly", "and", "then", "also", "quickly", "me", "d", "id",
];

/// Words that say not to do something ("don't", "never", "no need to"), as the tokenizer leaves
/// them (apostrophes dropped). Any other word written with "n't" is one too.
pub(super) const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "nevermind",
    "nope",
    "nah",
    "dont",
    "donot",
    "dnt",
    "nvm",
    "doesnt",
    "didnt",
    "shouldnt",
    "shant",
    "wont",
    "wouldnt",
    "cant",
    "cannot",
    "couldnt",
    "mustnt",
    "neednt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "havent",
    "hasnt",
    "hadnt",
    "aint",
];

/// Verbs that say to leave an action undone ("stop sending", "avoid buying", "hold off on
/// releasing", "forget about buying").
pub(super) const HALTS: &[&str] = &["stop", "avoid", "skip", "refrain", "hold", "forget"];

/// Words that, after a negation, describe a thing rather than refuse the action: "events that
/// were not delivered", "the endpoint that isn't working" (with participles in -ed). Few on
/// purpose: "don't go ahead", "don't fire off a test" refuse.
pub(super) const STATES: &[&str] = &[
    "working",
    "responding",
    "receiving",
    "delivering",
    "arriving",
    "sent",
    "live",
    "active",
    "online",
    "valid",
    "available",
    "there",
    "arrive",
    "deliver",
    "work",
    "works",
    "succeed",
    "respond",
    "receive",
    "exist",
];

/// Words that may stand between a negation and the state it describes ("not yet delivered",
/// "never been enabled", "no longer working").
pub(super) const STATE_ADVERBS: &[&str] = &[
    "yet",
    "been",
    "being",
    "be",
    "ever",
    "even",
    "currently",
    "properly",
    "really",
    "successfully",
    "correctly",
    "always",
    "fully",
    "actually",
    "longer",
    "get",
    "got",
    "gotten",
    "getting",
];

/// Auxiliaries that open a question when a subject follows ("should I", "is it", "do we").
pub(super) const AUXILIARIES: &[&str] = &[
    "should", "shall", "ought", "can", "could", "may", "might", "must", "would", "will", "do",
    "does", "did", "is", "are", "am", "was", "were",
];

/// Auxiliaries that, before "you", make a polite imperative ("can you buy ...") rather than a
/// question.
pub(super) const POLITE: &[&str] = &["can", "could", "would", "will"];

/// Subjects of a question ("should I", "is it", "would this").
pub(super) const SUBJECTS: &[&str] = &[
    "i", "we", "you", "u", "it", "this", "that", "there", "they", "he", "she", "someone",
];

/// Words that, before the action, make it a question ("what happens if I disable ...", "how
/// do I buy ...", "I wonder whether to ...").
pub(super) const QUESTION_LEADS: &[&str] = &[
    "what",
    "whats",
    "how",
    "whether",
    "wonder",
    "wondering",
    "happens",
];

/// Words that, anywhere, weigh the action rather than order it ("should we ...", "is it safe
/// to ...", "releasing it would be a bad idea", "maybe disable ...").
pub(super) const DOUBTS: &[&str] = &[
    "should",
    "shall",
    "ought",
    "safe",
    "allowed",
    "worth",
    "wise",
    "idea",
    "advisable",
    "risky",
    "dangerous",
    "reversible",
    "maybe",
    "perhaps",
];

/// Common words no rule uses: known, so never corrected into a rule's word.
const COMMON: &[&str] = &[
    "api",
    "apis",
    "daily",
    "category",
    "categories",
    "service",
    "services",
    "integration",
    "integrations",
    "mtd",
    "the",
    "to",
    "for",
    "of",
    "in",
    "on",
    "at",
    "by",
    "with",
    "from",
    "or",
    "into",
    "onto",
    "my",
    "our",
    "your",
    "we",
    "it",
    "its",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "do",
    "does",
    "did",
    "done",
    "have",
    "has",
    "had",
    "that",
    "this",
    "these",
    "those",
    "there",
    "their",
    "they",
    "them",
    "what",
    "whats",
    "which",
    "who",
    "whom",
    "when",
    "where",
    "how",
    "much",
    "many",
    "any",
    "some",
    "all",
    "every",
    "each",
    "new",
    "old",
    "last",
    "past",
    "previous",
    "since",
    "within",
    "over",
    "keeps",
    "keep",
    "kept",
    "still",
    "again",
    "up",
    "out",
    "off",
    "about",
    "going",
    "help",
    "make",
    "run",
    "tell",
    "give",
    "something",
    "sure",
    "thanks",
    "thank",
    "both",
    "other",
    "same",
    "first",
    "next",
    "best",
    "rest",
    "more",
    "most",
    "than",
    "as",
    "if",
    "so",
    "yes",
    "right",
    "only",
    "very",
    "really",
    "yet",
    "ago",
    "back",
    "recent",
    "recently",
    "latest",
    "time",
    "times",
    "code",
    "area",
    "country",
    "digits",
    "containing",
    "contains",
    "contain",
    "ending",
    "starting",
    "local",
    "toll",
    "free",
    "mobile",
    "capable",
    "sender",
    "recipient",
    "recipients",
    "body",
    "saying",
    "says",
    "content",
    "word",
    "words",
    "limit",
    "limits",
    "limited",
    "limiting",
    "rate",
    "rates",
    "top",
    "mode",
    "live",
    "status",
    "callback",
    "fallback",
    "link",
    "hook",
    "hooks",
    "inbound",
    "outbound",
    "incoming",
    "outgoing",
    "turn",
    "switch",
    "shut",
    "start",
    "available",
    "availability",
    "left",
    "remaining",
    "access",
    "able",
    "use",
    "using",
    "used",
    "via",
    "through",
    "per",
    "should",
    "must",
    "might",
    "may",
    "am",
    "were",
    "im",
    "ive",
    "whole",
    "entire",
    "just",
    "also",
    "then",
    "plus",
    "afterwards",
    "please",
    "wanna",
    "want",
    "need",
    "like",
    "lets",
    "hello",
    "okay",
    "kindly",
    "quickly",
    "results",
    "result",
    "show",
    "here",
    "again",
    "someone",
    "somebody",
    "everyone",
    "everything",
    "nothing",
    "anything",
    "currently",
    "current",
    "today",
    "tonight",
    "morning",
    "evening",
    "hour",
    "hours",
    "delivered",
    "delivery",
    "deliveries",
    "deliver",
    "receiver",
    "receive",
    "received",
    "signed",
    "sign",
    "signature",
    "type",
    "types",
    "kind",
    "kinds",
    "working",
    "works",
    "work",
    "going",
    "gone",
    "went",
    "happen",
    "happened",
    "fix",
    "fixed",
    "fixing",
    "reason",
    "reasons",
    "cost",
    "costs",
    "price",
    "prices",
    "pricing",
    "cheap",
    "mine",
    "ours",
    "real",
    "fake",
    "dummy",
    "sample",
    "example",
    "hello",
    "world",
    "number",
    "check",
    "test",
    "text",
    "send",
    "line",
    "lines",
    "log",
    "logs",
    "report",
    "reports",
    "health",
    "healthy",
    "state",
    "states",
    "attempt",
    "attempts",
    "attempted",
    "tokens",
    "token",
    "requests",
    "request",
    "remaining",
    "reset",
    "resets",
    "after",
    "before",
    "between",
    "during",
    "until",
    "ever",
    "always",
    "keeping",
    "seems",
    "seem",
    "look",
    "looks",
    "looking",
    "known",
    "unknown",
    "enabled",
    "disabled",
    "active",
    "inactive",
    "paused",
    "bought",
    "owned",
    "own",
    "owns",
    "having",
    "cell",
    "mail",
    "note",
    "notes",
    "sent",
];

/// Every word a rule or the correction knows.
pub(super) fn vocabulary() -> impl Iterator<Item = &'static str> {
    VERBS
        .iter()
        .map(|(w, _)| *w)
        .chain(OBJECTS.iter().map(|(w, _, _)| *w))
        .chain(SERVICES.iter().map(|(w, _)| *w))
        .chain(SERVICE_HINTS.iter().map(|(w, _)| *w))
        .chain(QUESTION.iter().copied())
        .chain(HEALTH.iter().copied())
        .chain(USAGE.iter().copied())
        .chain(CONFIG.iter().copied())
        .chain(FAILING.iter().copied())
        .chain(FAILED.iter().copied())
        .chain(OUT_OF_SCOPE_VERBS.iter().copied())
        .chain(OUT_OF_SCOPE_NOUNS.iter().map(|(w, _)| *w))
        .chain(UNITS.iter().map(|(w, _)| *w))
        .chain(NUMBER_WORDS.iter().map(|(w, _)| *w))
        .chain(TIME_WORDS.iter().map(|(w, _)| *w))
        .chain(COUNTRIES.iter().flat_map(|(w, _)| w.split(' ')))
        .chain(NEGATIONS.iter().copied())
        .chain(HALTS.iter().copied())
        .chain(STATES.iter().copied())
        .chain(STATE_ADVERBS.iter().copied())
        .chain(AUXILIARIES.iter().copied())
        .chain(SUBJECTS.iter().copied())
        .chain(QUESTION_LEADS.iter().copied())
        .chain(DOUBTS.iter().copied())
        .chain(CONJUNCTIONS.iter().copied())
        .chain(LEADING_FILLERS.iter().copied())
        .chain(COMMON.iter().copied())
}

/// Whether `word` is in the vocabulary as it is.
pub(super) fn is_known(word: &str) -> bool {
    vocabulary().any(|w| w == word)
}

/// Looks `word` up in a table.
pub(super) fn lookup<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// Whether `word` is in a list.
pub(super) fn is_in(list: &[&str], word: &str) -> bool {
    list.contains(&word)
}

/// The verb `word` is.
pub(super) fn verb(word: &str) -> Option<Verb> {
    lookup(VERBS, word)
}

/// The catalog noun `word` is, with the service it implies.
pub(super) fn object(word: &str) -> Option<(Obj, Option<Service>)> {
    OBJECTS
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|(_, o, s)| (*o, *s))
}

/// The seconds in the time unit `word`.
pub(super) fn unit(word: &str) -> Option<u64> {
    lookup(UNITS, word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_is_lower_case_ascii() {
        for w in vocabulary() {
            assert!(
                w.chars().all(|c| c.is_ascii_lowercase()),
                "{w:?} is not a lower-case word"
            );
        }
    }

    #[test]
    fn lookups_find_their_entries() {
        assert_eq!(verb("purchase"), Some(Verb::Buy));
        assert_eq!(object("sms"), Some((Obj::Message, Some(Service::Twilio))));
        assert_eq!(unit("hours"), Some(3600));
        assert!(is_known("twilio"));
        assert!(!is_known("twilo"));
    }
}
