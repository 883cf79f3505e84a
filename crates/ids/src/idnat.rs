//! `idNat_PS` and `idNat_Struct`: the national identifiers used in CPS
//! cards, Pro Santé Connect and the *Annuaire Santé* — a one-digit type
//! prefix followed by the underlying number.

use core::fmt;
use core::str::FromStr;

use crate::scan::{check_len, string_serde};
use crate::{Adeli, Finess, IdError, Rpps, RppsPolicy, Siren, Siret};

const PS_KIND: &str = "idNat_PS";
const STRUCT_KIND: &str = "idNat_Struct";
const OPAQUE_KIND: &str = "local identifier";

/// Maximum number of characters accepted for a whole `idNat_PS` /
/// `idNat_Struct` (a sanity bound for the opaque forms, not an official
/// limit; real values are far shorter).
pub const ID_NAT_MAX_LEN: usize = 64;

/// The opaque remainder of an `idNat_PS` / `idNat_Struct` whose inner
/// structure is not interpreted by this crate: 1 to 63 printable ASCII
/// characters (`!`..=`~`, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpaqueId(String);

impl OpaqueId {
    /// Validates an opaque remainder.
    ///
    /// # Errors
    ///
    /// [`IdError::Length`] (1 to 63 characters) or [`IdError::Character`].
    pub fn parse(s: &str) -> Result<Self, IdError> {
        check_len(OPAQUE_KIND, s, 1, ID_NAT_MAX_LEN - 1)?;
        if let Some((i, ch)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_graphic()) {
            return Err(IdError::Character {
                kind: OPAQUE_KIND,
                ch,
                position: i + 1,
                expected: "a printable ASCII character",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The remainder as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpaqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for OpaqueId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Splits the one-character type prefix off an `idNat_*` value.
fn split_prefix<'a>(kind: &'static str, s: &'a str) -> Result<(char, &'a str), IdError> {
    check_len(kind, s, 2, ID_NAT_MAX_LEN)?;
    let mut chars = s.chars();
    let prefix = chars.next().unwrap_or_default();
    Ok((prefix, chars.as_str()))
}

/// A health professional's national identifier, `idNat_PS`
/// (OID [`IdNatPs::OID`]): a type prefix followed by a number.
///
/// | prefix | remainder |
/// |---|---|
/// | `0` | ADELI number ([`Adeli`], transitional) |
/// | `8` | RPPS number ([`Rpps`]), e.g. `810001045367` |
/// | `1`, `3`, `4`, `5`, `6` | structure identifier + identifier internal to that structure ([`OpaqueId`], not interpreted) |
///
/// Test CPS cards use the `8997…` family, e.g. `899700218896`
/// (see [`Self::is_test_card`]).
///
/// ```
/// use egide_ids::{IdNatPs, Rpps};
/// let id: IdNatPs = "810001045367".parse()?;
/// assert_eq!(id, IdNatPs::Rpps(Rpps::parse("10001045367")?));
/// assert_eq!(id.to_string(), "810001045367");
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdNatPs {
    /// `0` + ADELI.
    Adeli(Adeli),
    /// `8` + RPPS.
    Rpps(Rpps),
    /// `1`/`3`/`4`/`5`/`6` + structure identifier + internal identifier.
    Structure(StructurePsId),
}

/// The structure-assigned form of an `idNat_PS` (prefix `1`, `3`, `4`, `5`
/// or `6`), kept opaque.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StructurePsId {
    prefix: u8,
    rest: OpaqueId,
}

impl StructurePsId {
    /// Accepted prefixes for structure-assigned identifiers.
    pub const PREFIXES: [char; 5] = ['1', '3', '4', '5', '6'];

    /// Combines a prefix (one of [`Self::PREFIXES`]) and an opaque remainder.
    ///
    /// # Errors
    ///
    /// [`IdError::Prefix`] for any other prefix.
    pub fn new(prefix: char, rest: OpaqueId) -> Result<Self, IdError> {
        match u8::try_from(prefix) {
            Ok(byte) if Self::PREFIXES.contains(&prefix) => Ok(Self { prefix: byte, rest }),
            _ => Err(IdError::Prefix {
                kind: PS_KIND,
                prefix,
                expected: PS_PREFIXES,
            }),
        }
    }

    /// The prefix digit.
    #[must_use]
    pub fn prefix(&self) -> char {
        char::from(self.prefix)
    }

    /// The opaque remainder (structure id + internal id).
    #[must_use]
    pub const fn rest(&self) -> &OpaqueId {
        &self.rest
    }
}

const PS_PREFIXES: &str =
    "'0' (ADELI), '8' (RPPS), or '1', '3', '4', '5', '6' (structure-assigned)";

impl IdNatPs {
    /// OID of the `idNat_PS` identifier system.
    pub const OID: &'static str = "1.2.250.1.71.4.2.1";

    /// Strict parse (RPPS keys always required).
    ///
    /// # Errors
    ///
    /// [`IdError::Length`] (2 to [`ID_NAT_MAX_LEN`] characters, or the
    /// length of the inner number + 1), [`IdError::Prefix`],
    /// [`IdError::Character`] or [`IdError::CheckKey`]. Positions refer to
    /// the whole `idNat_PS`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::parse_with(s, &RppsPolicy::strict())
    }

    /// Parse with an explicit [`RppsPolicy`] for the `8` + RPPS form (e.g.
    /// `RppsPolicy::with_test_prefixes(["997"])` to accept any test card of
    /// the `8997…` family regardless of its key).
    ///
    /// # Errors
    ///
    /// As [`Self::parse`].
    pub fn parse_with(s: &str, policy: &RppsPolicy) -> Result<Self, IdError> {
        let (prefix, rest) = split_prefix(PS_KIND, s)?;
        let parsed = match prefix {
            '0' => Adeli::parse(rest).map(Self::Adeli),
            '8' => Rpps::parse_with(rest, policy).map(Self::Rpps),
            p if StructurePsId::PREFIXES.contains(&p) => OpaqueId::parse(rest)
                .and_then(|rest| StructurePsId::new(p, rest))
                .map(Self::Structure),
            other => {
                return Err(IdError::Prefix {
                    kind: PS_KIND,
                    prefix: other,
                    expected: PS_PREFIXES,
                });
            }
        };
        parsed.map_err(|e| e.within(PS_KIND, 1))
    }

    /// The RPPS number, for the `8` form.
    #[must_use]
    pub const fn rpps(&self) -> Option<&Rpps> {
        match self {
            Self::Rpps(rpps) => Some(rpps),
            _ => None,
        }
    }

    /// `true` for the `8997…` family used by test CPS cards.
    #[must_use]
    pub fn is_test_card(&self) -> bool {
        matches!(self, Self::Rpps(rpps) if rpps.as_str().starts_with("997"))
    }
}

impl fmt::Display for IdNatPs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Adeli(adeli) => write!(f, "0{adeli}"),
            Self::Rpps(rpps) => write!(f, "8{rpps}"),
            Self::Structure(id) => write!(f, "{}{}", id.prefix(), id.rest),
        }
    }
}

impl FromStr for IdNatPs {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Rpps> for IdNatPs {
    fn from(rpps: Rpps) -> Self {
        Self::Rpps(rpps)
    }
}

impl From<Adeli> for IdNatPs {
    fn from(adeli: Adeli) -> Self {
        Self::Adeli(adeli)
    }
}

string_serde!(IdNatPs, "an idNat_PS string");

const STRUCT_PREFIXES: &str =
    "'0' (ADELI practice), '1' (FINESS), '2' (SIREN), '3' (SIRET) or '4' (RPPS practice)";

/// A health structure's national identifier, `idNat_Struct`
/// (OID [`IdNatStruct::OID`]): a type prefix followed by a number.
///
/// ```
/// use egide_ids::IdNatStruct;
/// let id: IdNatStruct = "1010003374".parse()?;
/// assert!(matches!(id, IdNatStruct::Finess(_)));
/// assert_eq!(id.to_string(), "1010003374");
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdNatStruct {
    /// `0` + practice identifier from ADELI (not interpreted).
    AdeliPractice(OpaqueId),
    /// `1` + FINESS.
    Finess(Finess),
    /// `2` + SIREN.
    Siren(Siren),
    /// `3` + SIRET.
    Siret(Siret),
    /// `4` + practice identifier from RPPS (not interpreted).
    RppsPractice(OpaqueId),
}

impl IdNatStruct {
    /// OID of the `idNat_Struct` identifier system.
    pub const OID: &'static str = "1.2.250.1.71.4.2.2";

    /// Parses an `idNat_Struct`.
    ///
    /// # Errors
    ///
    /// [`IdError::Length`], [`IdError::Prefix`], [`IdError::Character`] or
    /// [`IdError::CheckKey`]. Positions refer to the whole `idNat_Struct`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let (prefix, rest) = split_prefix(STRUCT_KIND, s)?;
        let parsed = match prefix {
            '0' => OpaqueId::parse(rest).map(Self::AdeliPractice),
            '1' => Finess::parse(rest).map(Self::Finess),
            '2' => Siren::parse(rest).map(Self::Siren),
            '3' => Siret::parse(rest).map(Self::Siret),
            '4' => OpaqueId::parse(rest).map(Self::RppsPractice),
            other => {
                return Err(IdError::Prefix {
                    kind: STRUCT_KIND,
                    prefix: other,
                    expected: STRUCT_PREFIXES,
                });
            }
        };
        parsed.map_err(|e| e.within(STRUCT_KIND, 1))
    }

    /// The prefix digit of this form.
    #[must_use]
    pub const fn prefix(&self) -> char {
        match self {
            Self::AdeliPractice(_) => '0',
            Self::Finess(_) => '1',
            Self::Siren(_) => '2',
            Self::Siret(_) => '3',
            Self::RppsPractice(_) => '4',
        }
    }
}

impl fmt::Display for IdNatStruct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.prefix();
        match self {
            Self::AdeliPractice(id) | Self::RppsPractice(id) => write!(f, "{prefix}{id}"),
            Self::Finess(finess) => write!(f, "{prefix}{finess}"),
            Self::Siren(siren) => write!(f, "{prefix}{siren}"),
            Self::Siret(siret) => write!(f, "{prefix}{siret}"),
        }
    }
}

impl FromStr for IdNatStruct {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<Finess> for IdNatStruct {
    fn from(finess: Finess) -> Self {
        Self::Finess(finess)
    }
}

impl From<Siren> for IdNatStruct {
    fn from(siren: Siren) -> Self {
        Self::Siren(siren)
    }
}

impl From<Siret> for IdNatStruct {
    fn from(siret: Siret) -> Self {
        Self::Siret(siret)
    }
}

string_serde!(IdNatStruct, "an idNat_Struct string");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_rpps() {
        let id = IdNatPs::parse("810001045367").unwrap();
        assert_eq!(id.rpps().map(Rpps::as_str), Some("10001045367"));
        assert_eq!(id.to_string(), "810001045367");
        assert!(!id.is_test_card());
        assert_eq!(IdNatPs::from(Rpps::parse("10001045367").unwrap()), id);
        assert_eq!(
            IdNatPs::parse("810001045368").unwrap_err().to_string(),
            "idNat_PS: check key mismatch (expected 7, got 8)"
        );
        assert_eq!(
            IdNatPs::parse("81000104536").unwrap_err().to_string(),
            "idNat_PS: wrong length (expected 12, got 11)"
        );
        assert_eq!(
            IdNatPs::parse("81000104536x").unwrap_err().to_string(),
            "idNat_PS: invalid character 'x' at position 12 (expected a digit)"
        );
    }

    #[test]
    fn ps_test_card() {
        let id = IdNatPs::parse("899700218896").unwrap();
        assert!(id.is_test_card());
        assert_eq!(id.to_string(), "899700218896");
        // A test card number with a wrong key needs the policy.
        assert!(IdNatPs::parse("899700218897").is_err());
        let policy = RppsPolicy::with_test_prefixes(["997"]);
        let id = IdNatPs::parse_with("899700218897", &policy).unwrap();
        assert!(id.is_test_card());
        assert_eq!(id.to_string(), "899700218897");
        assert_eq!(id.rpps().map(Rpps::key_checked), Some(false));
    }

    #[test]
    fn ps_adeli_and_structure() {
        let id = IdNatPs::parse("0012600631").unwrap();
        assert!(matches!(id, IdNatPs::Adeli(_)));
        assert_eq!(id.to_string(), "0012600631");
        assert_eq!(
            IdNatPs::parse("0012600632").unwrap_err().code(),
            "check_key"
        );
        for s in ["1010003374/12345", "3732829320000740001", "6ABC-12", "5x"] {
            let id = IdNatPs::parse(s).unwrap();
            assert!(matches!(id, IdNatPs::Structure(_)), "{s}");
            assert_eq!(id.to_string(), s);
        }
        let IdNatPs::Structure(id) = IdNatPs::parse("1010003374/12345").unwrap() else {
            panic!("wrong variant");
        };
        assert_eq!((id.prefix(), id.rest().as_str()), ('1', "010003374/12345"));
        assert_eq!(
            IdNatPs::parse("1010003374 12345").unwrap_err().to_string(),
            "idNat_PS: invalid character ' ' at position 11 (expected a printable ASCII character)"
        );
        assert!(StructurePsId::new('2', OpaqueId::parse("x").unwrap()).is_err());
    }

    #[test]
    fn ps_errors() {
        assert_eq!(
            IdNatPs::parse("710001045367").unwrap_err().to_string(),
            format!("idNat_PS: unknown prefix '7' (expected {PS_PREFIXES})")
        );
        assert_eq!(IdNatPs::parse("210001045367").unwrap_err().code(), "prefix");
        assert_eq!(IdNatPs::parse("é10001045367").unwrap_err().code(), "prefix");
        assert_eq!(
            IdNatPs::parse("").unwrap_err().to_string(),
            "idNat_PS: wrong length (expected 2 to 64, got 0)"
        );
        assert_eq!(IdNatPs::parse("8").unwrap_err().code(), "length");
        assert_eq!(
            IdNatPs::parse(&"1".repeat(65)).unwrap_err().code(),
            "length"
        );
        assert_eq!(
            IdNatPs::parse(&"1".repeat(64)).unwrap().to_string().len(),
            64
        );
        assert_eq!(
            IdNatPs::parse(&"8".repeat(1 << 20)).unwrap_err().code(),
            "length"
        );
    }

    #[test]
    fn structures() {
        let table: [(&str, char); 6] = [
            ("0751234567", '0'),
            ("1010003374", '1'),
            ("12A0000001", '1'),
            ("2732829320", '2'),
            ("373282932000074", '3'),
            ("410001045367/1", '4'),
        ];
        for (s, prefix) in table {
            let id = IdNatStruct::parse(s).unwrap();
            assert_eq!(id.prefix(), prefix);
            assert_eq!(id.to_string(), s);
            assert_eq!(s.parse::<IdNatStruct>().unwrap(), id);
        }
        assert_eq!(
            IdNatStruct::parse("1010003375").unwrap_err().to_string(),
            "idNat_Struct: check key mismatch (expected 4, got 5)"
        );
        assert_eq!(
            IdNatStruct::parse("3732829320000").unwrap_err().to_string(),
            "idNat_Struct: wrong length (expected 15, got 13)"
        );
        assert_eq!(IdNatStruct::parse("5123").unwrap_err().code(), "prefix");
        assert_eq!(IdNatStruct::parse("2").unwrap_err().code(), "length");
        assert_eq!(
            IdNatStruct::from(Siret::parse("35600000049837").unwrap()).to_string(),
            "335600000049837"
        );
    }

    #[test]
    fn serde() {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let de: StrDeserializer<'_, Error> = "810001045367".into_deserializer();
        assert!(matches!(IdNatPs::deserialize(de), Ok(IdNatPs::Rpps(_))));
        let de: StrDeserializer<'_, Error> = "2732829320".into_deserializer();
        assert!(matches!(
            IdNatStruct::deserialize(de),
            Ok(IdNatStruct::Siren(_))
        ));
        let de: StrDeserializer<'_, Error> = "9".into_deserializer();
        assert!(IdNatStruct::deserialize(de).is_err());
    }
}
