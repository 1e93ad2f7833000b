//! Response-body buffers reused across pages.
//!
//! A scan reads tens of thousands of pages of a few hundred KiB each. Allocating a fresh buffer
//! for every page and freeing it after decoding makes glibc's allocator raise its mmap threshold
//! to the page size and serve later pages from the heap, where they fragment it: the peak
//! resident memory then grows with the length of the scan, not with what it holds. Here a page's
//! body is read into a buffer taken from a small process-wide pool and handed back when the
//! [`Body`] is dropped, so a scan allocates about one buffer per concurrent page, once.
//!
//! The pool is bounded: it keeps at most [`KEPT`] buffers holding [`KEPT_BYTES`] in all, and
//! never one larger than [`LARGEST_KEPT`], so one huge body does not stay resident after it is
//! decoded.

use std::ops::Deref;
use std::sync::Mutex;

/// How many idle buffers the pool keeps.
pub const KEPT: usize = 32;

/// How many bytes (by capacity) the idle buffers hold at the most, all together.
pub const KEPT_BYTES: usize = 64 * 1024 * 1024;

/// The largest buffer (by capacity) the pool keeps; a larger one is freed when dropped.
pub const LARGEST_KEPT: usize = 8 * 1024 * 1024;

/// A pool of idle buffers.
#[derive(Debug)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    const fn new() -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An empty body whose buffer, an idle one when there is one, holds at least `capacity`
    /// bytes.
    fn take(&'static self, capacity: usize) -> Body {
        let mut bytes = self.lock().pop().unwrap_or_default();
        bytes.reserve(capacity);
        Body { bytes, pool: self }
    }

    /// Keeps `bytes` for reuse, emptied, unless the pool is full or it is too large.
    fn give(&self, mut bytes: Vec<u8>) {
        if bytes.capacity() == 0 || bytes.capacity() > LARGEST_KEPT {
            return;
        }
        bytes.clear();
        let mut idle = self.lock();
        let held: usize = idle.iter().map(Vec::capacity).sum();
        if idle.len() < KEPT && held + bytes.capacity() <= KEPT_BYTES {
            idle.push(bytes);
        }
    }
}

static POOL: Pool = Pool::new();

/// A response body read into a pooled buffer. It reads as a byte slice; dropping it gives the
/// buffer back to the pool.
#[derive(Debug)]
pub struct Body {
    bytes: Vec<u8>,
    pool: &'static Pool,
}

impl Body {
    /// An empty body whose buffer, from the process-wide pool when one is idle, holds at least
    /// `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        POOL.take(capacity)
    }

    pub(crate) fn extend_from_slice(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    /// The bytes as an owned vector, taken out of the pool's reach.
    pub fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
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

impl Drop for Body {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_body_is_reused_empty_with_its_capacity() {
        static OWN: Pool = Pool::new();
        let mut first = OWN.take(300_000);
        first.extend_from_slice(b"secret page");
        let (ptr, cap) = (first.bytes.as_ptr(), first.bytes.capacity());
        drop(first);
        assert_eq!(OWN.lock().len(), 1, "the buffer went back to the pool");
        let again = OWN.take(1);
        assert_eq!(
            again.bytes.as_ptr(),
            ptr,
            "the same allocation is read into again"
        );
        assert_eq!(again.bytes.capacity(), cap);
        assert!(
            again.is_empty(),
            "a reused buffer does not carry the last body"
        );
        assert!(OWN.lock().is_empty());
    }

    #[test]
    fn the_pool_keeps_no_huge_buffer_and_stays_within_its_bounds() {
        static OWN: Pool = Pool::new();
        let mut huge = OWN.take(LARGEST_KEPT + 1);
        huge.extend_from_slice(&[1, 2, 3]);
        drop(huge);
        assert!(OWN.lock().is_empty(), "a buffer over LARGEST_KEPT is freed");
        let bodies: Vec<Body> = (0..KEPT + 8).map(|_| OWN.take(1024)).collect();
        drop(bodies);
        assert_eq!(OWN.lock().len(), KEPT, "at most KEPT idle buffers");
        let big: Vec<Body> = (0..KEPT).map(|_| OWN.take(LARGEST_KEPT)).collect();
        drop(big);
        let held: usize = OWN.lock().iter().map(Vec::capacity).sum();
        assert!(held <= KEPT_BYTES, "{held} bytes held");
    }

    #[test]
    fn into_vec_keeps_the_bytes_and_reads_as_a_slice() {
        static OWN: Pool = Pool::new();
        let mut body = OWN.take(4);
        body.extend_from_slice(b"{\"a\":1}");
        assert_eq!(&*body, b"{\"a\":1}");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["a"], 1);
        assert_eq!(body.into_vec(), b"{\"a\":1}".to_vec());
        assert!(OWN.lock().is_empty(), "a body taken out is not given back");
    }
}
