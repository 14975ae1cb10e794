//! Locating (and if need be building) the `cuprum-fixture` program.

use std::path::PathBuf;
use std::sync::OnceLock;

use cuprum::Command;

/// The fixture binary: `$CUPRUM_FIXTURE`, else `target/release`, else
/// `target/debug` (built on first use).
pub(crate) fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("CUPRUM_FIXTURE").map(PathBuf::from) {
            if path.exists() {
                return path;
            }
        }
        let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
        let release = target.join("release/cuprum-fixture");
        if release.exists() {
            return release;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        #[expect(
            clippy::disallowed_methods,
            reason = "tests build their fixture program on demand"
        )]
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "-p", "cuprum-testbins"])
            .status()
            .expect("run cargo to build the fixture program");
        assert!(status.success(), "building cuprum-fixture failed");
        target.join("debug/cuprum-fixture")
    })
}

/// A fixture command: `cuprum-fixture ARGS…`.
pub(crate) fn cmd(args: &[&str]) -> Command {
    Command::new(path()).args(args)
}
