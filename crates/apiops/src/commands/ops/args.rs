//! The arguments of `apiops do` and of the structured `apiops twilio|stripe|openai`
//! subcommands, as clap parses them.

use std::time::Duration;

use apiops_ops::catalog::{DEFAULT_TEST_EVENT, DEFAULT_TEST_MODEL};
use clap::{Args, Subcommand};

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
