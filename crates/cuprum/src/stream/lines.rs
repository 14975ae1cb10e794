//! Splitting decoded text into lines, independently of chunk boundaries.

/// What the splitter holds back at the end of the text seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Held {
    /// Nothing: the partial line is open.
    #[default]
    Nothing,
    /// A `\r`, which ends the partial line alone or together with a `\n`
    /// that has not arrived yet.
    CarriageReturn,
    /// A line boundary other than `\n`/`\r`, already appended to the partial
    /// line; the line is emitted once more text (or the end) arrives.
    Boundary,
}

/// Splits text fed in chunks into lines.
///
/// Line boundaries are those of Python's `str.splitlines`: `\n`, `\r`,
/// `\r\n`, `\v`, `\f`, `\x1c`, `\x1d`, `\x1e`, `\x85`, `\u{2028}` and
/// `\u{2029}`. Each line loses exactly one trailing `\r\n`, `\n` or `\r`;
/// any other boundary character stays at the end of its line's text.
///
/// A line is emitted once it is known to be complete: a line ending in `\r`
/// waits for the next character, so a `\r\n` split across two chunks ends
/// one line, not two; a line ending in another boundary character waits
/// until more text arrives. [`LineSplitter::finish`] emits whatever is left,
/// including an unterminated last line. Empty input emits nothing, and
/// `"x\n\n"` emits `"x"` then `""`. The lines emitted never depend on how the
/// text was chunked.
///
/// # Example
///
/// ```
/// use cuprum::stream::LineSplitter;
///
/// let mut splitter = LineSplitter::new();
/// let mut lines = Vec::new();
/// splitter.feed("one\r", &mut lines);
/// splitter.feed("\ntwo\n\nthr", &mut lines);
/// splitter.feed("ee", &mut lines);
/// splitter.finish(&mut lines);
/// assert_eq!(lines, ["one", "two", "", "three"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct LineSplitter {
    partial: String,
    held: Held,
}

impl LineSplitter {
    /// Creates a splitter with no partial line.
    ///
    /// # Example
    ///
    /// ```
    /// let mut lines = Vec::new();
    /// cuprum::stream::LineSplitter::new().finish(&mut lines);
    /// assert!(lines.is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of text, pushing every line it completes onto
    /// `lines`.
    ///
    /// # Example
    ///
    /// ```
    /// let mut splitter = cuprum::stream::LineSplitter::new();
    /// let mut lines = Vec::new();
    /// splitter.feed("a\x0cb\nc", &mut lines);
    /// assert_eq!(lines, ["a\x0c", "b"]);
    /// ```
    pub fn feed(&mut self, text: &str, lines: &mut Vec<String>) {
        let mut rest = text;
        if rest.is_empty() {
            return;
        }
        match std::mem::take(&mut self.held) {
            Held::Nothing => {}
            Held::CarriageReturn => {
                self.emit(lines);
                rest = rest.strip_prefix('\n').unwrap_or(rest);
            }
            Held::Boundary => self.emit(lines),
        }
        while let Some((start, len)) = find_boundary(rest.as_bytes()) {
            self.partial.push_str(&rest[..start]);
            let after = start + len;
            match rest.as_bytes()[start] {
                b'\n' => self.emit(lines),
                b'\r' => match rest.as_bytes().get(after) {
                    None => {
                        self.held = Held::CarriageReturn;
                        return;
                    }
                    Some(b'\n') => {
                        self.emit(lines);
                        rest = &rest[after + 1..];
                        continue;
                    }
                    Some(_) => self.emit(lines),
                },
                _ => {
                    self.partial.push_str(&rest[start..after]);
                    if after == rest.len() {
                        self.held = Held::Boundary;
                        return;
                    }
                    self.emit(lines);
                }
            }
            rest = &rest[after..];
        }
        self.partial.push_str(rest);
    }

    /// Ends the text: emits the held or unterminated last line, if any. The
    /// splitter is then ready for a new stream.
    ///
    /// # Example
    ///
    /// ```
    /// let mut splitter = cuprum::stream::LineSplitter::new();
    /// let mut lines = Vec::new();
    /// splitter.feed("done\r", &mut lines);
    /// assert!(lines.is_empty());
    /// splitter.finish(&mut lines);
    /// assert_eq!(lines, ["done"]);
    /// ```
    pub fn finish(&mut self, lines: &mut Vec<String>) {
        let held = std::mem::take(&mut self.held);
        if held != Held::Nothing || !self.partial.is_empty() {
            self.emit(lines);
        }
    }

    fn emit(&mut self, lines: &mut Vec<String>) {
        lines.push(std::mem::take(&mut self.partial));
    }
}

/// Finds the first line boundary in UTF-8 text: its byte offset and length.
fn find_boundary(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1e => return Some((i, 1)),
            // U+0085 is C2 85.
            0xc2 if bytes.get(i + 1) == Some(&0x85) => return Some((i, 2)),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                return Some((i, 3));
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&str]) -> Vec<String> {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.feed(chunk, &mut lines);
        }
        splitter.finish(&mut lines);
        lines
    }

    #[test]
    fn spec_examples() {
        assert!(split(&[]).is_empty());
        assert!(split(&["", ""]).is_empty());
        assert_eq!(split(&["x\n\n"]), ["x", ""]);
        assert_eq!(split(&["a\r", "\nb"]), ["a", "b"]);
        assert_eq!(split(&["a\r", "\r\n"]), ["a", ""]);
        assert_eq!(split(&["tail"]), ["tail"]);
        assert_eq!(split(&["\n"]), [""]);
        assert_eq!(split(&["\r"]), [""]);
    }

    #[test]
    fn other_boundaries_stay_in_the_text() {
        assert_eq!(
            split(&["a\x0bb\x0cc\x1cd\x1de\x1ef\u{85}g\u{2028}h\u{2029}i"]),
            [
                "a\x0b",
                "b\x0c",
                "c\x1c",
                "d\x1d",
                "e\x1e",
                "f\u{85}",
                "g\u{2028}",
                "h\u{2029}",
                "i"
            ]
        );
        assert_eq!(split(&["a\x0c"]), ["a\x0c"]);
        assert_eq!(split(&["a\x0c", "\n"]), ["a\x0c", ""]);
    }

    #[test]
    fn held_lines_wait_for_more_text() {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        splitter.feed("a\u{2028}", &mut lines);
        assert!(lines.is_empty());
        splitter.feed("", &mut lines);
        assert!(lines.is_empty());
        splitter.feed("b", &mut lines);
        assert_eq!(lines, ["a\u{2028}"]);
    }

    #[test]
    fn lookalike_bytes_are_not_boundaries() {
        // U+00C5 (C3 85), U+2027 (E2 80 A7) and U+20A8 (E2 82 A8).
        assert_eq!(
            split(&["\u{c5}\u{2027}\u{20a8}"]),
            ["\u{c5}\u{2027}\u{20a8}"]
        );
    }
}
