//! The single error type returned by every parser of this crate.

/// Maximum number of characters of a rejected OID echoed back in an error.
const MAX_ECHOED_OID_CHARS: usize = 64;

/// Why an identifier was rejected.
///
/// Every variant names the identifier being parsed (`kind`, e.g. `"NIR"`,
/// `"RPPS"`) and says precisely what is wrong. Messages never contain the
/// full input: for a NIR that would leak an identity trait into logs.
///
/// [`IdError::code`] gives a short, stable, machine-readable code that an
/// API layer (e.g. gRPC `BadRequest` field violations) can map on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The input does not have an acceptable number of characters.
    #[error("{kind}: wrong length (expected {}, got {got})", expected_len(*.min, *.max))]
    Length {
        /// Identifier being parsed.
        kind: &'static str,
        /// Minimum accepted number of characters.
        min: usize,
        /// Maximum accepted number of characters (`usize::MAX` when unbounded).
        max: usize,
        /// Number of characters (Unicode scalar values) actually received.
        got: usize,
    },
    /// A character is not allowed at this position.
    #[error("{kind}: invalid character {ch:?} at position {position} (expected {expected})")]
    Character {
        /// Identifier being parsed.
        kind: &'static str,
        /// The offending character.
        ch: char,
        /// 1-based position of the character in the input.
        position: usize,
        /// Human description of what is allowed there (e.g. `"a digit"`).
        expected: &'static str,
    },
    /// The check key (Luhn digit, NIR mod-97 key, La Poste rule) does not match.
    #[error("{kind}: check key mismatch (expected {expected}, got {got})")]
    CheckKey {
        /// Identifier being parsed.
        kind: &'static str,
        /// The key the body requires.
        expected: String,
        /// The key found in the input.
        got: String,
    },
    /// The leading type prefix of an `idNat_PS` / `idNat_Struct` is unknown.
    #[error("{kind}: unknown prefix {prefix:?} (expected {expected})")]
    Prefix {
        /// Identifier being parsed.
        kind: &'static str,
        /// The prefix character found.
        prefix: char,
        /// The accepted prefixes.
        expected: &'static str,
    },
    /// The OID is not one of the known OIDs for this kind of identifier.
    #[error("{kind}: unknown OID {oid:?}")]
    UnknownOid {
        /// What the OID was supposed to qualify.
        kind: &'static str,
        /// The rejected OID (truncated to 64 characters).
        oid: String,
    },
    /// The OID is known but cannot be used in this context.
    #[error("{kind}: OID {oid} is not supported here ({reason})")]
    UnsupportedOid {
        /// What the OID was supposed to qualify.
        kind: &'static str,
        /// The known but unsupported OID.
        oid: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
}

fn expected_len(min: usize, max: usize) -> String {
    if min == max {
        min.to_string()
    } else if max == usize::MAX {
        format!("at least {min}")
    } else {
        format!("{min} to {max}")
    }
}

impl IdError {
    /// Short stable machine code: `"length"`, `"character"`, `"check_key"`,
    /// `"prefix"` or `"oid"`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Length { .. } => "length",
            Self::Character { .. } => "character",
            Self::CheckKey { .. } => "check_key",
            Self::Prefix { .. } => "prefix",
            Self::UnknownOid { .. } | Self::UnsupportedOid { .. } => "oid",
        }
    }

    /// The identifier kind this error is about (e.g. `"NIR"`, `"idNat_PS"`).
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Length { kind, .. }
            | Self::Character { kind, .. }
            | Self::CheckKey { kind, .. }
            | Self::Prefix { kind, .. }
            | Self::UnknownOid { kind, .. }
            | Self::UnsupportedOid { kind, .. } => kind,
        }
    }

    /// Builds an [`IdError::UnknownOid`], truncating the echoed OID.
    pub(crate) fn unknown_oid(kind: &'static str, oid: &str) -> Self {
        let mut echoed: String = oid.chars().take(MAX_ECHOED_OID_CHARS).collect();
        if oid.chars().nth(MAX_ECHOED_OID_CHARS).is_some() {
            echoed.push('…');
        }
        Self::UnknownOid { kind, oid: echoed }
    }

    /// Re-targets an error raised on a suffix of a composite identifier
    /// (e.g. the RPPS inside an `idNat_PS`): renames the kind and shifts
    /// positions and lengths by `offset` characters.
    pub(crate) fn within(self, outer: &'static str, offset: usize) -> Self {
        match self {
            Self::Length { min, max, got, .. } => Self::Length {
                kind: outer,
                min: min.saturating_add(offset),
                max: max.saturating_add(offset),
                got: got.saturating_add(offset),
            },
            Self::Character {
                ch,
                position,
                expected,
                ..
            } => Self::Character {
                kind: outer,
                ch,
                position: position.saturating_add(offset),
                expected,
            },
            Self::CheckKey { expected, got, .. } => Self::CheckKey {
                kind: outer,
                expected,
                got,
            },
            other => other,
        }
    }

    /// Maps the 1-based position of a [`IdError::Character`] error.
    pub(crate) fn map_position(self, f: impl FnOnce(usize) -> usize) -> Self {
        match self {
            Self::Character {
                kind,
                ch,
                position,
                expected,
            } => Self::Character {
                kind,
                ch,
                position: f(position),
                expected,
            },
            other => other,
        }
    }
}
