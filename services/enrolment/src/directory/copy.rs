//! Building rows in PostgreSQL's `COPY … FROM STDIN` text format.

/// Appends one field, escaped (backslash, tab, newline, carriage return), followed by a
/// tab; [`end_row`] replaces the last tab with a newline.
pub fn field(buf: &mut Vec<u8>, value: &str) {
    for &b in value.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
    buf.push(b'\t');
}

/// Appends a NULL field.
pub fn null(buf: &mut Vec<u8>) {
    buf.extend_from_slice(b"\\N\t");
}

/// Appends a number.
pub fn number(buf: &mut Vec<u8>, n: impl std::fmt::Display) {
    use std::io::Write as _;
    // Writing to a Vec cannot fail.
    let _ = write!(buf, "{n}\t");
}

/// Ends the row.
pub fn end_row(buf: &mut [u8]) {
    if let Some(last) = buf.last_mut() {
        *last = b'\n';
    }
}

/// Appends a staging row: its line number, `fields`, and the content hash of `fields`.
pub fn hashed_row<S: AsRef<str>>(buf: &mut Vec<u8>, line: u64, fields: &[S]) {
    number(buf, line);
    for f in fields {
        field(buf, f.as_ref());
    }
    field(
        buf,
        &content_hash(fields.iter().map(|f| f.as_ref().as_bytes())),
    );
    end_row(buf);
}

/// Hex of the first 16 bytes of SHA-256 over `parts` (length-prefixed): the content hash
/// imports compare.
pub fn content_hash<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u32).to_be_bytes());
        h.update(p);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut buf = Vec::new();
        field(&mut buf, "a\tb\\c\nd\re");
        null(&mut buf);
        number(&mut buf, 42);
        end_row(&mut buf);
        assert_eq!(buf, b"a\\tb\\\\c\\nd\\re\t\\N\t42\n");
    }

    #[test]
    fn hashes_are_length_prefixed() {
        assert_ne!(
            content_hash([b"ab".as_slice(), b"c".as_slice()]),
            content_hash([b"a".as_slice(), b"bc".as_slice()])
        );
        assert_eq!(content_hash([b"x".as_slice()]).len(), 32);
    }
}
