//! Python bindings for the cuprum engine: the private module `cuprum._native`.

use pyo3::prelude::*;

mod batch;
mod convert;
mod errors;
mod events;
mod exec;
mod guard;
mod hub;
mod live;
mod spec;
mod streams;

/// Reports that the native engine is importable (always `True`).
#[pyfunction]
fn is_available() -> bool {
    true
}

/// The `cuprum._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(is_available, m)?)?;
    m.add_function(wrap_pyfunction!(streams::rust_pump_stream, m)?)?;
    m.add_function(wrap_pyfunction!(streams::rust_consume_stream, m)?)?;
    m.add_function(wrap_pyfunction!(streams::_pump_stream_report, m)?)?;
    m.add_function(wrap_pyfunction!(exec::spawn, m)?)?;
    m.add_function(wrap_pyfunction!(events::clone_events, m)?)?;
    m.add_function(wrap_pyfunction!(guard::_begin_shutdown, m)?)?;
    m.add_class::<spec::SpawnSpec>()?;
    m.add_class::<exec::Execution>()?;
    m.add_class::<hub::Hub>()?;
    m.add_class::<exec::Outcome>()?;
    m.add_class::<exec::StageOutcome>()?;
    m.add_class::<exec::LineSplitter>()?;
    m.add_class::<live::LiveStream>()?;
    m.add_class::<events::CloneEvents>()?;
    m.add_class::<live::LiveStdin>()?;
    for (name, kind) in batch::KINDS {
        m.add(name, kind)?;
    }
    Ok(())
}
