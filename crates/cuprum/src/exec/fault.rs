//! Fault injection for tests: with the `fault-injection` feature, the
//! engine panics at a named point when the `CUPRUM_FAULT` environment
//! variable names it, to prove that a panic never escapes and never leaves
//! a child behind. Without the feature (every published build) this is a
//! no-op the compiler removes.

/// Panics when `CUPRUM_FAULT` is `point` (with the `fault-injection`
/// feature only).
#[cfg(feature = "fault-injection")]
pub(crate) fn hit(point: &str) {
    if std::env::var_os("CUPRUM_FAULT").is_some_and(|v| v == point) {
        panic!("injected fault at `{point}`");
    }
}

/// Does nothing: fault injection is compiled out.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn hit(_point: &str) {}
