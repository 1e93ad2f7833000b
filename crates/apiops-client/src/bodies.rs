//! Response bodies in memory: a budget for how many bytes of them are held at once.
//!
//! A scan keeps up to a hundred page requests in flight, but two cores decode one page at a time
//! each. Without a bound, every answered request reads its whole body into memory while it waits
//! to be decoded, and the peak resident memory is however many bodies happened to arrive
//! together: the longer the scan, the worse its worst moment. [`read_body`] first takes the
//! body's size from a process-wide budget ([`budget_kib`]) and holds it until the [`Body`] is
//! dropped; the bodies waiting for budget stay unread in the kernel's socket buffers, and the
//! server waits. The budget is one page of the largest providers' lists per core (Twilio's 1,000
//! messages are about 1.9 MB), and never less than two: a page decoding on each core is all
//! decoding can use, so the scan is not slower. A body larger than the whole budget waits for all
//! of it.
//!
//! Why no more than that: what the budget allows is what a long scan holds at its worst
//! moment, because the longer the scan, the likelier the moment the budget is full. At 16 MiB
//! the 1M-message scan's peak resident memory was a third above the 200k scan's; at 4 MiB the
//! live heap's peak is the same for both (measured with a heap profiler: 26.0 MB at 200k, 25.0
//! MB at 1M; BENCHMARKS.md, "The scan's peak memory, third attempt").
//!
//! [`read_body`]: crate::client::read_body

use std::ops::Deref;
use std::sync::LazyLock;

use tokio::sync::{Semaphore, SemaphorePermit};

/// The budget's share per core, in KiB: one page of Twilio's largest list.
pub const KIB_PER_CORE: u32 = 2 * 1024;

/// The smallest budget, in KiB: two pages, so one arrives while the other is decoded.
pub const MIN_BUDGET_KIB: u32 = 4 * 1024;

/// The largest budget, in KiB, however many cores there are.
pub const MAX_BUDGET_KIB: u32 = 64 * 1024;

/// How many KiB of response bodies are held at once, all together, on a machine with `cores`.
pub fn budget_kib(cores: usize) -> u32 {
    u32::try_from(cores)
        .unwrap_or(u32::MAX)
        .saturating_mul(KIB_PER_CORE)
        .clamp(MIN_BUDGET_KIB, MAX_BUDGET_KIB)
}

/// What a body of unknown length (no `Content-Length`) takes from the budget, in KiB.
pub const UNKNOWN_LENGTH_KIB: u32 = 64;

/// The budget of bytes held.
#[derive(Debug)]
pub(crate) struct Budget {
    permits: Semaphore,
    kib: u32,
}

impl Budget {
    const fn new(kib: u32) -> Self {
        Budget {
            permits: Semaphore::const_new(kib as usize),
            kib,
        }
    }

    /// An empty body for `length` bytes (`None`: not known), once the budget has room for it.
    async fn take(&'static self, length: Option<usize>) -> Body {
        let kib = length.map_or(UNKNOWN_LENGTH_KIB, |n| {
            u32::try_from(n.div_ceil(1024)).unwrap_or(u32::MAX)
        });
        // Never closed; a body larger than the budget waits for all of it.
        let held = self.permits.acquire_many(kib.clamp(1, self.kib)).await.ok();
        Body {
            bytes: Vec::with_capacity(length.unwrap_or(0)),
            _held: held,
        }
    }
}

static BUDGET: LazyLock<Budget> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    Budget::new(budget_kib(cores))
});

/// A response body, holding its share of the budget. It reads as a byte slice; dropping it gives
/// the share back.
#[derive(Debug)]
pub struct Body {
    bytes: Vec<u8>,
    _held: Option<SemaphorePermit<'static>>,
}

impl Body {
    /// An empty body for `length` bytes (`None`: not known), once the process-wide budget has
    /// room for it.
    pub(crate) async fn for_length(length: Option<usize>) -> Self {
        BUDGET.take(length).await
    }

    pub(crate) fn extend_from_slice(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    /// The bytes as an owned vector, out of the budget's count.
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt as _;

    use super::*;

    #[test]
    fn the_budget_is_a_page_per_core_never_under_two_pages_nor_over_the_cap() {
        assert_eq!(budget_kib(0), MIN_BUDGET_KIB);
        assert_eq!(budget_kib(1), MIN_BUDGET_KIB);
        assert_eq!(budget_kib(2), 2 * KIB_PER_CORE);
        assert_eq!(budget_kib(8), 8 * KIB_PER_CORE);
        assert_eq!(budget_kib(usize::MAX), MAX_BUDGET_KIB);
        assert!(
            KIB_PER_CORE as usize * 1024 > 1_900_000,
            "a core's share holds one page of Twilio's 1,000 messages"
        );
    }

    #[tokio::test]
    async fn a_body_waits_until_the_budget_has_room_for_it() {
        static OWN: Budget = Budget::new(1024);
        let first = OWN.take(Some(600 * 1024)).await;
        assert!(first.bytes.capacity() >= 600 * 1024, "sized by its length");
        let mut second = Box::pin(OWN.take(Some(600 * 1024)));
        assert!(
            (&mut second).now_or_never().is_none(),
            "1,200 KiB do not fit a 1,024 KiB budget"
        );
        drop(first);
        let second = second
            .now_or_never()
            .expect("room once the first is dropped");
        assert_eq!(OWN.permits.available_permits(), 1024 - 600);
        drop(second);
        assert_eq!(OWN.permits.available_permits(), 1024);
    }

    #[tokio::test]
    async fn a_body_over_the_budget_takes_all_of_it_and_does_not_wait_forever() {
        static OWN: Budget = Budget::new(1024);
        let huge = OWN.take(Some(10 * 1024 * 1024)).now_or_never();
        assert!(huge.is_some(), "read once the budget is free");
        assert_eq!(OWN.permits.available_permits(), 0);
        assert!(
            OWN.take(Some(1)).now_or_never().is_none(),
            "nothing else meanwhile"
        );
        drop(huge);
        assert_eq!(OWN.permits.available_permits(), 1024);
    }

    #[tokio::test]
    async fn an_unknown_length_takes_a_fixed_share_and_into_vec_gives_it_back() {
        static OWN: Budget = Budget::new(1024);
        let mut body = OWN.take(None).await;
        assert_eq!(
            OWN.permits.available_permits(),
            (1024 - UNKNOWN_LENGTH_KIB) as usize
        );
        body.extend_from_slice(b"{\"a\":1}");
        assert_eq!(&*body, b"{\"a\":1}");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["a"], 1);
        assert_eq!(body.into_vec(), b"{\"a\":1}".to_vec());
        assert_eq!(OWN.permits.available_permits(), 1024);
    }
}
