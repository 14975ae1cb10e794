//! Binding a program name to one executable file, once per run.
//!
//! The allowlist names programs; this module decides which file a name means,
//! from the engine's own process and never from the run being started:
//!
//! - a name without `/` is searched on the `PATH` of this process (as the C
//!   library sees it at call time; `/bin:/usr/bin` when unset), entry by
//!   entry, like `execvp`: the first regular file this process may execute
//!   wins. An empty or relative entry means the directory relative to this
//!   process's working directory — never the run's `cwd` — and the result is
//!   made absolute so the child's `chdir` cannot change its meaning;
//! - a name with `/` that is relative (`./tool`, `bin/tool`) is made absolute
//!   against this process's working directory;
//! - an absolute name is taken as it is.
//!
//! The run's environment (its `PATH` included) and its working directory play
//! no part: the child is executed by the absolute path found here, with
//! `argv[0]` unchanged.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::{Error, ErrorKind, Result};

/// The search path when `PATH` is unset (Python's `os.defpath`).
pub(crate) const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// The absolute path of the file `program` names (see the module docs).
///
/// # Errors
///
/// [`ErrorKind::ProgramNotFound`] (`ENOENT`) when no file matches;
/// [`ErrorKind::PermissionDenied`] (`EACCES`) when the only matches on `PATH`
/// may not be executed; [`ErrorKind::Io`] when this process's working
/// directory cannot be read for a relative name.
pub(crate) fn resolve(program: &OsStr) -> Result<PathBuf> {
    let search = std::env::var_os("PATH");
    resolve_on(
        program,
        search.as_deref().unwrap_or(OsStr::new(DEFAULT_PATH)),
    )
}

/// [`resolve`] with `search` standing for this process's `PATH`.
fn resolve_on(program: &OsStr, search: &OsStr) -> Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        let path = absolute(Path::new(program), program)?;
        return match std::fs::metadata(&path) {
            Ok(_) => Ok(path),
            Err(err) if is_missing(&err) => Err(Error::with_path(
                ErrorKind::ProgramNotFound,
                format!(
                    "program {} not found at {}",
                    quoted(program),
                    path.display()
                ),
                program,
                err,
            )),
            // Anything else (a directory on the way we may not search, …)
            // is for `execve` to report with its own errno.
            Err(_) => Ok(path),
        };
    }
    let mut denied: Option<PathBuf> = None;
    for dir in std::env::split_paths(search) {
        let candidate = absolute(&dir.join(program), program)?;
        match executable(&candidate) {
            Candidate::Yes => return Ok(candidate),
            Candidate::Denied => {
                denied.get_or_insert(candidate);
            }
            Candidate::No => {}
        }
    }
    match denied {
        Some(path) => Err(Error::with_path(
            ErrorKind::PermissionDenied,
            format!(
                "program {} found at {} but it may not be executed",
                quoted(program),
                path.display()
            ),
            program,
            io::Error::from_raw_os_error(libc::EACCES),
        )),
        None => Err(Error::with_path(
            ErrorKind::ProgramNotFound,
            format!("program {} not found on PATH", quoted(program)),
            program,
            io::Error::from_raw_os_error(libc::ENOENT),
        )),
    }
}

/// `program` in backticks, for messages.
pub(crate) fn quoted(program: &OsStr) -> String {
    format!("`{}`", program.to_string_lossy())
}

/// `path` made absolute against this process's working directory (`.`
/// components dropped, nothing else normalised).
fn absolute(path: &Path, program: &OsStr) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|err| {
        Error::with_path(
            ErrorKind::Io,
            format!(
                "cannot resolve program {} against the current directory",
                quoted(program)
            ),
            program,
            err,
        )
    })
}

fn is_missing(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
}

enum Candidate {
    /// A regular file this process may execute.
    Yes,
    /// A regular file it may not execute (`execvp` would remember `EACCES`
    /// and go on searching).
    Denied,
    /// Nothing usable here.
    No,
}

fn executable(path: &Path) -> Candidate {
    let Ok(meta) = std::fs::metadata(path) else {
        return Candidate::No;
    };
    if !meta.is_file() {
        return Candidate::No;
    }
    match rustix::fs::access(path, rustix::fs::Access::EXEC_OK) {
        Ok(()) => Candidate::Yes,
        Err(_) => Candidate::Denied,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A fresh empty directory under the system's temporary directory.
    fn scratch() -> PathBuf {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cuprum-resolve-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn file(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn search(dirs: &[&Path]) -> std::ffi::OsString {
        std::env::join_paths(dirs).unwrap()
    }

    #[test]
    fn the_first_executable_match_on_path_wins() {
        let (first, second) = (scratch(), scratch());
        let wanted = file(&second, "tool", 0o755);
        let found = resolve_on(OsStr::new("tool"), &search(&[&first, &second])).unwrap();
        assert_eq!(found, wanted);
        let earlier = file(&first, "tool", 0o755);
        let found = resolve_on(OsStr::new("tool"), &search(&[&first, &second])).unwrap();
        assert_eq!(found, earlier);
    }

    #[test]
    fn directories_and_files_without_execute_permission_are_skipped() {
        let (first, second, third) = (scratch(), scratch(), scratch());
        std::fs::create_dir(first.join("tool")).unwrap();
        file(&second, "tool", 0o644);
        let wanted = file(&third, "tool", 0o755);
        let found = resolve_on(OsStr::new("tool"), &search(&[&first, &second, &third])).unwrap();
        assert_eq!(found, wanted);
    }

    #[test]
    fn only_non_executable_matches_is_permission_denied() {
        let dir = scratch();
        let path = file(&dir, "tool", 0o644);
        let err = resolve_on(OsStr::new("tool"), &search(&[&dir])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(err.raw_os_error(), Some(libc::EACCES));
        assert!(err.message().contains(&path.display().to_string()));
    }

    #[test]
    fn empty_and_relative_entries_mean_the_process_cwd() {
        let cwd = std::env::current_dir().unwrap();
        for entry in ["", ".", "./nested/.."] {
            let err = resolve_on(OsStr::new("cuprum-no-such-program"), OsStr::new(entry));
            assert_eq!(err.unwrap_err().kind(), ErrorKind::ProgramNotFound);
        }
        // The package manifest sits in the test's working directory: found
        // there (and refused, since it is not executable).
        let here = resolve_on(OsStr::new("Cargo.toml"), OsStr::new("")).unwrap_err();
        assert_eq!(here.kind(), ErrorKind::PermissionDenied);
        let expected = cwd.join("Cargo.toml").display().to_string();
        assert!(here.message().contains(&expected), "{}", here.message());
    }

    #[test]
    fn absolute_names_are_kept() {
        let dir = scratch();
        let path = file(&dir, "tool", 0o755);
        let found = resolve_on(path.as_os_str(), OsStr::new("")).unwrap();
        assert_eq!(found, path);
    }

    #[test]
    fn relative_names_with_a_slash_resolve_against_the_process_cwd() {
        let cwd = std::env::current_dir().unwrap();
        let found = resolve_on(OsStr::new("./src/lib.rs"), OsStr::new("")).unwrap();
        assert_eq!(found, cwd.join("src/lib.rs"));
        let err = resolve_on(OsStr::new("./no-such-program-here"), OsStr::new("")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProgramNotFound);
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        let expected = cwd.join("no-such-program-here").display().to_string();
        assert!(err.message().contains(&expected), "{}", err.message());
    }

    #[test]
    fn missing_names_say_path_and_name_the_program() {
        let dir = scratch();
        let err = resolve_on(OsStr::new("cuprum-no-such-program"), &search(&[&dir])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ProgramNotFound);
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(
            err.message(),
            "program `cuprum-no-such-program` not found on PATH"
        );
        assert_eq!(
            err.path().map(Path::as_os_str),
            Some(OsStr::new("cuprum-no-such-program"))
        );
    }
}
