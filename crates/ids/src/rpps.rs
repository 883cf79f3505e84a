//! RPPS and ADELI numbers of health professionals.

use core::fmt;

use crate::scan::{digit, scan, string_id, write_digits};
use crate::{IdError, luhn};

const RPPS_KIND: &str = "RPPS";
const ADELI_KIND: &str = "ADELI";

/// An RPPS number (*Répertoire partagé des professionnels de santé*):
/// 11 digits, the last being a Luhn check digit.
///
/// Real RPPS numbers start with `10`; this is not enforced (see
/// [`Self::looks_real`]). RPPS numbers are public directory identifiers
/// (*Annuaire Santé*), so `Debug` shows them in full.
///
/// ```
/// use egide_ids::Rpps;
/// let rpps: Rpps = "10001045367".parse()?;
/// assert!(rpps.looks_real());
/// assert!(Rpps::parse("10003461033").is_err()); // fictitious ANS example, bad key
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rpps([u8; 11]);

/// How strictly [`Rpps::parse_with`] (and [`crate::IdNatPs::parse_with`])
/// check the RPPS key.
///
/// Some fictitious RPPS numbers published in ANS documentation and used on
/// test platforms (e.g. `10003461033`) do **not** satisfy the Luhn key. The
/// exact range reserved for such test numbers is not documented here, so it
/// is left to configuration: an 11-digit number starting with one of
/// [`Self::accepted_test_prefixes`] is accepted even when its key is wrong.
/// The default policy is strict (no prefixes). Empty prefixes are ignored.
///
/// ```
/// use egide_ids::{Rpps, RppsPolicy};
/// let policy = RppsPolicy::with_test_prefixes(["1000346"]);
/// let rpps = Rpps::parse_with("10003461033", &policy)?;
/// assert!(!rpps.key_checked());
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RppsPolicy {
    /// Prefixes of numbers accepted without a valid Luhn key (test ranges).
    pub accepted_test_prefixes: Vec<String>,
}

impl RppsPolicy {
    /// The strict policy: the Luhn key is always required.
    #[must_use]
    pub const fn strict() -> Self {
        Self {
            accepted_test_prefixes: Vec::new(),
        }
    }

    /// A policy accepting numbers with these prefixes without a valid key.
    #[must_use]
    pub fn with_test_prefixes<I, S>(prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            accepted_test_prefixes: prefixes.into_iter().map(Into::into).collect(),
        }
    }

    fn accepts_unkeyed(&self, number: &str) -> bool {
        self.accepted_test_prefixes
            .iter()
            .any(|p| !p.is_empty() && number.starts_with(p.as_str()))
    }
}

impl Rpps {
    /// Number of digits of an RPPS number.
    pub const LEN: usize = 11;

    /// Strict parse: 11 digits with a valid Luhn key.
    ///
    /// # Errors
    ///
    /// [`IdError::Length`], [`IdError::Character`] or [`IdError::CheckKey`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::parse_with(s, &RppsPolicy::strict())
    }

    /// Parse with an explicit [`RppsPolicy`] (e.g. accepting a test range).
    ///
    /// # Errors
    ///
    /// As [`Self::parse`], except that a bad key is tolerated for numbers
    /// in the policy's test prefixes.
    pub fn parse_with(s: &str, policy: &RppsPolicy) -> Result<Self, IdError> {
        let bytes = scan::<11>(RPPS_KIND, s, digit)?;
        let rpps = Self(bytes);
        if luhn::valid_bytes(&bytes) || policy.accepts_unkeyed(rpps.as_str()) {
            Ok(rpps)
        } else {
            let [body @ .., got] = bytes;
            Err(IdError::CheckKey {
                kind: RPPS_KIND,
                expected: luhn::check_digit_bytes(&body).to_string(),
                got: char::from(got).to_string(),
            })
        }
    }

    /// Builds a valid RPPS number from a 10-digit body (only the 10
    /// low-order decimal digits of `body10` are used, zero-padded) by
    /// appending its Luhn key. Intended for synthetic test data; use bodies
    /// `1_000_000_000..=1_099_999_999` to get numbers that [`Self::looks_real`].
    #[must_use]
    pub fn from_body(body10: u64) -> Self {
        let mut bytes = [0_u8; 11];
        let (body, key) = bytes.split_at_mut(10);
        write_digits(body, body10);
        key.copy_from_slice(&[b'0' + luhn::check_digit_bytes(body)]);
        Self(bytes)
    }

    /// `true` when the Luhn key is correct (always, unless the number was
    /// accepted through an [`RppsPolicy`] test prefix).
    #[must_use]
    pub fn key_checked(&self) -> bool {
        luhn::valid_bytes(&self.0)
    }

    /// `true` when the number starts with `10`, like every real RPPS number.
    #[must_use]
    pub const fn looks_real(&self) -> bool {
        self.0[0] == b'1' && self.0[1] == b'0'
    }
}

string_id!(Rpps, "an 11-digit RPPS number");

impl fmt::Debug for Rpps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Rpps").field(&self.as_str()).finish()
    }
}

/// An ADELI number (*Automatisation des listes*), the legacy directory of
/// some health professions: 9 digits = department (2) + profession (2) +
/// order (4) + Luhn key (1).
///
/// ADELI is being replaced by RPPS; it is only tolerated transitionally
/// (e.g. inside `idNat_PS` values prefixed by `0`). New code should prefer
/// [`Rpps`].
///
/// ```
/// let adeli = egide_ids::Adeli::parse("759124159")?;
/// assert_eq!(adeli.department(), "75");
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Adeli([u8; 9]);

impl Adeli {
    /// Number of digits of an ADELI number.
    pub const LEN: usize = 9;

    /// Parses 9 digits with a valid Luhn key.
    ///
    /// # Errors
    ///
    /// [`IdError::Length`], [`IdError::Character`] or [`IdError::CheckKey`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes = scan::<9>(ADELI_KIND, s, digit)?;
        if luhn::valid_bytes(&bytes) {
            Ok(Self(bytes))
        } else {
            let [body @ .., got] = bytes;
            Err(IdError::CheckKey {
                kind: ADELI_KIND,
                expected: luhn::check_digit_bytes(&body).to_string(),
                got: char::from(got).to_string(),
            })
        }
    }

    /// Builds a valid ADELI number from the 8 low-order decimal digits of
    /// `body8` (zero-padded) plus the Luhn key. For synthetic test data.
    #[must_use]
    pub fn from_body(body8: u32) -> Self {
        let mut bytes = [0_u8; 9];
        let (body, key) = bytes.split_at_mut(8);
        write_digits(body, u64::from(body8));
        key.copy_from_slice(&[b'0' + luhn::check_digit_bytes(body)]);
        Self(bytes)
    }

    /// Department digits (positions 1-2).
    #[must_use]
    pub fn department(&self) -> &str {
        self.as_str().get(..2).unwrap_or_default()
    }

    /// Profession digits (positions 3-4).
    #[must_use]
    pub fn profession(&self) -> &str {
        self.as_str().get(2..4).unwrap_or_default()
    }

    /// Order number (positions 5-8).
    #[must_use]
    pub fn order(&self) -> &str {
        self.as_str().get(4..8).unwrap_or_default()
    }
}

string_id!(Adeli, "a 9-digit ADELI number");

impl fmt::Debug for Adeli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Adeli").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpps_samples() {
        for s in ["10001045367", "10100534436"] {
            let rpps = Rpps::parse(s).unwrap();
            assert_eq!(rpps.to_string(), s);
            assert!(rpps.looks_real());
            assert!(rpps.key_checked());
            assert_eq!(format!("{rpps:?}"), format!("Rpps(\"{s}\")"));
        }
        assert!(!Rpps::parse("99700218896").unwrap().looks_real());
    }

    #[test]
    fn rpps_fictitious_example_and_policy() {
        let err = Rpps::parse("10003461033").unwrap_err();
        assert_eq!(err.code(), "check_key");
        assert_eq!(
            err.to_string(),
            "RPPS: check key mismatch (expected 4, got 3)"
        );
        assert_eq!(
            Rpps::parse_with("10003461033", &RppsPolicy::default()),
            Err(err)
        );
        let policy = RppsPolicy::with_test_prefixes(["1000346"]);
        let rpps = Rpps::parse_with("10003461033", &policy).unwrap();
        assert!(!rpps.key_checked());
        assert_eq!(rpps.as_str(), "10003461033");
        // Outside the configured prefixes the key is still required.
        assert!(Rpps::parse_with("10003571033", &policy).is_err());
        // Empty prefixes are ignored.
        assert!(Rpps::parse_with("10003461033", &RppsPolicy::with_test_prefixes([""])).is_err());
        // The policy never relaxes length or characters.
        assert_eq!(
            Rpps::parse_with("1000346103", &policy).unwrap_err().code(),
            "length"
        );
        assert_eq!(
            Rpps::parse_with("1000346103x", &policy).unwrap_err().code(),
            "character"
        );
    }

    #[test]
    fn rpps_errors() {
        assert_eq!(
            Rpps::parse("1000104536").unwrap_err().to_string(),
            "RPPS: wrong length (expected 11, got 10)"
        );
        assert_eq!(
            Rpps::parse("1000104536-").unwrap_err().to_string(),
            "RPPS: invalid character '-' at position 11 (expected a digit)"
        );
        assert_eq!(Rpps::parse("1000104536７").unwrap_err().code(), "character");
    }

    #[test]
    fn rpps_generation() {
        assert_eq!(Rpps::from_body(1_000_104_536).as_str(), "10001045367");
        assert_eq!(Rpps::from_body(0).as_str(), "00000000000");
        assert_eq!(Rpps::from_body(u64::MAX).as_str().len(), 11);
        assert!(Rpps::parse(Rpps::from_body(u64::MAX).as_str()).is_ok());
    }

    #[test]
    fn adeli() {
        for s in ["012600631", "759124159"] {
            let adeli = Adeli::parse(s).unwrap();
            assert_eq!(adeli.to_string(), s);
        }
        let a = Adeli::parse("012600631").unwrap();
        assert_eq!(
            (a.department(), a.profession(), a.order()),
            ("01", "26", "0063")
        );
        assert_eq!(
            Adeli::parse("012600632").unwrap_err().to_string(),
            "ADELI: check key mismatch (expected 1, got 2)"
        );
        assert_eq!(Adeli::parse("01260063").unwrap_err().code(), "length");
        assert_eq!(Adeli::parse("2A2600631").unwrap_err().code(), "character");
        assert_eq!(Adeli::from_body(75_912_415).as_str(), "759124159");
        assert_eq!(format!("{a:?}"), "Adeli(\"012600631\")");
    }
}
