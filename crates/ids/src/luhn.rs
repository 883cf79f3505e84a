//! Luhn (mod 10) check digits, used by RPPS, ADELI, FINESS, SIREN and SIRET.

use crate::IdError;
use crate::scan::{A_DIGIT, digit_value};

/// Luhn sum of ASCII digits, doubling every second digit starting with the
/// rightmost one when `double_rightmost` is true.
fn luhn_sum(digits: &[u8], double_rightmost: bool) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(digit_value(b));
            if (i % 2 == 0) == double_rightmost {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .fold(0, |acc, d| (acc + d) % 10)
}

/// Luhn validity of already validated ASCII digits.
pub(crate) fn valid_bytes(digits: &[u8]) -> bool {
    luhn_sum(digits, false) == 0
}

/// Luhn check digit of already validated ASCII digits.
pub(crate) fn check_digit_bytes(body: &[u8]) -> u8 {
    // The sum is reduced mod 10, so it always fits in a u8.
    let sum = luhn_sum(body, true) as u8;
    (10 - sum) % 10
}

/// Returns `true` when `digits` is a non-empty string of ASCII digits whose
/// last digit is a correct Luhn check digit.
///
/// ```
/// assert!(egide_ids::luhn_valid("10001045367"));
/// assert!(!egide_ids::luhn_valid("10001045368"));
/// assert!(!egide_ids::luhn_valid(""));
/// assert!(!egide_ids::luhn_valid("1000104536a"));
/// ```
#[must_use]
pub fn luhn_valid(digits: &str) -> bool {
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && valid_bytes(digits.as_bytes())
}

/// Computes the Luhn check digit to append to `body` (non-empty ASCII digits).
///
/// ```
/// assert_eq!(egide_ids::luhn_check_digit("1000104536"), Ok(7));
/// ```
///
/// # Errors
///
/// [`IdError::Length`] for an empty body, [`IdError::Character`] for any
/// non-digit character.
pub fn luhn_check_digit(body: &str) -> Result<u8, IdError> {
    const KIND: &str = "Luhn body";
    if body.is_empty() {
        return Err(IdError::Length {
            kind: KIND,
            min: 1,
            max: usize::MAX,
            got: 0,
        });
    }
    if let Some((i, ch)) = body.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(IdError::Character {
            kind: KIND,
            ch,
            position: i + 1,
            expected: A_DIGIT,
        });
    }
    Ok(check_digit_bytes(body.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        for valid in [
            "10001045367",
            "10100534436",
            "012600631",
            "759124159",
            "0",
            "18",
            "79927398713",
        ] {
            assert!(luhn_valid(valid), "{valid}");
        }
        for invalid in ["10003461033", "79927398710", "1", "", " 18", "１８"] {
            assert!(!luhn_valid(invalid), "{invalid}");
        }
    }

    #[test]
    fn check_digit_matches_validity() {
        assert_eq!(luhn_check_digit("7992739871"), Ok(3));
        assert_eq!(luhn_check_digit("1010053443"), Ok(6));
        assert_eq!(luhn_check_digit("0"), Ok(0));
        assert_eq!(luhn_check_digit("").map_err(|e| e.code()), Err("length"));
        assert_eq!(
            luhn_check_digit("12x"),
            Err(IdError::Character {
                kind: "Luhn body",
                ch: 'x',
                position: 3,
                expected: "a digit"
            })
        );
    }
}
