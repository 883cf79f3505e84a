//! Row-level and file-level errors, with stable machine codes.

use core::fmt;

/// Stable reject codes carried by [`RowError::code`].
///
/// They are part of the import contract (reject reports, metrics, tests):
/// never rename one, only add. Each constant's value is its snake_case
/// name; [`ALL`](crate::code::ALL) lists them.
pub mod code {
    /// The line is not valid UTF-8 (RPPS, INS, rights files; FINESS in
    /// [`Encoding::Utf8`](crate::finess::Encoding::Utf8) mode).
    pub const NOT_UTF8: &str = "not_utf8";
    /// Wrong number of fields.
    pub const COLUMN_COUNT: &str = "column_count";
    /// RPPS: the line does not end with the `|` terminator.
    pub const MISSING_TRAILING_SEPARATOR: &str = "missing_trailing_separator";
    /// RPPS: "Type d'identifiant PP" is neither `0` nor `8`.
    pub const BAD_IDENTIFIER_TYPE: &str = "bad_identifier_type";
    /// RPPS: "Identifiant PP" is not a valid RPPS number.
    pub const BAD_RPPS: &str = "bad_rpps";
    /// RPPS: "Identifiant PP" is not a valid ADELI number.
    pub const BAD_ADELI: &str = "bad_adeli";
    /// RPPS: "Identification nationale PP" is not type digit + identifier.
    pub const ID_NAT_MISMATCH: &str = "id_nat_mismatch";
    /// A FINESS number is malformed or has a wrong key.
    pub const BAD_FINESS: &str = "bad_finess";
    /// A SIRET number is malformed or has a wrong key.
    pub const BAD_SIRET: &str = "bad_siret";
    /// A SIREN number is malformed or has a wrong key.
    pub const BAD_SIREN: &str = "bad_siren";
    /// A required field is empty.
    pub const MISSING_FIELD: &str = "missing_field";
    /// A date is not a valid `YYYY-MM-DD` calendar date.
    pub const BAD_DATE: &str = "bad_date";
    /// A number (coordinate, fixed-width numeric code) is malformed.
    pub const BAD_NUMBER: &str = "bad_number";
    /// FINESS: the first field is neither `structureet` nor `geolocalisation`.
    pub const UNKNOWN_RECORD: &str = "unknown_record";
    /// The line is longer than the splitter's maximum and was skipped.
    pub const LINE_TOO_LONG: &str = "line_too_long";
    /// The last line has no line terminator and does not parse: the file
    /// was most likely cut.
    pub const TRUNCATED: &str = "truncated";
    /// INS/rights: a matricule is not a valid NIR.
    pub const BAD_NIR: &str = "bad_nir";
    /// INS: the OID is not an INS OID that qualifies a NIR.
    pub const BAD_OID: &str = "bad_oid";
    /// INS: a trait disagrees with the matricule (sex, birth year or month).
    pub const TRAIT_MISMATCH: &str = "trait_mismatch";
    /// INS: `sexe` is neither `M` nor `F`.
    pub const BAD_SEX: &str = "bad_sex";
    /// INS: `prenoms` has leading, trailing or repeated spaces.
    pub const BAD_GIVEN_NAMES: &str = "bad_given_names";
    /// INS: `lieu_naissance` is not a 5-character INSEE code.
    pub const BAD_BIRTHPLACE: &str = "bad_birthplace";
    /// Rights: `rang_naissance` is not a digit 1-9.
    pub const BAD_RANK: &str = "bad_rank";
    /// Rights: `qualite` is not one of `assure|conjoint|enfant|autre`.
    pub const BAD_QUALITY: &str = "bad_quality";
    /// Rights: `qualite` disagrees with the beneficiary (e.g. `assure`
    /// whose beneficiary is not the insured).
    pub const QUALITY_MISMATCH: &str = "quality_mismatch";
    /// Rights: `fin_droits` is before `debut_droits`.
    pub const BAD_PERIOD: &str = "bad_period";
    /// Exact copy of an earlier line. Never produced by the parsers (they
    /// see one line at a time): the importer detects it; the synthetic
    /// generator announces it in its manifest.
    pub const DUPLICATE_LINE: &str = "duplicate_line";

    /// Every reject code, in documentation order.
    pub const ALL: [&str; 27] = [
        NOT_UTF8,
        COLUMN_COUNT,
        MISSING_TRAILING_SEPARATOR,
        BAD_IDENTIFIER_TYPE,
        BAD_RPPS,
        BAD_ADELI,
        ID_NAT_MISMATCH,
        BAD_FINESS,
        BAD_SIRET,
        BAD_SIREN,
        MISSING_FIELD,
        BAD_DATE,
        BAD_NUMBER,
        UNKNOWN_RECORD,
        LINE_TOO_LONG,
        TRUNCATED,
        BAD_NIR,
        BAD_OID,
        TRAIT_MISMATCH,
        BAD_SEX,
        BAD_GIVEN_NAMES,
        BAD_BIRTHPLACE,
        BAD_RANK,
        BAD_QUALITY,
        QUALITY_MISMATCH,
        BAD_PERIOD,
        DUPLICATE_LINE,
    ];
}

/// Why one row was rejected. The import goes on with the next row.
///
/// `code` is one of the constants of [`code`]; `message` is a short
/// English explanation naming the offending column. For the public
/// directories (RPPS, FINESS) it may quote the offending value (truncated);
/// for the INS and rights files it never quotes any value, because identity
/// traits are personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} [{code}]")]
pub struct RowError {
    /// Stable machine code (see [`code`]).
    pub code: &'static str,
    /// Human explanation, safe to log.
    pub message: String,
}

impl RowError {
    /// Builds an error from a code and a message.
    #[must_use]
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The error for a line that the [`LineSplitter`](crate::lines::LineSplitter)
    /// skipped because it exceeded `max_len` bytes.
    #[must_use]
    pub fn line_too_long(max_len: usize) -> Self {
        Self::new(
            code::LINE_TOO_LONG,
            format!("line longer than {max_len} bytes, skipped"),
        )
    }

    /// Wraps the error of an unterminated last line into a
    /// [`code::TRUNCATED`] error, keeping the original reason in the message.
    #[must_use]
    pub fn truncated(self) -> Self {
        Self::new(
            code::TRUNCATED,
            format!(
                "last line has no line terminator and does not parse ({}: {})",
                self.code, self.message
            ),
        )
    }
}

/// A file-level problem: the file cannot be imported at all.
///
/// Like [`RowError`], messages quote values only for the public RPPS and
/// FINESS files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The header line is not the expected one.
    #[error("bad header: {0}")]
    Header(String),
    /// The FINESS metadata line (`finess;etalab;<n>;<date>`) is malformed.
    #[error("bad metadata line: {0}")]
    Metadata(String),
    /// The file has no header (or metadata) line at all.
    #[error("empty file: no header line")]
    Empty,
}

impl FileError {
    /// Short stable machine code: `"bad_header"`, `"bad_metadata"` or
    /// `"empty_file"`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Header(_) => "bad_header",
            Self::Metadata(_) => "bad_metadata",
            Self::Empty => "empty_file",
        }
    }
}

/// Budget, in characters as displayed (escapes included), of a public
/// value quoted in a message.
const MAX_ECHO_CHARS: usize = 40;

/// Quotes a public directory value for an error message, escaped like
/// `Debug` and cut to about 40 displayed characters, so that a garbage line
/// cannot flood the report.
pub(crate) struct Echo<'a>(pub &'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        let mut used = 0;
        for c in self.0.chars() {
            let escaped = c.escape_debug();
            let width = escaped.len();
            if used + width > MAX_ECHO_CHARS {
                return f.write_str("\"…");
            }
            used += width;
            for e in escaped {
                f.write_char(e)?;
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_is_bounded_and_escaped() {
        assert_eq!(Echo("10001045367").to_string(), "\"10001045367\"");
        assert_eq!(Echo("a\"b").to_string(), "\"a\\\"b\"");
        let long = Echo(&"é".repeat(100)).to_string();
        assert_eq!(long, format!("\"{}\"…", "é".repeat(40)));
        let control = Echo(&"\u{18}".repeat(100)).to_string();
        assert!(control.chars().count() <= 44, "{control}");
        assert!(control.starts_with("\"\\u{18}"), "{control}");
    }
}
