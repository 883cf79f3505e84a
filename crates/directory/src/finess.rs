//! FINESS etalab extract `etalab-cs1100502-stock-<YYYYMMDD>.csv`
//! (health and social establishments, with their geolocation).
//!
//! # Format, as accepted
//!
//! - Historically Latin-1, possibly UTF-8: see [`Encoding`]. `\n` or
//!   `\r\n` line ends.
//! - `;`-separated, **no header**, no quoting (a field cannot contain `;`).
//!   Fields are trimmed of surrounding spaces. One trailing empty field
//!   (a line ending with `;`) is tolerated on every line.
//! - Line 1, metadata: `finess;etalab;<n>;<YYYY-MM-DD>` ([`parse_metadata`]);
//!   `<n>` is kept as an opaque string (its meaning is not documented).
//! - Then records, in any order, whose first field is the kind:
//!   - `structureet` + the 30 fields of [`ESTABLISHMENT_COLUMNS`]
//!     (`nofinesset` … `datemaj`) → [`Establishment`];
//!   - `geolocalisation;<nofinesset>;<x>;<y>;<source>;<date>` (Lambert-93
//!     coordinates in metres, decimal point) → [`Geolocation`].
//!     A geolocation row may come before or after its establishment.
//! - File name `etalab-cs1100502-stock-<YYYYMMDD>.csv`, see [`extract_date`].
//!
//! # Row checks, in order (first failure wins)
//!
//! | check | code |
//! |---|---|
//! | [`Encoding::Utf8`] only: the line is UTF-8 | `not_utf8` |
//! | the kind is `structureet` or `geolocalisation` | `unknown_record` |
//! | 31 fields (`structureet`) or 6 (`geolocalisation`), kind included, plus at most one trailing empty field | `column_count` |
//! | `nofinesset` (both kinds) and `nofinessej` are present and valid FINESS numbers (`2A`/`2B` accepted without key check, as `egide-ids` does) | `missing_field`, `bad_finess` |
//! | `siret`, when present, is a valid SIRET | `bad_siret` |
//! | `dateouv`, `dateautor`, `datemaj`: empty or `YYYY-MM-DD` | `bad_date` |
//! | `x`, `y`: `-?digits[.digits]` | `missing_field`, `bad_number` |
//! | geolocation `date`: `YYYY-MM-DD` | `missing_field`, `bad_date` |
//!
//! Messages name the field and quote the offending value (public data),
//! truncated to 40 characters.

use std::borrow::Cow;
use std::io::{self, Write};

use chrono::NaiveDate;
use egide_ids::{Finess, Siret};

use crate::error::Echo;
use crate::fields::{self, columns, split_ranges, trim_bytes};
use crate::{FileError, RowError, code};

/// Number of fields of a `structureet` record, kind excluded.
pub const ESTABLISHMENT_FIELDS: usize = 30;
/// Number of fields of a `geolocalisation` record, kind excluded.
pub const GEOLOCATION_FIELDS: usize = 5;
/// Kind of an establishment record.
pub const ESTABLISHMENT_KIND: &str = "structureet";
/// Kind of a geolocation record.
pub const GEOLOCATION_KIND: &str = "geolocalisation";
/// File name prefix of the extract.
pub const FILE_PREFIX: &str = "etalab-cs1100502-stock-";

/// Text encoding of the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Per line: valid UTF-8 is read as UTF-8, anything else as Latin-1.
    /// (A Latin-1 line is very rarely also valid UTF-8: it would take an
    /// accented capital followed by a symbol such as `©`.) When writing,
    /// the same as [`Self::Utf8`].
    #[default]
    Auto,
    /// ISO-8859-1: every byte is the character of the same code.
    Latin1,
    /// UTF-8; invalid lines are rejected with `not_utf8`.
    Utf8,
}

/// The metadata line `finess;etalab;<n>;<YYYY-MM-DD>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Third field, kept as written (its meaning is not documented).
    pub n: String,
    /// Extract date.
    pub date: NaiveDate,
}

columns! {
    /// A `structureet` record, borrowing its text from the line (or owning
    /// it when the line had to be decoded from Latin-1).
    ///
    /// Column fields carry the official etalab names; parsed values come first.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Establishment<'a> {
        /// Parsed `nofinesset`.
        pub finess_et: Finess,
        /// Parsed `nofinessej`.
        pub finess_ej: Finess,
        /// Parsed `siret`, when present.
        pub siret_number: Option<Siret>,
        /// Parsed `dateouv` (opening date), when present.
        pub opened: Option<NaiveDate>,
        /// Parsed `dateautor` (authorisation date), when present.
        pub authorised: Option<NaiveDate>,
        /// Parsed `datemaj` (last update), when present.
        pub updated: Option<NaiveDate>,
    }
    column_type = Cow<'a, str>;
    names = /// The 30 field names of a `structureet` record, kind excluded.
        ESTABLISHMENT_COLUMNS[ESTABLISHMENT_FIELDS];
    columns = [
        (1, nofinesset, "nofinesset"),
        (2, nofinessej, "nofinessej"),
        (3, rs, "rs"),
        (4, rslongue, "rslongue"),
        (5, complrs, "complrs"),
        (6, compldistrib, "compldistrib"),
        (7, numvoie, "numvoie"),
        (8, typvoie, "typvoie"),
        (9, voie, "voie"),
        (10, compvoie, "compvoie"),
        (11, lieuditbp, "lieuditbp"),
        (12, commune, "commune"),
        (13, departement, "departement"),
        (14, libdepartement, "libdepartement"),
        (15, ligneacheminement, "ligneacheminement"),
        (16, telephone, "telephone"),
        (17, telecopie, "telecopie"),
        (18, categetab, "categetab"),
        (19, libcategetab, "libcategetab"),
        (20, categagretab, "categagretab"),
        (21, libcategagretab, "libcategagretab"),
        (22, siret, "siret"),
        (23, codeape, "codeape"),
        (24, codemft, "codemft"),
        (25, libmft, "libmft"),
        (26, codesph, "codesph"),
        (27, libsph, "libsph"),
        (28, dateouv, "dateouv"),
        (29, dateautor, "dateautor"),
        (30, datemaj, "datemaj"),
    ];
}

/// The 5 field names of a `geolocalisation` record, kind excluded.
pub const GEOLOCATION_COLUMNS: [&str; GEOLOCATION_FIELDS] =
    ["nofinesset", "x", "y", "source", "date"];

/// A `geolocalisation` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Geolocation<'a> {
    /// The establishment located.
    pub finess_et: Finess,
    /// Lambert-93 easting, metres.
    pub x: f64,
    /// Lambert-93 northing, metres.
    pub y: f64,
    /// Geocoding source, as written (free text, may contain commas).
    pub source: Cow<'a, str>,
    /// Geocoding date.
    pub date: NaiveDate,
}

/// One data record of the extract.
// Records are returned by value and consumed at once; boxing the large
// variant would cost an allocation per row for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// A `structureet` line.
    Establishment(Establishment<'a>),
    /// A `geolocalisation` line.
    Geolocation(Geolocation<'a>),
}

/// Parses the metadata line (line 1).
///
/// # Errors
///
/// [`FileError::Metadata`] unless the line is `finess;etalab;<n>;<YYYY-MM-DD>`
/// (plus an optional trailing `;`) with a non-empty `<n>`.
pub fn parse_metadata(line: &[u8]) -> Result<Metadata, FileError> {
    let bad = |why: String| FileError::Metadata(why);
    let text = fields::utf8(line).map_err(|e| bad(e.message))?;
    let mut f = [""; 5];
    let count = effective_count(fields::split_trimmed(text, b';', &mut f), &f);
    if count != 4 || f[0] != "finess" || f[1] != "etalab" {
        return Err(bad(format!(
            "expected finess;etalab;<n>;<YYYY-MM-DD>, found {}",
            Echo(text)
        )));
    }
    if f[2].is_empty() {
        return Err(bad("empty third field".into()));
    }
    let date = fields::parse_date(f[3])
        .ok_or_else(|| bad(format!("date {} is not YYYY-MM-DD", Echo(f[3]))))?;
    Ok(Metadata {
        n: f[2].to_owned(),
        date,
    })
}

/// Field count, not counting one trailing empty field.
fn effective_count<T: AsRef<[u8]>>(count: usize, fields: &[T]) -> usize {
    let last_empty = fields
        .get(count.wrapping_sub(1))
        .is_some_and(|f| f.as_ref().is_empty());
    if count > 1 && last_empty {
        count - 1
    } else {
        count
    }
}

/// Decodes the fields of one line, borrowing whenever possible.
#[derive(Clone, Copy)]
enum Decoder {
    /// The whole line is valid UTF-8.
    Utf8,
    /// Latin-1: ASCII fields are borrowed, others decoded.
    Latin1,
}

impl Decoder {
    fn decode(self, raw: &[u8]) -> Cow<'_, str> {
        let raw = trim_bytes(raw);
        match (self, std::str::from_utf8(raw)) {
            (Self::Utf8, Ok(s)) => Cow::Borrowed(s),
            (Self::Latin1, Ok(s)) if s.is_ascii() => Cow::Borrowed(s),
            _ => Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()),
        }
    }
}

/// Parses one data record (line terminator removed).
///
/// # Errors
///
/// A [`RowError`] whose code is listed in the [module documentation](self).
pub fn parse_record(line: &[u8], encoding: Encoding) -> Result<Record<'_>, RowError> {
    let decoder = match encoding {
        Encoding::Latin1 => Decoder::Latin1,
        Encoding::Utf8 => {
            fields::utf8(line)?;
            Decoder::Utf8
        }
        Encoding::Auto => match std::str::from_utf8(line) {
            Ok(_) => Decoder::Utf8,
            Err(_) => Decoder::Latin1,
        },
    };
    let mut ranges = [(0, 0); ESTABLISHMENT_FIELDS + 2];
    let count = split_ranges(line, b';', &mut ranges);
    let raw = |i: usize| {
        ranges
            .get(i)
            .and_then(|&(a, b)| line.get(a..b))
            .unwrap_or_default()
    };
    let kind = trim_bytes(raw(0));
    let last_empty = count > 1 && count <= ranges.len() && trim_bytes(raw(count - 1)).is_empty();
    let count = if last_empty { count - 1 } else { count };
    let expected = match kind {
        b"structureet" => ESTABLISHMENT_FIELDS + 1,
        b"geolocalisation" => GEOLOCATION_FIELDS + 1,
        other => {
            return Err(RowError::new(
                code::UNKNOWN_RECORD,
                format!(
                    "unknown record kind {} (expected structureet or geolocalisation)",
                    Echo(&decoder.decode(other))
                ),
            ));
        }
    };
    if count != expected {
        return Err(RowError::new(
            code::COLUMN_COUNT,
            format!(
                "{}: expected {expected} fields, found {count}",
                decoder.decode(kind)
            ),
        ));
    }
    let field = |i: usize| decoder.decode(raw(i));
    if kind == b"geolocalisation" {
        return parse_geolocation([field(1), field(2), field(3), field(4), field(5)])
            .map(Record::Geolocation);
    }
    let columns: [Cow<'_, str>; ESTABLISHMENT_FIELDS] = core::array::from_fn(|i| field(i + 1));
    parse_establishment(columns).map(Record::Establishment)
}

fn parse_establishment(
    columns: [Cow<'_, str>; ESTABLISHMENT_FIELDS],
) -> Result<Establishment<'_>, RowError> {
    let finess_et = required_finess(&columns[0], "nofinesset")?;
    let finess_ej = required_finess(&columns[1], "nofinessej")?;
    let siret = &columns[21];
    let siret_number =
        if siret.is_empty() {
            None
        } else {
            Some(Siret::parse(siret).map_err(|e| {
                RowError::new(code::BAD_SIRET, format!("siret {}: {e}", Echo(siret)))
            })?)
        };
    let opened = optional_date(&columns[27], "dateouv")?;
    let authorised = optional_date(&columns[28], "dateautor")?;
    let updated = optional_date(&columns[29], "datemaj")?;
    Ok(Establishment::from_columns(
        columns,
        finess_et,
        finess_ej,
        siret_number,
        opened,
        authorised,
        updated,
    ))
}

fn parse_geolocation(
    [nofinesset, x, y, source, date]: [Cow<'_, str>; GEOLOCATION_FIELDS],
) -> Result<Geolocation<'_>, RowError> {
    let finess_et = required_finess(&nofinesset, "nofinesset")?;
    let x = coordinate(&x, "x")?;
    let y = coordinate(&y, "y")?;
    let date = match optional_date(&date, "date")? {
        Some(date) => date,
        None => return Err(missing("date")),
    };
    Ok(Geolocation {
        finess_et,
        x,
        y,
        source,
        date,
    })
}

fn missing(name: &str) -> RowError {
    RowError::new(code::MISSING_FIELD, format!("{name} is empty"))
}

fn required_finess(value: &str, name: &str) -> Result<Finess, RowError> {
    if value.is_empty() {
        return Err(missing(name));
    }
    Finess::parse(value)
        .map_err(|e| RowError::new(code::BAD_FINESS, format!("{name} {}: {e}", Echo(value))))
}

fn optional_date(value: &str, name: &str) -> Result<Option<NaiveDate>, RowError> {
    if value.is_empty() {
        return Ok(None);
    }
    fields::parse_date(value).map(Some).ok_or_else(|| {
        RowError::new(
            code::BAD_DATE,
            format!("{name} {} is not a YYYY-MM-DD date", Echo(value)),
        )
    })
}

/// A decimal number `-?digits[.digits]`, parsed as `f64`.
fn coordinate(value: &str, name: &str) -> Result<f64, RowError> {
    if value.is_empty() {
        return Err(missing(name));
    }
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<f64>() {
        Ok(v) if digits_only(int) && digits_only(frac) && v.is_finite() => Ok(v),
        _ => Err(RowError::new(
            code::BAD_NUMBER,
            format!("{name} {} is not a decimal number", Echo(value)),
        )),
    }
}

/// Writes the metadata line `finess;etalab;<n>;<YYYY-MM-DD>` and `\n`.
///
/// # Errors
///
/// Any I/O error, or [`io::ErrorKind::InvalidInput`] when `n` contains `;`
/// or a line break.
pub fn write_metadata_line<W: Write + ?Sized>(w: &mut W, metadata: &Metadata) -> io::Result<()> {
    let date = metadata.date.format("%Y-%m-%d").to_string();
    fields::write_joined(w, &["finess", "etalab", &metadata.n, &date], b';', false)
}

/// Writes one `structureet` line from the columns of `establishment` (its
/// parsed fields are not used).
///
/// # Errors
///
/// As [`write_record_line`].
pub fn write_establishment_line<W: Write + ?Sized>(
    w: &mut W,
    establishment: &Establishment<'_>,
    encoding: Encoding,
) -> io::Result<()> {
    write_record_line(w, ESTABLISHMENT_KIND, &establishment.columns(), encoding)
}

/// Writes one `geolocalisation` line (coordinates in the shortest decimal
/// form that reads back to the same `f64`; must be finite).
///
/// # Errors
///
/// As [`write_record_line`], and [`io::ErrorKind::InvalidInput`] for a
/// non-finite coordinate.
pub fn write_geolocation_line<W: Write + ?Sized>(
    w: &mut W,
    geolocation: &Geolocation<'_>,
    encoding: Encoding,
) -> io::Result<()> {
    if !(geolocation.x.is_finite() && geolocation.y.is_finite()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "non-finite coordinate",
        ));
    }
    let x = format_coordinate(geolocation.x);
    let y = format_coordinate(geolocation.y);
    let date = geolocation.date.format("%Y-%m-%d").to_string();
    write_record_line(
        w,
        GEOLOCATION_KIND,
        &[
            geolocation.finess_et.as_str(),
            &x,
            &y,
            &geolocation.source,
            &date,
        ],
        encoding,
    )
}

/// `f64` in plain decimal notation (Rust's `Display` never uses exponents
/// and is the shortest form that reads back exactly).
fn format_coordinate(v: f64) -> String {
    let s = v.to_string();
    if s == "-0" { "0".to_owned() } else { s }
}

/// Writes `kind;field;…;field\n` in the given encoding ([`Encoding::Auto`]
/// writes UTF-8). This is the only place that knows the FINESS line layout.
///
/// # Errors
///
/// Any I/O error, or [`io::ErrorKind::InvalidInput`] when a field contains
/// `;` or a line break, or (Latin-1) a character above U+00FF.
pub fn write_record_line<W: Write + ?Sized>(
    w: &mut W,
    kind: &str,
    fields: &[&str],
    encoding: Encoding,
) -> io::Result<()> {
    if encoding != Encoding::Latin1 {
        let mut all = Vec::with_capacity(fields.len() + 1);
        all.push(kind);
        all.extend_from_slice(fields);
        return fields::write_joined(w, &all, b';', false);
    }
    let mut line = Vec::with_capacity(256);
    for (i, field) in core::iter::once(&kind).chain(fields).enumerate() {
        fields::check_writable(field, b';')?;
        if i > 0 {
            line.push(b';');
        }
        for ch in field.chars() {
            let byte = u8::try_from(u32::from(ch)).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("character {ch:?} cannot be written in Latin-1"),
                )
            })?;
            line.push(byte);
        }
    }
    line.push(b'\n');
    w.write_all(&line)
}

/// The published file name for an extract date:
/// `etalab-cs1100502-stock-<YYYYMMDD>.csv`.
#[must_use]
pub fn file_name(date: NaiveDate) -> String {
    format!("{FILE_PREFIX}{}.csv", date.format("%Y%m%d"))
}

/// Extracts the date from a file name (optionally with a path)
/// `etalab-cs1100502-stock-<YYYYMMDD>.csv`; `None` for any other name or
/// an impossible date.
///
/// ```
/// use egide_directory::finess::extract_date;
/// let d = extract_date("in/etalab-cs1100502-stock-20240105.csv").unwrap();
/// assert_eq!(d.to_string(), "2024-01-05");
/// ```
#[must_use]
pub fn extract_date(file_name: &str) -> Option<NaiveDate> {
    let base = file_name.rsplit(['/', '\\']).next()?;
    let stamp = base.strip_prefix(FILE_PREFIX)?.strip_suffix(".csv")?;
    let b = stamp.as_bytes();
    if b.len() != 8 {
        return None;
    }
    let n = |range: core::ops::Range<usize>| b.get(range).and_then(fields::digits);
    NaiveDate::from_ymd_opt(i32::try_from(n(0..4)?).ok()?, n(4..6)?, n(6..8)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTF8_LINE: &str = "structureet;2A0000001;2A0000019;CH D'AJACCIO;CENTRE HOSPITALIER D'AJACCIO;;;27;AV;IMPÉRATRICE EUGÉNIE;;;004;2A;CORSE-DU-SUD;20000 AJACCIO;0495295050;;355;Centre Hospitalier (C.H.);1102;Centres Hospitaliers;73282932000074;8610Z;03;ARS établissements Publics de santé dotation globale;1;Etablissement public de santé;1975-01-01;;2024-05-02";

    fn latin1(s: &str) -> Vec<u8> {
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect()
    }

    fn establishment(line: &[u8], encoding: Encoding) -> Establishment<'_> {
        match parse_record(line, encoding).unwrap() {
            Record::Establishment(e) => e,
            other => panic!("{other:?}"),
        }
    }

    fn reject(line: &str) -> RowError {
        parse_record(line.as_bytes(), Encoding::Auto).unwrap_err()
    }

    #[test]
    fn metadata() {
        let m = parse_metadata(b"finess;etalab;95;2024-01-05").unwrap();
        assert_eq!(m.n, "95");
        assert_eq!(m.date, NaiveDate::from_ymd_opt(2024, 1, 5).unwrap());
        assert_eq!(parse_metadata(b"finess;etalab;95;2024-01-05;").unwrap(), m);
        let mut out = Vec::new();
        write_metadata_line(&mut out, &m).unwrap();
        assert_eq!(out, b"finess;etalab;95;2024-01-05\n");
        for bad in [
            &b"finess;etalab;95"[..],
            b"finess;etalab;;2024-01-05",
            b"finess;etalib;95;2024-01-05",
            b"finess;etalab;95;05/01/2024",
            b"finess;etalab;95;2024-01-05;;",
            b"\xff",
            b"",
        ] {
            let err = parse_metadata(bad).unwrap_err();
            assert_eq!(err.code(), "bad_metadata", "{err}");
        }
    }

    #[test]
    fn utf8_and_latin1_lines_with_corsica() {
        let e = establishment(UTF8_LINE.as_bytes(), Encoding::Auto);
        assert!(matches!(e.voie, Cow::Borrowed("IMPÉRATRICE EUGÉNIE")));
        assert_eq!(e.finess_et.as_str(), "2A0000001");
        assert_eq!(e.departement, "2A");
        assert_eq!(e.opened, NaiveDate::from_ymd_opt(1975, 1, 1));
        assert_eq!(e.authorised, None);
        assert_eq!(e.siret_number.unwrap().as_str(), "73282932000074");

        let bytes = latin1(UTF8_LINE);
        assert!(std::str::from_utf8(&bytes).is_err());
        for encoding in [Encoding::Auto, Encoding::Latin1] {
            let l = establishment(&bytes, encoding);
            assert_eq!(l, e);
            assert!(matches!(l.voie, Cow::Owned(_)));
            assert!(matches!(l.rs, Cow::Borrowed(_)));
        }
        assert_eq!(
            parse_record(&bytes, Encoding::Utf8).unwrap_err().code,
            "not_utf8"
        );
        // Forcing Latin-1 on UTF-8 text gives mojibake, not an error.
        let forced = establishment(UTF8_LINE.as_bytes(), Encoding::Latin1);
        assert_eq!(forced.voie, "IMPÃ\u{89}RATRICE EUGÃ\u{89}NIE");

        // Writers round-trip in both encodings.
        for encoding in [Encoding::Latin1, Encoding::Utf8] {
            let mut out = Vec::new();
            write_establishment_line(&mut out, &e, encoding).unwrap();
            let expected = if encoding == Encoding::Latin1 {
                latin1(UTF8_LINE)
            } else {
                UTF8_LINE.as_bytes().to_vec()
            };
            assert_eq!(out.strip_suffix(b"\n").unwrap(), expected.as_slice());
            assert_eq!(establishment(&expected, Encoding::Auto), e);
        }
    }

    #[test]
    fn crlf_trailing_field_and_spaces() {
        let line = format!("{UTF8_LINE};");
        assert!(parse_record(line.as_bytes(), Encoding::Auto).is_ok());
        let spaced = UTF8_LINE.replace(";2A0000019;", "; 2A0000019 ;");
        assert_eq!(
            establishment(spaced.as_bytes(), Encoding::Auto).nofinessej,
            "2A0000019"
        );
        assert_eq!(reject(&format!("{UTF8_LINE};;")).code, "column_count");
    }

    #[test]
    fn geolocation() {
        let line = b"geolocalisation;010003374;870215.4;6571590.9;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2024-02-20";
        let Record::Geolocation(g) = parse_record(line, Encoding::Auto).unwrap() else {
            panic!("not a geolocation");
        };
        assert_eq!(g.finess_et.as_str(), "010003374");
        assert!((g.x - 870_215.4).abs() < 1e-9 && (g.y - 6_571_590.9).abs() < 1e-9);
        assert_eq!(g.source, "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93");
        let mut out = Vec::new();
        write_geolocation_line(&mut out, &g, Encoding::Latin1).unwrap();
        assert_eq!(out.strip_suffix(b"\n").unwrap(), line.as_slice());
        assert!(matches!(
            parse_record(
                b"geolocalisation;2B0000001;-12;0.5;;2024-02-20;",
                Encoding::Utf8
            ),
            Ok(Record::Geolocation(_))
        ));
        let nan = Geolocation { x: f64::NAN, ..g };
        assert!(write_geolocation_line(&mut Vec::new(), &nan, Encoding::Utf8).is_err());
    }

    #[test]
    fn every_reject_code() {
        let err = reject("equipementsocial;010003374;1");
        assert_eq!(err.code, "unknown_record");
        assert_eq!(
            err.message,
            "unknown record kind \"equipementsocial\" (expected structureet or geolocalisation)"
        );
        assert_eq!(reject("").code, "unknown_record");
        let err = reject("geolocalisation;010003374;1;2;src");
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                "column_count",
                "geolocalisation: expected 6 fields, found 5"
            )
        );
        let short = UTF8_LINE.replace("structureet;2A0000001;", "structureet;");
        assert_eq!(
            reject(&short).message,
            "structureet: expected 31 fields, found 30"
        );
        // A missing last field after an empty one reads as a tolerated trailing `;`.
        let short = UTF8_LINE.rsplit_once(';').unwrap().0;
        assert_eq!(
            reject(short).message,
            "structureet: expected 31 fields, found 29"
        );

        let err = reject(&UTF8_LINE.replace("2A0000001", ""));
        assert_eq!(
            (err.code, err.message.as_str()),
            ("missing_field", "nofinesset is empty")
        );
        let err = reject(&UTF8_LINE.replace("2A0000019", "010003375"));
        assert_eq!(err.code, "bad_finess");
        assert_eq!(
            err.message,
            "nofinessej \"010003375\": FINESS: check key mismatch (expected 4, got 5)"
        );
        let err = reject(&UTF8_LINE.replace("73282932000074", "73282932000075"));
        assert_eq!(err.code, "bad_siret");
        let err = reject(&UTF8_LINE.replace("1975-01-01", "1975-13-01"));
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                "bad_date",
                "dateouv \"1975-13-01\" is not a YYYY-MM-DD date"
            )
        );
        assert_eq!(
            reject(&UTF8_LINE.replace("2024-05-02", "02/05/2024")).code,
            "bad_date"
        );

        for (x, code) in [
            ("870215,4", "bad_number"),
            ("1e5", "bad_number"),
            ("inf", "bad_number"),
            ("NaN", "bad_number"),
            (".5", "bad_number"),
            ("5.", "bad_number"),
            ("-", "bad_number"),
            ("", "missing_field"),
        ] {
            let line = format!("geolocalisation;010003374;{x};6571590.9;src;2024-02-20");
            assert_eq!(reject(&line).code, code, "{x}");
        }
        // An empty last field reads as the tolerated trailing `;`...
        assert_eq!(
            reject("geolocalisation;010003374;1;2;src;").code,
            "column_count"
        );
        // ...unless followed by one.
        assert_eq!(
            reject("geolocalisation;010003374;1;2;src;;").code,
            "missing_field"
        );
        assert_eq!(
            reject("geolocalisation;010003374;1;2;src;2024-2-1").code,
            "bad_date"
        );
        assert_eq!(
            reject("geolocalisation;01000337;1;2;src;2024-02-01").code,
            "bad_finess"
        );
    }

    #[test]
    fn latin1_writer_refuses_other_characters() {
        let err = write_record_line(&mut Vec::new(), "structureet", &["Œuvre"], Encoding::Latin1)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(write_record_line(&mut Vec::new(), "x", &["a;b"], Encoding::Utf8).is_err());
    }

    #[test]
    fn file_names() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        assert_eq!(file_name(d), "etalab-cs1100502-stock-20240105.csv");
        assert_eq!(extract_date(&file_name(d)), Some(d));
        for bad in [
            "etalab-cs1100502-stock-20240230.csv",
            "etalab-cs1100502-stock-2024010.csv",
            "etalab-cs1100502-stock-20240105.txt",
            "etalab-stock-20240105.csv",
        ] {
            assert_eq!(extract_date(bad), None, "{bad}");
        }
    }
}
