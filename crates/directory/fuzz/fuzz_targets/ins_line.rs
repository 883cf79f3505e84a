//! Arbitrary bytes as an `ins_reference.csv` line: no panic; an accepted
//! identity is re-written and re-parsed to itself; errors carry a known code
//! and never quote a value of the line.

#![no_main]

use egide_directory::{code, ins};
use libfuzzer_sys::fuzz_target;

/// Messages are fixed ASCII text plus small numbers (field counts and byte
/// offsets, under 5 digits for inputs below 10,000 bytes): an echoed name
/// with accents, NIR or date would break one of these rules.
fn assert_no_value(message: &str) {
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
fn writable(data: &[u8]) -> bool {
    !data.iter().any(|&b| b == b'\n' || b == b'\r')
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = ins::check_identity_header(data) {
        assert_no_value(&e.to_string());
    }
    match ins::parse_identity(data) {
        Ok(identity) if writable(data) => {
            let mut line = Vec::new();
            ins::write_identity_line(&mut line, &identity).expect("writable");
            let line = line.strip_suffix(b"\n").expect("newline-terminated");
            assert_eq!(ins::parse_identity(line).expect("re-parses"), identity);
            assert!(!format!("{identity:?}").contains(identity.ins.matricule().as_str()));
        }
        Ok(_) => {}
        Err(e) => {
            assert!(code::ALL.contains(&e.code), "{}", e.code);
            assert_no_value(&e.message);
        }
    }
});
