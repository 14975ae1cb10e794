//! Properties of the UTF-8 decoder and the line splitter: the output never
//! depends on chunk boundaries.

use cuprum::stream::{LineSplitter, Utf8Decoder};
use proptest::prelude::*;

/// Cuts `len` items into consecutive ranges at the given (unsorted) points.
fn ranges(len: usize, mut cuts: Vec<usize>) -> Vec<std::ops::Range<usize>> {
    cuts.iter_mut().for_each(|cut| *cut %= len + 1);
    cuts.push(0);
    cuts.push(len);
    cuts.sort_unstable();
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

fn decode_chunks(bytes: &[u8], cuts: Vec<usize>) -> String {
    let mut decoder = Utf8Decoder::new();
    let mut out = String::new();
    for range in ranges(bytes.len(), cuts) {
        decoder.decode(&bytes[range], &mut out);
    }
    decoder.finish(&mut out);
    out
}

fn split_chunks(text: &str, cuts: Vec<usize>) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut splitter = LineSplitter::new();
    let mut lines = Vec::new();
    for range in ranges(chars.len(), cuts) {
        let chunk: String = chars[range].iter().collect();
        splitter.feed(&chunk, &mut lines);
    }
    splitter.finish(&mut lines);
    lines
}

/// The specification, written the obvious way: Python's
/// `text.splitlines(keepends=True)`, then one trailing `\r\n`, `\n` or `\r`
/// removed from each piece.
fn model_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                current.push(c);
                lines.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn interesting_text() -> impl Strategy<Value = String> {
    let alphabet = vec![
        'a',
        'b',
        ' ',
        '\n',
        '\r',
        '\x0b',
        '\x0c',
        '\x1c',
        '\x1d',
        '\x1e',
        '\u{85}',
        '\u{2028}',
        '\u{2029}',
        '\u{c5}',
        '\u{2027}',
        '\u{20a8}',
        '\u{e9}',
        '\u{1f600}',
        '\u{fffd}',
    ];
    proptest::collection::vec(proptest::sample::select(alphabet), 0..80)
        .prop_map(|chars| chars.into_iter().collect())
}

#[test]
fn model_matches_the_specification_examples() {
    assert_eq!(model_lines("x\n\n"), ["x", ""]);
    assert!(model_lines("").is_empty());
    assert_eq!(model_lines("a\x0cb\r\nc"), ["a\x0c", "b", "c"]);
}

proptest! {
    #[test]
    fn decoder_matches_lossy_at_any_chunking(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        prop_assert_eq!(decode_chunks(&bytes, cuts), String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn decoder_matches_lossy_on_mostly_valid_text(
        text in "\\PC{0,40}",
        noise in proptest::collection::vec((any::<usize>(), 0x80_u8..=0xff), 0..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = text.into_bytes();
        for (at, byte) in noise {
            let at = at % (bytes.len() + 1);
            bytes.insert(at, byte);
        }
        prop_assert_eq!(decode_chunks(&bytes, cuts), String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn splitter_matches_the_model_at_any_chunking(
        text in interesting_text(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        prop_assert_eq!(split_chunks(&text, cuts), model_lines(&text));
    }

    #[test]
    fn bytes_to_lines_do_not_depend_on_read_boundaries(
        text in interesting_text(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let bytes = text.as_bytes();
        let mut decoder = Utf8Decoder::new();
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        let mut decoded = String::new();
        for range in ranges(bytes.len(), cuts) {
            decoded.clear();
            decoder.decode(&bytes[range], &mut decoded);
            splitter.feed(&decoded, &mut lines);
        }
        decoded.clear();
        decoder.finish(&mut decoded);
        splitter.feed(&decoded, &mut lines);
        splitter.finish(&mut lines);
        prop_assert_eq!(lines, model_lines(&text));
    }
}
