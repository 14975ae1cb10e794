//! `cuprum-fixture`: small, predictable programs for cuprum's tests.
fn main() {}
