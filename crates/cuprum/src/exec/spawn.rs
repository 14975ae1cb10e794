//! The one place in the engine that starts processes.
//!
//! A run is prepared once ([`Launch::new`]): its environment, working
//! directory and passed descriptors are checked, and every stage's program
//! is bound to one executable file ([`resolve`]: the engine's own `PATH` and
//! working directory, never the run's). Each stage is then executed by that
//! absolute path with its `argv[0]` unchanged, and starts with:
//!
//! - descriptors 0, 1 and 2 as the supervisor set them, plus the run's
//!   `pass_fds`, and nothing else — not even descriptors the parent left
//!   inheritable;
//! - a process group of its own (its pid is the group id), so a timeout or
//!   cancel can signal the stage together with any grandchildren;
//! - an empty signal mask and `SIGPIPE`/`SIGXFSZ` at their default action.
//!
//! Two paths give the same child: `posix_spawn` with glibc's close-from and
//! chdir file actions ([`posix`], the fast one: no copy of the parent's page
//! tables), and the standard library's fork-and-exec with the same hygiene in
//! the child ([`fork`]) when a passed descriptor is above
//! [`posix::MAX_PASSED_FD`] or the C library lacks those actions.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod posix;

mod child;
mod fork;
mod resolve;

use std::ffi::{c_char, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

pub(crate) use self::child::Child;
use self::resolve::quoted;
pub(crate) use self::resolve::resolve;
use super::spec::ExecSpec;
use crate::command::Command;
use crate::{Error, ErrorKind, Result};

/// Where one standard stream of a new process points.
#[derive(Debug)]
pub(crate) enum Slot {
    Inherit,
    Null,
    Fd(OwnedFd),
}

impl From<Slot> for Stdio {
    fn from(slot: Slot) -> Self {
        match slot {
            Slot::Inherit => Stdio::inherit(),
            Slot::Null => Stdio::null(),
            Slot::Fd(fd) => Stdio::from(fd),
        }
    }
}

/// Rejects environment entries that `execve` cannot carry.
pub(crate) fn validate_env(env: &[(OsString, OsString)]) -> Result<()> {
    for (key, value) in env {
        let key_bytes = key.as_bytes();
        if key_bytes.is_empty() || key_bytes.contains(&b'=') {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("illegal environment variable name {key:?}"),
            ));
        }
        if key_bytes.contains(&0) || value.as_bytes().contains(&0) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("environment variable {key:?} contains a NUL byte"),
            ));
        }
    }
    Ok(())
}

/// Fails unless `cwd` is an existing directory, naming it: `ENOTDIR` for a
/// file, the lookup's errno (`ENOENT`, …) otherwise.
pub(crate) fn validate_cwd(cwd: &Path) -> Result<()> {
    let message = || format!("working directory `{}`", cwd.display());
    match std::fs::metadata(cwd) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::with_path(
            ErrorKind::BadWorkingDirectory,
            message(),
            cwd,
            io::Error::from_raw_os_error(libc::ENOTDIR),
        )),
        Err(err) => Err(Error::with_path(
            ErrorKind::BadWorkingDirectory,
            message(),
            cwd,
            err,
        )),
    }
}

/// The descriptors to pass, ascending and unique; each must be 3 or above
/// and open.
fn validate_pass_fds(fds: &[RawFd]) -> Result<Arc<[RawFd]>> {
    let mut sorted = fds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for &fd in &sorted {
        if fd < 3 {
            let what = if fd < 0 {
                "is negative"
            } else {
                "is a standard stream"
            };
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "descriptor {fd} in `pass_fds` {what}; pass descriptors 3 and above \
                     (0, 1 and 2 are set by stdin, stdout and stderr)"
                ),
            ));
        }
        // SAFETY: F_GETFD only reads descriptor flags; a closed descriptor
        // fails with EBADF.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("descriptor {fd} in `pass_fds` is not open"),
            ));
        }
    }
    Ok(sorted.into())
}

/// A NULL-terminated array of NUL-terminated strings (`argv`, `envp`).
pub(crate) struct CArray {
    /// Owns what `pointers` point into.
    _strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

// SAFETY: the pointers point into `strings`, which the array owns and never
// changes after construction (moving a `CString` does not move its heap
// buffer), so the array may be sent to and read from any thread.
unsafe impl Send for CArray {}
// SAFETY: as above; nothing is mutated through a shared reference.
unsafe impl Sync for CArray {}

impl CArray {
    fn new(strings: Vec<CString>) -> Self {
        let mut pointers: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        pointers.push(std::ptr::null());
        Self {
            _strings: strings,
            pointers,
        }
    }

    /// How many strings the array holds.
    fn len(&self) -> usize {
        self.pointers.len() - 1
    }

    /// The array, as `execve` takes it.
    pub(crate) fn as_ptr(&self) -> *const *const c_char {
        self.pointers.as_ptr()
    }
}

/// `bytes` as a C string; `what` names it in the error (never its content,
/// which may be a secret).
fn c_string(bytes: &[u8], what: &str) -> Result<CString> {
    CString::new(bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{what} contains a NUL byte"),
        )
    })
}

/// `KEY=VALUE` strings for the child: the run's environment, or (`None`) a
/// snapshot of this process's.
fn environment(env: Option<&[(OsString, OsString)]>) -> Result<CArray> {
    let entry = |key: &OsStr, value: &OsStr| {
        let mut bytes = Vec::with_capacity(key.len() + value.len() + 1);
        bytes.extend_from_slice(key.as_bytes());
        bytes.push(b'=');
        bytes.extend_from_slice(value.as_bytes());
        c_string(&bytes, "an environment variable")
    };
    let strings = match env {
        Some(env) => env
            .iter()
            .map(|(key, value)| entry(key, value))
            .collect::<Result<Vec<_>>>()?,
        None => std::env::vars_os()
            .map(|(key, value)| entry(&key, &value))
            .collect::<Result<Vec<_>>>()?,
    };
    Ok(CArray::new(strings))
}

/// One run, prepared for spawning its stages: checked settings, the
/// executable each stage runs, and the environment block they share.
pub(crate) struct Launch {
    executables: Vec<PathBuf>,
    /// The run's own environment; `None` inherits this process's.
    env: Option<Arc<CArray>>,
    cwd: Option<PathBuf>,
    c_cwd: Option<CString>,
    pass_fds: Arc<[RawFd]>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment may hold secrets: only its size is shown.
        f.debug_struct("Launch")
            .field("executables", &self.executables)
            .field("env_entries", &self.env.as_ref().map(|env| env.len()))
            .field("cwd", &self.cwd)
            .field("pass_fds", &self.pass_fds)
            .finish()
    }
}

impl Launch {
    /// Checks the environment, working directory and passed descriptors of
    /// `spec`, and resolves every stage's program, before anything spawns.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a bad environment entry or passed
    /// descriptor, [`ErrorKind::BadWorkingDirectory`], and the errors of
    /// [`resolve`] (naming the program).
    pub(crate) fn new(spec: &ExecSpec) -> Result<Self> {
        if let Some(env) = &spec.env {
            validate_env(env)?;
        }
        if let Some(cwd) = &spec.cwd {
            validate_cwd(cwd)?;
        }
        let pass_fds = validate_pass_fds(&spec.pass_fds)?;
        let executables = spec
            .stages
            .iter()
            .map(|command| resolve(command.program()))
            .collect::<Result<Vec<_>>>()?;
        let c_cwd = spec
            .cwd
            .as_ref()
            .map(|cwd| c_string(cwd.as_os_str().as_bytes(), "the working directory"))
            .transpose()?;
        Ok(Self {
            executables,
            env: match &spec.env {
                Some(env) => Some(Arc::new(environment(Some(env))?)),
                None => None,
            },
            cwd: spec.cwd.clone(),
            c_cwd,
            pass_fds,
        })
    }

    /// The absolute path stage `index` runs.
    pub(crate) fn executable(&self, index: usize) -> &Path {
        &self.executables[index]
    }

    /// Spawns stage `index` (`command`) with the given standard streams.
    ///
    /// # Errors
    ///
    /// Named after the program and the file it resolved to:
    /// [`ErrorKind::ProgramNotFound`] (`ENOENT`, e.g. a missing script
    /// interpreter), [`ErrorKind::PermissionDenied`] (`EACCES`/`EPERM`),
    /// otherwise [`ErrorKind::Io`] with the errno (`ENOEXEC`, `E2BIG`, …).
    pub(crate) fn spawn(
        &self,
        index: usize,
        command: &Command,
        stdin: Slot,
        stdout: Slot,
        stderr: Slot,
    ) -> Result<Child> {
        let executable = self.executable(index);
        let stdio = [lift(stdin)?, lift(stdout)?, lift(stderr)?];
        let path = c_string(executable.as_os_str().as_bytes(), "the program's path")?;
        let argv = command
            .argv()
            .iter()
            .map(|arg| c_string(arg.as_bytes(), "an argument"))
            .collect::<Result<Vec<_>>>()?;
        let argv = CArray::new(argv);
        let failed = |err: io::Error| {
            let kind = match err.raw_os_error() {
                Some(libc::ENOENT) => ErrorKind::ProgramNotFound,
                Some(libc::EACCES | libc::EPERM) => ErrorKind::PermissionDenied,
                _ => ErrorKind::Io,
            };
            let message = format!(
                "cannot execute {} at {}",
                quoted(command.program()),
                executable.display()
            );
            Error::with_path(kind, message, command.program(), err)
        };
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if let Some(api) = self.posix_api() {
            let std = |slot: &Slot| match slot {
                Slot::Inherit => posix::Std::Inherit,
                Slot::Null => posix::Std::Null,
                Slot::Fd(fd) => posix::Std::Fd(fd.as_raw_fd()),
            };
            let pid = posix::spawn(
                api,
                &path,
                &argv,
                self.env.as_deref(),
                self.c_cwd.as_deref(),
                [std(&stdio[0]), std(&stdio[1]), std(&stdio[2])],
                &self.pass_fds,
            )
            .map_err(failed)?;
            // `stdio` (the parent's copies of the child's streams) closes on
            // return.
            return Ok(Child::new(pid.unsigned_abs()));
        }
        let envp = match &self.env {
            Some(env) => Arc::clone(env),
            None => Arc::new(environment(None)?),
        };
        let exec = fork::Exec {
            path,
            argv,
            envp,
            keep: Arc::clone(&self.pass_fds),
        };
        let stdio = stdio.map(Stdio::from);
        let pid = fork::spawn(executable, exec, self.cwd.as_deref(), stdio).map_err(failed)?;
        Ok(Child::new(pid))
    }

    /// The `posix_spawn` path, when the C library offers it and no passed
    /// descriptor is numbered too high for it.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn posix_api(&self) -> Option<&'static posix::Api> {
        let highest = self.pass_fds.last().copied().unwrap_or(0);
        if highest > posix::MAX_PASSED_FD {
            return None;
        }
        posix::api()
    }
}

/// A standard-stream descriptor that happens to be 0, 1 or 2 (the parent's
/// own standard streams were closed) is moved to 3 or above first, so that
/// installing one stream cannot overwrite the source of another.
fn lift(slot: Slot) -> Result<Slot> {
    match slot {
        Slot::Fd(fd) if fd.as_raw_fd() < 3 => rustix::io::fcntl_dupfd_cloexec(&fd, 3)
            .map(Slot::Fd)
            .map_err(|err| Error::io(err.into(), "move a standard-stream descriptor above 2")),
        other => Ok(other),
    }
}
