//! `posix_spawn(3)` with the file actions a clean child needs (glibc).
//!
//! glibc 2.34 and later can close every descriptor above the standard
//! streams (`posix_spawn_file_actions_addclosefrom_np`) and change directory
//! (`posix_spawn_file_actions_addchdir_np`) inside `posix_spawn` itself, which
//! starts the child with one `clone(CLONE_VM | CLONE_VFORK)`: no copy of the
//! parent's page tables as `fork` makes, and exec errors reported with their
//! errno. Both functions are looked up when first needed, so one build loads
//! on older C libraries too and takes the fork path there.

use std::ffi::{c_char, c_int, c_short, c_void, CStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::sync::OnceLock;

use super::CArray;

type FileActions = libc::posix_spawn_file_actions_t;
type AddClosefrom = unsafe extern "C" fn(*mut FileActions, c_int) -> c_int;
type AddChdir = unsafe extern "C" fn(*mut FileActions, *const c_char) -> c_int;

/// The two glibc extensions this path needs.
pub(super) struct Api {
    closefrom: AddClosefrom,
    chdir: AddChdir,
}

/// The extensions, or `None` when the C library lacks either.
pub(super) fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(|| {
        let closefrom = symbol(c"posix_spawn_file_actions_addclosefrom_np")?;
        let chdir = symbol(c"posix_spawn_file_actions_addchdir_np")?;
        // SAFETY: glibc defines both symbols with exactly these C signatures
        // (`int (posix_spawn_file_actions_t *, int)` and
        // `int (posix_spawn_file_actions_t *, const char *)`).
        Some(unsafe {
            Api {
                closefrom: std::mem::transmute::<*mut c_void, AddClosefrom>(closefrom),
                chdir: std::mem::transmute::<*mut c_void, AddChdir>(chdir),
            }
        })
    })
    .as_ref()
}

fn symbol(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: `name` is NUL-terminated; dlsym only reads it.
    let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!found.is_null()).then_some(found)
}

/// What one standard stream of the child gets.
#[derive(Clone, Copy)]
pub(super) enum Std {
    Inherit,
    Null,
    Fd(RawFd),
}

/// Turns a `posix_spawn*` return code (an errno, not -1) into a result.
fn check(code: c_int) -> io::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code))
    }
}

/// A file-actions object, destroyed on drop.
struct Actions(FileActions);

impl Actions {
    fn new() -> io::Result<Self> {
        let mut raw = MaybeUninit::<FileActions>::uninit();
        // SAFETY: init fills the object `raw` points to.
        check(unsafe { libc::posix_spawn_file_actions_init(raw.as_mut_ptr()) })?;
        // SAFETY: init succeeded, so the object is initialised. glibc's
        // object holds no pointer to itself, so it may move.
        Ok(Self(unsafe { raw.assume_init() }))
    }

    fn stdio(&mut self, target: RawFd, std: Std) -> io::Result<()> {
        let flags = if target == 0 {
            libc::O_RDONLY
        } else {
            libc::O_WRONLY
        };
        check(match std {
            Std::Inherit => 0,
            // SAFETY: `self.0` is initialised; the path is a NUL-terminated
            // static string (glibc copies it).
            Std::Null => unsafe {
                libc::posix_spawn_file_actions_addopen(
                    &mut self.0,
                    target,
                    c"/dev/null".as_ptr(),
                    flags,
                    0,
                )
            },
            // SAFETY: `self.0` is initialised. `fd` stays open until
            // posix_spawn returns (the caller owns it); `dup2` onto the
            // standard stream clears close-on-exec on the copy.
            Std::Fd(fd) => unsafe {
                libc::posix_spawn_file_actions_adddup2(&mut self.0, fd, target)
            },
        })
    }
}

impl Drop for Actions {
    fn drop(&mut self) {
        // SAFETY: `self.0` was initialised and is destroyed once.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}

/// A spawn-attributes object, destroyed on drop.
struct Attrs(libc::posix_spawnattr_t);

impl Attrs {
    /// Own process group; empty signal mask; `SIGPIPE` and `SIGXFSZ` back to
    /// their default action (an interpreter that ignores them, as Python
    /// does, must not pass that on — `subprocess` restores them too).
    fn new() -> io::Result<Self> {
        let mut raw = MaybeUninit::<libc::posix_spawnattr_t>::uninit();
        // SAFETY: init fills the object `raw` points to.
        check(unsafe { libc::posix_spawnattr_init(raw.as_mut_ptr()) })?;
        // SAFETY: init succeeded, so the object is initialised; it holds no
        // pointer to itself.
        let mut attrs = Self(unsafe { raw.assume_init() });
        let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
        let mut defaults = MaybeUninit::<libc::sigset_t>::uninit();
        let flags = libc::POSIX_SPAWN_SETPGROUP
            | libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF;
        // SAFETY: the sigset functions fill/modify the sets they are given;
        // each set is initialised by sigemptyset before any other use, and
        // the attribute setters copy the sets. `attrs.0` is initialised.
        unsafe {
            libc::sigemptyset(empty.as_mut_ptr());
            libc::sigemptyset(defaults.as_mut_ptr());
            libc::sigaddset(defaults.as_mut_ptr(), libc::SIGPIPE);
            libc::sigaddset(defaults.as_mut_ptr(), libc::SIGXFSZ);
            check(libc::posix_spawnattr_setsigmask(
                &mut attrs.0,
                empty.as_ptr(),
            ))?;
            check(libc::posix_spawnattr_setsigdefault(
                &mut attrs.0,
                defaults.as_ptr(),
            ))?;
            check(libc::posix_spawnattr_setpgroup(&mut attrs.0, 0))?;
            check(libc::posix_spawnattr_setflags(
                &mut attrs.0,
                flags as c_short,
            ))?;
        }
        Ok(attrs)
    }
}

impl Drop for Attrs {
    fn drop(&mut self) {
        // SAFETY: `self.0` was initialised and is destroyed once.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
}

/// The highest passed descriptor this path takes: every number below it that
/// is not passed costs one close action (glibc grows its action list eight
/// entries at a time), so beyond this the fork path is cheaper.
pub(super) const MAX_PASSED_FD: RawFd = 256;

/// Starts `path` with `argv` and `env` (`None`: this process's environment)
/// in a process group of its own, with the given standard streams, in `cwd`
/// if set, and with every descriptor from 3 up closed except `keep`
/// (ascending, each from 3 to [`MAX_PASSED_FD`]), which stays open under its
/// number without close-on-exec.
///
/// # Errors
///
/// The errno of whatever failed, in the parent or in the child before exec
/// (`ENOENT`, `EACCES`, `ENOEXEC`, `E2BIG`, …).
pub(super) fn spawn(
    api: &Api,
    path: &CStr,
    argv: &CArray,
    env: Option<&CArray>,
    cwd: Option<&CStr>,
    stdio: [Std; 3],
    keep: &[RawFd],
) -> io::Result<libc::pid_t> {
    let mut actions = Actions::new()?;
    for (target, std) in (0..).zip(stdio) {
        actions.stdio(target, std)?;
    }
    if let Some(cwd) = cwd {
        // SAFETY: `actions.0` is initialised; `cwd` is NUL-terminated and
        // glibc copies it.
        check(unsafe { (api.chdir)(&mut actions.0, cwd.as_ptr()) })?;
    }
    let mut low = 3;
    for &fd in keep {
        // Every number in the gap below `fd`: closing one that is not open
        // is not an error for glibc, and closing by number leaves no window
        // for a descriptor opened meanwhile by another thread.
        for gap in low..fd {
            // SAFETY: `actions.0` is initialised.
            check(unsafe { libc::posix_spawn_file_actions_addclose(&mut actions.0, gap) })?;
        }
        // SAFETY: `actions.0` is initialised. `dup2` of a descriptor onto
        // itself clears its close-on-exec flag in the child (POSIX, Austin
        // Group issue 411; glibc 2.29 and later).
        check(unsafe { libc::posix_spawn_file_actions_adddup2(&mut actions.0, fd, fd) })?;
        low = fd + 1;
    }
    // SAFETY: `actions.0` is initialised.
    check(unsafe { (api.closefrom)(&mut actions.0, low) })?;
    let attrs = Attrs::new()?;
    let envp = match env {
        Some(env) => env.as_ptr().cast(),
        // SAFETY: reads the C library's `environ` pointer, as the standard
        // library's own spawn does for an inherited environment. Changing the
        // environment while another thread reads it is already undefined
        // behaviour for the changer (`std::env::set_var` is unsafe for it).
        None => unsafe { libc::environ }.cast_const(),
    };
    let mut pid: libc::pid_t = 0;
    #[expect(
        clippy::disallowed_methods,
        reason = "the engine's spawning module: this is its posix_spawn path"
    )]
    // SAFETY: every pointer is valid for the call: `path` is NUL-terminated,
    // `argv` and `envp` are NULL-terminated arrays of NUL-terminated strings
    // (owned by the caller, or the C library's environment), and the file
    // actions and attributes are initialised. posix_spawn copies what the
    // child needs before returning.
    let code = unsafe {
        libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            &actions.0,
            &attrs.0,
            argv.as_ptr().cast(),
            envp,
        )
    };
    check(code)?;
    Ok(pid)
}
