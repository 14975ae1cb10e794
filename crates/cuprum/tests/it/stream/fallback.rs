//! Which path the pump takes for each kind of descriptor pair.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use cuprum::stream::{pump_with, Method, PumpMethod, PumpOptions};

use super::support::{collect, feed, payload, pipe, TempFile};

fn splice_expected() -> Method {
    if cfg!(target_os = "linux") {
        Method::Splice
    } else {
        Method::ReadWrite
    }
}

#[test]
fn file_to_pipe_is_spliced() {
    let data = payload(3 << 20);
    let file = TempFile::with_contents(&data);
    let (sink_out, sink) = pipe();
    let consumer = collect(sink_out);
    let report = pump_with(file.open().as_fd(), sink, &PumpOptions::default()).expect("pump");
    assert_eq!(report.method_used, splice_expected());
    assert_eq!(report.bytes, data.len() as u64);
    assert!(consumer.join().expect("consumer") == data);
}

#[test]
fn pipe_to_file_is_spliced() {
    let data = payload(3 << 20);
    let file = TempFile::with_contents(b"");
    let (source, source_in) = pipe();
    let producer = feed(source_in, data.clone());
    let sink = OwnedFd::from(file.create());
    let report = pump_with(source.as_fd(), sink, &PumpOptions::default()).expect("pump");
    producer.join().expect("producer").expect("write");
    assert_eq!(report.method_used, splice_expected());
    assert!(file.contents() == data);
}

#[test]
fn file_to_file_falls_back_to_read_write() {
    let data = payload(3 << 20);
    let source = TempFile::with_contents(&data);
    let target = TempFile::with_contents(b"");
    for buffer_size in [1000, 65_536] {
        let options = PumpOptions::default().with_buffer_size(buffer_size);
        let sink = OwnedFd::from(target.create());
        let report = pump_with(source.open().as_fd(), sink, &options).expect("pump");
        assert_eq!(report.method_used, Method::ReadWrite);
        assert_eq!(report.bytes, data.len() as u64);
        assert!(!report.downstream_closed);
        assert!(target.contents() == data);
    }
}

#[test]
fn socket_to_socket_falls_back_to_read_write() {
    let data = payload(3 << 20);
    let (producer_end, source) = UnixStream::pair().expect("socketpair");
    let (sink, consumer_end) = UnixStream::pair().expect("socketpair");
    let producer = feed(producer_end, data.clone());
    let consumer = collect(consumer_end);
    let report =
        pump_with(source.as_fd(), OwnedFd::from(sink), &PumpOptions::default()).expect("pump");
    producer.join().expect("producer").expect("write");
    assert_eq!(report.method_used, Method::ReadWrite);
    assert_eq!(report.bytes, data.len() as u64);
    assert!(consumer.join().expect("consumer") == data);
}

#[test]
fn socket_reset_downstream_is_not_an_error() {
    let (producer_end, source) = UnixStream::pair().expect("socketpair");
    let (sink, consumer_end) = UnixStream::pair().expect("socketpair");
    drop(consumer_end);
    let producer = feed(producer_end, payload(1 << 20));
    let report =
        pump_with(source.as_fd(), OwnedFd::from(sink), &PumpOptions::default()).expect("pump");
    producer.join().expect("producer").expect("write");
    assert!(report.downstream_closed);
    assert_eq!(report.bytes, 0);
}

#[test]
fn portable_method_never_splices() {
    let data = payload(1 << 20);
    let file = TempFile::with_contents(&data);
    let (sink_out, sink) = pipe();
    let consumer = collect(sink_out);
    let options = PumpOptions::default().with_method(PumpMethod::Portable);
    let report = pump_with(file.open().as_fd(), sink, &options).expect("pump");
    assert_eq!(report.method_used, Method::ReadWrite);
    assert!(consumer.join().expect("consumer") == data);
}
