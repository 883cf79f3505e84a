//! `ins_reference.csv`: one INS identity per line (see the
//! [module documentation](super)).

use core::fmt;
use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};
use egide_ids::{Ins, InsOid, Nir};

use super::{check_header, missing, required_date, required_nir, split_line};
use crate::fields;
use crate::{FileError, RowError, code};

/// File name of the identity reference file.
pub const IDENTITY_FILE_NAME: &str = "ins_reference.csv";

/// Column names of `ins_reference.csv`, in order.
pub const IDENTITY_HEADER: [&str; 7] = [
    "matricule_ins",
    "oid",
    "nom_naissance",
    "prenoms",
    "sexe",
    "date_naissance",
    "lieu_naissance",
];

/// Sex trait of an INS identity (`sexe` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `M`; NIR sex digit `1`.
    Male,
    /// `F`; NIR sex digit `2`.
    Female,
}

impl Sex {
    /// The letter written in the file.
    #[must_use]
    pub const fn letter(self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
        }
    }
}

/// One identity: the INS (matricule + OID) and the birth traits, borrowing
/// its text from the line.
///
/// `Debug` masks every trait (only the masked matricule and the OID show).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// Matricule (`matricule_ins`) and OID (`oid`).
    pub ins: Ins,
    /// Birth name (`nom_naissance`).
    pub birth_name: &'a str,
    /// Birth given names, separated by single spaces (`prenoms`).
    pub given_names: &'a str,
    /// Sex (`sexe`).
    pub sex: Sex,
    /// Birth date (`date_naissance`).
    pub birth_date: NaiveDate,
    /// Birthplace INSEE code (`lieu_naissance`), `99xxx` abroad.
    pub birth_place: &'a str,
}

impl<'a> Identity<'a> {
    /// The first birth given name (*premier prénom de naissance*).
    #[must_use]
    pub fn first_given_name(&self) -> &'a str {
        self.given_names
            .split(' ')
            .next()
            .unwrap_or(self.given_names)
    }

    /// The birth given names, in order.
    pub fn given_name_list(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.given_names.split(' ')
    }
}

impl fmt::Debug for Identity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("ins", &self.ins)
            .finish_non_exhaustive()
    }
}

/// The header line of `ins_reference.csv`, without line terminator.
#[must_use]
pub fn identity_header_line() -> String {
    IDENTITY_HEADER.join(";")
}

/// Checks the header line of `ins_reference.csv`.
///
/// # Errors
///
/// [`FileError::Header`] naming the first wrong column (never what was
/// found there: it may be personal data) or the column count.
pub fn check_identity_header(line: &[u8]) -> Result<(), FileError> {
    check_header(line, &IDENTITY_HEADER)
}

/// Parses one identity line (line terminator removed).
///
/// # Errors
///
/// A [`RowError`] whose code is listed in the [module documentation](super);
/// its message never contains any value of the line.
pub fn parse_identity(line: &[u8]) -> Result<Identity<'_>, RowError> {
    let [
        matricule,
        oid,
        birth_name,
        given_names,
        sex,
        birth_date,
        birth_place,
    ] = split_line::<7>(line)?;
    let matricule = required_nir(matricule, "matricule_ins")?;
    if oid.is_empty() {
        return Err(missing("oid"));
    }
    let oid =
        InsOid::from_oid(oid).map_err(|_| RowError::new(code::BAD_OID, "oid is not an INS OID"))?;
    let ins = Ins::new(matricule, oid).map_err(|_| {
        RowError::new(
            code::BAD_OID,
            "oid is the legacy INS-C OID, which does not qualify a NIR",
        )
    })?;
    if birth_name.is_empty() {
        return Err(missing("nom_naissance"));
    }
    if given_names.is_empty() {
        return Err(missing("prenoms"));
    }
    if given_names.split(' ').any(str::is_empty) {
        return Err(RowError::new(
            code::BAD_GIVEN_NAMES,
            "prenoms must be given names separated by single spaces",
        ));
    }
    let sex = match sex {
        "M" => Sex::Male,
        "F" => Sex::Female,
        "" => return Err(missing("sexe")),
        _ => return Err(RowError::new(code::BAD_SEX, "sexe must be M or F")),
    };
    let birth_date = required_date(birth_date, "date_naissance")?;
    if birth_place.is_empty() {
        return Err(missing("lieu_naissance"));
    }
    if !is_insee_code(birth_place) {
        return Err(RowError::new(
            code::BAD_BIRTHPLACE,
            "lieu_naissance must be an INSEE code: 2 digits or 2A/2B, then 3 digits",
        ));
    }
    check_traits(&matricule, sex, birth_date)?;
    Ok(Identity {
        ins,
        birth_name,
        given_names,
        sex,
        birth_date,
        birth_place,
    })
}

/// 2 digits or `2A`/`2B`, then 3 digits.
fn is_insee_code(s: &str) -> bool {
    match s.as_bytes() {
        [d1, d2, rest @ ..] if rest.len() == 3 && rest.iter().all(u8::is_ascii_digit) => {
            (d1.is_ascii_digit() && d2.is_ascii_digit())
                || (*d1 == b'2' && matches!(d2, b'A' | b'B'))
        }
        _ => false,
    }
}

fn mismatch(what: &str) -> RowError {
    RowError::new(
        code::TRAIT_MISMATCH,
        format!("{what} does not match matricule_ins"),
    )
}

fn check_traits(nir: &Nir, sex: Sex, birth_date: NaiveDate) -> Result<(), RowError> {
    let sex_ok = matches!(
        (nir.sex(), sex),
        (egide_ids::Sex::Male, Sex::Male) | (egide_ids::Sex::Female, Sex::Female)
    );
    if !sex_ok {
        return Err(mismatch("sexe"));
    }
    if i32::from(nir.birth_year()) != birth_date.year().rem_euclid(100) {
        return Err(mismatch("date_naissance (year)"));
    }
    let month = nir.birth_month();
    if (1..=12).contains(&month) && u32::from(month) != birth_date.month() {
        return Err(mismatch("date_naissance (month)"));
    }
    Ok(())
}

/// Writes one identity line (`;`-separated, `\n`-terminated).
///
/// # Errors
///
/// Any I/O error, or [`io::ErrorKind::InvalidInput`] when a text field
/// contains `;` or a line break.
pub fn write_identity_line<W: Write + ?Sized>(
    w: &mut W,
    identity: &Identity<'_>,
) -> io::Result<()> {
    let date = identity.birth_date.format("%Y-%m-%d").to_string();
    fields::write_joined(
        w,
        &[
            identity.ins.matricule().as_str(),
            identity.ins.oid().as_oid(),
            identity.birth_name,
            identity.given_names,
            identity.sex.letter(),
            &date,
            identity.birth_place,
        ],
        b';',
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZOE: &str = "275126322074974;1.2.250.1.213.1.4.10;ADRUN;ZOE LOUISE;F;1975-12-01;63220";

    fn reject(line: &str) -> RowError {
        let err = parse_identity(line.as_bytes()).unwrap_err();
        // No value of the line ever leaks into the message.
        for value in line.split(';').filter(|v| v.len() >= 2) {
            assert!(!err.message.contains(value), "{value:?} in {err}");
        }
        err
    }

    #[test]
    fn header() {
        assert_eq!(
            identity_header_line(),
            "matricule_ins;oid;nom_naissance;prenoms;sexe;date_naissance;lieu_naissance"
        );
        check_identity_header(identity_header_line().as_bytes()).unwrap();
        let err = check_identity_header(ZOE.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad header: column 1: expected \"matricule_ins\""
        );
    }

    #[test]
    fn parses_and_round_trips() {
        let id = parse_identity(ZOE.as_bytes()).unwrap();
        assert_eq!(id.ins.matricule().as_str(), "275126322074974");
        assert!(id.ins.is_test());
        assert_eq!(id.first_given_name(), "ZOE");
        assert_eq!(id.given_name_list().collect::<Vec<_>>(), ["ZOE", "LOUISE"]);
        assert_eq!(id.sex, Sex::Female);
        assert_eq!(
            format!("{id:?}"),
            "Identity { ins: Ins { matricule: Nir(2…74), oid: InsNirTest }, .. }"
        );
        let mut out = Vec::new();
        write_identity_line(&mut out, &id).unwrap();
        assert_eq!(out, format!("{ZOE}\n").as_bytes());
        // Corsica, abroad, accents, CRLF-free trimmed fields, unknown NIR month.
        for line in [
            "253072B07300470;1.2.250.1.213.1.4.8;D'ORNANO;MARIE-ANGE;F;1953-07-14;2B073",
            "253072A07300443;1.2.250.1.213.1.4.11; CASANOVA ;MARIE;F;1953-07-01;2A073",
            &format!(
                "{};1.2.250.1.213.1.4.9;ÉLOÏSE;JOSÉ;M;1980-06-15;99134",
                nir("1804099134001")
            ),
        ] {
            parse_identity(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }

    fn nir(body: &str) -> String {
        Nir::from_body(body).unwrap().to_string()
    }

    #[test]
    fn every_reject_code() {
        let with = |i: usize, v: &str| {
            let mut f: Vec<&str> = ZOE.split(';').collect();
            f[i] = v;
            f.join(";")
        };
        let cases = [
            (
                with(0, "275126322074975"),
                "bad_nir",
                "matricule_ins is not a valid NIR (check_key)",
            ),
            (with(0, ""), "missing_field", "matricule_ins is empty"),
            (
                with(1, "1.2.250.1.213.1.4.99"),
                "bad_oid",
                "oid is not an INS OID",
            ),
            (
                with(1, "1.2.250.1.213.1.4.2"),
                "bad_oid",
                "oid is the legacy INS-C OID, which does not qualify a NIR",
            ),
            (with(2, ""), "missing_field", "nom_naissance is empty"),
            (
                with(3, "ZOE  LOUISE"),
                "bad_given_names",
                "prenoms must be given names separated by single spaces",
            ),
            (with(4, "X"), "bad_sex", "sexe must be M or F"),
            (with(4, "f"), "bad_sex", "sexe must be M or F"),
            (
                with(5, "1975-12-32"),
                "bad_date",
                "date_naissance is not a YYYY-MM-DD date",
            ),
            (
                with(6, "6322"),
                "bad_birthplace",
                "lieu_naissance must be an INSEE code: 2 digits or 2A/2B, then 3 digits",
            ),
            (
                with(6, "2C220"),
                "bad_birthplace",
                "lieu_naissance must be an INSEE code: 2 digits or 2A/2B, then 3 digits",
            ),
            (
                with(4, "M"),
                "trait_mismatch",
                "sexe does not match matricule_ins",
            ),
            (
                with(5, "1976-12-01"),
                "trait_mismatch",
                "date_naissance (year) does not match matricule_ins",
            ),
            (
                with(5, "1975-11-01"),
                "trait_mismatch",
                "date_naissance (month) does not match matricule_ins",
            ),
            (
                format!("{ZOE};"),
                "column_count",
                "expected 7 columns, found 8",
            ),
            (
                "a;b".to_owned(),
                "column_count",
                "expected 7 columns, found 2",
            ),
        ];
        for (line, code, message) in cases {
            let err = reject(&line);
            assert_eq!((err.code, err.message.as_str()), (code, message), "{line}");
        }
        let mut latin1 = ZOE.as_bytes().to_vec();
        latin1[40] = 0xC9;
        assert_eq!(parse_identity(&latin1).unwrap_err().code, "not_utf8");
        // Sex digits other than 1/2 are refused.
        let odd = with(0, &nir("7751263220749"));
        assert_eq!(reject(&odd).code, "trait_mismatch");
        // NIR month 30-42: any date month.
        let special = with(0, &nir("2753563220749"));
        assert!(parse_identity(special.as_bytes()).is_ok());
    }
}
