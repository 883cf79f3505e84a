//! INS — *Identité Nationale de Santé*: a matricule (NIR or NIA) qualified
//! by the OID of its assigning authority.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::scan::string_serde;
use crate::{IdError, Nir};

const OID_KIND: &str = "INS OID";

/// The OIDs that qualify an INS matricule (INS referential).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InsOid {
    /// INS-NIR, production: `1.2.250.1.213.1.4.8`.
    InsNir,
    /// INS-NIA, temporary number (*numéro identifiant d'attente*):
    /// `1.2.250.1.213.1.4.9`.
    InsNia,
    /// INS-NIR for test identities: `1.2.250.1.213.1.4.10`.
    InsNirTest,
    /// INS-NIR for demonstration identities: `1.2.250.1.213.1.4.11`.
    InsNirDemo,
    /// Legacy INS-C (computed INS): `1.2.250.1.213.1.4.2`. Recognised so it
    /// can be reported precisely, but it does not qualify a NIR matricule:
    /// [`Ins::new`] refuses it.
    InsC,
}

impl InsOid {
    /// Every known INS OID.
    pub const ALL: [Self; 5] = [
        Self::InsNir,
        Self::InsNia,
        Self::InsNirTest,
        Self::InsNirDemo,
        Self::InsC,
    ];

    /// Recognises a dotted OID string (exact match, no surrounding spaces).
    ///
    /// ```
    /// use egide_ids::InsOid;
    /// assert_eq!(InsOid::from_oid("1.2.250.1.213.1.4.8"), Ok(InsOid::InsNir));
    /// assert!(InsOid::from_oid("1.2.250.1.213.1.4.10")?.is_test());
    /// # Ok::<(), egide_ids::IdError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`IdError::UnknownOid`] for anything else.
    pub fn from_oid(oid: &str) -> Result<Self, IdError> {
        Self::ALL
            .into_iter()
            .find(|known| known.as_oid() == oid)
            .ok_or_else(|| IdError::unknown_oid(OID_KIND, oid))
    }

    /// The dotted OID string.
    #[must_use]
    pub const fn as_oid(self) -> &'static str {
        match self {
            Self::InsNir => "1.2.250.1.213.1.4.8",
            Self::InsNia => "1.2.250.1.213.1.4.9",
            Self::InsNirTest => "1.2.250.1.213.1.4.10",
            Self::InsNirDemo => "1.2.250.1.213.1.4.11",
            Self::InsC => "1.2.250.1.213.1.4.2",
        }
    }

    /// `true` for the test and demonstration OIDs, which must never be
    /// accepted for real patients.
    #[must_use]
    pub const fn is_test(self) -> bool {
        matches!(self, Self::InsNirTest | Self::InsNirDemo)
    }

    /// `true` for INS-NIA (temporary number).
    #[must_use]
    pub const fn is_temporary(self) -> bool {
        matches!(self, Self::InsNia)
    }

    /// `true` for the legacy INS-C OID.
    #[must_use]
    pub const fn is_legacy(self) -> bool {
        matches!(self, Self::InsC)
    }
}

impl fmt::Display for InsOid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_oid())
    }
}

impl AsRef<str> for InsOid {
    fn as_ref(&self) -> &str {
        self.as_oid()
    }
}

impl FromStr for InsOid {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_oid(s)
    }
}

string_serde!(InsOid, "an INS OID");

/// An INS: matricule ([`Nir`], also used for NIA numbers) + qualifying
/// [`InsOid`] (never the legacy INS-C).
///
/// Its `Debug` masks the matricule (see [`Nir`]). Serde uses
/// `{"matricule": "...", "oid": "..."}` and re-validates on input.
///
/// ```
/// use egide_ids::{Ins, InsOid};
/// let ins = Ins::parse("275126322074974", "1.2.250.1.213.1.4.10")?;
/// assert_eq!(ins.oid(), InsOid::InsNirTest);
/// assert!(ins.is_test());
/// # Ok::<(), egide_ids::IdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "InsRepr", into = "InsRepr")]
pub struct Ins {
    matricule: Nir,
    oid: InsOid,
}

impl Ins {
    /// Combines a matricule and its OID.
    ///
    /// # Errors
    ///
    /// [`IdError::UnsupportedOid`] for [`InsOid::InsC`].
    pub fn new(matricule: Nir, oid: InsOid) -> Result<Self, IdError> {
        if oid.is_legacy() {
            return Err(IdError::UnsupportedOid {
                kind: "INS",
                oid: oid.as_oid(),
                reason: "legacy INS-C does not qualify a NIR/NIA matricule",
            });
        }
        Ok(Self { matricule, oid })
    }

    /// Parses a matricule (canonical 15 characters) and an OID.
    ///
    /// # Errors
    ///
    /// Any error of [`Nir::parse`], [`InsOid::from_oid`] or [`Ins::new`].
    pub fn parse(matricule: &str, oid: &str) -> Result<Self, IdError> {
        Self::new(Nir::parse(matricule)?, InsOid::from_oid(oid)?)
    }

    /// The matricule.
    #[must_use]
    pub const fn matricule(&self) -> Nir {
        self.matricule
    }

    /// The qualifying OID.
    #[must_use]
    pub const fn oid(&self) -> InsOid {
        self.oid
    }

    /// `true` when qualified by a test or demonstration OID.
    #[must_use]
    pub const fn is_test(&self) -> bool {
        self.oid.is_test()
    }
}

/// Serde representation of [`Ins`].
#[derive(Serialize, Deserialize)]
struct InsRepr {
    matricule: Nir,
    oid: InsOid,
}

impl TryFrom<InsRepr> for Ins {
    type Error = IdError;
    fn try_from(repr: InsRepr) -> Result<Self, Self::Error> {
        Self::new(repr.matricule, repr.oid)
    }
}

impl From<Ins> for InsRepr {
    fn from(ins: Ins) -> Self {
        Self {
            matricule: ins.matricule,
            oid: ins.oid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids() {
        let table = [
            ("1.2.250.1.213.1.4.8", InsOid::InsNir, false),
            ("1.2.250.1.213.1.4.9", InsOid::InsNia, false),
            ("1.2.250.1.213.1.4.10", InsOid::InsNirTest, true),
            ("1.2.250.1.213.1.4.11", InsOid::InsNirDemo, true),
            ("1.2.250.1.213.1.4.2", InsOid::InsC, false),
        ];
        for (oid, expected, test) in table {
            let parsed = InsOid::from_oid(oid).unwrap();
            assert_eq!(parsed, expected);
            assert_eq!(parsed.as_oid(), oid);
            assert_eq!(parsed.to_string(), oid);
            assert_eq!(parsed.is_test(), test);
            assert_eq!(oid.parse::<InsOid>().unwrap(), expected);
        }
        assert!(InsOid::InsNia.is_temporary());
        assert!(InsOid::InsC.is_legacy());
    }

    #[test]
    fn unknown_oids() {
        for bad in [
            "",
            "1.2.250.1.213.1.4",
            "1.2.250.1.213.1.4.8 ",
            "1.2.250.1.213.1.4.12",
            "1.2.250.1.71.4.2.1",
        ] {
            let err = InsOid::from_oid(bad).unwrap_err();
            assert_eq!(err.code(), "oid", "{bad}");
        }
        assert_eq!(
            InsOid::from_oid("1.2.3").unwrap_err().to_string(),
            "INS OID: unknown OID \"1.2.3\""
        );
        let huge = "9".repeat(100_000);
        let IdError::UnknownOid { oid, .. } = InsOid::from_oid(&huge).unwrap_err() else {
            panic!("wrong variant");
        };
        assert_eq!(oid.chars().count(), 65);
    }

    #[test]
    fn ins() {
        let ins = Ins::parse("275126322074974", "1.2.250.1.213.1.4.8").unwrap();
        assert_eq!(ins.matricule().to_string(), "275126322074974");
        assert_eq!(ins.oid(), InsOid::InsNir);
        assert!(!ins.is_test());
        assert!(!format!("{ins:?}").contains("2751263"));
        let err = Ins::parse("275126322074974", "1.2.250.1.213.1.4.2").unwrap_err();
        assert_eq!(err.code(), "oid");
        assert!(matches!(err, IdError::UnsupportedOid { .. }));
        assert_eq!(
            Ins::parse("275126322074975", "1.2.250.1.213.1.4.8")
                .unwrap_err()
                .code(),
            "check_key"
        );
    }

    #[test]
    fn ins_serde() {
        use serde::de::value::{Error, MapDeserializer};
        let entries = |oid: &'static str| {
            MapDeserializer::<_, Error>::new(
                [("matricule", "275126322074974"), ("oid", oid)].into_iter(),
            )
        };
        let ins = Ins::deserialize(entries("1.2.250.1.213.1.4.11")).unwrap();
        assert!(ins.is_test());
        assert!(Ins::deserialize(entries("1.2.250.1.213.1.4.2")).is_err());
        assert!(Ins::deserialize(entries("1.2.3")).is_err());
    }
}
