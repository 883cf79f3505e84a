//! Structures: health establishments and companies registered by FINESS or SIRET.

use chrono::{DateTime, Utc};
use egide_ids::{Finess, IdNatStruct, Siret};
use egide_kit::ApiError;
use uuid::Uuid;

/// The identifier a structure registers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StructureIdentifier {
    /// A FINESS establishment number.
    Finess(Finess),
    /// A SIRET establishment number.
    Siret(Siret),
}

impl StructureIdentifier {
    /// The national structure identifier (`1`+FINESS or `3`+SIRET).
    pub fn id_nat(&self) -> IdNatStruct {
        match self {
            Self::Finess(f) => IdNatStruct::from(*f),
            Self::Siret(s) => IdNatStruct::from(*s),
        }
    }
}

/// A structure name (raison sociale): trimmed, 1 to 200 characters, no control character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructureName(String);

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left after trimming.
    #[error("must not be empty")]
    Empty,
    /// Over the limit.
    #[error("at most {max} characters, got {got}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length received.
        got: usize,
    },
    /// A control character.
    #[error("control character at position {0}")]
    Control(usize),
}

impl StructureName {
    /// The longest accepted name, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        let count = trimmed.chars().count();
        if count > Self::MAX_CHARS {
            return Err(NameError::TooLong {
                max: Self::MAX_CHARS,
                got: count,
            });
        }
        if let Some(pos) = trimmed.chars().position(char::is_control) {
            return Err(NameError::Control(pos + 1));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A structure to register.
#[derive(Clone, Debug)]
pub struct NewStructure {
    /// Its identifier.
    pub identifier: StructureIdentifier,
    /// Its name; `None` takes the directory's.
    pub name: Option<StructureName>,
    /// The operator who accepts a structure no directory lists, if one does.
    pub without_directory_by: Option<String>,
}

/// A registered structure.
#[derive(Clone, Debug)]
pub struct Structure {
    /// Égide's id.
    pub id: Uuid,
    /// Its identifier.
    pub identifier: StructureIdentifier,
    /// Its name.
    pub name: String,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// The operator who registered it without a directory entry.
    pub without_directory_by: Option<String>,
}

/// Structure errors.
#[derive(Debug, thiserror::Error)]
pub enum StructureError {
    /// A structure with this idNat_Struct is registered already.
    #[error("structure {0} is already registered")]
    AlreadyExists(String),
    /// No such structure.
    #[error("no structure {0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] sea_orm::DbErr),
}

impl From<StructureError> for ApiError {
    fn from(error: StructureError) -> Self {
        match error {
            StructureError::AlreadyExists(_) => {
                ApiError::already_exists("structure_exists", error.to_string())
            }
            StructureError::NotFound(_) => {
                ApiError::not_found("structure_not_found", error.to_string())
            }
            StructureError::Store(db) => ApiError::from(db),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            StructureName::parse("  CHU de Rennes ").map(|n| n.0),
            Ok("CHU de Rennes".into())
        );
        assert_eq!(StructureName::parse(" \t"), Err(NameError::Empty));
        assert_eq!(
            StructureName::parse(&"é".repeat(201)),
            Err(NameError::TooLong { max: 200, got: 201 })
        );
        assert!(StructureName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(StructureName::parse("a\u{0}b"), Err(NameError::Control(2)));
    }
}
