//! Proto ⇄ domain conversions: the only place that sees both.

use egide_ids::{Finess, IdNatStruct, Siret};
use egide_kit::{ApiError, FieldViolation, events::timestamp};
use egide_proto::enrolment::v1::{
    RegisterStructureRequest, Structure as StructureMessage, register_structure_request, structure,
};

use crate::domain::structure::{NewStructure, Structure, StructureIdentifier, StructureName};

/// A registration request, parsed; every bad field is reported at once.
/// `operator`: the verified operator calling, if one is (a registration without the
/// directory needs one).
pub fn new_structure(
    request: RegisterStructureRequest,
    operator: Option<&str>,
) -> Result<NewStructure, ApiError> {
    let mut violations = Vec::new();
    let identifier = match &request.identifier {
        Some(register_structure_request::Identifier::Finess(f)) => Finess::parse(f)
            .map(StructureIdentifier::Finess)
            .map_err(|e| violations.push(FieldViolation::new("finess", e.to_string())))
            .ok(),
        Some(register_structure_request::Identifier::Siret(s)) => Siret::parse(s)
            .map(StructureIdentifier::Siret)
            .map_err(|e| violations.push(FieldViolation::new("siret", e.to_string())))
            .ok(),
        None => {
            violations.push(FieldViolation::new(
                "identifier",
                "one of finess or siret is required",
            ));
            None
        }
    };
    // A FINESS registration may leave the name to the directory.
    let finess_without_name = request.name.trim().is_empty()
        && matches!(
            request.identifier,
            Some(register_structure_request::Identifier::Finess(_))
        );
    let name = if finess_without_name {
        Some(None)
    } else {
        StructureName::parse(&request.name)
            .map_err(|e| violations.push(FieldViolation::new("name", e.to_string())))
            .ok()
            .map(Some)
    };
    let without_directory_by = if request.allow_without_directory {
        let Some(operator) = operator else {
            return Err(ApiError::permission_denied(
                "operator_required",
                "allow_without_directory needs an operator session with a second factor",
            ));
        };
        Some(operator.to_owned())
    } else {
        None
    };
    match (identifier, name) {
        (Some(identifier), Some(name)) if violations.is_empty() => Ok(NewStructure {
            identifier,
            name,
            without_directory_by,
        }),
        _ => Err(ApiError::invalid_argument(violations)),
    }
}

/// A structure key from a request.
pub fn id_nat_struct(raw: &str) -> Result<IdNatStruct, ApiError> {
    IdNatStruct::parse(raw).map_err(|e| ApiError::invalid_field("id_nat_struct", e.to_string()))
}

/// The proto form of a structure.
pub fn structure(s: &Structure) -> StructureMessage {
    StructureMessage {
        id: s.id.to_string(),
        id_nat_struct: s.identifier.id_nat().to_string(),
        identifier: Some(match &s.identifier {
            StructureIdentifier::Finess(f) => structure::Identifier::Finess(f.to_string()),
            StructureIdentifier::Siret(s) => structure::Identifier::Siret(s.to_string()),
        }),
        name: s.name.clone(),
        registered_at: Some(timestamp(s.registered_at)),
        establishment: None,
        registered_without_directory_by: s.without_directory_by.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_reported() {
        let err = new_structure(
            RegisterStructureRequest {
                identifier: Some(register_structure_request::Identifier::Siret("123".into())),
                name: "  ".into(),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        let fields: Vec<_> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["siret", "name"]);
    }

    #[test]
    fn a_missing_identifier_is_named() {
        let err = new_structure(
            RegisterStructureRequest {
                identifier: None,
                name: "CHU".into(),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert_eq!(err.violations()[0].field, "identifier");
    }

    #[test]
    fn a_structure_without_directory_needs_an_operator() {
        let request = || RegisterStructureRequest {
            identifier: Some(register_structure_request::Identifier::Siret(
                "73282932000074".into(),
            )),
            name: "Cabinet".into(),
            allow_without_directory: true,
        };
        let err = new_structure(request(), None).unwrap_err();
        assert_eq!(err.reason(), "operator_required");
        let ok = new_structure(request(), Some("op-1")).unwrap();
        assert_eq!(ok.without_directory_by.as_deref(), Some("op-1"));
    }
}
