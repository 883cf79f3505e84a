//! FINESS numbers of health and social care establishments.

use core::fmt;

use crate::scan::{A_DIGIT, scan, string_id, write_digits};
use crate::{IdError, luhn};

const KIND: &str = "FINESS";
const CORSICA: &str = "a digit, or 'A'/'B' after '2' (Corsica)";

/// A FINESS number (*Fichier national des établissements sanitaires et
/// sociaux*), identifying a legal entity (EJ) or an establishment (ET):
/// 9 characters = department (2, `2A`/`2B` allowed for Corsica) + 6 digits
/// + a Luhn check digit.
///
/// The third character is conventionally `0` but is not enforced (only
/// required to be a digit).
///
/// **Corsica:** how `2A`/`2B` enter the Luhn computation is not documented
/// here, so Corsican numbers are accepted **without** key verification;
/// [`Self::key_checked`] tells callers which case they are in.
///
/// ```
/// use egide_ids::Finess;
/// let finess = Finess::from_body(1_000_337);
/// assert_eq!(finess.as_str(), "010003374");
/// assert!(finess.key_checked());
/// assert!(!Finess::parse("2A0000001")?.key_checked());
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Finess([u8; 9]);

fn finess_char(index: usize, ch: char, previous: &[u8]) -> Result<(), &'static str> {
    let corsica = index == 1 && matches!(ch, 'A' | 'B') && previous.first() == Some(&b'2');
    match (ch.is_ascii_digit() || corsica, index) {
        (true, _) => Ok(()),
        (false, 1) => Err(CORSICA),
        (false, _) => Err(A_DIGIT),
    }
}

impl Finess {
    /// Number of characters of a FINESS number.
    pub const LEN: usize = 9;

    /// Parses a FINESS number; the Luhn key is verified for all-digit
    /// numbers (i.e. everything but Corsica).
    ///
    /// # Errors
    ///
    /// [`IdError::Length`], [`IdError::Character`] or [`IdError::CheckKey`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes = scan::<9>(KIND, s, finess_char)?;
        let finess = Self(bytes);
        if !finess.key_checked() || luhn::valid_bytes(&bytes) {
            Ok(finess)
        } else {
            let [body @ .., got] = bytes;
            Err(IdError::CheckKey {
                kind: KIND,
                expected: luhn::check_digit_bytes(&body).to_string(),
                got: char::from(got).to_string(),
            })
        }
    }

    /// Builds a valid all-digit FINESS number from the 8 low-order decimal
    /// digits of `body8` (zero-padded) plus the Luhn key. For synthetic
    /// test data.
    #[must_use]
    pub fn from_body(body8: u32) -> Self {
        let mut bytes = [0_u8; 9];
        let (body, key) = bytes.split_at_mut(8);
        write_digits(body, u64::from(body8));
        key.copy_from_slice(&[b'0' + luhn::check_digit_bytes(body)]);
        Self(bytes)
    }

    /// `true` when the number is all digits and its Luhn key was verified;
    /// `false` for Corsican (`2A`/`2B`) numbers, accepted unverified.
    #[must_use]
    pub const fn key_checked(&self) -> bool {
        self.0[1].is_ascii_digit()
    }

    /// Department (positions 1-2), e.g. `"75"` or `"2A"`.
    #[must_use]
    pub fn department(&self) -> &str {
        self.as_str().get(..2).unwrap_or_default()
    }
}

string_id!(Finess, "a 9-character FINESS number");

impl fmt::Debug for Finess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Finess").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_digit_numbers_are_key_checked() {
        let f = Finess::parse("010003374").unwrap();
        assert!(f.key_checked());
        assert_eq!(f.department(), "01");
        assert_eq!(f.to_string(), "010003374");
        assert_eq!(
            Finess::parse("010003375").unwrap_err().to_string(),
            "FINESS: check key mismatch (expected 4, got 5)"
        );
        assert_eq!(Finess::from_body(75_000_001).as_str().len(), 9);
        assert!(Finess::parse(Finess::from_body(u32::MAX).as_str()).is_ok());
    }

    #[test]
    fn corsica_is_tolerated_without_key() {
        for s in ["2A0000001", "2B0123456", "2A0000000"] {
            let f = Finess::parse(s).unwrap();
            assert!(!f.key_checked(), "{s}");
            assert_eq!(f.as_str(), s);
        }
        assert_eq!(Finess::parse("2A0000001").unwrap().department(), "2A");
        assert_eq!(Finess::parse("3A0000001").unwrap_err().code(), "character");
        assert_eq!(Finess::parse("A20000001").unwrap_err().code(), "character");
        assert_eq!(Finess::parse("2a0000001").unwrap_err().code(), "character");
        assert_eq!(
            Finess::parse("2AA000001").unwrap_err().to_string(),
            "FINESS: invalid character 'A' at position 3 (expected a digit)"
        );
    }

    #[test]
    fn length() {
        assert_eq!(
            Finess::parse("01000337").unwrap_err().to_string(),
            "FINESS: wrong length (expected 9, got 8)"
        );
        assert_eq!(Finess::parse("").unwrap_err().code(), "length");
    }
}
