//! Égide's own INSi-like reference files: identities (`ins_reference.csv`)
//! and insurance rights (`rights_reference.csv`).
//!
//! Enrolment checks the traits a patient declares against these files, the
//! way the CNAM INSi teleservice would. Both files are defined by Égide.
//!
//! # Common rules
//!
//! - UTF-8 (a leading BOM is removed by the [`LineSplitter`](crate::lines::LineSplitter)),
//!   `\n` or `\r\n` line ends.
//! - `;`-separated, no quoting (a field cannot contain `;`), **no**
//!   trailing separator. Fields are trimmed of surrounding spaces.
//! - One header line, exactly the column names below joined by `;`
//!   ([`check_identity_header`], [`check_rights_header`]).
//! - Dates are `YYYY-MM-DD`.
//! - **Privacy:** every value is personal data. Reject messages name the
//!   column and the rule, never a value (not even a truncated one), and
//!   the parsed structs' `Debug` output masks the traits.
//!
//! # Identities: `ins_reference.csv`
//!
//! Header `matricule_ins;oid;nom_naissance;prenoms;sexe;date_naissance;lieu_naissance`,
//! one line per identity:
//!
//! | column | content | reject code |
//! |---|---|---|
//! | `matricule_ins` | NIR, 15 characters (`2A`/`2B` allowed), key checked | `missing_field`, `bad_nir` |
//! | `oid` | `1.2.250.1.213.1.4.8` (INS-NIR), `.9` (INS-NIA), `.10` (test), `.11` (demo); the legacy INS-C `.2` is refused | `missing_field`, `bad_oid` |
//! | `nom_naissance` | birth name, not empty | `missing_field` |
//! | `prenoms` | the birth given names, separated by single spaces; the first one is the *premier prénom de naissance* | `missing_field`, `bad_given_names` |
//! | `sexe` | `M` or `F` | `missing_field`, `bad_sex` |
//! | `date_naissance` | `YYYY-MM-DD` | `missing_field`, `bad_date` |
//! | `lieu_naissance` | INSEE code, 5 characters: 2 digits or `2A`/`2B`, then 3 digits; `99` + 3 digits for people born abroad | `missing_field`, `bad_birthplace` |
//!
//! Then the traits must agree with the matricule (`trait_mismatch`, the
//! message names the trait): the sex digit (`1` = `M`, `2` = `F`, any other
//! digit is refused), the birth year's last two digits, and the birth month
//! when the NIR month is `01`-`12` (NIR months `20`-`42` and `50`+ are
//! conventional values for an unknown or special month: any date month is
//! then accepted). The birthplace is not compared with the NIR (departments
//! and communes have changed over time).
//!
//! # Rights: `rights_reference.csv`
//!
//! Header `matricule_assure;matricule_beneficiaire;rang_naissance;qualite;regime;caisse;centre;debut_droits;fin_droits`,
//! one line per beneficiary of an insured person (the *ouvrant droit*):
//!
//! | column | content | reject code |
//! |---|---|---|
//! | `matricule_assure` | NIR of the insured | `missing_field`, `bad_nir` |
//! | `matricule_beneficiaire` | NIR of the beneficiary, or empty (a minor without a NIR of their own) | `bad_nir` |
//! | `rang_naissance` | birth rank `1`-`9` (distinguishes twins); required when `matricule_beneficiaire` is empty, optional otherwise | `missing_field`, `bad_rank` |
//! | `qualite` | `assure` (the insured themself), `conjoint`, `enfant` or `autre` | `missing_field`, `bad_quality` |
//! | `regime` | 2 digits (e.g. `01` régime général) | `bad_number` |
//! | `caisse` | 3 digits | `bad_number` |
//! | `centre` | 4 digits | `bad_number` |
//! | `debut_droits` | start of rights, `YYYY-MM-DD` | `missing_field`, `bad_date` |
//! | `fin_droits` | end of rights (inclusive), `YYYY-MM-DD`, or empty (open) | `bad_date` |
//!
//! Then: `qualite` `assure` requires `matricule_beneficiaire` =
//! `matricule_assure`, and the other qualities require a different (or
//! empty) beneficiary (`quality_mismatch`); `fin_droits` must not be before
//! `debut_droits` (`bad_period`).
//!
//! In both files, the checks run column by column, left to right, then the
//! consistency checks; the first failure wins. A line that is not UTF-8 is
//! `not_utf8`, a wrong number of fields `column_count`.

mod identity;
mod rights;

pub use identity::{
    IDENTITY_FILE_NAME, IDENTITY_HEADER, Identity, Sex, check_identity_header,
    identity_header_line, parse_identity, write_identity_line,
};
pub use rights::{
    Quality, RIGHTS_FILE_NAME, RIGHTS_HEADER, Rights, check_rights_header, parse_rights,
    rights_header_line, write_rights_line,
};

use egide_ids::Nir;

use crate::fields;
use crate::{FileError, RowError, code};

/// Checks a `;`-separated header line without ever echoing what was found
/// (a missing header means the first line is personal data).
fn check_header(line: &[u8], expected: &[&str]) -> Result<(), FileError> {
    let text = fields::utf8(line).map_err(|e| FileError::Header(e.message))?;
    let mut found = vec![""; expected.len()];
    let count = fields::split_trimmed(text, b';', &mut found);
    if let Some((i, name)) = expected
        .iter()
        .zip(&found)
        .enumerate()
        .find_map(|(i, (e, f))| (e != f).then_some((i, e)))
        .filter(|(i, _)| *i < count)
    {
        return Err(FileError::Header(format!(
            "column {}: expected {name:?}",
            i + 1
        )));
    }
    if count != expected.len() {
        return Err(FileError::Header(format!(
            "expected {} columns, found {count}",
            expected.len()
        )));
    }
    Ok(())
}

/// Splits a data line into exactly `N` trimmed fields.
fn split_line<const N: usize>(line: &[u8]) -> Result<[&str; N], RowError> {
    let text = fields::utf8(line)?;
    let mut out = [""; N];
    let count = fields::split_trimmed(text, b';', &mut out);
    if count != N {
        return Err(RowError::new(
            code::COLUMN_COUNT,
            format!("expected {N} columns, found {count}"),
        ));
    }
    Ok(out)
}

fn missing(name: &str) -> RowError {
    RowError::new(code::MISSING_FIELD, format!("{name} is empty"))
}

/// Parses a required NIR column; the message names the column and the
/// kind of error, never the value.
fn required_nir(value: &str, name: &str) -> Result<Nir, RowError> {
    if value.is_empty() {
        return Err(missing(name));
    }
    parse_nir(value, name)
}

fn optional_nir(value: &str, name: &str) -> Result<Option<Nir>, RowError> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_nir(value, name).map(Some)
}

fn parse_nir(value: &str, name: &str) -> Result<Nir, RowError> {
    Nir::parse(value).map_err(|e| {
        RowError::new(
            code::BAD_NIR,
            format!("{name} is not a valid NIR ({})", e.code()),
        )
    })
}

fn required_date(value: &str, name: &str) -> Result<chrono::NaiveDate, RowError> {
    if value.is_empty() {
        return Err(missing(name));
    }
    fields::parse_date(value).ok_or_else(|| bad_date(name))
}

fn bad_date(name: &str) -> RowError {
    RowError::new(code::BAD_DATE, format!("{name} is not a YYYY-MM-DD date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_errors_never_echo() {
        let expected = ["a", "b", "c"];
        check_header(b"a;b;c", &expected).unwrap();
        check_header(b" a ; b;c", &expected).unwrap();
        let err = check_header(b"275126322074974;b;c", &expected).unwrap_err();
        assert_eq!(err.to_string(), "bad header: column 1: expected \"a\"");
        let err = check_header(b"a;b", &expected).unwrap_err();
        assert_eq!(err.to_string(), "bad header: expected 3 columns, found 2");
        let err = check_header(b"a;b;c;", &expected).unwrap_err();
        assert_eq!(err.to_string(), "bad header: expected 3 columns, found 4");
        assert_eq!(
            check_header(b"\xe9", &expected).unwrap_err().code(),
            "bad_header"
        );
    }
}
