//! (stub by the lead — the emit sender is written next)
