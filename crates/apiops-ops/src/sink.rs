//! The event log as the error scan's sink: what `apiops errors` and the MCP error audit record
//! every event they see into ([`apiops_providers::scan::EventSink`] over a [`Store`]).

use apiops_core::ErrorEvent;
use apiops_providers::scan::{EventSink, SinkError};
use apiops_store::Store;

/// The event log as the scan's sink.
#[derive(Clone, Copy)]
pub struct StoreSink<'a>(pub &'a dyn Store);

impl std::fmt::Debug for StoreSink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreSink")
    }
}

#[async_trait::async_trait]
impl EventSink for StoreSink<'_> {
    async fn append(&self, events: &[ErrorEvent]) -> Result<u64, SinkError> {
        Ok(self.0.append_events(events).await?)
    }
}
