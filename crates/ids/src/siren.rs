//! SIREN (company) and SIRET (establishment) numbers from INSEE's SIRENE
//! register.

use core::fmt;

use crate::scan::{digit, digit_value, scan, string_id, write_digits};
use crate::{IdError, luhn};

const SIREN_KIND: &str = "SIREN";
const SIRET_KIND: &str = "SIRET";
const SIRET_SIREN_KIND: &str = "SIRET (SIREN part)";

/// SIREN of La Poste, whose establishments use a special SIRET key rule.
const LA_POSTE_SIREN: &[u8] = b"356000000";
/// La Poste head office, which follows the ordinary Luhn rule.
const LA_POSTE_HEAD_OFFICE: &[u8; 14] = b"35600000000048";

/// A SIREN number: 9 digits, the last being a Luhn check digit.
///
/// ```
/// let siren = egide_ids::Siren::parse("732829320")?;
/// assert_eq!(siren.to_string(), "732829320");
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siren([u8; 9]);

impl Siren {
    /// Number of digits of a SIREN number.
    pub const LEN: usize = 9;

    /// Parses 9 digits with a valid Luhn key.
    ///
    /// # Errors
    ///
    /// [`IdError::Length`], [`IdError::Character`] or [`IdError::CheckKey`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes = scan::<9>(SIREN_KIND, s, digit)?;
        luhn_check(SIREN_KIND, &bytes)?;
        Ok(Self(bytes))
    }

    /// Builds a valid SIREN from the 8 low-order decimal digits of `body8`
    /// (zero-padded) plus the Luhn key. For synthetic test data.
    #[must_use]
    pub fn from_body(body8: u32) -> Self {
        let mut bytes = [0_u8; 9];
        let (body, key) = bytes.split_at_mut(8);
        write_digits(body, u64::from(body8));
        key.copy_from_slice(&[b'0' + luhn::check_digit_bytes(body)]);
        Self(bytes)
    }
}

string_id!(Siren, "a 9-digit SIREN number");

impl fmt::Debug for Siren {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Siren").field(&self.as_str()).finish()
    }
}

/// A SIRET number: SIREN (9 digits) + NIC (5 digits, the last being the key).
///
/// The SIREN part must itself be a valid SIREN. The whole number carries a
/// Luhn key, except for La Poste establishments (SIRET starting with
/// `356000000`, other than the head office `35600000000048`) whose digits
/// must instead add up to a multiple of 5.
///
/// ```
/// use egide_ids::Siret;
/// let siret = Siret::parse("73282932000074")?;
/// assert_eq!(siret.siren().as_str(), "732829320");
/// assert_eq!(siret.nic(), "00074");
/// assert!(Siret::parse("35600000049837").is_ok()); // La Poste rule
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siret([u8; 14]);

fn luhn_check(kind: &'static str, bytes: &[u8]) -> Result<(), IdError> {
    if luhn::valid_bytes(bytes) {
        return Ok(());
    }
    let (body, got) = bytes.split_at(bytes.len().saturating_sub(1));
    Err(IdError::CheckKey {
        kind,
        expected: luhn::check_digit_bytes(body).to_string(),
        got: crate::scan::ascii(got).to_owned(),
    })
}

fn digit_sum(bytes: &[u8]) -> u32 {
    bytes.iter().map(|&b| u32::from(digit_value(b))).sum()
}

fn is_la_poste_rule(bytes: &[u8]) -> bool {
    bytes.starts_with(LA_POSTE_SIREN) && bytes != LA_POSTE_HEAD_OFFICE
}

/// Smallest last digit making the digit sum of `body` + digit a multiple of 5.
fn la_poste_key(body: &[u8]) -> u8 {
    // (5 - sum % 5) % 5 is in 0..5.
    ((5 - digit_sum(body) % 5) % 5) as u8
}

impl Siret {
    /// Number of digits of a SIRET number.
    pub const LEN: usize = 14;

    /// Parses 14 digits: valid SIREN part, then Luhn key (or La Poste rule).
    ///
    /// # Errors
    ///
    /// [`IdError::Length`], [`IdError::Character`] or [`IdError::CheckKey`]
    /// (kind `"SIRET (SIREN part)"` when the SIREN key is wrong).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes = scan::<14>(SIRET_KIND, s, digit)?;
        let (siren, _) = bytes.split_at(9);
        luhn_check(SIRET_SIREN_KIND, siren)?;
        if is_la_poste_rule(&bytes) {
            let sum = digit_sum(&bytes);
            if !sum.is_multiple_of(5) {
                let [body @ .., got] = bytes;
                let key = la_poste_key(&body);
                return Err(IdError::CheckKey {
                    kind: SIRET_KIND,
                    expected: format!(
                        "{key} or {} (La Poste rule: digit sum multiple of 5)",
                        key + 5
                    ),
                    got: char::from(got).to_string(),
                });
            }
        } else {
            luhn_check(SIRET_KIND, &bytes)?;
        }
        Ok(Self(bytes))
    }

    /// Builds a valid SIRET from a SIREN and the 4 low-order decimal digits
    /// of `nic4` (zero-padded), appending the right key (Luhn, or the La
    /// Poste rule when it applies). For synthetic test data.
    #[must_use]
    pub fn from_parts(siren: Siren, nic4: u16) -> Self {
        let mut bytes = [0_u8; 14];
        let (body, key) = bytes.split_at_mut(13);
        let (head, nic) = body.split_at_mut(9);
        head.copy_from_slice(&siren.0);
        write_digits(nic, u64::from(nic4));
        let luhn_key = luhn::check_digit_bytes(body);
        key.copy_from_slice(&[b'0' + luhn_key]);
        if is_la_poste_rule(&bytes) {
            let (body, key) = bytes.split_at_mut(13);
            key.copy_from_slice(&[b'0' + la_poste_key(body)]);
        }
        Self(bytes)
    }

    /// Builds a valid SIRET from the 13 low-order decimal digits of
    /// `body13` (zero-padded) by appending the key. For synthetic test data.
    ///
    /// # Errors
    ///
    /// [`IdError::CheckKey`] when the first 9 digits are not a valid SIREN
    /// (see [`Self::from_parts`] to avoid that).
    pub fn from_body(body13: u64) -> Result<Self, IdError> {
        let mut digits = [0_u8; 13];
        write_digits(&mut digits, body13);
        let (siren, nic) = digits.split_at(9);
        luhn_check(SIRET_SIREN_KIND, siren)?;
        let siren = Siren(siren.try_into().map_err(|_| IdError::Length {
            kind: SIRET_SIREN_KIND,
            min: 9,
            max: 9,
            got: siren.len(),
        })?);
        let nic4 = nic
            .iter()
            .fold(0_u16, |n, &b| n * 10 + u16::from(digit_value(b)));
        Ok(Self::from_parts(siren, nic4))
    }

    /// The SIREN of the company owning this establishment (first 9 digits).
    #[must_use]
    pub fn siren(&self) -> Siren {
        let mut siren = [0_u8; 9];
        let (head, _) = self.0.split_at(9);
        siren.copy_from_slice(head);
        Siren(siren)
    }

    /// The NIC (*numéro interne de classement*, last 5 digits, key included).
    #[must_use]
    pub fn nic(&self) -> &str {
        self.as_str().get(9..).unwrap_or_default()
    }
}

string_id!(Siret, "a 14-digit SIRET number");

impl fmt::Debug for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Siret").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siren() {
        assert_eq!(Siren::parse("732829320").unwrap().as_str(), "732829320");
        assert_eq!(Siren::parse("356000000").unwrap().as_str(), "356000000");
        assert_eq!(
            Siren::parse("732829321").unwrap_err().to_string(),
            "SIREN: check key mismatch (expected 0, got 1)"
        );
        assert_eq!(Siren::parse("73282932").unwrap_err().code(), "length");
        assert_eq!(Siren::parse("73282932O").unwrap_err().code(), "character");
        assert_eq!(Siren::from_body(73_282_932).as_str(), "732829320");
    }

    #[test]
    fn siret() {
        let s = Siret::parse("73282932000074").unwrap();
        assert_eq!(s.siren(), Siren::parse("732829320").unwrap());
        assert_eq!(s.nic(), "00074");
        assert_eq!(
            Siret::parse("73282932000075").unwrap_err().to_string(),
            "SIRET: check key mismatch (expected 4, got 5)"
        );
        // A Luhn-valid 14-digit number whose SIREN part is invalid.
        let bad_siren = "73282932100015";
        assert!(crate::luhn_valid(bad_siren));
        assert_eq!(
            Siret::parse(bad_siren).unwrap_err().kind(),
            "SIRET (SIREN part)"
        );
    }

    #[test]
    fn la_poste() {
        // Head office: ordinary Luhn (digit sum 26 is not a multiple of 5).
        assert!(Siret::parse("35600000000048").is_ok());
        // Establishments: digit sum multiple of 5, Luhn irrelevant.
        assert!(!crate::luhn_valid("35600000049837"));
        assert!(Siret::parse("35600000049837").is_ok());
        assert!(Siret::parse("35600000049832").is_ok());
        let err = Siret::parse("35600000049838").unwrap_err();
        assert_eq!(err.code(), "check_key");
        assert!(err.to_string().contains("expected 2 or 7"), "{err}");
        // A Luhn-valid La Poste establishment number with a bad digit sum.
        let luhn_only = format!("356000000{}", "1234");
        let key = crate::luhn_check_digit(&luhn_only).unwrap();
        let candidate = format!("{luhn_only}{key}");
        if !digit_sum(candidate.as_bytes()).is_multiple_of(5) {
            assert!(Siret::parse(&candidate).is_err());
        }
    }

    #[test]
    fn generation() {
        let siren = Siren::parse("356000000").unwrap();
        for nic in [0, 4, 1234, 4983, 9999] {
            let s = Siret::from_parts(siren, nic);
            assert_eq!(Siret::parse(s.as_str()), Ok(s), "{s}");
        }
        assert_eq!(Siret::from_parts(siren, 4).as_str(), "35600000000048");
        let s = Siret::from_body(7_328_293_200_007).unwrap();
        assert_eq!(s.as_str(), "73282932000074");
        assert_eq!(
            Siret::from_body(7_328_293_210_001).unwrap_err().code(),
            "check_key"
        );
    }
}
