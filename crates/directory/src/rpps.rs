//! Annuaire Santé extract `PS_LibreAcces_Personne_activite_<timestamp>.txt`
//! (RPPS and ADELI professionals, one row per activity).
//!
//! # Format, as accepted
//!
//! - UTF-8 (a leading BOM is removed by the [`LineSplitter`](crate::lines::LineSplitter)),
//!   `\n` or `\r\n` line ends.
//! - One header line: the 52 column names of [`HEADER`], in that order,
//!   each followed by `|` (see [`header_line`], [`check_header`]).
//! - Then one line per activity: exactly 52 fields, each followed by `|`
//!   (so a line has 52 `|` and ends with one). No quoting: a field cannot
//!   contain `|`. Fields are trimmed of surrounding spaces.
//! - File name `PS_LibreAcces_Personne_activite_<YYYYMMDDhhmm>.txt`
//!   (14 digits with seconds also accepted), see [`extract_time`].
//!
//! # Row checks, in order (first failure wins)
//!
//! | check | code |
//! |---|---|
//! | the line is UTF-8 (message gives the byte offset) | `not_utf8` |
//! | 52 fields, then the trailing `|` | `column_count`, `missing_trailing_separator` |
//! | "Type d'identifiant PP" is `0` (ADELI) or `8` (RPPS) | `bad_identifier_type` |
//! | "Identifiant PP" is a valid RPPS (type 8, honouring the [`RppsPolicy`]) or ADELI (type 0) | `bad_rpps`, `bad_adeli` |
//! | "Identification nationale PP" = type digit + "Identifiant PP" | `id_nat_mismatch` |
//! | "Nom d'exercice" is not empty | `missing_field` |
//! | when not empty: "Numéro FINESS site", "Numéro FINESS établissement juridique" (FINESS), "Numéro SIRET site" (SIRET), "Numéro SIREN site" (SIREN) | `bad_finess`, `bad_siret`, `bad_siren` |
//!
//! Every other column is free text, possibly empty. Messages name the
//! column and quote the offending value (public directory data),
//! truncated to 40 characters.

use std::io::{self, Write};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use egide_ids::{Adeli, Finess, IdNatPs, Rpps, RppsPolicy, Siren, Siret};

use crate::error::Echo;
use crate::fields::{self, columns, split_trimmed};
use crate::{FileError, RowError, code};

/// Number of columns of the file.
pub const COLUMNS: usize = 52;

/// File name prefix of the extract.
pub const FILE_PREFIX: &str = "PS_LibreAcces_Personne_activite_";

/// Kind of professional identifier ("Type d'identifiant PP").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdType {
    /// `0`: ADELI number (9 digits).
    Adeli,
    /// `8`: RPPS number (11 digits).
    Rpps,
}

impl IdType {
    /// The type digit written in the file and used as `idNat_PS` prefix.
    #[must_use]
    pub const fn digit(self) -> char {
        match self {
            Self::Adeli => '0',
            Self::Rpps => '8',
        }
    }
}

columns! {
    /// One activity row of the extract, borrowing its text from the line.
    ///
    /// Each column is a public field named after it (the French name is in
    /// its documentation), trimmed of surrounding spaces. Two parsed fields
    /// come first: [`Self::id_type`] and [`Self::id_nat_ps`].
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Activity<'a> {
        /// Parsed "Type d'identifiant PP".
        pub id_type: IdType,
        /// Parsed "Identification nationale PP" (`0`+ADELI or `8`+RPPS).
        pub id_nat_ps: IdNatPs,
    }
    column_type = &'a str;
    names = /// The 52 column names, in file order, exactly as in the header line.
        HEADER[COLUMNS];
    columns = [
        (1, pp_id_type, "Type d'identifiant PP"),
        (2, pp_id, "Identifiant PP"),
        (3, pp_national_id, "Identification nationale PP"),
        (4, practice_civility_code, "Code civilité d'exercice"),
        (5, practice_civility_label, "Libellé civilité d'exercice"),
        (6, civility_code, "Code civilité"),
        (7, civility_label, "Libellé civilité"),
        (8, practice_last_name, "Nom d'exercice"),
        (9, practice_first_name, "Prénom d'exercice"),
        (10, profession_code, "Code profession"),
        (11, profession_label, "Libellé profession"),
        (12, category_code, "Code catégorie professionnelle"),
        (13, category_label, "Libellé catégorie professionnelle"),
        (14, expertise_type_code, "Code type savoir-faire"),
        (15, expertise_type_label, "Libellé type savoir-faire"),
        (16, expertise_code, "Code savoir-faire"),
        (17, expertise_label, "Libellé savoir-faire"),
        (18, practice_mode_code, "Code mode exercice"),
        (19, practice_mode_label, "Libellé mode exercice"),
        (20, site_siret, "Numéro SIRET site"),
        (21, site_siren, "Numéro SIREN site"),
        (22, site_finess, "Numéro FINESS site"),
        (23, legal_entity_finess, "Numéro FINESS établissement juridique"),
        (24, structure_technical_id, "Identifiant technique de la structure"),
        (25, site_name, "Raison sociale site"),
        (26, site_trade_name, "Enseigne commerciale site"),
        (27, recipient_complement, "Complément destinataire"),
        (28, geo_complement, "Complément point géographique"),
        (29, street_number, "Numéro Voie"),
        (30, street_number_suffix, "Indice répétition voie"),
        (31, street_type_code, "Code type de voie"),
        (32, street_type_label, "Libellé type de voie"),
        (33, street_name, "Libellé Voie"),
        (34, distribution_mention, "Mention distribution"),
        (35, cedex_office, "Bureau cedex"),
        (36, postal_code, "Code postal"),
        (37, commune_code, "Code commune"),
        (38, commune_label, "Libellé commune"),
        (39, country_code, "Code pays"),
        (40, country_label, "Libellé pays"),
        (41, phone, "Téléphone"),
        (42, phone2, "Téléphone 2"),
        (43, fax, "Télécopie"),
        (44, email, "Adresse e-mail"),
        (45, department_code, "Code Département"),
        (46, department_label, "Libellé Département"),
        (47, former_structure_id, "Ancien identifiant de la structure"),
        (48, registration_authority, "Autorité d'enregistrement"),
        (49, sector_code, "Code secteur d'activité"),
        (50, sector_label, "Libellé secteur d'activité"),
        (51, pharmacist_section_code, "Code section tableau pharmaciens"),
        (52, pharmacist_section_label, "Libellé section tableau pharmaciens"),
    ];
}

// Indexes (0-based) of the columns named in reject messages.
const ID_TYPE: usize = 0;
const ID_PP: usize = 1;
const ID_NAT: usize = 2;
const LAST_NAME: usize = 7;
const SITE_SIRET: usize = 19;
const SITE_SIREN: usize = 20;
const SITE_FINESS: usize = 21;
const EJ_FINESS: usize = 22;

impl Activity<'_> {
    /// Writes this activity as one line of the extract (see
    /// [`write_activity_line`]); the parsed fields are not used.
    ///
    /// # Errors
    ///
    /// As [`write_activity_line`].
    pub fn write_line<W: Write + ?Sized>(&self, w: &mut W) -> io::Result<()> {
        write_activity_line(w, &self.columns())
    }
}

/// The exact header line (column names each followed by `|`), without
/// line terminator.
#[must_use]
pub fn header_line() -> String {
    let mut line = HEADER.join("|");
    line.push('|');
    line
}

/// Checks the header line (BOM and line terminator already removed).
///
/// # Errors
///
/// [`FileError::Header`] naming the first column that differs, with the
/// expected and found names, or the column count.
pub fn check_header(line: &[u8]) -> Result<(), FileError> {
    let text = fields::utf8(line).map_err(|e| FileError::Header(e.message))?;
    let mut found = [""; COLUMNS];
    let pieces = split_trimmed(text, b'|', &mut found);
    let columns = if text.ends_with('|') {
        pieces - 1
    } else {
        pieces
    };
    for (i, (expected, got)) in HEADER.iter().zip(found).enumerate().take(columns) {
        if *expected != got {
            return Err(FileError::Header(format!(
                "column {}: expected {expected:?}, found {}",
                i + 1,
                Echo(got)
            )));
        }
    }
    match shape(text, pieces) {
        Ok(()) => Ok(()),
        Err(e) => Err(FileError::Header(e.message)),
    }
}

/// Checks the number of `|`-terminated fields of a line split into
/// `pieces` pieces.
fn shape(text: &str, pieces: usize) -> Result<(), RowError> {
    if text.ends_with('|') {
        if pieces - 1 == COLUMNS {
            return Ok(());
        }
        return Err(column_count(pieces - 1));
    }
    if pieces == COLUMNS {
        Err(RowError::new(
            code::MISSING_TRAILING_SEPARATOR,
            "missing trailing |",
        ))
    } else {
        Err(column_count(pieces))
    }
}

fn column_count(found: usize) -> RowError {
    RowError::new(
        code::COLUMN_COUNT,
        format!("expected {COLUMNS} columns, found {found}"),
    )
}

/// Parses one activity line (line terminator removed).
///
/// `rpps_policy` says which RPPS test ranges are accepted without a valid
/// key (use [`RppsPolicy::strict`] for production data).
///
/// # Errors
///
/// A [`RowError`] whose code is listed in the [module documentation](self).
pub fn parse_activity<'a>(
    line: &'a [u8],
    rpps_policy: &RppsPolicy,
) -> Result<Activity<'a>, RowError> {
    let text = fields::utf8(line)?;
    let mut cols = [""; COLUMNS];
    let pieces = split_trimmed(text, b'|', &mut cols);
    shape(text, pieces)?;

    let id_type = match cols[ID_TYPE] {
        "8" => IdType::Rpps,
        "0" => IdType::Adeli,
        other => {
            return Err(RowError::new(
                code::BAD_IDENTIFIER_TYPE,
                format!(
                    "{}: expected 0 (ADELI) or 8 (RPPS), found {}",
                    HEADER[ID_TYPE],
                    Echo(other)
                ),
            ));
        }
    };
    let id = cols[ID_PP];
    let id_nat_ps = match id_type {
        IdType::Rpps => Rpps::parse_with(id, rpps_policy)
            .map(IdNatPs::Rpps)
            .map_err(|e| invalid(code::BAD_RPPS, ID_PP, id, &e))?,
        IdType::Adeli => Adeli::parse(id)
            .map(IdNatPs::Adeli)
            .map_err(|e| invalid(code::BAD_ADELI, ID_PP, id, &e))?,
    };
    let national = cols[ID_NAT];
    if national.strip_prefix(id_type.digit()) != Some(id) {
        return Err(RowError::new(
            code::ID_NAT_MISMATCH,
            format!(
                "{} {} is not {} + {}",
                HEADER[ID_NAT],
                Echo(national),
                id_type.digit(),
                HEADER[ID_PP]
            ),
        ));
    }
    if cols[LAST_NAME].is_empty() {
        return Err(RowError::new(
            code::MISSING_FIELD,
            format!("{} is empty", HEADER[LAST_NAME]),
        ));
    }
    check_optional(&cols, SITE_FINESS, code::BAD_FINESS, Finess::parse)?;
    check_optional(&cols, EJ_FINESS, code::BAD_FINESS, Finess::parse)?;
    check_optional(&cols, SITE_SIRET, code::BAD_SIRET, Siret::parse)?;
    check_optional(&cols, SITE_SIREN, code::BAD_SIREN, Siren::parse)?;

    Ok(Activity::from_columns(cols, id_type, id_nat_ps))
}

fn check_optional<T>(
    cols: &[&str; COLUMNS],
    index: usize,
    code: &'static str,
    parse: impl Fn(&str) -> Result<T, egide_ids::IdError>,
) -> Result<(), RowError> {
    let value = cols[index];
    if value.is_empty() {
        return Ok(());
    }
    parse(value)
        .map(|_| ())
        .map_err(|e| invalid(code, index, value, &e))
}

fn invalid(code: &'static str, index: usize, value: &str, err: &egide_ids::IdError) -> RowError {
    RowError::new(code, format!("{} {}: {err}", HEADER[index], Echo(value)))
}

/// Writes one line of the extract: the 52 columns each followed by `|`,
/// then `\n`. This is the only place that knows the line layout; the
/// synthetic generator uses it.
///
/// # Errors
///
/// Any I/O error of `w`, or [`io::ErrorKind::InvalidInput`] when a column
/// contains `|`, `\r` or `\n` (which would break the line structure).
pub fn write_activity_line<W: Write + ?Sized>(
    w: &mut W,
    columns: &[&str; COLUMNS],
) -> io::Result<()> {
    fields::write_joined(w, columns, b'|', true)
}

/// The published file name for an extract time (minutes precision):
/// `PS_LibreAcces_Personne_activite_<YYYYMMDDhhmm>.txt`.
#[must_use]
pub fn file_name(time: NaiveDateTime) -> String {
    format!("{FILE_PREFIX}{}.txt", time.format("%Y%m%d%H%M"))
}

/// Extracts the extract time from a file name (optionally with a path)
/// `PS_LibreAcces_Personne_activite_<YYYYMMDDhhmm>.txt`, also accepting
/// 14 digits (with seconds). `None` for any other name or an impossible
/// date or time.
///
/// ```
/// use egide_directory::rpps::extract_time;
/// let t = extract_time("/data/PS_LibreAcces_Personne_activite_202405131430.txt").unwrap();
/// assert_eq!(t.to_string(), "2024-05-13 14:30:00");
/// assert!(extract_time("PS_LibreAcces_Personne_activite_2024051314.txt").is_none());
/// ```
#[must_use]
pub fn extract_time(file_name: &str) -> Option<NaiveDateTime> {
    let base = file_name.rsplit(['/', '\\']).next()?;
    let stamp = base.strip_prefix(FILE_PREFIX)?.strip_suffix(".txt")?;
    let b = stamp.as_bytes();
    if !(b.len() == 12 || b.len() == 14) {
        return None;
    }
    let n = |range: core::ops::Range<usize>| b.get(range).and_then(fields::digits);
    let date = NaiveDate::from_ymd_opt(i32::try_from(n(0..4)?).ok()?, n(4..6)?, n(6..8)?)?;
    let seconds = if b.len() == 14 { n(12..14)? } else { 0 };
    let time = NaiveTime::from_hms_opt(n(8..10)?, n(10..12)?, seconds)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real-looking line (public directory data of a fictitious doctor).
    pub(crate) fn sample_columns() -> [&'static str; COLUMNS] {
        let mut c = [""; COLUMNS];
        c[0] = "8";
        c[1] = "10001045367";
        c[2] = "810001045367";
        c[3] = "DR";
        c[4] = "Docteur";
        c[5] = "MME";
        c[6] = "Madame";
        c[7] = "LEFÈVRE";
        c[8] = "Hélène";
        c[9] = "10";
        c[10] = "Médecin";
        c[11] = "C";
        c[12] = "Civil";
        c[13] = "S";
        c[14] = "Spécialité ordinale";
        c[15] = "SM54";
        c[16] = "Médecine générale";
        c[17] = "L";
        c[18] = "Libéral";
        c[19] = "73282932000074";
        c[20] = "732829320";
        c[21] = "010003374";
        c[22] = "2A0000001";
        c[23] = "F010003374";
        c[24] = "CABINET MÉDICAL DES LILAS";
        c[28] = "12";
        c[30] = "R";
        c[31] = "Rue";
        c[32] = "des Lilas";
        c[35] = "63000";
        c[36] = "63113";
        c[37] = "Clermont-Ferrand";
        c[38] = "99000";
        c[39] = "France";
        c[40] = "0473000000";
        c[43] = "helene.lefevre@medecin.mssante.fr";
        c[44] = "63";
        c[45] = "Puy-de-Dôme";
        c[47] = "CNOM/CNOM/CNOM";
        c[48] = "SA07";
        c[49] = "Cabinet individuel";
        c
    }

    fn line(cols: &[&str; COLUMNS]) -> Vec<u8> {
        let mut out = Vec::new();
        write_activity_line(&mut out, cols).unwrap();
        out.pop();
        out
    }

    fn reject(line: &[u8]) -> RowError {
        parse_activity(line, &RppsPolicy::strict()).unwrap_err()
    }

    fn reject_with(edit: impl FnOnce(&mut [&'static str; COLUMNS])) -> RowError {
        let mut c = sample_columns();
        edit(&mut c);
        reject(&line(&c))
    }

    #[test]
    fn header() {
        let header = header_line();
        assert!(
            header.starts_with("Type d'identifiant PP|Identifiant PP|Identification nationale PP|")
        );
        assert!(header.ends_with("|Libellé section tableau pharmaciens|"));
        assert_eq!(header.matches('|').count(), 52);
        check_header(header.as_bytes()).unwrap();
        let bad = header.replace("Nom d'exercice", "Nom d exercice");
        let err = check_header(bad.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "bad_header");
        assert_eq!(
            err.to_string(),
            "bad header: column 8: expected \"Nom d'exercice\", found \"Nom d exercice\""
        );
        let err = check_header(header.trim_end_matches('|').as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "bad header: missing trailing |");
        let short = header.replace("|Libellé section tableau pharmaciens|", "|");
        assert_eq!(
            check_header(short.as_bytes()).unwrap_err().to_string(),
            "bad header: expected 52 columns, found 51"
        );
        let long = format!("{header}extra|");
        assert!(
            check_header(long.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("found 53")
        );
        assert_eq!(
            check_header(b"\xff").unwrap_err().to_string(),
            "bad header: invalid UTF-8 at byte offset 0"
        );
    }

    #[test]
    fn parses_a_real_looking_line() {
        let bytes = line(&sample_columns());
        let a = parse_activity(&bytes, &RppsPolicy::strict()).unwrap();
        assert_eq!(a.id_type, IdType::Rpps);
        assert_eq!(a.id_nat_ps.to_string(), "810001045367");
        assert_eq!(a.practice_last_name, "LEFÈVRE");
        assert_eq!(a.practice_first_name, "Hélène");
        assert_eq!(a.legal_entity_finess, "2A0000001");
        assert_eq!(a.department_label, "Puy-de-Dôme");
        assert_eq!(a.pharmacist_section_label, "");
        assert_eq!(a.columns(), sample_columns());
        // Round trip through the writer.
        let mut again = Vec::new();
        a.write_line(&mut again).unwrap();
        assert_eq!(again.strip_suffix(b"\n").unwrap(), bytes.as_slice());
    }

    #[test]
    fn adeli_fields_are_trimmed() {
        let mut c = sample_columns();
        c[0] = " 0";
        c[1] = "759124159 ";
        c[2] = "0759124159";
        c[7] = "  MARTIN ";
        let bytes = line(&c);
        let a = parse_activity(&bytes, &RppsPolicy::strict()).unwrap();
        assert_eq!(a.id_type, IdType::Adeli);
        assert_eq!(a.id_nat_ps.to_string(), "0759124159");
        assert_eq!(
            (a.pp_id_type, a.pp_id, a.practice_last_name),
            ("0", "759124159", "MARTIN")
        );
    }

    #[test]
    fn test_range_policy() {
        let mut c = sample_columns();
        c[1] = "10003461033";
        c[2] = "810003461033";
        let bytes = line(&c);
        assert_eq!(reject(&bytes).code, "bad_rpps");
        let policy = RppsPolicy::with_test_prefixes(["1000346"]);
        assert!(parse_activity(&bytes, &policy).is_ok());
    }

    #[test]
    fn every_reject_code() {
        let mut bytes = line(&sample_columns());
        bytes[150] = 0xE9;
        let err = reject(&bytes);
        assert_eq!(err.code, "not_utf8");
        assert!(err.message.contains("byte offset"), "{err}");

        let mut pharmacist = sample_columns();
        pharmacist[50] = "A";
        pharmacist[51] = "Pharmacien titulaire d'officine";
        let good = line(&pharmacist);
        let err = reject(&good[..good.len() - 1]);
        assert_eq!(
            (err.code, err.message.as_str()),
            ("missing_trailing_separator", "missing trailing |")
        );
        let err = reject(b"8|10001045367|");
        assert_eq!(
            (err.code, err.message.as_str()),
            ("column_count", "expected 52 columns, found 2")
        );
        let err = reject(b"a|b");
        assert_eq!(err.message, "expected 52 columns, found 2");
        let mut extra = good.clone();
        extra.extend(b"x|");
        assert_eq!(reject(&extra).message, "expected 52 columns, found 53");
        assert_eq!(reject(b"").code, "column_count");

        let err = reject_with(|c| c[0] = "RPPS");
        assert_eq!(err.code, "bad_identifier_type");
        assert_eq!(
            err.message,
            "Type d'identifiant PP: expected 0 (ADELI) or 8 (RPPS), found \"RPPS\""
        );
        let err = reject_with(|c| {
            c[1] = "10001045368";
            c[2] = "810001045368";
        });
        assert_eq!(err.code, "bad_rpps");
        assert_eq!(
            err.message,
            "Identifiant PP \"10001045368\": RPPS: check key mismatch (expected 7, got 8)"
        );
        let err = reject_with(|c| {
            c[0] = "0";
            c[2] = "010001045367";
        });
        assert_eq!(err.code, "bad_adeli");
        let err = reject_with(|c| c[2] = "10001045367");
        assert_eq!(err.code, "id_nat_mismatch");
        assert_eq!(
            err.message,
            "Identification nationale PP \"10001045367\" is not 8 + Identifiant PP"
        );
        assert_eq!(
            reject_with(|c| c[2] = "010001045367").code,
            "id_nat_mismatch"
        );
        let err = reject_with(|c| c[7] = " ");
        assert_eq!(
            (err.code, err.message.as_str()),
            ("missing_field", "Nom d'exercice is empty")
        );
        let err = reject_with(|c| c[21] = "010003375");
        assert_eq!(err.code, "bad_finess");
        assert!(
            err.message.starts_with("Numéro FINESS site \"010003375\""),
            "{err}"
        );
        let err = reject_with(|c| c[22] = "3A0000001");
        assert_eq!(err.code, "bad_finess");
        assert!(
            err.message
                .starts_with("Numéro FINESS établissement juridique"),
            "{err}"
        );
        let err = reject_with(|c| c[19] = "73282932000075");
        assert_eq!(err.code, "bad_siret");
        assert!(err.message.starts_with("Numéro SIRET site"), "{err}");
        let err = reject_with(|c| c[20] = "732829321");
        assert_eq!(err.code, "bad_siren");
        assert!(err.message.starts_with("Numéro SIREN site"), "{err}");
        // Long values are truncated in messages.
        let long = "9".repeat(500);
        let err = reject_with(|c| c[0] = Box::leak(long.into_boxed_str()));
        assert!(err.message.len() < 120, "{err}");
    }

    #[test]
    fn writer_refuses_separators() {
        let mut c = sample_columns();
        c[24] = "A|B";
        assert!(write_activity_line(&mut Vec::new(), &c).is_err());
        c[24] = "A\nB";
        assert!(write_activity_line(&mut Vec::new(), &c).is_err());
    }

    #[test]
    fn file_names() {
        let t = NaiveDate::from_ymd_opt(2024, 5, 13)
            .unwrap()
            .and_hms_opt(14, 30, 0)
            .unwrap();
        assert_eq!(
            file_name(t),
            "PS_LibreAcces_Personne_activite_202405131430.txt"
        );
        assert_eq!(extract_time(&file_name(t)), Some(t));
        assert_eq!(
            extract_time(r"C:\in\PS_LibreAcces_Personne_activite_20240513143059.txt"),
            Some(t.date().and_hms_opt(14, 30, 59).unwrap())
        );
        for bad in [
            "PS_LibreAcces_Personne_activite_202413131430.txt",
            "PS_LibreAcces_Personne_activite_202405131460.txt",
            "PS_LibreAcces_Personne_activite_2024051314301.txt",
            "PS_LibreAcces_Personne_activite_20240513143a.txt",
            "PS_LibreAcces_Personne_activite_202405131430.csv",
            "PS_LibreAcces_Personne_202405131430.txt",
            "",
        ] {
            assert_eq!(extract_time(bad), None, "{bad}");
        }
    }
}
