//! The requests apiops was asked to understand, each with the capability it must reach and
//! paraphrases of it: one table, tested in CI (every phrase and paraphrase reaches its
//! capability, and none that reads plans a side effect) and shown in the README
//! ([`markdown_table`]; a test keeps the README's copy equal to it).

use serde::Serialize;

use crate::catalog::OpKind;

/// What apiops can do for a request, as a person names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// `health.check`
    Health,
    /// `errors.audit` (by service and resource; failed messages are its `message` part)
    ErrorAudit,
    /// `config.audit` (numbers, services, webhook URLs and endpoints, models, projects)
    ConfigAudit,
    /// `config.audit` restricted to webhook URLs and endpoints
    WebhookConfig,
    /// `webhooks.audit`: the error audit and the webhook part of the configuration audit
    WebhookIssues,
    /// `usage.report`
    Usage,
    /// `openai.rate_limits.check`
    RateLimits,
    /// `twilio.numbers.buy` (a person confirms the plan)
    Purchase,
    /// `twilio.messages.send_test` (a person confirms the plan)
    TestMessage,
}

impl Capability {
    /// The capability an operation belongs to, if it is one of the table's.
    pub fn of(kind: OpKind, webhooks_only: bool) -> Option<Capability> {
        Some(match kind {
            OpKind::HealthCheck => Capability::Health,
            OpKind::AuditErrors | OpKind::TwilioListFailedMessages => Capability::ErrorAudit,
            OpKind::AuditConfig if webhooks_only => Capability::WebhookConfig,
            OpKind::AuditConfig => Capability::ConfigAudit,
            OpKind::AuditWebhooks => Capability::WebhookIssues,
            OpKind::UsageReport => Capability::Usage,
            OpKind::OpenaiCheckRateLimits => Capability::RateLimits,
            OpKind::TwilioBuyNumber => Capability::Purchase,
            OpKind::TwilioSendTestSms => Capability::TestMessage,
            _ => return None,
        })
    }

    /// Its words in the README.
    pub fn describe(self) -> &'static str {
        match self {
            Capability::Health => "health check (`health.check`)",
            Capability::ErrorAudit => "error audit (`errors.audit`, by service and resource)",
            Capability::ConfigAudit => "configuration audit (`config.audit`)",
            Capability::WebhookConfig => {
                "configuration audit of webhook URLs and endpoints (`config.audit`, scope webhooks)"
            }
            Capability::WebhookIssues => {
                "error audit + webhook part of the configuration audit (`webhooks.audit`)"
            }
            Capability::Usage => "usage and spend (`usage.report`)",
            Capability::RateLimits => "rate limits (`openai.rate_limits.check`)",
            Capability::Purchase => "purchase (`twilio.numbers.buy`; a person confirms)",
            Capability::TestMessage => {
                "test message (`twilio.messages.send_test`; a person confirms)"
            }
        }
    }

    /// Whether reaching it changes something (then a person confirms the plan).
    pub fn changes(self) -> bool {
        matches!(self, Capability::Purchase | Capability::TestMessage)
    }
}

/// One request of the list, with its capability and paraphrases.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Phrase {
    /// As the request wrote it (`[service]` filled in with one).
    pub phrase: &'static str,
    /// What it must reach.
    pub capability: Capability,
    /// Other ways to say it (at least five).
    pub paraphrases: &'static [&'static str],
}

/// Every request apiops was asked to act on, with paraphrases.
pub const PHRASES: &[Phrase] = &[
    Phrase {
        phrase: "check Twilio errors",
        capability: Capability::ErrorAudit,
        paraphrases: &[
            "show twilio errors",
            "any errors on twilio?",
            "twilio errors in the last 6 hours",
            "look into twilio failures",
            "audit twilio errors",
            "list twilio errors since 2d",
        ],
    },
    Phrase {
        phrase: "audit API config",
        capability: Capability::ConfigAudit,
        paraphrases: &[
            "audit the configuration",
            "check our api configuration",
            "review twilio settings",
            "is anything misconfigured?",
            "audit stripe setup",
            "inspect the openai config",
        ],
    },
    Phrase {
        phrase: "why are calls failing",
        capability: Capability::ErrorAudit,
        paraphrases: &[
            "why do calls fail",
            "what's wrong with calls",
            "calls keep failing",
            "voice calls are broken",
            "why are my twilio calls failing since yesterday",
            "check failed calls",
        ],
    },
    Phrase {
        phrase: "monitor API usage",
        capability: Capability::Usage,
        paraphrases: &[
            "show api usage",
            "how much did we spend on openai this month",
            "twilio spend last month",
            "what are our stripe fees today",
            "openai costs by model",
            "track usage per day",
            "how much are we paying twilio",
            "token usage by project",
            "how much would a test completion cost",
        ],
    },
    Phrase {
        phrase: "list failed messages",
        capability: Capability::ErrorAudit,
        paraphrases: &[
            "show failed messages",
            "show me undelivered sms from the last 6 hours",
            "which texts failed",
            "list undelivered messages",
            "failed sms today",
            "messages that were not delivered",
        ],
    },
    Phrase {
        phrase: "OpenAI rate limits",
        capability: Capability::RateLimits,
        paraphrases: &[
            "check openai rate limits",
            "how much headroom do we have on openai",
            "show rate limits",
            "are we being throttled by openai",
            "openai quota",
            "rate limit headroom",
        ],
    },
    Phrase {
        phrase: "Stripe webhook issues",
        capability: Capability::WebhookIssues,
        paraphrases: &[
            "stripe webhook problems",
            "why are stripe webhooks failing",
            "stripe webhooks are broken",
            "check stripe webhook errors",
            "twilio webhook issues",
            "webhook failures",
        ],
    },
    Phrase {
        phrase: "buy a phone number",
        capability: Capability::Purchase,
        paraphrases: &[
            "buy a phone number in 415",
            "purchase a number in area code 212",
            "purchase a new phone number in 650",
            "provision a 415 number",
            "buy +14155550123",
            "i need to buy a twilio number in 510",
        ],
    },
    Phrase {
        phrase: "API health check",
        capability: Capability::Health,
        paraphrases: &[
            "run a health check",
            "health check for twilio",
            "check the health of our apis",
            "are the apis healthy?",
            "stripe health",
            "healthcheck openai",
        ],
    },
    Phrase {
        phrase: "API health",
        capability: Capability::Health,
        paraphrases: &[
            "api status",
            "how healthy are our integrations",
            "twilio health",
            "health of every service",
            "openai uptime",
            "are the services operational",
        ],
    },
    Phrase {
        phrase: "check status",
        capability: Capability::Health,
        paraphrases: &[
            "check the status",
            "status of stripe",
            "show status",
            "what's the status of twilio",
            "stripe status",
            "status check",
        ],
    },
    Phrase {
        phrase: "is stripe working",
        capability: Capability::Health,
        paraphrases: &[
            "is twilio working?",
            "is openai up",
            "is stripe down?",
            "is twilio reachable",
            "is it working",
            "are the apis up",
        ],
    },
    Phrase {
        phrase: "check errors",
        capability: Capability::ErrorAudit,
        paraphrases: &[
            "show errors",
            "any errors?",
            "errors in the last hour",
            "check for failures",
            "list errors since 2d",
            "what errors did we get today",
        ],
    },
    Phrase {
        phrase: "what's failing",
        capability: Capability::ErrorAudit,
        paraphrases: &[
            "what is failing",
            "what's broken",
            "anything failing?",
            "whats wrong",
            "what failed today",
            "what went wrong on stripe",
        ],
    },
    Phrase {
        phrase: "audit twilio",
        capability: Capability::ConfigAudit,
        paraphrases: &[
            "audit stripe",
            "audit openai",
            "audit everything",
            "run an audit",
            "audit our phone numbers",
            "audit the twilio account setup",
        ],
    },
    Phrase {
        phrase: "audit config",
        capability: Capability::ConfigAudit,
        paraphrases: &[
            "audit configuration",
            "check config",
            "show configuration",
            "config audit",
            "check settings",
            "review the configuration of stripe",
        ],
    },
    Phrase {
        phrase: "check webhooks",
        capability: Capability::WebhookConfig,
        paraphrases: &[
            "check stripe webhooks",
            "audit webhooks",
            "check twilio webhooks",
            "check the webhook endpoints",
            "audit webhook endpoints",
            "inspect webhooks",
        ],
    },
    Phrase {
        phrase: "list resources",
        capability: Capability::ConfigAudit,
        paraphrases: &[
            "show resources",
            "list our twilio resources",
            "inventory",
            "show the inventory",
            "what resources do we have",
            "list stripe resources",
        ],
    },
    Phrase {
        phrase: "send a test message to +14155550100",
        capability: Capability::TestMessage,
        paraphrases: &[
            "send a test sms to +14155550100",
            "text +14155550100 a test",
            "send test message to +14155550100 and +14155550101",
            "test sms to +14155550100",
            "send a test text to +14155550100",
            "please send a test message to +14155550100",
        ],
    },
];

/// The table as Markdown, for the README.
pub fn markdown_table() -> String {
    let mut out = String::from("| request | reaches | also understood |\n|---|---|---|\n");
    for p in PHRASES {
        let paraphrases: Vec<String> = p.paraphrases.iter().map(|x| format!("\"{x}\"")).collect();
        out.push_str(&format!(
            "| \"{}\" | {} | {} |\n",
            p.phrase,
            p.capability.describe(),
            paraphrases.join(", ")
        ));
    }
    out
}
