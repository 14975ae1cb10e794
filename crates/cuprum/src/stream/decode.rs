//! Incremental UTF-8 decoding with replacement.

/// The replacement character written for each invalid sequence.
const REPLACEMENT: char = '\u{FFFD}';

/// The longest UTF-8 sequence, in bytes.
const MAX_SEQUENCE: usize = 4;

/// Decodes UTF-8 arriving in chunks, replacing invalid input with U+FFFD.
///
/// Each maximal invalid subpart becomes one U+FFFD, exactly as
/// [`String::from_utf8_lossy`] does, and a sequence left incomplete when the
/// input ends becomes one U+FFFD at [`Utf8Decoder::finish`]. A sequence split
/// across chunks is held back until it completes, so the output never
/// depends on where the chunk boundaries fall.
///
/// # Example
///
/// ```
/// use cuprum::stream::Utf8Decoder;
///
/// let mut decoder = Utf8Decoder::new();
/// let mut text = String::new();
/// decoder.decode(b"caf\xc3", &mut text); // 'é' is split across two chunks
/// assert_eq!(text, "caf");
/// decoder.decode(b"\xa9 \xff!", &mut text);
/// decoder.finish(&mut text);
/// assert_eq!(text, "café \u{fffd}!");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Decoder {
    /// The start of a sequence that the next chunk may complete.
    pending: [u8; MAX_SEQUENCE],
    pending_len: usize,
}

impl Utf8Decoder {
    /// Creates a decoder with nothing pending.
    ///
    /// # Example
    ///
    /// ```
    /// let decoder = cuprum::stream::Utf8Decoder::new();
    /// assert!(!decoder.has_pending());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the decoder holds the start of an incomplete sequence.
    ///
    /// # Example
    ///
    /// ```
    /// let mut decoder = cuprum::stream::Utf8Decoder::new();
    /// let mut text = String::new();
    /// decoder.decode(b"\xe2\x82", &mut text);
    /// assert!(decoder.has_pending());
    /// ```
    #[must_use]
    pub fn has_pending(&self) -> bool {
        self.pending_len > 0
    }

    /// Decodes `bytes`, appending the text to `out`.
    ///
    /// A trailing incomplete sequence is kept for the next call (or for
    /// [`Self::finish`]).
    ///
    /// # Example
    ///
    /// ```
    /// let mut decoder = cuprum::stream::Utf8Decoder::new();
    /// let mut text = String::new();
    /// for byte in "€uro".bytes() {
    ///     decoder.decode(&[byte], &mut text);
    /// }
    /// assert_eq!(text, "€uro");
    /// ```
    pub fn decode(&mut self, bytes: &[u8], out: &mut String) {
        let rest = if self.pending_len == 0 {
            bytes
        } else {
            match self.complete_pending(bytes, out) {
                Some(rest) => rest,
                None => return,
            }
        };
        self.decode_fresh(rest, out);
    }

    /// Ends the input: a pending incomplete sequence becomes one U+FFFD.
    /// The decoder is then ready for a new stream.
    ///
    /// # Example
    ///
    /// ```
    /// let mut decoder = cuprum::stream::Utf8Decoder::new();
    /// let mut text = String::new();
    /// decoder.decode(b"ok\xf0\x9f", &mut text);
    /// decoder.finish(&mut text);
    /// assert_eq!(text, "ok\u{fffd}");
    /// ```
    pub fn finish(&mut self, out: &mut String) {
        if self.pending_len > 0 {
            self.pending_len = 0;
            out.push(REPLACEMENT);
        }
    }

    /// Resolves the pending sequence with the first bytes of `bytes`.
    ///
    /// Returns the part of `bytes` still to decode, or `None` if all of it
    /// went into a sequence that is still incomplete.
    fn complete_pending<'a>(&mut self, bytes: &'a [u8], out: &mut String) -> Option<&'a [u8]> {
        let held = self.pending_len;
        // The pending bytes plus up to three more decide the first sequence.
        let take = bytes.len().min(MAX_SEQUENCE - 1);
        let mut joined = [0_u8; 2 * MAX_SEQUENCE - 1];
        joined[..held].copy_from_slice(&self.pending[..held]);
        joined[held..held + take].copy_from_slice(&bytes[..take]);
        let joined = &joined[..held + take];
        self.pending_len = 0;

        let used = match std::str::from_utf8(joined) {
            Ok(text) => {
                out.push_str(text);
                joined.len()
            }
            // The pending bytes are a valid prefix, so any valid text starts
            // with the whole completed sequence.
            Err(err) if err.valid_up_to() > 0 => {
                let valid = err.valid_up_to();
                out.push_str(std::str::from_utf8(&joined[..valid]).unwrap_or_default());
                valid
            }
            Err(err) => match err.error_len() {
                Some(invalid) => {
                    out.push(REPLACEMENT);
                    invalid
                }
                None => {
                    // Still incomplete: everything joined is pending.
                    self.pending[..joined.len()].copy_from_slice(joined);
                    self.pending_len = joined.len();
                    return None;
                }
            },
        };
        // `used` covers all pending bytes (an invalid subpart starting at the
        // first pending byte includes every pending byte).
        Some(&bytes[used.saturating_sub(held)..])
    }

    /// Decodes `bytes` with nothing pending.
    fn decode_fresh(&mut self, mut bytes: &[u8], out: &mut String) {
        loop {
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    out.push_str(text);
                    return;
                }
                Err(err) => {
                    let (valid, rest) = bytes.split_at(err.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(invalid) => {
                            out.push(REPLACEMENT);
                            bytes = &rest[invalid..];
                        }
                        None => {
                            self.pending[..rest.len()].copy_from_slice(rest);
                            self.pending_len = rest.len();
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_chunks(bytes: &[u8], chunk: usize) -> String {
        let mut decoder = Utf8Decoder::new();
        let mut out = String::new();
        for piece in bytes.chunks(chunk) {
            decoder.decode(piece, &mut out);
        }
        decoder.finish(&mut out);
        out
    }

    #[test]
    fn matches_lossy_for_every_chunk_size() {
        let samples: [&[u8]; 8] = [
            b"plain ascii",
            "h\u{e9}llo \u{20ac} \u{1f600}".as_bytes(),
            b"\xff\xfe",
            b"\xe2\x82",
            b"\xf0\x90\x41",
            b"a\xed\xa0\x80b",
            b"\xc0\xafz\xf4\x90\x80\x80",
            b"\xf0\x9f\x98\x80\xf0\x9f\x98",
        ];
        for sample in samples {
            let expected = String::from_utf8_lossy(sample);
            for chunk in 1..=sample.len() {
                assert_eq!(
                    decode_in_chunks(sample, chunk),
                    expected,
                    "{sample:?} / {chunk}"
                );
            }
        }
    }

    #[test]
    fn finish_resets_the_decoder() {
        let mut decoder = Utf8Decoder::new();
        let mut out = String::new();
        decoder.decode(b"\xe2", &mut out);
        decoder.finish(&mut out);
        decoder.finish(&mut out);
        decoder.decode(b"x", &mut out);
        assert_eq!(out, "\u{fffd}x");
    }
}
