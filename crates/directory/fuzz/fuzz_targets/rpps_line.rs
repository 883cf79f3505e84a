//! Arbitrary bytes as an RPPS extract line: no panic; an accepted line is
//! re-written and re-parsed to the same activity; errors carry a known code.

#![no_main]

use egide_directory::{code, rpps};
use egide_ids::RppsPolicy;
use libfuzzer_sys::fuzz_target;

/// A field containing a line break cannot be written back; lines coming
/// out of the `LineSplitter` never contain `\n`, but may contain `\r`.
fn writable(data: &[u8]) -> bool {
    !data.iter().any(|&b| b == b'\n' || b == b'\r')
}

fuzz_target!(|data: &[u8]| {
    let policy = RppsPolicy::with_test_prefixes(["1000346"]);
    let _ = rpps::check_header(data);
    match rpps::parse_activity(data, &policy) {
        Ok(activity) if writable(data) => {
            let mut line = Vec::new();
            activity
                .write_line(&mut line)
                .expect("a parsed activity is writable");
            let line = line.strip_suffix(b"\n").expect("newline-terminated");
            let again = rpps::parse_activity(line, &policy).expect("re-parses");
            assert_eq!(again, activity);
        }
        Ok(_) => {}
        Err(e) => {
            assert!(code::ALL.contains(&e.code), "{}", e.code);
            // Echoed values are truncated: messages stay short.
            assert!(e.message.chars().count() < 300, "{}", e.message);
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = rpps::extract_time(s);
    }
});
