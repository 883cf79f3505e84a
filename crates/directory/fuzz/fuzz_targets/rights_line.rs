//! Arbitrary bytes as a `rights_reference.csv` line: no panic; accepted
//! rights are re-written and re-parsed to themselves; errors carry a known
//! code and never quote a value of the line.

#![no_main]

use egide_directory::{code, ins};
use libfuzzer_sys::fuzz_target;

mod personal;

use personal::{assert_no_value, writable};

fuzz_target!(|data: &[u8]| {
    if let Err(e) = ins::check_rights_header(data) {
        assert_no_value(&e.to_string());
    }
    match ins::parse_rights(data) {
        Ok(rights) if writable(data) => {
            let mut line = Vec::new();
            ins::write_rights_line(&mut line, &rights).expect("writable");
            let line = line.strip_suffix(b"\n").expect("newline-terminated");
            assert_eq!(ins::parse_rights(line).expect("re-parses"), rights);
            if let Some(end) = rights.end {
                assert!(end >= rights.start);
            }
        }
        Ok(_) => {}
        Err(e) => {
            assert!(code::ALL.contains(&e.code), "{}", e.code);
            assert_no_value(&e.message);
        }
    }
});
