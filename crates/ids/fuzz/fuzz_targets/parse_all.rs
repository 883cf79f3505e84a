//! Feeds arbitrary input to every parser of `egide-ids`: none may panic, and
//! every accepted value must display canonically and re-parse to itself.

#![no_main]

use core::fmt::{Debug, Display};

use egide_ids::{
    Adeli, Finess, IdError, IdNatPs, IdNatStruct, Ins, InsOid, Nir, Rpps, RppsPolicy, Siren, Siret,
    luhn_check_digit, luhn_valid, nir_key,
};
use libfuzzer_sys::fuzz_target;

/// If `parse` accepts `s`, its `Display` must be `s` itself and re-parse to
/// the same value. Errors must format and expose a known code.
fn canonical<T>(s: &str, parse: impl Fn(&str) -> Result<T, IdError>)
where
    T: Display + Debug + PartialEq,
{
    match parse(s) {
        Ok(value) => {
            let text = value.to_string();
            assert_eq!(text, s, "Display is not the canonical input");
            assert_eq!(parse(&text), Ok(value), "Display does not re-parse");
        }
        Err(err) => check_error(&err),
    }
}

fn check_error(err: &IdError) {
    let _ = err.to_string();
    assert!(matches!(
        err.code(),
        "length" | "character" | "check_key" | "prefix" | "oid"
    ));
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let policy = RppsPolicy::with_test_prefixes(["1000346", "997"]);

    canonical(s, Nir::parse);
    canonical(s, Rpps::parse);
    canonical(s, |s| Rpps::parse_with(s, &policy));
    canonical(s, Adeli::parse);
    canonical(s, Finess::parse);
    canonical(s, Siren::parse);
    canonical(s, Siret::parse);
    canonical(s, IdNatPs::parse);
    canonical(s, |s| IdNatPs::parse_with(s, &policy));
    canonical(s, IdNatStruct::parse);
    canonical(s, InsOid::from_oid);

    match Nir::parse_lenient(s) {
        Ok(nir) => {
            let compact: String = s.chars().filter(|&c| c != ' ').collect();
            assert_eq!(nir.to_string(), compact);
            assert_eq!(Nir::parse(&nir.to_string()), Ok(nir));
        }
        Err(err) => check_error(&err),
    }

    if let Some((matricule, oid)) = s.split_once('|') {
        match Ins::parse(matricule, oid) {
            Ok(ins) => {
                let again = Ins::parse(&ins.matricule().to_string(), ins.oid().as_oid());
                assert_eq!(again, Ok(ins));
            }
            Err(err) => check_error(&err),
        }
    }

    let valid = luhn_valid(s);
    match luhn_check_digit(s) {
        Ok(key) => {
            assert!(luhn_valid(&format!("{s}{key}")));
            if let Some(body) = s.get(..s.len() - 1) {
                if !body.is_empty() {
                    assert_eq!(
                        valid,
                        luhn_check_digit(body).ok() == s[s.len() - 1..].parse().ok()
                    );
                }
            }
        }
        Err(err) => check_error(&err),
    }

    match nir_key(s) {
        Ok(key) => {
            let nir = Nir::from_body(s);
            assert_eq!(nir.map(|n| n.key()), Ok(key));
        }
        Err(err) => check_error(&err),
    }
});
