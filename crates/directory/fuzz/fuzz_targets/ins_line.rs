//! Arbitrary bytes as an `ins_reference.csv` line: no panic; an accepted
//! identity is re-written and re-parsed to itself; errors carry a known code
//! and never quote a value of the line.

#![no_main]

use egide_directory::{code, ins};
use libfuzzer_sys::fuzz_target;

mod personal;

use personal::{assert_no_value, writable};

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
