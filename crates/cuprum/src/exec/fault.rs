//! Fault injection for tests: with the `fault-injection` feature, the
//! engine panics at a named point when the `CUPRUM_FAULT` environment
//! variable (read once, at the first check) names it, to prove that a panic
//! never escapes and never leaves a child behind. Without the feature
//! (every published build) this is a no-op the compiler removes.

/// Panics when `CUPRUM_FAULT` names `point` (with the `fault-injection`
/// feature only).
#[cfg(feature = "fault-injection")]
pub(crate) fn hit(point: &str) {
    static CHOSEN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let chosen = CHOSEN
        .get_or_init(|| std::env::var_os("CUPRUM_FAULT").map(|v| v.to_string_lossy().into_owned()));
    if chosen.as_deref() == Some(point) {
        panic!("injected fault at `{point}`");
    }
}

/// Does nothing: fault injection is compiled out.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn hit(_point: &str) {}
