//! Reading a descriptor to its end as text.

use std::fs::File;
use std::os::fd::AsFd;

use cuprum::stream::consume;
use cuprum::ErrorKind;

use super::support::{feed, is_open, never_open, pipe, TempFile};

fn consume_bytes(data: &[u8], buffer_size: usize) -> String {
    let (source, source_in) = pipe();
    let producer = feed(source_in, data.to_vec());
    let text = consume(source.as_fd(), buffer_size).expect("consume");
    producer.join().expect("producer").expect("write");
    assert!(is_open(source.as_fd()));
    text
}

#[test]
fn decodes_with_replacement_at_any_buffer_size() {
    let data = b"ok \xe2\x82\xac \xff\xfe \xf0\x9f\x98\x80 \xe2\x82";
    let expected = String::from_utf8_lossy(data);
    for size in 1..=data.len() + 1 {
        assert_eq!(consume_bytes(data, size), expected, "buffer size {size}");
    }
}

#[test]
fn large_input() {
    let data = "line of text\n".repeat(100_000);
    assert_eq!(consume_bytes(data.as_bytes(), 65_536), data);
}

#[test]
fn directory_is_an_error_and_stays_open() {
    let dir = File::open(std::env::temp_dir()).expect("open temp dir");
    let err = consume(dir.as_fd(), 4096).expect_err("EISDIR");
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.raw_os_error(), Some(libc::EISDIR));
    assert!(is_open(dir.as_fd()));
}

#[test]
fn bad_descriptor_and_bad_size() {
    assert_eq!(
        consume(never_open(), 16).expect_err("EBADF").raw_os_error(),
        Some(libc::EBADF)
    );
    let file = TempFile::with_contents(b"x");
    let err =
        consume(file.open().as_fd(), cuprum::stream::MAX_BUFFER_SIZE + 1).expect_err("too large");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err.message(),
        "buffer_size exceeds the maximum permitted size"
    );
}

#[test]
fn largest_buffer_size_reads_small_input() {
    // Reads go straight into spare capacity: a 1 GiB buffer size reserves
    // address space without touching it.
    let text = consume_bytes(b"small", cuprum::stream::MAX_BUFFER_SIZE);
    assert_eq!(text, "small");
}
