//! The synthetic files parse back with exactly the rejects their manifest
//! announces, and the announced counts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::Path;

use egide_directory::finess::{self, Encoding, Record};
use egide_directory::lines::{DEFAULT_MAX_LINE_LEN, Line, for_each_line};
use egide_directory::synth::{SynthManifest, SynthSpec, write_all};
use egide_directory::{code, ins, rpps};
use egide_ids::RppsPolicy;
use proptest::prelude::*;

/// What reading the four files gave.
#[derive(Debug, Default)]
struct Seen {
    activities: usize,
    establishments: usize,
    geolocations: usize,
    identities: usize,
    rights: usize,
    /// (file name, line, code), the duplicates excluded.
    rejects: BTreeSet<(String, u64, &'static str)>,
}

fn read(
    path: &Path,
    mut on_line: impl FnMut(Line<'_>) -> Result<(), egide_directory::RowError>,
) -> Vec<(u64, &'static str)> {
    let mut rejects = Vec::new();
    let file = BufReader::new(File::open(path).unwrap());
    for_each_line(file, DEFAULT_MAX_LINE_LEN, |line| {
        let number = line.number();
        if let Err(e) = on_line(line) {
            rejects.push((number, e.code));
        }
        ControlFlow::<()>::Continue(())
    })
    .unwrap();
    rejects
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

fn parse_all(m: &SynthManifest) -> Seen {
    let mut seen = Seen::default();
    let policy = RppsPolicy::strict();
    let mut rejects = Vec::new();

    let rpps_rejects = read(&m.rpps_file, |line| {
        if line.number() == 1 {
            rpps::check_header(line.bytes().unwrap()).unwrap();
            return Ok(());
        }
        line.parse(|b| rpps::parse_activity(b, &policy))?;
        seen.activities += 1;
        Ok(())
    });
    rejects.extend(
        rpps_rejects
            .into_iter()
            .map(|(l, c)| (name(&m.rpps_file), l, c)),
    );

    let finess_rejects = read(&m.finess_file, |line| {
        if line.number() == 1 {
            let meta = finess::parse_metadata(line.bytes().unwrap()).unwrap();
            assert_eq!(Some(meta.date), finess::extract_date(&name(&m.finess_file)));
            return Ok(());
        }
        match line.parse(|b| finess::parse_record(b, Encoding::Auto))? {
            Record::Establishment(e) => {
                // The extract is Latin-1: accented text is decoded.
                assert!(!e.libdepartement.contains('\u{FFFD}'));
                seen.establishments += 1;
            }
            Record::Geolocation(_) => seen.geolocations += 1,
        }
        Ok(())
    });
    rejects.extend(
        finess_rejects
            .into_iter()
            .map(|(l, c)| (name(&m.finess_file), l, c)),
    );

    let ins_rejects = read(&m.identities_file, |line| {
        if line.number() == 1 {
            ins::check_identity_header(line.bytes().unwrap()).unwrap();
            return Ok(());
        }
        let id = line.parse(ins::parse_identity)?;
        assert!(id.ins.is_test());
        seen.identities += 1;
        Ok(())
    });
    rejects.extend(
        ins_rejects
            .into_iter()
            .map(|(l, c)| (name(&m.identities_file), l, c)),
    );

    let rights_rejects = read(&m.rights_file, |line| {
        if line.number() == 1 {
            ins::check_rights_header(line.bytes().unwrap()).unwrap();
            return Ok(());
        }
        line.parse(ins::parse_rights)?;
        seen.rights += 1;
        Ok(())
    });
    rejects.extend(
        rights_rejects
            .into_iter()
            .map(|(l, c)| (name(&m.rights_file), l, c)),
    );

    seen.rejects = rejects.into_iter().collect();
    seen
}

/// Checks the files against the manifest; returns the parse result.
fn check(spec: &SynthSpec) -> (SynthManifest, Seen, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let m = write_all(dir.path(), spec).unwrap();
    let seen = parse_all(&m);
    let duplicates = m
        .broken
        .iter()
        .filter(|b| b.code == code::DUPLICATE_LINE)
        .count();
    let expected: BTreeSet<_> = m
        .broken
        .iter()
        .filter(|b| b.code != code::DUPLICATE_LINE)
        .map(|b| (b.file.clone(), b.line, b.code))
        .collect();
    assert_eq!(seen.rejects, expected);
    assert_eq!(m.broken.len(), spec.broken);
    // Duplicates parse fine: they are the importer's business.
    let dup_in = |file: &Path| {
        m.broken_in(&name(file))
            .filter(|b| b.code == code::DUPLICATE_LINE)
            .count()
    };
    assert_eq!(seen.activities, m.activity_lines + dup_in(&m.rpps_file));
    assert_eq!(seen.identities, m.identities + dup_in(&m.identities_file));
    assert_eq!(seen.establishments, m.establishments);
    assert_eq!(seen.geolocations, m.geolocations);
    assert_eq!(seen.rights, m.rights_lines);
    assert_eq!(
        dup_in(&m.rpps_file) + dup_in(&m.identities_file),
        duplicates
    );
    (m, seen, dir)
}

#[test]
fn default_spec_round_trips_with_every_broken_kind() {
    let spec = SynthSpec {
        broken: 72,
        ..SynthSpec::default()
    };
    let (m, _, _dir) = check(&spec);
    let codes: BTreeSet<&str> = m.broken.iter().map(|b| b.code).collect();
    for code in [
        "bad_rpps",
        "bad_adeli",
        "not_utf8",
        "column_count",
        "missing_trailing_separator",
        "bad_identifier_type",
        "id_nat_mismatch",
        "missing_field",
        "bad_finess",
        "bad_siret",
        "duplicate_line",
        "truncated",
        "line_too_long",
        "unknown_record",
        "bad_number",
        "bad_date",
        "bad_nir",
        "bad_oid",
        "trait_mismatch",
        "bad_sex",
        "bad_birthplace",
        "bad_given_names",
        "bad_quality",
        "bad_rank",
        "bad_period",
        "quality_mismatch",
    ] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    // The truncated line is the last line of the RPPS file, and has no newline.
    let bytes = std::fs::read(&m.rpps_file).unwrap();
    assert!(!bytes.ends_with(b"\n"));
    let last = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    assert!(
        m.broken
            .iter()
            .any(|b| b.code == "truncated" && b.line == last)
    );
    // ~1.5 activities per professional.
    let ratio = m.activity_lines as f64 / m.professionals as f64;
    assert!((1.35..1.7).contains(&ratio), "{ratio}");
    assert!(m.rights_lines > m.identities);
}

#[test]
fn files_look_right() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec {
        broken: 0,
        ..SynthSpec::default()
    };
    let m = write_all(dir.path(), &spec).unwrap();
    assert_eq!(
        name(&m.rpps_file),
        "PS_LibreAcces_Personne_activite_202405131430.txt"
    );
    assert_eq!(
        rpps::extract_time(&name(&m.rpps_file)),
        Some(spec.extract_time)
    );
    assert_eq!(name(&m.finess_file), "etalab-cs1100502-stock-20240513.csv");
    assert_eq!(name(&m.identities_file), "ins_reference.csv");
    assert_eq!(name(&m.rights_file), "rights_reference.csv");

    let rpps_text = std::fs::read_to_string(&m.rpps_file).unwrap();
    assert!(rpps_text.starts_with(&rpps::header_line()));
    for needle in [
        "|Médecin|",
        "|Pharmacien|",
        "|Infirmier|",
        "\n8|10",
        "\n0|",
        "@medecin.mssante.fr|",
        "é",
    ] {
        assert!(rpps_text.contains(needle), "{needle}");
    }
    let finess_bytes = std::fs::read(&m.finess_file).unwrap();
    assert!(finess_bytes.starts_with(b"finess;etalab;100;2024-05-13\n"));
    assert!(
        std::str::from_utf8(&finess_bytes).is_err(),
        "the FINESS extract must be Latin-1"
    );
    let finess_text: String = finess_bytes.iter().map(|&b| char::from(b)).collect();
    for needle in [
        "\nstructureet;2A0",
        "\nstructureet;2B0",
        "\ngeolocalisation;",
        "SANTÉ",
    ] {
        assert!(finess_text.contains(needle), "{needle}");
    }
    // Some geolocations precede their establishment, most follow.
    let first_structure = finess_text.find("\nstructureet;").unwrap();
    let last_structure = finess_text.rfind("\nstructureet;").unwrap();
    let early = finess_text[first_structure..last_structure]
        .matches("\ngeolocalisation;")
        .count();
    assert!(early > 0 && early < 50, "{early}");

    let ins_text = std::fs::read_to_string(&m.identities_file).unwrap();
    for needle in [";1.2.250.1.213.1.4.10;", ";2A004\n", ";2B033\n", ";99"] {
        assert!(ins_text.contains(needle), "{needle}");
    }
    let rights_text = std::fs::read_to_string(&m.rights_file).unwrap();
    for needle in [";assure;", ";conjoint;", ";;1;enfant;", ";;2;enfant;"] {
        assert!(rights_text.contains(needle), "{needle}");
    }
    // Deterministic.
    let again = tempfile::tempdir().unwrap();
    let m2 = write_all(again.path(), &spec).unwrap();
    assert_eq!(std::fs::read(&m2.rpps_file).unwrap(), rpps_text.as_bytes());
    assert_eq!(std::fs::read(&m2.finess_file).unwrap(), finess_bytes);
}

#[test]
fn crlf_and_bom_change_nothing() {
    let spec = SynthSpec {
        broken: 72,
        ..SynthSpec::default()
    };
    let (m, seen, _dir) = check(&spec);
    for path in [
        &m.rpps_file,
        &m.finess_file,
        &m.identities_file,
        &m.rights_file,
    ] {
        let bytes = std::fs::read(path).unwrap();
        let mut converted = b"\xEF\xBB\xBF".to_vec();
        for &b in &bytes {
            if b == b'\n' {
                converted.push(b'\r');
            }
            converted.push(b);
        }
        std::fs::write(path, converted).unwrap();
    }
    let again = parse_all(&m);
    assert_eq!(again.rejects, seen.rejects);
    assert_eq!(
        (
            again.activities,
            again.establishments,
            again.geolocations,
            again.identities,
            again.rights
        ),
        (
            seen.activities,
            seen.establishments,
            seen.geolocations,
            seen.identities,
            seen.rights
        )
    );
}

#[test]
fn empty_and_tiny_specs() {
    for (professionals, structures, identities, broken) in
        [(0, 0, 0, 0), (0, 0, 0, 40), (1, 0, 1, 9), (3, 1, 2, 35)]
    {
        let spec = SynthSpec {
            professionals,
            structures,
            identities,
            broken,
            ..SynthSpec::default()
        };
        check(&spec);
    }
}

#[test]
fn large_file_parses() {
    // About 200,000 RPPS lines.
    let spec = SynthSpec {
        professionals: 131_000,
        structures: 5_000,
        identities: 10,
        broken: 12,
        ..SynthSpec::default()
    };
    let (m, seen, _dir) = check(&spec);
    assert!(m.activity_lines > 190_000, "{}", m.activity_lines);
    assert!(seen.activities >= m.activity_lines);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn synth_parses_back_with_exactly_the_announced_rejects(
        seed in any::<u64>(),
        professionals in 0_usize..300,
        structures in 0_usize..60,
        identities in 0_usize..200,
        broken in 0_usize..80,
    ) {
        let spec = SynthSpec { professionals, structures, identities, broken, seed, ..SynthSpec::default() };
        check(&spec);
    }
}
