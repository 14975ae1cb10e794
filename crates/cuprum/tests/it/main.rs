//! Integration tests for the cuprum engine (one test binary).
mod stream;
