//! `rights_reference.csv`: one line per beneficiary of an insured person
//! (see the [module documentation](super)).

use std::io::{self, Write};

use chrono::NaiveDate;
use egide_ids::Nir;

use super::{
    bad_date, check_header, missing, optional_nir, required_date, required_nir, split_line,
};
use crate::fields;
use crate::{FileError, RowError, code};

/// File name of the rights reference file.
pub const RIGHTS_FILE_NAME: &str = "rights_reference.csv";

/// Column names of `rights_reference.csv`, in order.
pub const RIGHTS_HEADER: [&str; 9] = [
    "matricule_assure",
    "matricule_beneficiaire",
    "rang_naissance",
    "qualite",
    "regime",
    "caisse",
    "centre",
    "debut_droits",
    "fin_droits",
];

/// Relationship of the beneficiary to the insured (`qualite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// `assure`: the insured themself.
    Insured,
    /// `conjoint`: spouse or partner.
    Spouse,
    /// `enfant`: child.
    Child,
    /// `autre`: any other dependant.
    Other,
}

impl Quality {
    /// The value written in the file.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Insured => "assure",
            Self::Spouse => "conjoint",
            Self::Child => "enfant",
            Self::Other => "autre",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Insured, Self::Spouse, Self::Child, Self::Other]
            .into_iter()
            .find(|q| q.as_str() == s)
    }
}

/// One rights line. Its `Debug` output masks the NIRs (see [`Nir`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights<'a> {
    /// The insured, *ouvrant droit* (`matricule_assure`).
    pub insured: Nir,
    /// The beneficiary (`matricule_beneficiaire`); `None` for a minor
    /// without a NIR of their own, then identified by [`Self::birth_rank`].
    pub beneficiary: Option<Nir>,
    /// Birth rank 1-9 (`rang_naissance`).
    pub birth_rank: Option<u8>,
    /// Relationship to the insured (`qualite`).
    pub quality: Quality,
    /// Scheme, 2 digits (`regime`).
    pub regime: &'a str,
    /// Fund, 3 digits (`caisse`).
    pub caisse: &'a str,
    /// Centre, 4 digits (`centre`).
    pub centre: &'a str,
    /// First day of rights (`debut_droits`).
    pub start: NaiveDate,
    /// Last day of rights, `None` when open (`fin_droits`).
    pub end: Option<NaiveDate>,
}

/// The header line of `rights_reference.csv`, without line terminator.
#[must_use]
pub fn rights_header_line() -> String {
    RIGHTS_HEADER.join(";")
}

/// Checks the header line of `rights_reference.csv`.
///
/// # Errors
///
/// [`FileError::Header`] naming the first wrong column (never what was
/// found there) or the column count.
pub fn check_rights_header(line: &[u8]) -> Result<(), FileError> {
    check_header(line, &RIGHTS_HEADER)
}

/// Parses one rights line (line terminator removed).
///
/// # Errors
///
/// A [`RowError`] whose code is listed in the [module documentation](super);
/// its message never contains any value of the line.
pub fn parse_rights(line: &[u8]) -> Result<Rights<'_>, RowError> {
    let [
        insured,
        beneficiary,
        rank,
        quality,
        regime,
        caisse,
        centre,
        start,
        end,
    ] = split_line::<9>(line)?;
    let insured = required_nir(insured, "matricule_assure")?;
    let beneficiary = optional_nir(beneficiary, "matricule_beneficiaire")?;
    let birth_rank = match rank.as_bytes() {
        [] if beneficiary.is_none() => {
            return Err(RowError::new(
                code::MISSING_FIELD,
                "rang_naissance is required when matricule_beneficiaire is empty",
            ));
        }
        [] => None,
        [d @ b'1'..=b'9'] => Some(d - b'0'),
        _ => {
            return Err(RowError::new(
                code::BAD_RANK,
                "rang_naissance must be a digit 1-9",
            ));
        }
    };
    let quality = match Quality::parse(quality) {
        Some(q) => q,
        None if quality.is_empty() => return Err(missing("qualite")),
        None => {
            return Err(RowError::new(
                code::BAD_QUALITY,
                "qualite must be assure, conjoint, enfant or autre",
            ));
        }
    };
    for (value, name, len) in [
        (regime, "regime", 2),
        (caisse, "caisse", 3),
        (centre, "centre", 4),
    ] {
        if !fields::is_digits(value, len) {
            return Err(RowError::new(
                code::BAD_NUMBER,
                format!("{name} must be {len} digits"),
            ));
        }
    }
    let start = required_date(start, "debut_droits")?;
    let end = if end.is_empty() {
        None
    } else {
        Some(fields::parse_date(end).ok_or_else(|| bad_date("fin_droits"))?)
    };
    let is_self = beneficiary == Some(insured);
    match quality {
        Quality::Insured if !is_self => {
            return Err(RowError::new(
                code::QUALITY_MISMATCH,
                "qualite assure requires matricule_beneficiaire = matricule_assure",
            ));
        }
        Quality::Spouse | Quality::Child | Quality::Other if is_self => {
            return Err(RowError::new(
                code::QUALITY_MISMATCH,
                "a dependant's matricule_beneficiaire must differ from matricule_assure",
            ));
        }
        _ => {}
    }
    if end.is_some_and(|end| end < start) {
        return Err(RowError::new(
            code::BAD_PERIOD,
            "fin_droits is before debut_droits",
        ));
    }
    Ok(Rights {
        insured,
        beneficiary,
        birth_rank,
        quality,
        regime,
        caisse,
        centre,
        start,
        end,
    })
}

/// Writes one rights line (`;`-separated, `\n`-terminated).
///
/// # Errors
///
/// Any I/O error, or [`io::ErrorKind::InvalidInput`] when a code field
/// contains `;` or a line break.
pub fn write_rights_line<W: Write + ?Sized>(w: &mut W, rights: &Rights<'_>) -> io::Result<()> {
    let rank = rights.birth_rank.map(|r| r.to_string()).unwrap_or_default();
    let start = rights.start.format("%Y-%m-%d").to_string();
    let end = rights
        .end
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    fields::write_joined(
        w,
        &[
            rights.insured.as_str(),
            rights.beneficiary.as_ref().map_or("", Nir::as_str),
            &rank,
            rights.quality.as_str(),
            rights.regime,
            rights.caisse,
            rights.centre,
            &start,
            &end,
        ],
        b';',
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSURED: &str = "275126322074974;275126322074974;;assure;01;631;0042;2020-01-01;";
    const CHILD: &str = "275126322074974;;2;enfant;01;631;0042;2020-01-01;2030-12-31";
    const SPOUSE: &str = "275126322074974;253072B07300470;;conjoint;01;631;0042;2020-01-01;";

    fn reject(line: &str) -> RowError {
        let err = parse_rights(line.as_bytes()).unwrap_err();
        // Values of the line never appear in the message (the quality
        // keywords aside: they are the vocabulary, not data).
        let keywords = ["assure", "conjoint", "enfant", "autre"];
        for value in line
            .split(';')
            .filter(|v| v.len() >= 2 && !keywords.contains(v))
        {
            assert!(!err.message.contains(value), "{value:?} in {err}");
        }
        err
    }

    #[test]
    fn header() {
        assert_eq!(
            rights_header_line(),
            "matricule_assure;matricule_beneficiaire;rang_naissance;qualite;regime;caisse;centre;debut_droits;fin_droits"
        );
        check_rights_header(rights_header_line().as_bytes()).unwrap();
        assert!(check_rights_header(INSURED.as_bytes()).is_err());
    }

    #[test]
    fn parses_and_round_trips() {
        for line in [INSURED, CHILD, SPOUSE] {
            let r = parse_rights(line.as_bytes()).unwrap();
            let mut out = Vec::new();
            write_rights_line(&mut out, &r).unwrap();
            assert_eq!(out, format!("{line}\n").as_bytes());
        }
        let child = parse_rights(CHILD.as_bytes()).unwrap();
        assert_eq!(child.beneficiary, None);
        assert_eq!(child.birth_rank, Some(2));
        assert_eq!(child.quality, Quality::Child);
        assert_eq!(child.end, NaiveDate::from_ymd_opt(2030, 12, 31));
        assert!(!format!("{child:?}").contains("2751263"));
        // Same-day end is fine.
        assert!(parse_rights(CHILD.replace("2030-12-31", "2020-01-01").as_bytes()).is_ok());
    }

    #[test]
    fn every_reject_code() {
        let with = |base: &str, i: usize, v: &str| {
            let mut f: Vec<&str> = base.split(';').collect();
            f[i] = v;
            f.join(";")
        };
        let cases = [
            (
                with(INSURED, 0, "275126322074975"),
                "bad_nir",
                "matricule_assure is not a valid NIR (check_key)",
            ),
            (
                with(INSURED, 0, ""),
                "missing_field",
                "matricule_assure is empty",
            ),
            (
                with(SPOUSE, 1, "25307"),
                "bad_nir",
                "matricule_beneficiaire is not a valid NIR (length)",
            ),
            (
                with(CHILD, 2, ""),
                "missing_field",
                "rang_naissance is required when matricule_beneficiaire is empty",
            ),
            (
                with(CHILD, 2, "0"),
                "bad_rank",
                "rang_naissance must be a digit 1-9",
            ),
            (
                with(CHILD, 2, "10"),
                "bad_rank",
                "rang_naissance must be a digit 1-9",
            ),
            (
                with(CHILD, 3, "fils"),
                "bad_quality",
                "qualite must be assure, conjoint, enfant or autre",
            ),
            (with(CHILD, 3, ""), "missing_field", "qualite is empty"),
            (with(CHILD, 4, "1"), "bad_number", "regime must be 2 digits"),
            (
                with(CHILD, 5, "63A"),
                "bad_number",
                "caisse must be 3 digits",
            ),
            (
                with(CHILD, 6, "42"),
                "bad_number",
                "centre must be 4 digits",
            ),
            (with(CHILD, 7, ""), "missing_field", "debut_droits is empty"),
            (
                with(CHILD, 7, "01/01/2020"),
                "bad_date",
                "debut_droits is not a YYYY-MM-DD date",
            ),
            (
                with(CHILD, 8, "2030-02-30"),
                "bad_date",
                "fin_droits is not a YYYY-MM-DD date",
            ),
            (
                with(&with(INSURED, 1, ""), 2, "1"),
                "quality_mismatch",
                "qualite assure requires matricule_beneficiaire = matricule_assure",
            ),
            (
                with(INSURED, 1, "253072B07300470"),
                "quality_mismatch",
                "qualite assure requires matricule_beneficiaire = matricule_assure",
            ),
            (
                with(SPOUSE, 1, "275126322074974"),
                "quality_mismatch",
                "a dependant's matricule_beneficiaire must differ from matricule_assure",
            ),
            (
                with(CHILD, 8, "2019-12-31"),
                "bad_period",
                "fin_droits is before debut_droits",
            ),
            (
                format!("{CHILD};"),
                "column_count",
                "expected 9 columns, found 10",
            ),
        ];
        for (line, code, message) in cases {
            let err = reject(&line);
            assert_eq!((err.code, err.message.as_str()), (code, message), "{line}");
        }
        assert_eq!(parse_rights(b"\xff;").unwrap_err().code, "not_utf8");
    }
}
