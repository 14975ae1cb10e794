//! The pump between pipes: the splice path, the portable loop, downstream
//! closure, non-blocking descriptors, errors and ownership.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::thread;
use std::time::{Duration, Instant};

use cuprum::stream::{pump, pump_with, Drain, Method, PumpMethod, PumpOptions, PumpReport};
use cuprum::ErrorKind;
use proptest::prelude::*;

use super::support::{collect, feed, never_open, payload, pipe, set_nonblocking};

const METHODS: [PumpMethod; 2] = [PumpMethod::Auto, PumpMethod::Portable];

fn expected_method(method: PumpMethod) -> Method {
    match method {
        PumpMethod::Portable => Method::ReadWrite,
        _ if cfg!(target_os = "linux") => Method::Splice,
        _ => Method::ReadWrite,
    }
}

/// Pumps `data` from one pipe to another with a producer and a consumer
/// thread on the far ends; returns the report and what the consumer got.
fn pipe_round_trip(data: &[u8], options: &PumpOptions) -> (PumpReport, Vec<u8>) {
    let (source, source_in) = pipe();
    let (sink_out, sink) = pipe();
    let producer = feed(source_in, data.to_vec());
    let consumer = collect(sink_out);
    let report = pump_with(source.as_fd(), sink, options).expect("pump");
    producer.join().expect("producer").expect("producer write");
    (report, consumer.join().expect("consumer"))
}

#[test]
fn ten_megabytes_pipe_to_pipe() {
    let data = payload(10 * 1024 * 1024);
    for method in METHODS {
        let (report, out) = pipe_round_trip(&data, &PumpOptions::default().with_method(method));
        assert_eq!(report.bytes, data.len() as u64);
        assert_eq!(report.method_used, expected_method(method));
        assert!(!report.downstream_closed);
        assert!(out == data, "{method:?}: output differs");
    }
}

#[test]
fn buffer_sizes_from_one_byte_to_one_mebibyte() {
    let data = payload(200_000);
    for size in [1, 2, 7, 4096, 65_536, 1 << 20] {
        for method in METHODS {
            let options = PumpOptions::default()
                .with_buffer_size(size)
                .with_method(method);
            let (report, out) = pipe_round_trip(&data, &options);
            assert_eq!(report.bytes, data.len() as u64, "{size} {method:?}");
            assert!(out == data, "{size} {method:?}: output differs");
        }
    }
}

#[test]
fn empty_input_delivers_nothing() {
    for method in METHODS {
        let (report, out) = pipe_round_trip(b"", &PumpOptions::default().with_method(method));
        assert_eq!(report.bytes, 0);
        assert!(out.is_empty());
    }
}

#[test]
fn plain_pump_returns_the_byte_count() {
    let (source, source_in) = pipe();
    let (sink_out, sink) = pipe();
    let producer = feed(source_in, b"hello".to_vec());
    let consumer = collect(sink_out);
    assert_eq!(pump(source.as_fd(), sink, 2).expect("pump"), 5);
    producer.join().expect("producer").expect("write");
    assert_eq!(consumer.join().expect("consumer"), b"hello");
}

#[test]
fn downstream_closed_before_any_byte() {
    for method in METHODS {
        let (source, source_in) = pipe();
        let (sink_out, sink) = pipe();
        drop(sink_out);
        // More than a pipe holds: the producer finishes only if the pump
        // drains the source.
        let producer = feed(source_in, payload(1 << 20));
        let options = PumpOptions::default().with_method(method);
        let report = pump_with(source.as_fd(), sink, &options).expect("pump");
        assert_eq!(report.bytes, 0);
        assert!(report.downstream_closed);
        assert_eq!(report.method_used, expected_method(method));
        producer.join().expect("producer").expect("producer write");
        let mut rest = Vec::new();
        File::from(source)
            .read_to_end(&mut rest)
            .expect("read source");
        assert!(rest.is_empty(), "source was not drained");
    }
}

#[test]
fn downstream_closed_after_some_bytes() {
    const WANTED: usize = 100_000;
    let data = payload(4 << 20);
    for method in METHODS {
        let (source, source_in) = pipe();
        let (sink_out, sink) = pipe();
        let producer = feed(source_in, data.clone());
        let consumer = thread::spawn(move || {
            let mut head = vec![0; WANTED];
            File::from(sink_out)
                .read_exact(&mut head)
                .expect("read head");
            head // the sink's read end closes here
        });
        let options = PumpOptions::default().with_method(method);
        let report = pump_with(source.as_fd(), sink, &options).expect("pump");
        assert!(report.downstream_closed, "{method:?}");
        assert!(
            report.bytes >= WANTED as u64,
            "{method:?}: {}",
            report.bytes
        );
        assert!(
            report.bytes < data.len() as u64,
            "{method:?}: {}",
            report.bytes
        );
        assert_eq!(consumer.join().expect("consumer"), data[..WANTED]);
        producer.join().expect("producer").expect("producer write");
    }
}

#[test]
fn timed_drain_returns_promptly_with_an_endless_producer() {
    for method in METHODS {
        let (source, source_in) = pipe();
        let (sink_out, sink) = pipe();
        drop(sink_out);
        let producer = thread::spawn(move || {
            let mut file = File::from(source_in);
            let chunk = vec![b'y'; 8192];
            loop {
                if let Err(err) = std::io::Write::write_all(&mut file, &chunk) {
                    return err;
                }
            }
        });
        let grace = Duration::from_millis(100);
        let options = PumpOptions::default()
            .with_method(method)
            .with_drain(Drain::For(grace));
        let started = Instant::now();
        let report = pump_with(source.as_fd(), sink, &options).expect("pump");
        let elapsed = started.elapsed();
        assert!(report.downstream_closed);
        assert!(elapsed >= grace, "{method:?}: returned after {elapsed:?}");
        assert!(
            elapsed < Duration::from_secs(5),
            "{method:?}: took {elapsed:?}"
        );
        drop(source); // the producer now gets EPIPE
        let err = producer.join().expect("producer");
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
    }
}

#[test]
fn timed_drain_stops_early_at_end_of_input() {
    let (source, source_in) = pipe();
    let (sink_out, sink) = pipe();
    drop(sink_out);
    let producer = feed(source_in, payload(1000));
    producer.join().expect("producer").expect("write");
    let options = PumpOptions::default().with_drain(Drain::For(Duration::from_secs(60)));
    let started = Instant::now();
    let report = pump_with(source.as_fd(), sink, &options).expect("pump");
    assert!(report.downstream_closed);
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn bad_reader_is_an_error_with_errno() {
    for method in METHODS {
        let (sink_out, sink) = pipe();
        let consumer = collect(sink_out);
        let options = PumpOptions::default().with_method(method);
        let err = pump_with(never_open(), sink, &options).expect_err("EBADF");
        assert_eq!(err.kind(), ErrorKind::Io, "{method:?}");
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{method:?}");
        // The writer was closed even though the pump failed.
        assert!(consumer.join().expect("consumer").is_empty());
    }
}

#[test]
fn invalid_buffer_size_fails_before_any_io() {
    let (source, source_in) = pipe();
    let (sink_out, sink) = pipe();
    drop(source_in);
    let err = pump(source.as_fd(), sink, 0).expect_err("zero");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.message(), "buffer_size must be greater than zero");
    assert!(collect(sink_out).join().expect("consumer").is_empty());
}

#[test]
fn nonblocking_source_and_sink() {
    let data = payload(3 << 20);
    for method in METHODS {
        let (source, source_in) = pipe();
        let (sink_out, sink) = pipe();
        set_nonblocking(source.as_fd(), true);
        set_nonblocking(sink.as_fd(), true);
        // A slow producer leaves the source empty, a slow consumer leaves the
        // sink full: both kinds of EAGAIN happen.
        let producer_data = data.clone();
        let producer = thread::spawn(move || {
            let mut file = File::from(source_in);
            for piece in producer_data.chunks(512 << 10) {
                thread::sleep(Duration::from_millis(5));
                std::io::Write::write_all(&mut file, piece).expect("write");
            }
        });
        let consumer = thread::spawn(move || {
            let mut file = File::from(sink_out);
            let mut out = Vec::new();
            let mut buf = vec![0; 256 << 10];
            loop {
                thread::sleep(Duration::from_millis(2));
                match file.read(&mut buf).expect("read") {
                    0 => return out,
                    n => out.extend_from_slice(&buf[..n]),
                }
            }
        });
        let options = PumpOptions::default().with_method(method);
        let report = pump_with(source.as_fd(), sink, &options).expect("pump");
        producer.join().expect("producer");
        let out = consumer.join().expect("consumer");
        assert_eq!(report.bytes, data.len() as u64, "{method:?}");
        assert_eq!(report.method_used, expected_method(method));
        assert!(out == data, "{method:?}: output differs");
    }
}

#[test]
fn reader_stays_open_and_writer_is_closed() {
    let (source, source_in) = pipe();
    let (sink_out, sink) = pipe();
    let consumer = collect(sink_out);
    drop(source_in);
    pump(source.as_fd(), sink, 16).expect("pump");
    assert!(super::support::is_open(source.as_fd()));
    assert!(consumer.join().expect("consumer").is_empty());
    let _: OwnedFd = source;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pump_preserves_bytes(
        data in proptest::collection::vec(any::<u8>(), 0..200_000),
        buffer_size in 1_usize..70_000,
        portable in any::<bool>(),
    ) {
        let method = if portable { PumpMethod::Portable } else { PumpMethod::Auto };
        let options = PumpOptions::default().with_buffer_size(buffer_size).with_method(method);
        let (report, out) = pipe_round_trip(&data, &options);
        prop_assert_eq!(report.bytes, data.len() as u64);
        prop_assert!(out == data);
    }
}
