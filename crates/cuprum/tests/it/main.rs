//! Integration tests for the cuprum engine (one test binary).
mod checked;
mod exec;
mod fixture;
mod hub;
mod live;
mod redirect;
mod reliability;
mod spawn;
mod stream;
mod wake;
