//! Property tests: generated identifiers round-trip through `Display` /
//! `parse`, single-digit changes are always caught, and no input panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use egide_ids::{
    Adeli, Finess, IdNatPs, IdNatStruct, InsOid, Nir, Rpps, RppsPolicy, Siren, Siret,
    luhn_check_digit, luhn_valid, nir_key,
};
use proptest::prelude::*;

/// Every string obtained from `valid` by replacing one digit with another.
fn single_digit_mutations(valid: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in valid.char_indices() {
        if !c.is_ascii_digit() {
            continue;
        }
        for d in '0'..='9' {
            if d != c {
                let mut s = valid.to_owned();
                s.replace_range(i..=i, d.encode_utf8(&mut [0; 4]));
                out.push(s);
            }
        }
    }
    out
}

/// A 13-character NIR body, possibly Corsican (`2A`/`2B` at positions 6-7).
fn nir_body() -> impl Strategy<Value = String> {
    (
        "[0-9]{5}",
        prop_oneof![Just(None), Just(Some("2A")), Just(Some("2B"))],
        "[0-9]{8}",
    )
        .prop_map(|(head, corsica, tail)| match corsica {
            // Positions 1-5, then "2A"/"2B", then 6 more digits.
            Some(dept) => format!("{head}{dept}{}", &tail[..6]),
            None => format!("{head}{tail}"),
        })
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(200)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn nir_round_trip_and_mutations(body in nir_body()) {
        let nir = Nir::from_body(&body).unwrap();
        let text = nir.to_string();
        prop_assert_eq!(text.len(), 15);
        prop_assert_eq!(nir.body(), body.as_str());
        prop_assert_eq!(nir.key(), nir_key(&body).unwrap());
        prop_assert_eq!(Nir::parse(&text), Ok(nir));
        prop_assert_eq!(text.parse::<Nir>(), Ok(nir));
        let debug = format!("{nir:?}");
        prop_assert!(!debug.contains(&text[..7]));
        // 97 is a prime > 10, so no single-digit change goes unnoticed.
        for mutated in single_digit_mutations(&text) {
            prop_assert!(Nir::parse(&mutated).is_err(), "{} accepted", mutated);
        }
    }

    #[test]
    fn rpps_round_trip_and_mutations(body in 0_u64..10_000_000_000) {
        let rpps = Rpps::from_body(body);
        let text = rpps.to_string();
        prop_assert_eq!(Rpps::parse(&text), Ok(rpps));
        prop_assert!(luhn_valid(&text));
        let id = IdNatPs::from(rpps);
        prop_assert_eq!(IdNatPs::parse(&id.to_string()), Ok(id));
        for mutated in single_digit_mutations(&text) {
            prop_assert!(Rpps::parse(&mutated).is_err(), "{} accepted", mutated);
            let id_nat = format!("8{mutated}");
            prop_assert!(IdNatPs::parse(&id_nat).is_err());
        }
    }

    #[test]
    fn rpps_policy_accepts_prefix_only(body in 0_u64..10_000_000_000, key in 0_u8..10) {
        let mut text = Rpps::from_body(body).to_string();
        text.replace_range(10.., &key.to_string());
        let policy = RppsPolicy::with_test_prefixes([&text[..3]]);
        let parsed = Rpps::parse_with(&text, &policy).unwrap();
        prop_assert_eq!(parsed.as_str(), text.as_str());
        prop_assert_eq!(parsed.key_checked(), luhn_valid(&text));
        prop_assert_eq!(Rpps::parse(&text).is_ok(), luhn_valid(&text));
    }

    #[test]
    fn adeli_round_trip_and_mutations(body in 0_u32..100_000_000) {
        let adeli = Adeli::from_body(body);
        let text = adeli.to_string();
        prop_assert_eq!(Adeli::parse(&text), Ok(adeli));
        let id = IdNatPs::from(adeli);
        prop_assert_eq!(IdNatPs::parse(&id.to_string()), Ok(id));
        for mutated in single_digit_mutations(&text) {
            prop_assert!(Adeli::parse(&mutated).is_err(), "{} accepted", mutated);
        }
    }

    #[test]
    fn finess_round_trip_and_mutations(body in 0_u32..100_000_000) {
        let finess = Finess::from_body(body);
        let text = finess.to_string();
        prop_assert!(finess.key_checked());
        prop_assert_eq!(Finess::parse(&text), Ok(finess));
        let id = IdNatStruct::from(finess);
        prop_assert_eq!(IdNatStruct::parse(&id.to_string()), Ok(id));
        for mutated in single_digit_mutations(&text) {
            prop_assert!(Finess::parse(&mutated).is_err(), "{} accepted", mutated);
        }
    }

    #[test]
    fn finess_corsica_round_trip(letter in "[AB]", rest in "[0-9]{7}") {
        let text = format!("2{letter}{rest}");
        let finess = Finess::parse(&text).unwrap();
        prop_assert!(!finess.key_checked());
        prop_assert_eq!(finess.to_string(), text);
    }

    #[test]
    fn siren_round_trip_and_mutations(body in 0_u32..100_000_000) {
        let siren = Siren::from_body(body);
        let text = siren.to_string();
        prop_assert_eq!(Siren::parse(&text), Ok(siren));
        let id = IdNatStruct::from(siren);
        prop_assert_eq!(IdNatStruct::parse(&id.to_string()), Ok(id));
        for mutated in single_digit_mutations(&text) {
            prop_assert!(Siren::parse(&mutated).is_err(), "{} accepted", mutated);
        }
    }

    #[test]
    fn siret_round_trip_and_mutations(siren in 0_u32..100_000_000, nic in 0_u16..10_000) {
        let siret = Siret::from_parts(Siren::from_body(siren), nic);
        let text = siret.to_string();
        prop_assert_eq!(Siret::parse(&text), Ok(siret));
        prop_assert_eq!(siret.siren(), Siren::from_body(siren));
        let id = IdNatStruct::from(siret);
        prop_assert_eq!(IdNatStruct::parse(&id.to_string()), Ok(id));
        for mutated in single_digit_mutations(&text) {
            // The La Poste rule (digit sum mod 5) does not catch every
            // single-digit change; Luhn does.
            if !mutated.starts_with("356000000") {
                prop_assert!(Siret::parse(&mutated).is_err(), "{} accepted", mutated);
            }
        }
    }

    #[test]
    fn la_poste_siret_round_trip(nic in 0_u16..10_000) {
        let siret = Siret::from_parts(Siren::parse("356000000").unwrap(), nic);
        prop_assert_eq!(Siret::parse(siret.as_str()), Ok(siret));
    }

    #[test]
    fn luhn_helpers_agree(body in "[0-9]{1,30}") {
        let key = luhn_check_digit(&body).unwrap();
        let good = format!("{body}{key}");
        let bad = format!("{body}{}", (key + 1) % 10);
        prop_assert!(luhn_valid(&good));
        prop_assert!(!luhn_valid(&bad));
    }

    #[test]
    fn opaque_id_nat_round_trip(prefix in "[13456]", rest in "[!-~]{1,63}") {
        let text = format!("{prefix}{rest}");
        let id = IdNatPs::parse(&text).unwrap();
        prop_assert_eq!(id.to_string(), text);
    }

    #[test]
    fn any_string_never_panics_and_round_trips(s in any::<String>()) {
        check_all(&s)?;
    }

    #[test]
    fn near_miss_strings_never_panic(s in "[0-9AB8 .é\u{0}-]{0,20}") {
        check_all(&s)?;
    }
}

/// Every parser either rejects `s` or returns a value whose `Display` is
/// `s` itself (canonical input) and re-parses to the same value.
fn check_all(s: &str) -> Result<(), TestCaseError> {
    macro_rules! canonical {
        ($parse:expr) => {
            if let Ok(v) = $parse(s) {
                prop_assert_eq!(v.to_string(), s);
                prop_assert_eq!($parse(&v.to_string()), Ok(v));
            }
        };
    }
    canonical!(Nir::parse);
    canonical!(Rpps::parse);
    canonical!(Adeli::parse);
    canonical!(Finess::parse);
    canonical!(Siren::parse);
    canonical!(Siret::parse);
    canonical!(IdNatPs::parse);
    canonical!(IdNatStruct::parse);
    canonical!(InsOid::from_oid);
    if let Ok(v) = Nir::parse_lenient(s) {
        let text = v.to_string();
        prop_assert_eq!(Nir::parse(&text), Ok(v));
    }
    let _ = (luhn_valid(s), luhn_check_digit(s), nir_key(s));
    Ok(())
}
