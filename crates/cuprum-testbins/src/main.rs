//! `cuprum-fixture`: small, predictable programs for cuprum's tests and
//! benchmarks.
//!
//! One binary, one subcommand per behaviour, so tests never depend on how a
//! system's `echo` or `cat` happens to behave:
//!
//! | subcommand | behaviour |
//! | --- | --- |
//! | `echo ARGS…` | print the arguments joined by spaces, then `\n` |
//! | `err TEXT` | print `TEXT\n` to stderr |
//! | `both OUT ERR` | print `OUT\n` to stdout and `ERR\n` to stderr |
//! | `hex HEX` | write the decoded bytes to stdout (no newline) |
//! | `cat` | copy stdin to stdout |
//! | `line-echo` | answer each line of stdin at once with `> LINE` (flushed) |
//! | `count` | read stdin to EOF, print the byte count |
//! | `spew N` | write N bytes of printable text (a newline every 64 bytes) |
//! | `lines N` | write N lines `line <i>` |
//! | `yes` | write `y\n` forever |
//! | `head-lines N` | copy N lines from stdin, then exit |
//! | `head-bytes N` | copy N bytes from stdin, then exit |
//! | `sleep SECS` | sleep |
//! | `exit CODE` | exit with CODE |
//! | `exit-after-read CODE` | read stdin to EOF, then exit with CODE |
//! | `ignore-term SECS` | ignore SIGTERM, print `ready`, sleep |
//! | `fork-sleeper SECS` | fork a grandchild that sleeps holding stdout; print its pid; sleep |
//! | `kill-self SIG` | raise signal SIG |
//! | `env NAME` | print the variable's value, or exit 3 if unset |
//! | `pwd` | print the working directory |
//! | `pgid` | print the process group id |
//! | `fds` | print the open descriptors, ascending, separated by spaces |

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    // Behave like a C program: die of SIGPIPE when the reader goes away
    // (the Rust runtime ignores the signal by default).
    // SAFETY: restoring a default signal disposition has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("usage: cuprum-fixture SUBCOMMAND [ARGS…]");
        return ExitCode::from(2);
    };
    match run(command, rest) {
        Ok(code) => code,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(err) => {
            eprintln!("cuprum-fixture {command}: {err}");
            ExitCode::from(1)
        }
    }
}

fn number(rest: &[String]) -> io::Result<u64> {
    rest.first()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "expected a number"))
}

fn seconds(rest: &[String]) -> io::Result<Duration> {
    rest.first()
        .and_then(|text| text.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "expected seconds"))
}

fn exit_code(code: i64) -> ExitCode {
    ExitCode::from(u8::try_from(code.rem_euclid(256)).unwrap_or(u8::MAX))
}

fn run(command: &str, rest: &[String]) -> io::Result<ExitCode> {
    let mut out = io::stdout().lock();
    match command {
        "echo" => writeln!(out, "{}", rest.join(" "))?,
        "err" => writeln!(io::stderr(), "{}", rest.join(" "))?,
        "both" => {
            writeln!(out, "{}", rest.first().map_or("", String::as_str))?;
            out.flush()?;
            writeln!(io::stderr(), "{}", rest.get(1).map_or("", String::as_str))?;
        }
        "hex" => out.write_all(&decode_hex(rest.first().map_or("", String::as_str))?)?,
        "cat" => {
            io::copy(&mut io::stdin().lock(), &mut out)?;
        }
        "line-echo" => {
            for line in io::stdin().lock().lines() {
                writeln!(out, "> {}", line?)?;
                out.flush()?;
            }
        }
        "count" => {
            let total = io::copy(&mut io::stdin().lock(), &mut io::sink())?;
            writeln!(out, "{total}")?;
        }
        "spew" => spew(&mut out, number(rest)?)?,
        "lines" => {
            let mut buffered = io::BufWriter::with_capacity(1 << 16, out);
            for index in 0..number(rest)? {
                writeln!(buffered, "line {index}")?;
            }
            buffered.flush()?;
            return Ok(ExitCode::SUCCESS);
        }
        "yes" => {
            let block = b"y\n".repeat(4096);
            loop {
                out.write_all(&block)?;
            }
        }
        "head-lines" => {
            let wanted = number(rest)?;
            let mut input = io::stdin().lock();
            let mut line = Vec::new();
            for _ in 0..wanted {
                line.clear();
                if input.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                out.write_all(&line)?;
            }
        }
        "head-bytes" => {
            let mut limited = io::stdin().lock().take(number(rest)?);
            io::copy(&mut limited, &mut out)?;
        }
        "sleep" => std::thread::sleep(seconds(rest)?),
        "exit" => return Ok(exit_code(number_signed(rest)?)),
        "exit-after-read" => {
            io::copy(&mut io::stdin().lock(), &mut io::sink())?;
            return Ok(exit_code(number_signed(rest)?));
        }
        "ignore-term" => {
            // SAFETY: installing SIG_IGN for SIGTERM has no memory-safety
            // preconditions.
            unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
            writeln!(out, "ready")?;
            out.flush()?;
            std::thread::sleep(seconds(rest)?);
        }
        "fork-sleeper" => fork_sleeper(&mut out, seconds(rest)?)?,
        "kill-self" => {
            let signal = i32::try_from(number(rest)?)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad signal"))?;
            out.flush()?;
            // SAFETY: raising a signal on ourselves has no memory-safety
            // preconditions.
            unsafe { libc::raise(signal) };
            std::thread::sleep(Duration::from_secs(5));
        }
        "env" => match rest.first().and_then(std::env::var_os) {
            Some(value) => writeln!(out, "{}", value.to_string_lossy())?,
            None => return Ok(ExitCode::from(3)),
        },
        "pwd" => writeln!(out, "{}", std::env::current_dir()?.display())?,
        "pgid" => {
            // SAFETY: getpgrp has no preconditions.
            let group = unsafe { libc::getpgrp() };
            writeln!(out, "{group}")?;
        }
        "fds" => writeln!(out, "{}", open_fds()?.join(" "))?,
        other => {
            eprintln!("cuprum-fixture: unknown subcommand `{other}`");
            return Ok(ExitCode::from(2));
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The descriptors open in this process, read from `/proc/self/fd` (the
/// listing's own descriptor, closed again by then, is left out).
fn open_fds() -> io::Result<Vec<String>> {
    let mut listed: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    listed.sort_unstable();
    Ok(listed
        .into_iter()
        // SAFETY: F_GETFD only reads descriptor flags; a closed descriptor
        // fails with EBADF.
        .filter(|fd| unsafe { libc::fcntl(*fd, libc::F_GETFD) } != -1)
        .map(|fd| fd.to_string())
        .collect())
}

fn number_signed(rest: &[String]) -> io::Result<i64> {
    rest.first()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "expected an integer"))
}

fn spew(out: &mut impl Write, total: u64) -> io::Result<()> {
    let mut block = Vec::with_capacity(1 << 16);
    while block.len() < (1 << 16) {
        let mut line: Vec<u8> = (0..63u8).map(|i| b'a' + (i % 26)).collect();
        line.push(b'\n');
        block.extend_from_slice(&line);
    }
    let mut left = total;
    while left > 0 {
        let take = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
        out.write_all(&block[..take])?;
        left -= take as u64;
    }
    Ok(())
}

fn decode_hex(text: &str) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "bad hex");
    if !text.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| bad()))
        .collect()
}

#[expect(
    clippy::disallowed_methods,
    reason = "this fixture forks a grandchild on purpose, to test process-group teardown"
)]
fn fork_sleeper(out: &mut impl Write, pause: Duration) -> io::Result<()> {
    out.flush()?;
    // SAFETY: the process is single-threaded here; the child only sleeps and
    // exits without touching shared state.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        std::thread::sleep(pause);
        // SAFETY: _exit in the forked child skips the parent's atexit state.
        unsafe { libc::_exit(0) };
    }
    writeln!(out, "{pid}")?;
    out.flush()?;
    std::thread::sleep(pause);
    Ok(())
}
