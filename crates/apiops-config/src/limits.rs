//! The limits of `apiops serve`'s accept loop (`[serve]` in the configuration), as the server
//! applies them.

use std::time::Duration;

/// The server's limits (`[serve]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head must arrive within this.
    pub header_read_timeout: Duration,
    /// A whole request (body and answer included) must finish within this.
    pub request_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Webhook requests handled at once; more get 503 with `Retry-After`.
    pub max_webhook_requests: usize,
    /// Other requests (dashboard, `/metrics`, `/mcp`, `/healthz`) handled at once.
    pub max_other_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1_024,
            max_webhook_requests: 512,
            max_other_requests: 64,
        }
    }
}
