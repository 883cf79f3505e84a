//! Arbitrary input pushed to a `LineSplitter` in arbitrary chunks: the
//! lines must not depend on the chunking, must match a simple model of the
//! documented behaviour, and memory must stay bounded.

#![no_main]

use egide_directory::lines::{Line, LineSplitter};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq, Eq)]
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

fn split(input: &[u8], chunk_sizes: &[u8], max_len: usize) -> Vec<Owned> {
    let mut splitter = LineSplitter::new(max_len);
    let mut out = Vec::new();
    let mut rest = input;
    let mut sizes = chunk_sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes
            .next()
            .map_or(rest.len(), |&s| usize::from(s).max(1))
            .min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        splitter.push(chunk);
        while let Some(line) = splitter.next_line() {
            out.push(own(line));
        }
        rest = tail;
    }
    while let Some(line) = splitter.finish() {
        out.push(own(line));
    }
    out
}

fn model(input: &[u8], max_len: usize) -> Vec<Owned> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    let last = pieces.pop().unwrap_or_default();
    let mut out = Vec::new();
    let count = pieces.len();
    for (i, piece) in pieces
        .into_iter()
        .chain((!last.is_empty()).then_some(last))
        .enumerate()
    {
        let number = i as u64 + 1;
        let bytes = piece.strip_suffix(b"\r").unwrap_or(piece);
        out.push(if bytes.len() > max_len {
            Owned::TooLong(number)
        } else if i < count {
            Owned::Complete(number, bytes.to_vec())
        } else {
            Owned::Unterminated(number, bytes.to_vec())
        });
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // Layout: max_len (1 byte), number of chunk sizes (1 byte), the sizes, input.
    let [max_len, n, rest @ ..] = data else {
        return;
    };
    let n = usize::from(*n % 16).min(rest.len());
    let (sizes, input) = rest.split_at(n);
    let max_len = usize::from(*max_len);
    let expected = model(input, max_len);
    assert_eq!(split(input, &[], max_len), expected);
    assert_eq!(split(input, sizes, max_len), expected);
});
