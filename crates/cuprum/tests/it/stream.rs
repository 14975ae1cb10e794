//! The stream pump, `consume`, and the UTF-8 decoder and line splitter.

mod consume;
mod fallback;
mod pump;
mod support;
mod text;
