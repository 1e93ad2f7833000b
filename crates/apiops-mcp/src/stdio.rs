//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout, with one addition to what
//! rmcp does by itself.
//!
//! rmcp silently skips a line that is not JSON at all (as the other official SDKs do, to avoid
//! error storms between two peers echoing garbage), and answers well-formed JSON that is not a
//! JSON-RPC message with `-32600` but without any `id`. JSON-RPC 2.0 wants `-32700 Parse error`
//! with a null id for the first, and the `id` (null only when it cannot be detected) for the
//! second; a client that sent a broken message deserves to know which one it was. So a filter
//! in front of rmcp checks every line read from stdin: a JSON-RPC message goes on to rmcp
//! unchanged; anything else is answered here and goes no further. (No storm is possible: the
//! answer is a well-formed response, which a peer has no reason to answer.) Lines longer
//! than [`MAX_LINE_BYTES`] are discarded and answered with `-32600`.
//!
//! rmcp's output and these answers reach stdout through one writer task, line by line, so they
//! never interleave. Nothing else in the process writes to stdout: logs go to stderr.

use std::io;

use rmcp::ServiceExt as _;
use rmcp::handler::server::ServerHandler;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;

/// The longest message accepted.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
const PIPE_BYTES: usize = 256 * 1024;

/// What reading one line found.
#[derive(Debug, PartialEq, Eq)]
enum Read {
    /// A line (without its `\n`) is in the buffer.
    Line,
    /// A line longer than the limit was read and dropped.
    TooLong,
    /// The input ended.
    Eof,
}

/// Reads one `\n`-terminated line into `buf` (cleared first), never holding more than `max`
/// bytes of it. A last line without `\n` counts as a line.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Read> {
    buf.clear();
    let mut too_long = false;
    let mut seen = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (seen, too_long) {
                (false, _) => Read::Eof,
                (true, true) => Read::TooLong,
                (true, false) => Read::Line,
            });
        }
        seen = true;
        let (chunk, consumed, end) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        reader.consume(consumed);
        if end {
            return Ok(if too_long { Read::TooLong } else { Read::Line });
        }
    }
}

/// What to do with one line read from stdin.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// A JSON-RPC message (or a notification rmcp may want to ignore): pass it on.
    Forward,
    /// A blank line: nothing.
    Skip,
    /// Not JSON, or not a JSON-RPC message: this answer, and nothing else.
    Answer(Vec<u8>),
}

/// Judges a line: not JSON gets `-32700` (id null); JSON that is not a JSON-RPC message the
/// server can take gets `-32600` with the request's id when it has a usable one (JSON-RPC 2.0
/// wants the id whenever it can be detected; rmcp would answer without any). Notifications are
/// never answered: a malformed one is passed on for rmcp to ignore.
fn check(line: &[u8]) -> Verdict {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let body = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip;
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Verdict::Answer(error_line(
                -32700,
                &format!("Parse error: {e}"),
                Value::Null,
            ));
        }
    };
    let Err(e) = serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) else {
        return Verdict::Forward;
    };
    let id = value
        .get("id")
        .filter(|id| id.is_string() || id.is_i64() || id.is_u64());
    let is_notification = value.get("method").is_some() && value.get("id").is_none();
    if is_notification {
        return Verdict::Forward;
    }
    Verdict::Answer(error_line(
        -32600,
        &format!("Invalid Request: {e}"),
        id.cloned().unwrap_or(Value::Null),
    ))
}

fn error_line(code: i64, message: &str, id: Value) -> Vec<u8> {
    let mut out = serde_json::to_vec(&json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code, "message": message},
    }))
    .unwrap_or_default();
    out.push(b'\n');
    out
}

/// Reads `input` line by line: JSON goes to `to_rmcp`, anything else is answered on `out`.
async fn filter<R: AsyncBufRead + Unpin, W: AsyncWrite + Unpin>(
    mut input: R,
    mut to_rmcp: W,
    out: mpsc::Sender<Vec<u8>>,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        match read_line(&mut input, &mut line, MAX_LINE_BYTES).await? {
            Read::Eof => return to_rmcp.shutdown().await,
            Read::TooLong => {
                tracing::warn!("discarded a message longer than {MAX_LINE_BYTES} bytes");
                let answer = error_line(
                    -32600,
                    &format!("Invalid Request: message longer than {MAX_LINE_BYTES} bytes"),
                    Value::Null,
                );
                if out.send(answer).await.is_err() {
                    return Ok(());
                }
            }
            Read::Line => match check(&line) {
                Verdict::Answer(answer) => {
                    tracing::debug!("answered a malformed message with a JSON-RPC error");
                    if out.send(answer).await.is_err() {
                        return Ok(());
                    }
                }
                Verdict::Skip => {}
                Verdict::Forward => {
                    line.push(b'\n');
                    to_rmcp.write_all(&line).await?;
                    to_rmcp.flush().await?;
                }
            },
        }
    }
}

/// Copies rmcp's output to `out` line by line.
async fn pump<R: AsyncBufRead + Unpin>(
    mut from_rmcp: R,
    out: mpsc::Sender<Vec<u8>>,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if from_rmcp.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        if out.send(std::mem::take(&mut line)).await.is_err() {
            return Ok(());
        }
    }
}

/// Writes each line to `stdout` and flushes it.
async fn write_out<W: AsyncWrite + Unpin>(
    mut stdout: W,
    mut lines: mpsc::Receiver<Vec<u8>>,
) -> io::Result<()> {
    while let Some(line) = lines.recv().await {
        stdout.write_all(&line).await?;
        stdout.flush().await?;
    }
    Ok(())
}

/// Serves `handler` on the process's stdin and stdout (`apiops mcp`) until stdin ends.
pub async fn serve_process<H: ServerHandler>(handler: H) -> anyhow::Result<()> {
    let (input, output) = rmcp::transport::stdio_pipes();
    serve(handler, input, output).await
}

/// Serves `handler` over `input`/`output` until the input ends or the client goes away.
pub async fn serve<H, R, W>(handler: H, input: R, output: W) -> anyhow::Result<()>
where
    H: ServerHandler,
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_in, filtered_w) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_out, out_r) = tokio::io::duplex(PIPE_BYTES);
    let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(write_out(output, rx));
    let reader = tokio::spawn(filter(BufReader::new(input), filtered_w, tx.clone()));
    let pumper = tokio::spawn(pump(BufReader::new(out_r), tx));
    let outcome = match handler.serve((rmcp_in, rmcp_out)).await {
        Ok(running) => running.waiting().await.map(|reason| {
            tracing::info!("MCP session ended: {reason:?}");
        }),
        Err(e) => {
            // The client left before initializing (or sent nothing): not an error of ours.
            tracing::info!("MCP session did not start: {e}");
            Ok(())
        }
    };
    reader.abort();
    let _ = pumper.await;
    let _ = writer.await;
    outcome.map_err(|e| anyhow::anyhow!("the MCP service stopped: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<(Read, Vec<u8>)> {
        let mut r = BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let read = read_line(&mut r, &mut buf, max).await.expect("read");
            if read == Read::Eof {
                return out;
            }
            out.push((read, buf.clone()));
        }
    }

    #[tokio::test]
    async fn lines_are_split_bounded_and_a_last_unterminated_line_counts() {
        let got = lines(b"{\"a\":1}\nxxxxxxxxxxxxxxxx\n\n{}", 10).await;
        assert_eq!(
            got,
            vec![
                (Read::Line, b"{\"a\":1}".to_vec()),
                (Read::TooLong, vec![]),
                (Read::Line, vec![]),
                (Read::Line, b"{}".to_vec()),
            ]
        );
    }

    fn answer(line: &[u8]) -> Value {
        match check(line) {
            Verdict::Answer(a) => {
                assert!(a.ends_with(b"\n"));
                serde_json::from_slice(&a).expect("json")
            }
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    #[test]
    fn messages_pass_and_malformed_ones_get_their_json_rpc_error() {
        for ok in [
            &b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}"[..],
            b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\r",
            b"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
            // A malformed notification is rmcp's to ignore: notifications get no answer.
            b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":7}",
        ] {
            assert_eq!(check(ok), Verdict::Forward, "{}", String::from_utf8_lossy(ok));
        }
        assert_eq!(check(b"  \r"), Verdict::Skip);
        for bad in [&b"not json"[..], b"{\"jsonrpc\":", b"\xff\xfe"] {
            let v = answer(bad);
            assert_eq!(v["error"]["code"], -32700);
            assert_eq!(v["id"], Value::Null);
            assert_eq!(v["jsonrpc"], "2.0");
        }
        let v =
            answer(b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":\"oops\"}");
        assert_eq!(
            (v["error"]["code"].clone(), v["id"].clone()),
            (json!(-32600), json!(7))
        );
        let v = answer(b"{\"foo\":\"bar\"}");
        assert_eq!(
            (v["error"]["code"].clone(), v["id"].clone()),
            (json!(-32600), Value::Null)
        );
        let v = answer(b"[1,2]");
        assert_eq!(v["error"]["code"], -32600);
        let v = answer(b"{\"jsonrpc\":\"2.0\",\"id\":{\"x\":1},\"method\":\"ping\"}");
        assert_eq!(v["id"], Value::Null);
    }

    #[tokio::test]
    async fn the_filter_passes_json_and_answers_the_rest() {
        let input: &[u8] = b"garbage\n{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n\n";
        let (tx, mut rx) = mpsc::channel(8);
        let mut passed = Vec::new();
        filter(BufReader::new(input), &mut passed, tx)
            .await
            .expect("filter");
        assert_eq!(
            passed,
            b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n"
        );
        let answer = rx.recv().await.expect("one answer");
        assert!(String::from_utf8_lossy(&answer).contains("-32700"));
        assert!(rx.recv().await.is_none());
    }
}
