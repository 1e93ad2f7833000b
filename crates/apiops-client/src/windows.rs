//! Time windows: [`split`] cuts a time range into half-open windows, and [`scan_in_windows`]
//! scans several windows at once, yielding results in window order or as they arrive — the only way to approach a provider's rate
//! limit when reading a long history. [`scan_windows_settled`] does the same but carries on past
//! a window that fails, and says of each window whether it was read to its end, so a scan can
//! name the windows it could not read and read only those again.
//!
//! Memory stays bounded by the concurrency times [`WINDOW_CHANNEL_CAPACITY`], never by the size
//! of the history. This module knows nothing of HTTP or of any provider's filters: the caller's
//! per-window stream (typically [`crate::pagination::paginate`] with the window as a date
//! filter) does the fetching, and the client's rate gate does the pacing.

use std::sync::Arc;

use futures::stream::{self, BoxStream, Stream, StreamExt};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::error::ClientError;

/// The most windows [`split`] makes, so a tiny width over a long range fails instead of
/// allocating without bound.
pub const MAX_WINDOWS: usize = 1_000_000;

/// Items each window may buffer ahead of the consumer in [`scan_in_windows`].
pub const WINDOW_CHANNEL_CAPACITY: usize = 64;

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// The first instant in the window.
    pub start: Timestamp,
    /// The first instant after the window: the next window's `start`.
    pub end: Timestamp,
}

impl Window {
    /// Whether `t` falls in the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// The window's length.
    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }
}

/// How to cut a range in [`split`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Into this many windows of equal length (to the nanosecond); fewer when the range has
    /// fewer nanoseconds than that.
    Count(usize),
    /// Into windows this long; the last one is cut short at the range's end.
    Width(SignedDuration),
}

/// Cuts `[start, end)` into consecutive half-open windows that cover it exactly: the first
/// starts at `start`, each ends where the next starts, the last ends at `end`, none is empty.
/// An empty range gives no windows.
///
/// Fails on a range that ends before it starts, a count of zero, a width that is not positive,
/// or more than [`MAX_WINDOWS`] windows.
pub fn split(start: Timestamp, end: Timestamp, by: Split) -> Result<Vec<Window>, ClientError> {
    if end < start {
        return Err(invalid(format!(
            "time range ends ({end}) before it starts ({start})"
        )));
    }
    let from = start.as_nanosecond();
    let total = end.as_nanosecond() - from;
    if total == 0 {
        return Ok(Vec::new());
    }
    let bounds: Vec<i128> = match by {
        Split::Count(0) => return Err(invalid("cannot split into zero windows".to_owned())),
        Split::Count(n) => {
            if n > MAX_WINDOWS {
                return Err(too_many(n));
            }
            let n = i128::try_from(n).map_err(|_| too_many(n))?;
            let n = n.min(total);
            // Window i starts at from + total*i/n: the remainder spreads over the windows
            // instead of piling into the last one. total*i fits in an i128: jiff's whole range is under
            // 2^70 ns and i is at most MAX_WINDOWS, under 2^20.
            (0..=n).map(|i| from + total * i / n).collect()
        }
        Split::Width(width) => {
            let w = width.as_nanos();
            if w <= 0 {
                return Err(invalid(format!(
                    "window width must be positive, got {width}"
                )));
            }
            let count = (total + w - 1) / w;
            if count > MAX_WINDOWS as i128 {
                return Err(too_many(usize::try_from(count).unwrap_or(usize::MAX)));
            }
            (0..=count)
                .map(|i| (from + w * i).min(from + total))
                .collect()
        }
    };
    bounds
        .windows(2)
        .map(|pair| {
            Ok(Window {
                start: timestamp(pair[0])?,
                end: timestamp(pair[1])?,
            })
        })
        .collect()
}

fn timestamp(nanos: i128) -> Result<Timestamp, ClientError> {
    // Bounds lie between two valid timestamps, so this only fails on a bug.
    Timestamp::from_nanosecond(nanos).map_err(|e| invalid(format!("window bound: {e}")))
}

fn invalid(reason: String) -> ClientError {
    ClientError::InvalidRequest(reason)
}

fn too_many(n: usize) -> ClientError {
    invalid(format!(
        "{n} windows is more than the {MAX_WINDOWS} allowed"
    ))
}

/// In what order [`scan_in_windows`] yields the items of its windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// All of window 0's items, then window 1's... A later window can buffer only
    /// [`WINDOW_CHANNEL_CAPACITY`] items before it waits for every window ahead of it, so with
    /// many items per window the scan degrades towards one window at a time.
    Windows,
    /// Each window's items in its own order, interleaved across windows as they arrive: a
    /// window with many items never holds up the others. For consumers that do not need the
    /// order (counting, grouping, storing).
    Arrival,
}

/// Scans `windows` with `per_window`, running up to `concurrency` of them at once (taken in the
/// order given), and yields their results in `order`.
///
/// Each window's stream is pumped by its own tokio task into a channel of
/// [`WINDOW_CHANNEL_CAPACITY`] items, so later windows fetch ahead while earlier ones are read,
/// and memory is bounded by `concurrency` times that capacity. At most `concurrency` windows
/// (at least 1) are being pulled at any moment; one more may have its task waiting for a turn.
///
/// The scan ends after the first error, which it yields: a failed window would otherwise leave a
/// silent gap in the history. Dropping the stream stops every producer. A panic in a window's
/// stream resumes in the consumer. Must be polled inside a tokio runtime.
pub fn scan_in_windows<T, E, F, S>(
    windows: Vec<Window>,
    concurrency: usize,
    order: Order,
    per_window: F,
) -> BoxStream<'static, Result<T, E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Fn(Window) -> S + Send + 'static,
    S: Stream<Item = Result<T, E>> + Send + 'static,
{
    until_first_error(windows_in(windows, concurrency, order, per_window)).boxed()
}

/// What [`scan_windows_settled`] yields: a window's items, then how the window ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowItem<T, E> {
    /// An item of the window.
    Item(Window, T),
    /// The window was read to its end: every item it holds came before this.
    Read(Window),
    /// The window ended at this error: the items it yielded are only part of it.
    Unread(Window, E),
}

/// Like [`scan_in_windows`], but a window that fails does not end the scan: each window's
/// items come tagged with it, and each window ends with one [`WindowItem::Read`] or one
/// [`WindowItem::Unread`] (its first error; nothing of it follows). The other windows carry
/// on, so a caller can count the windows read, name the ones that were not, and read those
/// again later. Same concurrency, order, memory bound and cancellation as [`scan_in_windows`].
pub fn scan_windows_settled<T, E, F, S>(
    windows: Vec<Window>,
    concurrency: usize,
    order: Order,
    per_window: F,
) -> BoxStream<'static, WindowItem<T, E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Fn(Window) -> S + Send + 'static,
    S: Stream<Item = Result<T, E>> + Send + 'static,
{
    windows_in(windows, concurrency, order, move |w| {
        settle(w, per_window(w))
    })
}

/// One window's stream as [`WindowItem`]s: its items until the end or the first error, then
/// how it ended.
fn settle<T, E, S>(w: Window, source: S) -> impl Stream<Item = WindowItem<T, E>> + Send + 'static
where
    T: Send + 'static,
    E: Send + 'static,
    S: Stream<Item = Result<T, E>> + Send + 'static,
{
    stream::unfold(Some(Box::pin(source)), move |source| async move {
        let mut source = source?;
        match source.next().await {
            Some(Ok(item)) => Some((WindowItem::Item(w, item), Some(source))),
            Some(Err(e)) => Some((WindowItem::Unread(w, e), None)),
            None => Some((WindowItem::Read(w), None)),
        }
    })
}

/// The machinery of both scans: `per_window`'s streams pumped by tasks, at most
/// `concurrency` at once, merged in `order`.
fn windows_in<I, F, S>(
    windows: Vec<Window>,
    concurrency: usize,
    order: Order,
    per_window: F,
) -> BoxStream<'static, I>
where
    I: Send + 'static,
    F: Fn(Window) -> S + Send + 'static,
    S: Stream<Item = I> + Send + 'static,
{
    let concurrency = concurrency.max(1);
    let turns = Arc::new(Semaphore::new(concurrency));
    // Spawning as each window is taken: `buffered` pulls up to `concurrency` windows ahead but
    // polls a future only until the first one is ready, so a lazy spawn would leave the windows
    // behind it idle until their turn to be read; `flatten_unordered` takes a window only when
    // one of its slots is free, so its producer's turn is always available.
    let producers = stream::iter(windows)
        .map(move |window| spawn_producer(per_window(window), Arc::clone(&turns)));
    match order {
        Order::Windows => producers
            .map(futures::future::ready)
            .buffered(concurrency)
            .flat_map(|(rx, task)| receiver_stream(rx, task))
            .boxed(),
        Order::Arrival => producers
            .map(|(rx, task)| receiver_stream(rx, task).boxed())
            .flatten_unordered(concurrency)
            .boxed(),
    }
}

/// Ends `items` after the first error, which it yields.
fn until_first_error<T: Send, E: Send>(
    items: impl Stream<Item = Result<T, E>> + Send,
) -> impl Stream<Item = Result<T, E>> + Send {
    items.scan(false, |failed, item| {
        let out = if *failed {
            None
        } else {
            *failed = item.is_err();
            Some(item)
        };
        futures::future::ready(out)
    })
}

/// Starts a task that waits for a turn, then pumps `source` into a bounded channel until the
/// source ends or the receiver is gone.
fn spawn_producer<I, S>(source: S, turns: Arc<Semaphore>) -> (mpsc::Receiver<I>, JoinHandle<()>)
where
    I: Send + 'static,
    S: Stream<Item = I> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(WINDOW_CHANNEL_CAPACITY);
    let task = tokio::spawn(async move {
        // The semaphore is fair, so windows get their turns in order and the window being read
        // is never starved by later ones.
        let _turn = tokio::select! {
            turn = turns.acquire_owned() => match turn {
                Ok(turn) => turn,
                Err(_) => return,
            },
            () = tx.closed() => return,
        };
        let mut source = std::pin::pin!(source);
        loop {
            let item = tokio::select! {
                item = source.next() => item,
                // A slow source (a page request in flight) must not outlive the consumer.
                () = tx.closed() => return,
            };
            let Some(item) = item else { return };
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    (rx, task)
}

/// A channel receiver as a stream; once the channel is drained, re-raises a panic of the task
/// that fed it, so a crashed producer never looks like a short window.
fn receiver_stream<I: Send + 'static>(
    rx: mpsc::Receiver<I>,
    task: JoinHandle<()>,
) -> impl Stream<Item = I> + Send {
    stream::unfold((rx, Some(task)), |(mut rx, task)| async move {
        if let Some(item) = rx.recv().await {
            return Some((item, (rx, task)));
        }
        if let Some(task) = task
            && let Err(e) = task.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures::TryStreamExt;
    use proptest::prelude::*;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn check_cover(start: Timestamp, end: Timestamp, windows: &[Window]) {
        if start == end {
            assert!(windows.is_empty());
            return;
        }
        assert_eq!(windows.first().map(|w| w.start), Some(start));
        assert_eq!(windows.last().map(|w| w.end), Some(end));
        for w in windows {
            assert!(w.start < w.end, "empty window {w:?}");
        }
        for pair in windows.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "gap or overlap");
        }
    }

    #[test]
    fn splits_into_equal_windows_table() {
        let day_start = ts("2024-01-01T00:00:00Z");
        let day_end = ts("2024-01-02T00:00:00Z");
        let cases = [
            (Split::Count(4), 4, "2024-01-01T06:00:00Z"),
            (Split::Count(1), 1, "2024-01-02T00:00:00Z"),
            (
                Split::Width(SignedDuration::from_hours(5)),
                5,
                "2024-01-01T05:00:00Z",
            ),
            (
                Split::Width(SignedDuration::from_hours(24)),
                1,
                "2024-01-02T00:00:00Z",
            ),
            (
                Split::Width(SignedDuration::from_hours(48)),
                1,
                "2024-01-02T00:00:00Z",
            ),
        ];
        for (by, count, first_end) in cases {
            let windows = split(day_start, day_end, by).expect("split");
            assert_eq!(windows.len(), count, "{by:?}");
            assert_eq!(windows[0].end, ts(first_end), "{by:?}");
            check_cover(day_start, day_end, &windows);
        }
        let hours5 = split(
            day_start,
            day_end,
            Split::Width(SignedDuration::from_hours(5)),
        )
        .expect("split");
        assert_eq!(hours5[4].duration(), SignedDuration::from_hours(4));
        assert!(hours5[0].contains(day_start));
        assert!(!hours5[0].contains(hours5[0].end));
    }

    #[test]
    fn split_rejects_bad_input_table() {
        let a = ts("2024-01-01T00:00:00Z");
        let b = ts("2024-01-02T00:00:00Z");
        let cases = [
            (b, a, Split::Count(2), "before it starts"),
            (a, b, Split::Count(0), "zero windows"),
            (a, b, Split::Width(SignedDuration::ZERO), "positive"),
            (
                a,
                b,
                Split::Width(SignedDuration::from_secs(-1)),
                "positive",
            ),
            (a, b, Split::Width(SignedDuration::from_nanos(1)), "allowed"),
            (a, b, Split::Count(MAX_WINDOWS + 1), "allowed"),
        ];
        for (start, end, by, want) in cases {
            match split(start, end, by) {
                Err(ClientError::InvalidRequest(reason)) => {
                    assert!(reason.contains(want), "{by:?}: {reason}")
                }
                other => panic!("{by:?}: expected InvalidRequest, got {other:?}"),
            }
        }
        assert!(split(a, a, Split::Count(3)).expect("empty").is_empty());
    }

    proptest! {
        #[test]
        fn split_covers_the_range_exactly(
            start in -10_000_000_000_000_000i128..10_000_000_000_000_000i128,
            len in 0i128..5_000_000_000_000_000i128,
            n in 1usize..200,
            width in 1i64..10_000_000_000_000i64,
            by_count in any::<bool>(),
        ) {
            let s = Timestamp::from_nanosecond(start).expect("start");
            let e = Timestamp::from_nanosecond(start + len).expect("end");
            let by = if by_count { Split::Count(n) } else { Split::Width(SignedDuration::from_nanos(width)) };
            match split(s, e, by) {
                Ok(windows) => {
                    check_cover(s, e, &windows);
                    if let Split::Count(n) = by {
                        let expected = if len == 0 { 0 } else { i128::try_from(n).expect("n").min(len) };
                        prop_assert_eq!(i128::try_from(windows.len()).expect("len"), expected);
                    }
                }
                // Only a tiny width over a long range may be refused.
                Err(e) => prop_assert!(!by_count && e.to_string().contains("allowed"), "{}", e),
            }
        }
    }

    fn hours(n: usize) -> Vec<Window> {
        let start = ts("2024-01-01T00:00:00Z");
        let end = start + SignedDuration::from_hours(i64::try_from(n).expect("hours"));
        split(start, end, Split::Count(n)).expect("split")
    }

    /// A stream per window: `others` for every window but the second, which yields 1, fails
    /// with "window 1 failed", then would yield 2.
    fn the_second_fails(
        windows: &[Window],
        others: Vec<Result<u32, String>>,
    ) -> impl Fn(Window) -> BoxStream<'static, Result<u32, String>> + Send + 'static {
        let second = windows[1];
        move |w| {
            if w == second {
                stream::iter(vec![Ok(1), Err("window 1 failed".to_owned()), Ok(2)]).boxed()
            } else {
                stream::iter(others.clone()).boxed()
            }
        }
    }

    /// Tracks how many windows are being pulled at once.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    /// A window stream that yields `items` results, pausing between them, and holds the gauge
    /// from its first poll to its end.
    fn gauged(
        index: usize,
        items: usize,
        gauge: Arc<Gauge>,
    ) -> impl Stream<Item = Result<(usize, usize), String>> + Send {
        stream::unfold(0usize, move |i| {
            let gauge = Arc::clone(&gauge);
            async move {
                if i == 0 {
                    let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                    gauge.max.fetch_max(now, Ordering::SeqCst);
                }
                if i == items {
                    gauge.now.fetch_sub(1, Ordering::SeqCst);
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                Some((Ok((index, i)), i + 1))
            }
        })
    }

    #[tokio::test(start_paused = true)]
    async fn scan_yields_in_window_order_within_the_concurrency() {
        let windows = hours(12);
        let index_of: Vec<Timestamp> = windows.iter().map(|w| w.start).collect();
        let gauge = Arc::new(Gauge::default());
        let g = Arc::clone(&gauge);
        let got: Vec<(usize, usize)> = scan_in_windows(windows, 3, Order::Windows, move |w| {
            let index = index_of
                .iter()
                .position(|s| *s == w.start)
                .expect("known window");
            // Later windows are shorter, so they finish before earlier ones and must wait.
            gauged(index, 12 - index, Arc::clone(&g))
        })
        .try_collect()
        .await
        .expect("scan");
        let want: Vec<(usize, usize)> = (0..12)
            .flat_map(|w| (0..12 - w).map(move |i| (w, i)))
            .collect();
        assert_eq!(got, want);
        let max = gauge.max.load(Ordering::SeqCst);
        assert!(max > 1, "windows never overlapped");
        assert!(max <= 3, "{max} windows in flight with a concurrency of 3");
        assert_eq!(gauge.now.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn scan_stops_after_the_first_error() {
        let windows = hours(4);
        let per_window = the_second_fails(&windows, vec![Ok(0), Ok(0)]);
        let got: Vec<Result<u32, String>> = scan_in_windows(windows, 2, Order::Windows, per_window)
            .collect()
            .await;
        assert_eq!(
            got,
            vec![Ok(0), Ok(0), Ok(1), Err("window 1 failed".to_owned())]
        );
    }

    /// Counts live window streams: incremented on creation, decremented on drop.
    struct Live(Arc<AtomicUsize>);

    impl Drop for Live {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_scan_stops_the_producers() {
        let produced = Arc::new(AtomicUsize::new(0));
        let live = Arc::new(AtomicUsize::new(0));
        let (p, l) = (Arc::clone(&produced), Arc::clone(&live));
        let scan = scan_in_windows(hours(50), 4, Order::Windows, move |_| {
            l.fetch_add(1, Ordering::SeqCst);
            let guard = Live(Arc::clone(&l));
            let p = Arc::clone(&p);
            // An endless window: only the consumer going away can stop it.
            stream::unfold(guard, move |guard| {
                let p = Arc::clone(&p);
                async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    p.fetch_add(1, Ordering::SeqCst);
                    Some((Ok::<_, String>(()), guard))
                }
            })
        });
        let first: Vec<Result<(), String>> = scan.take(5).collect().await;
        assert_eq!(first.len(), 5);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(live.load(Ordering::SeqCst), 0, "window streams still alive");
        let after_drop = produced.load(Ordering::SeqCst);
        assert!(
            after_drop <= 5 + 5 * (WINDOW_CHANNEL_CAPACITY + 1),
            "produced {after_drop}, beyond the channels' bound"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            produced.load(Ordering::SeqCst),
            after_drop,
            "producers kept going"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn arrival_order_lets_a_dense_window_pass_a_slow_one() {
        // Window 0 is slow (10 items, 100 ms apart); window 1 is dense: far more items than a
        // channel holds. In window order window 1 would stall once its channel filled; here all
        // of it arrives while window 0 is still going.
        let windows = hours(2);
        let first = windows[0];
        let dense = 4 * WINDOW_CHANNEL_CAPACITY;
        let got: Vec<(usize, usize)> = scan_in_windows(windows, 2, Order::Arrival, move |w| {
            let (index, items, pause) = if w == first {
                (0, 10, 100)
            } else {
                (1, dense, 1)
            };
            stream::unfold(0usize, move |i| async move {
                if i == items {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(pause)).await;
                Some((Ok::<_, String>((index, i)), i + 1))
            })
        })
        .try_collect()
        .await
        .expect("scan");
        assert_eq!(got.len(), 10 + dense);
        let last_dense = got.iter().rposition(|&(w, _)| w == 1).expect("dense items");
        let last_slow = got.iter().rposition(|&(w, _)| w == 0).expect("slow items");
        assert!(
            last_dense < last_slow,
            "the dense window waited for the slow one"
        );
        for w in 0..2 {
            let mine: Vec<usize> = got.iter().filter(|i| i.0 == w).map(|i| i.1).collect();
            assert!(
                mine.windows(2).all(|p| p[0] < p[1]),
                "window {w} out of order"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn arrival_order_stays_within_the_concurrency_and_stops_on_error() {
        let gauge = Arc::new(Gauge::default());
        let g = Arc::clone(&gauge);
        let got: Vec<(usize, usize)> = scan_in_windows(hours(12), 3, Order::Arrival, move |w| {
            let index = usize::try_from(w.start.as_second() / 3600 % 24).expect("hour");
            gauged(index, 5, Arc::clone(&g))
        })
        .try_collect()
        .await
        .expect("scan");
        assert_eq!(got.len(), 60);
        let max = gauge.max.load(Ordering::SeqCst);
        assert!(
            max > 1 && max <= 3,
            "{max} windows in flight with a concurrency of 3"
        );

        let windows = hours(4);
        let per_window = the_second_fails(&windows, vec![Ok(0)]);
        let got: Vec<Result<u32, String>> = scan_in_windows(windows, 1, Order::Arrival, per_window)
            .collect()
            .await;
        assert_eq!(got, vec![Ok(0), Ok(1), Err("window 1 failed".to_owned())]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_settled_scan_carries_on_past_a_failed_window_and_names_it() {
        let windows = hours(4);
        let second = windows[1];
        let per_window = the_second_fails(&windows, vec![Ok(0)]);
        let got: Vec<WindowItem<u32, String>> =
            scan_windows_settled(windows.clone(), 2, Order::Windows, per_window)
                .collect()
                .await;
        let want = vec![
            WindowItem::Item(windows[0], 0),
            WindowItem::Read(windows[0]),
            WindowItem::Item(second, 1),
            WindowItem::Unread(second, "window 1 failed".to_owned()),
            WindowItem::Item(windows[2], 0),
            WindowItem::Read(windows[2]),
            WindowItem::Item(windows[3], 0),
            WindowItem::Read(windows[3]),
        ];
        assert_eq!(
            got, want,
            "nothing of a window after its error; the rest read"
        );
    }

    #[tokio::test]
    async fn scan_of_no_windows_is_empty() {
        let got: Vec<Result<(), String>> = scan_in_windows(Vec::new(), 4, Order::Arrival, |_| {
            stream::iter(vec![Ok(())])
        })
        .collect()
        .await;
        assert!(got.is_empty());
    }
}
