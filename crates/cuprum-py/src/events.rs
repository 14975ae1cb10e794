//! Building many observe events at C speed: one per line, cloned from a
//! per-batch template instead of running the frozen dataclass's `__init__`
//! (which sets every field through `object.__setattr__`).

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use pyo3::{ffi, intern};

/// Yields one copy of `template` per line of `lines`, with its `line`
/// field set to that line, made as it is asked for (so each event can be
/// freed before the next exists, keeping the garbage collector idle).
///
/// `template` must be an instance of a class whose instances are the object
/// header (`header` bytes) followed by exactly `slots` object pointers and
/// nothing else (a `slots=True` dataclass without `__weakref__`); this is
/// checked here, and the Python caller checks it once at import.
#[pyfunction]
pub(crate) fn clone_events<'py>(
    py: Python<'py>,
    template: &Bound<'py, PyAny>,
    header: usize,
    slots: usize,
    lines: &Bound<'py, PyList>,
) -> PyResult<CloneEvents> {
    let kind = template.get_type();
    let basicsize: usize = kind.getattr(intern!(py, "__basicsize__"))?.extract()?;
    let plain = kind
        .getattr(intern!(py, "__dictoffset__"))?
        .extract::<isize>()?
        == 0
        && kind
            .getattr(intern!(py, "__weakrefoffset__"))?
            .extract::<isize>()?
            == 0
        && kind
            .getattr(intern!(py, "__itemsize__"))?
            .extract::<isize>()?
            == 0;
    if !plain || basicsize != header + slots * std::mem::size_of::<*mut ffi::PyObject>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "`{}` is not a plain slotted class of {slots} fields",
            kind.name()?
        )));
    }
    Ok(CloneEvents {
        template: template.clone().unbind(),
        lines: lines.clone().unbind(),
        next: std::sync::atomic::AtomicUsize::new(0),
        header,
        slots,
    })
}

/// The iterator [`clone_events`] returns.
#[pyclass(module = "cuprum._native", frozen)]
pub(crate) struct CloneEvents {
    template: Py<PyAny>,
    lines: Py<PyList>,
    next: std::sync::atomic::AtomicUsize,
    header: usize,
    slots: usize,
}

#[pymethods]
impl CloneEvents {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let index = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let lines = self.lines.bind(py);
        if index >= lines.len() {
            return Ok(None);
        }
        let line = lines.get_item(index)?.cast_into::<PyString>()?;
        let template = self.template.bind(py);
        let kind = template.get_type();
        // SAFETY: `kind` is a type whose instances are `header` bytes of
        // object header followed by `slots` object pointers (checked when
        // this iterator was made; the template keeps its type alive).
        // `PyType_GenericAlloc` returns a zeroed, GC-tracked instance; every
        // pointer copied from the live template gains a reference, so the
        // clone owns what it points to. No Python code runs between the
        // allocation and the copy.
        let clone = unsafe {
            let raw = ffi::PyType_GenericAlloc(kind.as_type_ptr(), 0);
            if raw.is_null() {
                return Err(PyErr::fetch(py));
            }
            let source = template
                .as_ptr()
                .cast::<u8>()
                .add(self.header)
                .cast::<*mut ffi::PyObject>();
            let target = raw
                .cast::<u8>()
                .add(self.header)
                .cast::<*mut ffi::PyObject>();
            for index in 0..self.slots {
                let value = *source.add(index);
                if !value.is_null() {
                    ffi::Py_INCREF(value);
                }
                *target.add(index) = value;
            }
            Bound::from_owned_ptr(py, raw)
        };
        let field = intern!(py, "line");
        // SAFETY: both pointers are live objects; the generic setter uses
        // the slot descriptor, bypassing the frozen class's `__setattr__`.
        if unsafe { ffi::PyObject_GenericSetAttr(clone.as_ptr(), field.as_ptr(), line.as_ptr()) }
            != 0
        {
            return Err(PyErr::fetch(py));
        }
        Ok(Some(clone))
    }
}
