//! Arbitrary bytes as a FINESS extract line, in every encoding: no panic;
//! accepted records are re-written (UTF-8 and, when representable, Latin-1)
//! and re-parse to the same record; errors carry a known code.

#![no_main]

use egide_directory::code;
use egide_directory::finess::{self, Encoding, Record};
use libfuzzer_sys::fuzz_target;

fn write(record: &Record<'_>, encoding: Encoding) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match record {
        Record::Establishment(e) => finess::write_establishment_line(&mut out, e, encoding)?,
        Record::Geolocation(g) => finess::write_geolocation_line(&mut out, g, encoding)?,
    }
    out.pop();
    Ok(out)
}

/// A field containing a line break cannot be written back; lines coming
/// out of the `LineSplitter` never contain `\n`, but may contain `\r`.
fn writable(data: &[u8]) -> bool {
    !data.iter().any(|&b| b == b'\n' || b == b'\r')
}

fuzz_target!(|data: &[u8]| {
    let _ = finess::parse_metadata(data);
    for encoding in [Encoding::Auto, Encoding::Latin1, Encoding::Utf8] {
        match finess::parse_record(data, encoding) {
            Ok(record) if writable(data) => {
                let utf8 = write(&record, Encoding::Utf8).expect("UTF-8 is always writable");
                assert_eq!(
                    finess::parse_record(&utf8, Encoding::Utf8).expect("re-parses"),
                    record
                );
                if let Ok(latin1) = write(&record, Encoding::Latin1) {
                    let again = finess::parse_record(&latin1, Encoding::Latin1).expect("re-parses");
                    assert_eq!(again, record);
                }
            }
            Ok(_) => {}
            Err(e) => {
                assert!(code::ALL.contains(&e.code), "{}", e.code);
                assert!(e.message.chars().count() < 300, "{}", e.message);
            }
        }
    }
});
