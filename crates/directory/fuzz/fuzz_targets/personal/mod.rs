//! Checks shared by the targets of the personal-data files (INS identities, rights).

/// Messages are fixed ASCII text plus small numbers (field counts and byte
/// offsets, under 5 digits for inputs below 10,000 bytes): an echoed name
/// with accents, NIR or date would break one of these rules.
pub fn assert_no_value(message: &str) {
    assert!(message.is_ascii(), "{message}");
    let mut run = 0;
    for b in message.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        assert!(run < 5, "digits in {message}");
    }
    let b = message.as_bytes();
    let date = b.windows(10).any(|w| {
        w.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
    });
    assert!(!date, "date in {message}");
}

/// A field containing a line break cannot be written back; lines coming
/// out of the `LineSplitter` never contain `\n`, but may contain `\r`.
pub fn writable(data: &[u8]) -> bool {
    !data.iter().any(|&b| b == b'\n' || b == b'\r')
}
