//! NIR — *numéro d'inscription au répertoire*, the social security number,
//! which is also the INS *matricule* (see [`crate::Ins`]).

use core::fmt;

use crate::IdError;
use crate::scan::{A_DIGIT, digit_value, scan, string_id};

const KIND: &str = "NIR";
const BODY_KIND: &str = "NIR body";
const CORSICA: &str = "a digit, or 'A'/'B' after '2' (Corsica)";

/// A NIR / INS matricule: 13 characters plus a 2-digit mod-97 key.
///
/// Layout (1-based positions): sex (1), birth year (2-3), birth month
/// (4-5), birthplace (6-10: department 2 + commune 3, or `99` + country
/// code for people born abroad), order number (11-13), key (14-15).
/// Corsican departments are written `2A` / `2B` at positions 6-7; for the
/// key they count as `19` / `18`.
///
/// The key is `97 − (first 13 digits mod 97)`.
///
/// # Privacy
///
/// A NIR is an identity trait. [`Display`](fmt::Display), [`Self::as_str`]
/// and serde serialization give the full canonical value (needed for FHIR,
/// DMP, etc.), but [`Debug`](fmt::Debug) masks it (`Nir(2…74)`) so that it
/// does not end up in logs by accident, and parse errors never echo it.
///
/// ```
/// use egide_ids::{Nir, Sex};
/// let nir: Nir = "275126322074974".parse()?;
/// assert_eq!(nir.sex(), Sex::Female);
/// assert_eq!(nir.key(), 74);
/// assert_eq!(format!("{nir:?}"), "Nir(2…74)");
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nir([u8; 15]);

/// Sex digit of a NIR (position 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Leading digit `1`.
    Male,
    /// Leading digit `2`.
    Female,
    /// Any other leading digit, reported as-is without interpretation.
    Other(u8),
}

/// Scanning rule: digits everywhere, except `2A`/`2B` at positions 6-7.
fn nir_char(index: usize, ch: char, previous: &[u8]) -> Result<(), &'static str> {
    let corsica = index == 6 && matches!(ch, 'A' | 'B') && previous.get(5) == Some(&b'2');
    match (ch.is_ascii_digit() || corsica, index) {
        (true, _) => Ok(()),
        (false, 6) => Err(CORSICA),
        (false, _) => Err(A_DIGIT),
    }
}

/// Mod-97 key of a validated 13-character body.
fn key_of(body: &[u8; 13]) -> u8 {
    let corsica = match body[6] {
        b'A' => Some(19),
        b'B' => Some(18),
        _ => None,
    };
    let rem = body.iter().enumerate().fold(0_u32, |rem, (i, &b)| {
        let d = match (corsica, i) {
            (Some(dept), 5) => dept / 10,
            (Some(dept), 6) => dept % 10,
            _ => u32::from(digit_value(b)),
        };
        (rem * 10 + d) % 97
    });
    // rem < 97, so the key is in 1..=97.
    97 - rem as u8
}

/// Computes the 2-digit key (1..=97) of a 13-character NIR body.
///
/// `2A`/`2B` at positions 6-7 are accepted and replaced by `19`/`18` for
/// the computation. Useful to generate synthetic NIRs.
///
/// ```
/// assert_eq!(egide_ids::nir_key("2751263220749"), Ok(74));
/// assert_eq!(egide_ids::nir_key("253072B073004"), Ok(70));
/// ```
///
/// # Errors
///
/// [`IdError::Length`] unless exactly 13 characters, [`IdError::Character`]
/// for any other character than a digit (or `A`/`B` after `2` at position 7).
pub fn nir_key(body13: &str) -> Result<u8, IdError> {
    scan::<13>(BODY_KIND, body13, nir_char).map(|body| key_of(&body))
}

impl Nir {
    /// Number of characters of a canonical NIR.
    pub const LEN: usize = 15;

    /// Parses the canonical 15-character form (no spaces).
    ///
    /// # Errors
    ///
    /// [`IdError::Length`], [`IdError::Character`] or
    /// [`IdError::CheckKey`]; never echoes the input.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let bytes = scan::<15>(KIND, s, nir_char)?;
        let [body @ .., k1, k2] = bytes;
        let expected = key_of(&body);
        let got = digit_value(k1) * 10 + digit_value(k2);
        if expected == got {
            Ok(Self(bytes))
        } else {
            Err(IdError::CheckKey {
                kind: KIND,
                expected: format!("{expected:02}"),
                got: format!("{got:02}"),
            })
        }
    }

    /// Like [`Self::parse`] but ignores ASCII spaces anywhere (as in
    /// `2 75 12 63 220 749 74`). Error positions refer to the original input.
    ///
    /// # Errors
    ///
    /// As [`Self::parse`]; lengths count non-space characters.
    pub fn parse_lenient(s: &str) -> Result<Self, IdError> {
        let mut compact = [0_u8; 15 * 4];
        let mut used = 0;
        let mut origin = [0_usize; 15];
        let mut count = 0_usize;
        for (i, ch) in s.chars().enumerate() {
            if ch == ' ' {
                continue;
            }
            if let (Some(slot), Some(dst)) = (origin.get_mut(count), compact.get_mut(used..))
                && dst.len() >= ch.len_utf8()
            {
                *slot = i + 1;
                used += ch.encode_utf8(dst).len();
            }
            count += 1;
        }
        if count != Self::LEN {
            return Err(IdError::Length {
                kind: KIND,
                min: Self::LEN,
                max: Self::LEN,
                got: count,
            });
        }
        let compact = compact
            .get(..used)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default();
        Self::parse(compact)
            .map_err(|e| e.map_position(|p| origin.get(p - 1).copied().unwrap_or(p)))
    }

    /// Builds a NIR from its 13-character body by appending the computed key.
    /// Intended for generating synthetic test data.
    ///
    /// # Errors
    ///
    /// As [`nir_key`].
    pub fn from_body(body13: &str) -> Result<Self, IdError> {
        let body = scan::<13>(BODY_KIND, body13, nir_char)?;
        let key = key_of(&body);
        let mut bytes = [0_u8; 15];
        let (head, tail) = bytes.split_at_mut(13);
        head.copy_from_slice(&body);
        tail.copy_from_slice(&[b'0' + key / 10, b'0' + key % 10]);
        Ok(Self(bytes))
    }

    /// Sex digit (position 1).
    #[must_use]
    pub const fn sex(&self) -> Sex {
        match self.0[0] {
            b'1' => Sex::Male,
            b'2' => Sex::Female,
            other => Sex::Other(digit_value(other)),
        }
    }

    /// Last two digits of the birth year (positions 2-3), `0..=99`.
    #[must_use]
    pub const fn birth_year(&self) -> u8 {
        digit_value(self.0[1]) * 10 + digit_value(self.0[2])
    }

    /// Birth month digits (positions 4-5), as written (not range-checked:
    /// the NIR allows conventional values for unknown months).
    #[must_use]
    pub const fn birth_month(&self) -> u8 {
        digit_value(self.0[3]) * 10 + digit_value(self.0[4])
    }

    /// Birthplace code (positions 6-10): department + commune, or `99` +
    /// country code.
    #[must_use]
    pub fn birthplace(&self) -> &str {
        self.as_str().get(5..10).unwrap_or_default()
    }

    /// Department of birth (positions 6-7), e.g. `"63"`, `"2A"`, or `"99"`
    /// for people born abroad.
    #[must_use]
    pub fn department(&self) -> &str {
        self.as_str().get(5..7).unwrap_or_default()
    }

    /// `true` when the birthplace department is `99` (born abroad).
    #[must_use]
    pub const fn born_abroad(&self) -> bool {
        self.0[5] == b'9' && self.0[6] == b'9'
    }

    /// Order number (positions 11-13).
    #[must_use]
    pub fn order(&self) -> &str {
        self.as_str().get(10..13).unwrap_or_default()
    }

    /// The 13-character body (everything but the key).
    #[must_use]
    pub fn body(&self) -> &str {
        self.as_str().get(..13).unwrap_or_default()
    }

    /// The mod-97 key (positions 14-15), `1..=97`.
    #[must_use]
    pub const fn key(&self) -> u8 {
        digit_value(self.0[13]) * 10 + digit_value(self.0[14])
    }
}

string_id!(Nir, "a 15-character NIR");

impl fmt::Debug for Nir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nir({}…{:02})", char::from(self.0[0]), self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_samples() {
        for s in ["275126322074974", "253072B07300470", "253072A07300443"] {
            let nir = Nir::parse(s).unwrap();
            assert_eq!(nir.to_string(), s);
            assert_eq!(nir.as_ref() as &str, s);
        }
        let zoe = Nir::parse("275126322074974").unwrap();
        assert_eq!(zoe.sex(), Sex::Female);
        assert_eq!(zoe.birth_year(), 75);
        assert_eq!(zoe.birth_month(), 12);
        assert_eq!(zoe.birthplace(), "63220");
        assert_eq!(zoe.department(), "63");
        assert_eq!(zoe.order(), "749");
        assert_eq!(zoe.body(), "2751263220749");
        assert_eq!(zoe.key(), 74);
        assert!(!zoe.born_abroad());
        assert_eq!(Nir::parse("253072B07300470").unwrap().department(), "2B");
        assert_eq!(Nir::parse("253072A07300443").unwrap().sex(), Sex::Female);
    }

    #[test]
    fn debug_is_masked() {
        let nir = Nir::parse("275126322074974").unwrap();
        let debug = format!("{nir:?}");
        assert_eq!(debug, "Nir(2…74)");
        assert!(!debug.contains("2751263"));
        assert_eq!(
            format!("{:?}", Nir::from_body("1000000000001").unwrap()),
            format!("Nir(1…{:02})", nir_key("1000000000001").unwrap())
        );
    }

    #[test]
    fn wrong_key() {
        let err = Nir::parse("275126322074975").unwrap_err();
        assert_eq!(
            err,
            IdError::CheckKey {
                kind: "NIR",
                expected: "74".into(),
                got: "75".into()
            }
        );
        assert_eq!(err.code(), "check_key");
        assert_eq!(
            err.to_string(),
            "NIR: check key mismatch (expected 74, got 75)"
        );
        // Corsica letters swapped: the key no longer matches.
        assert_eq!(
            Nir::parse("253072A07300470").unwrap_err().code(),
            "check_key"
        );
        assert_eq!(
            Nir::parse("253072B07300443").unwrap_err().code(),
            "check_key"
        );
        // Naively computing with "20" instead of "19"/"18" is wrong.
        assert_eq!(
            Nir::parse("253072007300470").unwrap_err().code(),
            "check_key"
        );
    }

    #[test]
    fn wrong_length_and_characters() {
        assert_eq!(
            Nir::parse("27512632207497").unwrap_err().to_string(),
            "NIR: wrong length (expected 15, got 14)"
        );
        assert_eq!(Nir::parse("").unwrap_err().code(), "length");
        assert_eq!(
            Nir::parse(&"1".repeat(1_000_000)).unwrap_err().code(),
            "length"
        );
        assert_eq!(
            Nir::parse("2751263220749x4").unwrap_err().to_string(),
            "NIR: invalid character 'x' at position 14 (expected a digit)"
        );
        assert_eq!(
            Nir::parse("253073A07300443").unwrap_err(),
            IdError::Character {
                kind: "NIR",
                ch: 'A',
                position: 7,
                expected: CORSICA
            }
        );
        // Lower-case Corsica letters are not canonical.
        assert_eq!(
            Nir::parse("253072a07300443").unwrap_err().code(),
            "character"
        );
        // 'A' at position 6 is never allowed.
        assert_eq!(
            Nir::parse("25307A207300443").unwrap_err().code(),
            "character"
        );
        // Non-ASCII: 15 characters but more bytes.
        let err = Nir::parse("27512632207497é").unwrap_err();
        assert_eq!(err.code(), "character");
        assert!(err.to_string().contains("position 15"), "{err}");
        // Same byte length (15) but fewer characters.
        assert_eq!(
            Nir::parse("2751263220749é").unwrap_err().code(),
            "character"
        );
        assert_eq!(Nir::parse(" 275126322074974").unwrap_err().code(), "length");
    }

    #[test]
    fn lenient() {
        let strict = Nir::parse("275126322074974").unwrap();
        assert_eq!(Nir::parse_lenient("2 75 12 63 220 749 74").unwrap(), strict);
        assert_eq!(Nir::parse_lenient("  275126322074974 ").unwrap(), strict);
        assert_eq!(
            Nir::parse_lenient("2 53 07 2B 073 004 70")
                .unwrap()
                .to_string(),
            "253072B07300470"
        );
        assert_eq!(
            Nir::parse_lenient("2 75 12 63 220 749 7x").unwrap_err(),
            IdError::Character {
                kind: "NIR",
                ch: 'x',
                position: 21,
                expected: A_DIGIT
            }
        );
        assert_eq!(
            Nir::parse_lenient("2 75 12").unwrap_err(),
            IdError::Length {
                kind: "NIR",
                min: 15,
                max: 15,
                got: 5
            }
        );
        assert_eq!(
            Nir::parse_lenient(&" ".repeat(10_000)).unwrap_err().code(),
            "length"
        );
        assert_eq!(
            Nir::parse_lenient("ééééééééééééééé").unwrap_err().code(),
            "character"
        );
        assert_eq!(
            Nir::parse_lenient("2751263220749\t4").unwrap_err().code(),
            "character"
        );
    }

    #[test]
    fn key_helper_and_generation() {
        assert_eq!(nir_key("2751263220749"), Ok(74));
        assert_eq!(nir_key("253072B073004"), Ok(70));
        assert_eq!(nir_key("253072A073004"), Ok(43));
        assert_eq!(nir_key("275126322074").unwrap_err().code(), "length");
        assert_eq!(nir_key("27512632207a9").unwrap_err().kind(), "NIR body");
        assert_eq!(
            Nir::from_body("2751263220749").unwrap().to_string(),
            "275126322074974"
        );
        assert_eq!(
            Nir::from_body("253072A073004").unwrap().to_string(),
            "253072A07300443"
        );
        // Key 97 (body ≡ 0 mod 97) and small keys are zero-padded.
        let n = Nir::from_body("0000000000000").unwrap();
        assert_eq!(n.to_string(), "000000000000097");
        assert_eq!(Nir::parse(n.as_str()), Ok(n));
        let n = Nir::from_body("0000000000096").unwrap();
        assert_eq!(n.to_string(), "000000000009601");
    }

    #[test]
    fn serde_round_trip() {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let de: StrDeserializer<'_, Error> = "253072B07300470".into_deserializer();
        assert_eq!(Nir::deserialize(de).unwrap().to_string(), "253072B07300470");
        let de: StrDeserializer<'_, Error> = "253072B07300471".into_deserializer();
        let err = Nir::deserialize(de).unwrap_err().to_string();
        assert!(
            err.contains("check key mismatch") && !err.contains("253072"),
            "{err}"
        );
    }
}
