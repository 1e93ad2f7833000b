//! Items written as JSON Lines as a listing hands them over (`--all`): one line per item,
//! nothing kept. A write that fails (a closed pipe) stops the listing: the item callback
//! answers [`PagingError::Stopped`] and the write error is kept for the caller to report.

use std::io::{self, Write};

use serde_json::Value;

use crate::error::{CallError, PagingError};

/// A JSON Lines writer for [`crate::Api::each_item`] and [`crate::Api::graphql_each_node`].
#[derive(Debug)]
pub struct JsonLines<W: Write> {
    out: io::BufWriter<W>,
    error: Option<io::Error>,
}

impl<W: Write> JsonLines<W> {
    /// Lines into `out`, buffered.
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines {
            out: io::BufWriter::new(out),
            error: None,
        }
    }

    /// Writes `item` as one line; a failed write stops the listing.
    pub fn item(&mut self, item: Value) -> Result<(), CallError> {
        let written = serde_json::to_writer(&mut self.out, &item)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        written.map_err(|e| {
            self.error = Some(e);
            CallError::Paging(PagingError::Stopped)
        })
    }

    /// True when a write failed (the listing's own error is then not the API's).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Flushes; the write error that stopped the listing, if one did.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_one_line_per_item_and_stops_on_a_failed_write() {
        let mut buf = Vec::new();
        let mut lines = JsonLines::new(&mut buf);
        lines.item(json!({"a": 1})).expect("written");
        lines.item(json!([2])).expect("written");
        assert!(!lines.failed());
        lines.finish().expect("flushed");
        assert_eq!(String::from_utf8_lossy(&buf), "{\"a\":1}\n[2]\n");

        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let mut lines = JsonLines::new(Closed);
        // Large enough to pass the buffer and reach the closed pipe.
        let big = json!("x".repeat(20_000));
        assert!(matches!(
            lines.item(big),
            Err(CallError::Paging(PagingError::Stopped))
        ));
        assert!(lines.failed());
        assert_eq!(
            lines.finish().map_err(|e| e.kind()),
            Err(io::ErrorKind::BrokenPipe)
        );
    }
}
