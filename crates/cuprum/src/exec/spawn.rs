//! The one place in the engine that starts processes.
//!
//! Every stage is spawned in a process group of its own (its pid is the
//! group id), so a timeout or cancel can signal the stage together with any
//! grandchildren it started. Standard streams are set from descriptors the
//! supervisor owns; every other descriptor is close-on-exec.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};

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

/// Fails unless `cwd` is an existing directory, naming it.
pub(crate) fn validate_cwd(cwd: &Path) -> Result<()> {
    match std::fs::metadata(cwd) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::with_source(
            ErrorKind::BadWorkingDirectory,
            cwd.display().to_string(),
            io::Error::from_raw_os_error(libc::ENOTDIR),
        )),
        Err(err) => Err(Error::with_source(
            ErrorKind::BadWorkingDirectory,
            cwd.display().to_string(),
            err,
        )),
    }
}

/// Spawns `command` in a new process group with the given stdio.
///
/// Errors name the program: [`ErrorKind::ProgramNotFound`] (`ENOENT`),
/// [`ErrorKind::PermissionDenied`] (`EACCES`/`EPERM`), otherwise
/// [`ErrorKind::Io`].
pub(crate) fn spawn(
    command: &Command,
    env: Option<&[(OsString, OsString)]>,
    cwd: Option<&Path>,
    stdin: Slot,
    stdout: Slot,
    stderr: Slot,
) -> Result<Child> {
    #[expect(
        clippy::disallowed_methods,
        reason = "this module is the engine's one spawning site"
    )]
    let mut builder = std::process::Command::new(command.program());
    builder.args(&command.argv()[1..]).process_group(0);
    if let Some(env) = env {
        builder.env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    }
    if let Some(cwd) = cwd {
        builder.current_dir(cwd);
    }
    builder.stdin(stdin).stdout(stdout).stderr(stderr);
    builder.spawn().map_err(|err| {
        let program = command.program().to_string_lossy().into_owned();
        let kind = match err.raw_os_error() {
            Some(libc::ENOENT) => ErrorKind::ProgramNotFound,
            Some(libc::EACCES | libc::EPERM) => ErrorKind::PermissionDenied,
            _ => ErrorKind::Io,
        };
        Error::with_source(kind, program, err)
    })
}
