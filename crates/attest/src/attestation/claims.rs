//! The claims of an attestation, with the checks every deserialized value
//! has passed.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Longest accepted value of a string claim (`iss`, `sub`, `nonce`, …), in
/// bytes.
pub const MAX_CLAIM_LEN: usize = 512;
/// Most given names accepted.
pub const MAX_GIVEN_NAMES: usize = 16;

/// The claims of an identity-proofing attestation. See the
/// [module documentation](super) for the meaning of each.
///
/// Deserialization checks every field (non-empty strings of at most
/// [`MAX_CLAIM_LEN`] bytes without control characters, the identity formats);
/// claims this type does not know are ignored and never exposed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the provider's URL, as configured in [`super::TrustedProviders`].
    #[serde(deserialize_with = "text")]
    pub iss: String,
    /// Audience: the audience configured in Égide (e.g. `egide-enrolment`).
    #[serde(deserialize_with = "text")]
    pub aud: String,
    /// Subject: the Égide enrolment id the attestation is bound to.
    #[serde(deserialize_with = "text")]
    pub sub: String,
    /// The server nonce Égide issued for this proofing step.
    #[serde(deserialize_with = "text")]
    pub nonce: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds; after `iat`.
    pub exp: i64,
    /// The provider's transaction id (for support and audit).
    #[serde(deserialize_with = "text")]
    pub txn: String,
    /// Assurance level reached.
    pub level: Level,
    /// How the person was checked.
    pub method: Method,
    /// The identity traits the provider read from the identity document.
    pub identity: Identity,
}

impl Claims {
    /// `iat` as a date-time (`None` if out of chrono's range).
    pub fn issued_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.iat, 0)
    }

    /// `exp` as a date-time (`None` if out of chrono's range).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.exp, 0)
    }

    /// The checks deserialization applies, for values built in code (run by
    /// [`super::sign`] so that nothing unverifiable is ever signed).
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("iss", &self.iss),
            ("aud", &self.aud),
            ("sub", &self.sub),
            ("nonce", &self.nonce),
            ("txn", &self.txn),
        ] {
            check_text(value).map_err(|e| format!("{name}: {e}"))?;
        }
        if self.exp <= self.iat {
            return Err("exp must be after iat".into());
        }
        self.identity.validate()
    }
}

/// Identity traits and the enrolment id are kept out of logs: `Debug` shows
/// only the non-identifying claims.
impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("iss", &self.iss)
            .field("aud", &self.aud)
            .field("iat", &self.iat)
            .field("exp", &self.exp)
            .field("txn", &self.txn)
            .field("level", &self.level)
            .field("method", &self.method)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// Assurance level of the proofing, in the eIDAS sense. Ordered:
/// `Substantial < High`, so a policy reads `claims.level >= Level::Substantial`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `substantial` (eIDAS *substantiel*; e.g. France Identité, video-selfie).
    Substantial,
    /// `high` (eIDAS *élevé*; e.g. face-to-face with the identity document).
    High,
}

/// How the physical person was checked (Code de la sécurité sociale,
/// R161-33-13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `france_identite`: the electronic identity card read through the
    /// France Identité app.
    FranceIdentite,
    /// `video_selfie`: automated comparison of a selfie video with the photo
    /// of the identity document.
    VideoSelfie,
    /// `in_person`: face-to-face check of the identity document.
    InPerson,
}

/// Sex as recorded in the civil status (`M` or `F`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    /// `M`.
    M,
    /// `F`.
    F,
}

/// The identity traits read by the provider (the INS "traits stricts").
/// No biometric data: the provider keeps (and destroys) its own.
///
/// `Debug` masks every value: they are identity traits.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Birth name (*nom de naissance*), as on the identity document.
    #[serde(deserialize_with = "text")]
    pub birth_name: String,
    /// Given names in birth-certificate order; at least one.
    #[serde(deserialize_with = "given_names")]
    pub given_names: Vec<String>,
    /// Sex.
    pub sex: Sex,
    /// Birth date `YYYY-MM-DD`. The civil status of some people born abroad
    /// has an unknown day or month, written `00` (`1960-00-00`,
    /// `1960-05-00`); otherwise it must be a real calendar date.
    #[serde(deserialize_with = "birth_date")]
    pub birth_date: String,
    /// Birth place: the 5-character INSEE code of the commune (`75056`,
    /// `2A004`) or, for people born abroad, of the country (`99xxx`).
    #[serde(deserialize_with = "birth_place")]
    pub birth_place: String,
}

impl Identity {
    /// The checks deserialization applies.
    pub fn validate(&self) -> Result<(), String> {
        check_text(&self.birth_name).map_err(|e| format!("identity.birth_name: {e}"))?;
        check_given_names(&self.given_names)?;
        check_birth_date(&self.birth_date)?;
        check_birth_place(&self.birth_place)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity(<masked>)")
    }
}

fn check_text(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty".into());
    }
    if s.len() > MAX_CLAIM_LEN {
        return Err(format!("longer than {MAX_CLAIM_LEN} bytes"));
    }
    if s.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(())
}

fn check_given_names(names: &[String]) -> Result<(), String> {
    if names.is_empty() {
        return Err("identity.given_names: empty".into());
    }
    if names.len() > MAX_GIVEN_NAMES {
        return Err(format!("identity.given_names: more than {MAX_GIVEN_NAMES}"));
    }
    for name in names {
        check_text(name).map_err(|e| format!("identity.given_names: {e}"))?;
    }
    Ok(())
}

fn check_birth_date(s: &str) -> Result<(), String> {
    let err = || "identity.birth_date: not YYYY-MM-DD".to_string();
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(err());
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        s.get(r)?.bytes().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err(err());
    };
    let year = i32::try_from(year).map_err(|_| err())?;
    let valid = match (month, day) {
        (0, 0) => true,
        (1..=12, 0) => true,
        (0, _) => false,
        (m, d) => NaiveDate::from_ymd_opt(year, m, d).is_some(),
    };
    if year == 0 || !valid {
        return Err("identity.birth_date: not a date".into());
    }
    Ok(())
}

fn check_birth_place(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = b.len() == 5
        && (b.iter().all(u8::is_ascii_digit)
            || (b[0] == b'2'
                && matches!(b[1], b'A' | b'B')
                && b[2..].iter().all(u8::is_ascii_digit)));
    if ok {
        Ok(())
    } else {
        Err("identity.birth_place: not a 5-character INSEE code".into())
    }
}

fn checked<'de, D, T>(d: D, check: impl Fn(&T) -> Result<(), String>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let value = T::deserialize(d)?;
    check(&value).map_err(serde::de::Error::custom)?;
    Ok(value)
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |s: &String| check_text(s))
}

fn given_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    checked(d, |v: &Vec<String>| check_given_names(v))
}

fn birth_date<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |s: &String| check_birth_date(s))
}

fn birth_place<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    checked(d, |s: &String| check_birth_place(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered() {
        assert!(Level::Substantial < Level::High);
        assert_eq!(serde_json::to_string(&Level::High).unwrap(), "\"high\"");
        assert_eq!(
            serde_json::to_string(&Method::FranceIdentite).unwrap(),
            "\"france_identite\""
        );
    }

    #[test]
    fn birth_dates() {
        for ok in ["1985-02-28", "2000-02-29", "1960-00-00", "1960-05-00"] {
            assert_eq!(check_birth_date(ok), Ok(()), "{ok}");
        }
        for bad in [
            "1985-2-28",
            "1985-02-30",
            "1985-13-01",
            "1960-00-05",
            "0000-01-01",
            "1985/02/28",
            "1985-02-2a",
            "+985-02-28",
            "1985-02-28 ",
            "",
        ] {
            assert!(check_birth_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn birth_places() {
        for ok in ["75056", "2A004", "2B033", "99109"] {
            assert_eq!(check_birth_place(ok), Ok(()), "{ok}");
        }
        for bad in ["7505", "750566", "2C004", "2a004", "A5056", "75 56"] {
            assert!(check_birth_place(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_masks_identity_and_subject() {
        let identity = Identity {
            birth_name: "DUPONT".into(),
            given_names: vec!["Marie".into()],
            sex: Sex::F,
            birth_date: "1985-02-28".into(),
            birth_place: "75056".into(),
        };
        let text = format!("{identity:?}");
        assert!(!text.contains("DUPONT") && !text.contains("1985"));
    }
}
