//! Incremental line splitting with bounded memory.
//!
//! [`LineSplitter`] is fed arbitrary byte chunks (as they come off a file
//! or a network stream) and hands out complete lines, numbered from 1,
//! borrowed from its internal buffer: no allocation per line.
//!
//! - Lines end with `\n`; a `\r` just before it (`\r\n`) is removed.
//! - A UTF-8 byte order mark (`EF BB BF`) at the very start of the input
//!   is removed; anywhere else it is data.
//! - A line longer than `max_len` bytes (terminator excluded) is reported
//!   once as [`Line::TooLong`] with its number, and its bytes are dropped up
//!   to the next `\n`: memory stays bounded by `max_len` plus the largest
//!   chunk pushed, whatever the input.
//! - After [`LineSplitter::finish`], bytes left after the last `\n` come out
//!   as [`Line::Unterminated`] (a trailing `\r` is removed there too). An
//!   input ending with `\n` has no such line.
//!
//! The result does not depend on how the input was cut into chunks.

use core::ops::ControlFlow;
use std::io::{self, Read};

use crate::RowError;

/// A sensible maximum line length for the directory files (64 KiB; real
/// lines are well under 1 KiB).
pub const DEFAULT_MAX_LINE_LEN: usize = 64 * 1024;

/// Size of the chunks [`for_each_line`] reads.
const READ_CHUNK: usize = 256 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One line handed out by a [`LineSplitter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line that was followed by a line terminator (removed).
    Complete {
        /// 1-based line number.
        number: u64,
        /// The line's bytes, without `\n` / `\r\n`.
        bytes: &'a [u8],
    },
    /// The last line of the input, not followed by `\n` (only after
    /// [`LineSplitter::finish`]). It may have been cut short.
    Unterminated {
        /// 1-based line number.
        number: u64,
        /// The line's bytes (a trailing `\r` removed).
        bytes: &'a [u8],
    },
    /// A line longer than the splitter's maximum, skipped.
    TooLong {
        /// 1-based line number.
        number: u64,
        /// The maximum that was exceeded, in bytes.
        max_len: usize,
    },
}

impl<'a> Line<'a> {
    /// The 1-based line number.
    #[must_use]
    pub const fn number(&self) -> u64 {
        match *self {
            Self::Complete { number, .. }
            | Self::Unterminated { number, .. }
            | Self::TooLong { number, .. } => number,
        }
    }

    /// The line's bytes, unless it was too long.
    #[must_use]
    pub const fn bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Self::Complete { bytes, .. } | Self::Unterminated { bytes, .. } => Some(bytes),
            Self::TooLong { .. } => None,
        }
    }

    /// Runs a row parser on this line, applying the end-of-file rules:
    ///
    /// - a [`Line::TooLong`] gives a [`code::LINE_TOO_LONG`](crate::code::LINE_TOO_LONG) error;
    /// - an [`Line::Unterminated`] line that parses is accepted (files
    ///   without a final newline are fine), one that does not parse gives a
    ///   [`code::TRUNCATED`](crate::code::TRUNCATED) error: the file was
    ///   most likely cut in the middle of its last line.
    ///
    /// # Errors
    ///
    /// The parser's error, or the two above.
    pub fn parse<T>(
        self,
        parser: impl FnOnce(&'a [u8]) -> Result<T, RowError>,
    ) -> Result<T, RowError> {
        match self {
            Self::Complete { bytes, .. } => parser(bytes),
            Self::Unterminated { bytes, .. } => parser(bytes).map_err(RowError::truncated),
            Self::TooLong { max_len, .. } => Err(RowError::line_too_long(max_len)),
        }
    }
}

/// Incremental line splitter: [`push`](Self::push) chunks, then pull lines
/// with [`next_line`](Self::next_line) until it returns `None`; at the end
/// of input call [`finish`](Self::finish) until it returns `None`.
///
/// ```
/// use egide_directory::lines::{Line, LineSplitter};
///
/// let mut splitter = LineSplitter::new(1024);
/// splitter.push(b"\xEF\xBB\xBFfirst\r\nsec");
/// assert_eq!(splitter.next_line(), Some(Line::Complete { number: 1, bytes: b"first" }));
/// assert_eq!(splitter.next_line(), None); // "sec" is not complete yet
/// splitter.push(b"ond\nlast");
/// assert_eq!(splitter.next_line(), Some(Line::Complete { number: 2, bytes: b"second" }));
/// assert_eq!(splitter.next_line(), None);
/// assert_eq!(splitter.finish(), Some(Line::Unterminated { number: 3, bytes: b"last" }));
/// assert_eq!(splitter.finish(), None);
/// ```
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Start of the bytes not handed out yet.
    pos: usize,
    /// `buf[pos..scan_from]` is known to hold no `\n`.
    scan_from: usize,
    max_len: usize,
    next_number: u64,
    /// Dropping the rest of an over-long line up to the next `\n`.
    skipping: bool,
    bom_pending: bool,
    eof: bool,
}

impl LineSplitter {
    /// A splitter rejecting lines longer than `max_len` bytes (terminator
    /// excluded); see [`DEFAULT_MAX_LINE_LEN`].
    #[must_use]
    pub fn new(max_len: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            scan_from: 0,
            max_len,
            next_number: 1,
            skipping: false,
            bom_pending: true,
            eof: false,
        }
    }

    /// The maximum line length given to [`Self::new`].
    #[must_use]
    pub const fn max_len(&self) -> usize {
        self.max_len
    }

    /// Number of lines handed out so far (including skipped over-long ones).
    #[must_use]
    pub const fn lines_seen(&self) -> u64 {
        self.next_number - 1
    }

    /// Appends a chunk of input. Pull the lines it completes with
    /// [`Self::next_line`] before pushing more, so that memory stays
    /// bounded. Input pushed after [`Self::finish`] is ignored.
    pub fn push(&mut self, mut chunk: &[u8]) {
        if self.eof {
            return;
        }
        if self.skipping {
            match memchr::memchr(b'\n', chunk) {
                None => return,
                Some(i) => {
                    self.skipping = false;
                    chunk = chunk.get(i + 1..).unwrap_or_default();
                }
            }
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scan_from -= self.pos;
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, or `None` when more input is needed.
    /// After [`Self::finish`], also the final unterminated line.
    pub fn next_line(&mut self) -> Option<Line<'_>> {
        if self.bom_pending {
            let avail = self.buf.get(self.pos..).unwrap_or_default();
            if avail.starts_with(BOM) {
                self.pos += BOM.len();
                self.scan_from = self.scan_from.max(self.pos);
            } else if !self.eof && avail.len() < BOM.len() && BOM.starts_with(avail) {
                return None;
            }
            self.bom_pending = false;
        }
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let tail = self.buf.get(self.scan_from..).unwrap_or_default();
        let (end, next) = match memchr::memchr(b'\n', tail) {
            Some(i) => {
                let end = self.scan_from + i;
                (end, end + 1)
            }
            None if self.eof => (self.buf.len(), self.buf.len()),
            None => {
                self.scan_from = self.buf.len();
                // One byte of slack: a '\r' may still be followed by '\n'.
                if self.buf.len() - start > self.max_len + 1 {
                    let number = self.take_number();
                    self.skipping = true;
                    self.pos = self.buf.len();
                    self.scan_from = self.pos;
                    return Some(Line::TooLong {
                        number,
                        max_len: self.max_len,
                    });
                }
                return None;
            }
        };
        let terminated = next > end;
        self.pos = next;
        self.scan_from = next;
        let number = self.take_number();
        let mut bytes = self.buf.get(start..end).unwrap_or_default();
        if let Some(stripped) = bytes.strip_suffix(b"\r") {
            bytes = stripped;
        }
        Some(if bytes.len() > self.max_len {
            Line::TooLong {
                number,
                max_len: self.max_len,
            }
        } else if terminated {
            Line::Complete { number, bytes }
        } else {
            Line::Unterminated { number, bytes }
        })
    }

    /// Marks the end of input and returns the next line still buffered:
    /// once [`Self::next_line`] has returned `None`, that is the final
    /// unterminated line, if any. Call until it returns `None`.
    pub fn finish(&mut self) -> Option<Line<'_>> {
        self.eof = true;
        self.next_line()
    }

    fn take_number(&mut self) -> u64 {
        let number = self.next_number;
        self.next_number += 1;
        number
    }
}

/// Reads `reader` to the end and calls `on_line` for every line (complete,
/// unterminated or too long), in order. `on_line` may stop the reading by
/// returning [`ControlFlow::Break`], whose value is then returned.
///
/// # Errors
///
/// Any I/O error of `reader` (interrupted reads are retried).
pub fn for_each_line<R: Read, B>(
    mut reader: R,
    max_len: usize,
    mut on_line: impl FnMut(Line<'_>) -> ControlFlow<B>,
) -> io::Result<Option<B>> {
    let mut splitter = LineSplitter::new(max_len);
    let mut chunk = vec![0_u8; READ_CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        splitter.push(chunk.get(..n).unwrap_or_default());
        while let Some(line) = splitter.next_line() {
            if let ControlFlow::Break(b) = on_line(line) {
                return Ok(Some(b));
            }
        }
    }
    while let Some(line) = splitter.finish() {
        if let ControlFlow::Break(b) = on_line(line) {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An owned copy of a [`Line`], for comparisons.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Complete(u64, Vec<u8>),
        Unterminated(u64, Vec<u8>),
        TooLong(u64),
    }

    fn own(line: Line<'_>) -> Owned {
        match line {
            Line::Complete { number, bytes } => Owned::Complete(number, bytes.to_vec()),
            Line::Unterminated { number, bytes } => Owned::Unterminated(number, bytes.to_vec()),
            Line::TooLong { number, .. } => Owned::TooLong(number),
        }
    }

    fn split_chunked(input: &[u8], cuts: &[usize], max_len: usize) -> Vec<Owned> {
        let mut splitter = LineSplitter::new(max_len);
        let mut out = Vec::new();
        let mut rest = input;
        for &cut in cuts {
            let (chunk, tail) = rest.split_at(cut.min(rest.len()));
            splitter.push(chunk);
            while let Some(line) = splitter.next_line() {
                out.push(own(line));
            }
            rest = tail;
        }
        splitter.push(rest);
        while let Some(line) = splitter.next_line() {
            out.push(own(line));
        }
        while let Some(line) = splitter.finish() {
            out.push(own(line));
        }
        out
    }

    /// Straightforward reference model of the documented behaviour.
    fn model(input: &[u8], max_len: usize) -> Vec<Owned> {
        let input = input.strip_prefix(BOM).unwrap_or(input);
        let mut out = Vec::new();
        let mut pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let last = pieces.pop().unwrap_or_default();
        let mut number = 0;
        let mut emit = |bytes: &[u8], terminated: bool, out: &mut Vec<Owned>| {
            number += 1;
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            out.push(if bytes.len() > max_len {
                Owned::TooLong(number)
            } else if terminated {
                Owned::Complete(number, bytes.to_vec())
            } else {
                Owned::Unterminated(number, bytes.to_vec())
            });
        };
        for piece in pieces {
            emit(piece, true, &mut out);
        }
        if !last.is_empty() {
            emit(last, false, &mut out);
        }
        out
    }

    #[test]
    fn crlf_bom_and_unterminated() {
        let input = b"\xEF\xBB\xBFa|b\r\n\r\n\nc\rd\nlast\r";
        assert_eq!(
            split_chunked(input, &[], 100),
            vec![
                Owned::Complete(1, b"a|b".to_vec()),
                Owned::Complete(2, vec![]),
                Owned::Complete(3, vec![]),
                Owned::Complete(4, b"c\rd".to_vec()),
                Owned::Unterminated(5, b"last".to_vec()),
            ]
        );
        // BOM split over three chunks.
        assert_eq!(
            split_chunked(input, &[1, 1, 1], 100),
            split_chunked(input, &[], 100)
        );
        // A BOM elsewhere is data.
        assert_eq!(
            split_chunked(b"x\n\xEF\xBB\xBFy\n", &[], 100),
            vec![
                Owned::Complete(1, b"x".to_vec()),
                Owned::Complete(2, b"\xEF\xBB\xBFy".to_vec()),
            ]
        );
        // A lone BOM prefix at end of input is data.
        assert_eq!(
            split_chunked(b"\xEF\xBB", &[1], 100),
            vec![Owned::Unterminated(1, b"\xEF\xBB".to_vec())]
        );
        assert!(split_chunked(b"", &[], 100).is_empty());
        assert!(split_chunked(b"\xEF\xBB\xBF", &[], 100).is_empty());
    }

    #[test]
    fn over_long_lines_are_reported_once_and_skipped() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend(b"\nok\n");
        input.extend(std::iter::repeat_n(b'y', 11));
        let expected = vec![
            Owned::Complete(1, b"short".to_vec()),
            Owned::TooLong(2),
            Owned::Complete(3, b"ok".to_vec()),
            Owned::TooLong(4),
        ];
        assert_eq!(split_chunked(&input, &[], 10), expected);
        assert_eq!(
            split_chunked(&input, &[3, 7, 1, 100, 2, 5000], 10),
            expected
        );
        // Exactly max_len is fine, with or without CR.
        assert_eq!(
            split_chunked(b"0123456789\r\n0123456789", &[11], 10),
            vec![
                Owned::Complete(1, b"0123456789".to_vec()),
                Owned::Unterminated(2, b"0123456789".to_vec()),
            ]
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let mut splitter = LineSplitter::new(100);
        let chunk = vec![b'z'; 1000];
        for _ in 0..1000 {
            splitter.push(&chunk);
            while splitter.next_line().is_some() {}
            assert!(splitter.buf.len() <= 1000 + 101);
        }
        splitter.push(b"\nend\n");
        let mut lines = Vec::new();
        while let Some(line) = splitter.next_line() {
            lines.push(own(line));
        }
        assert_eq!(lines, vec![Owned::Complete(2, b"end".to_vec())]);
    }

    #[test]
    fn line_parse_applies_end_of_file_rules() {
        let ok = |b: &[u8]| {
            if b == b"good" {
                Ok(())
            } else {
                Err(RowError::new(crate::code::COLUMN_COUNT, "nope"))
            }
        };
        let complete = Line::Complete {
            number: 1,
            bytes: b"bad",
        };
        assert_eq!(complete.parse(ok).unwrap_err().code, "column_count");
        let cut = Line::Unterminated {
            number: 2,
            bytes: b"bad",
        };
        let err = cut.parse(ok).unwrap_err();
        assert_eq!(err.code, "truncated");
        assert!(err.message.contains("column_count"), "{err}");
        let fine = Line::Unterminated {
            number: 2,
            bytes: b"good",
        };
        assert!(fine.parse(ok).is_ok());
        let long = Line::TooLong {
            number: 3,
            max_len: 9,
        };
        assert_eq!(long.parse(ok).unwrap_err().code, "line_too_long");
        assert_eq!(long.number(), 3);
        assert_eq!(long.bytes(), None);
    }

    #[test]
    fn for_each_line_reads_and_stops() {
        let data = b"a\nb\nc".as_slice();
        let mut seen = Vec::new();
        let stopped = for_each_line(data, 10, |line| {
            seen.push(own(line));
            ControlFlow::<()>::Continue(())
        })
        .unwrap();
        assert_eq!(stopped, None);
        assert_eq!(seen.len(), 3);
        let stopped = for_each_line(data, 10, |line| {
            if line.number() == 2 {
                ControlFlow::Break(line.number())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(stopped, Some(2));
    }

    fn input_strategy() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => b'a'..=b'e',
            2 => Just(b'\n'),
            1 => Just(b'\r'),
            1 => prop_oneof![Just(0xEF_u8), Just(0xBB), Just(0xBF)],
        ];
        prop_oneof![
            proptest::collection::vec(byte.clone(), 0..200),
            proptest::collection::vec(byte, 0..200).prop_map(|mut v| {
                let mut with_bom = BOM.to_vec();
                with_bom.append(&mut v);
                with_bom
            }),
        ]
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_lines(
            input in input_strategy(),
            cuts in proptest::collection::vec(0_usize..20, 0..30),
            max_len in 0_usize..12,
        ) {
            let expected = model(&input, max_len);
            prop_assert_eq!(split_chunked(&input, &[], max_len), expected.clone());
            prop_assert_eq!(split_chunked(&input, &cuts, max_len), expected);
        }
    }
}
