//! Structures: registration checked against the FINESS directory.

use egide_kit::{
    ApiError,
    events::{NewEvent, Payload, actor},
};
use egide_proto::enrolment::v1 as pb;
use sea_orm::TransactionTrait;

use super::convert;
use crate::{
    Ctx,
    domain::structure::StructureIdentifier,
    store::{establishments, structures},
};

/// NATS subject and event type of a structure registration.
pub const STRUCTURE_REGISTERED: &str = "egide.enrolment.structure.registered";

/// `RegisterStructure`.
pub async fn register(
    ctx: &Ctx,
    operator: Option<&str>,
    request: pb::RegisterStructureRequest,
) -> Result<pb::RegisterStructureResponse, ApiError> {
    let mut new = convert::new_structure(request, operator)?;
    let txn = ctx.platform.db.begin().await?;
    let establishment = match &new.identifier {
        StructureIdentifier::Finess(f) => {
            let e = establishments::by_finess(&txn, f.as_ref()).await?;
            match e {
                Some(e) if e.active => Some(e),
                Some(_) => {
                    return Err(ApiError::failed_precondition(
                        "not_in_directory",
                        "the FINESS directory lists this establishment as closed",
                    ));
                }
                None => {
                    return Err(ApiError::failed_precondition(
                        "not_in_directory",
                        "the FINESS directory does not list this establishment",
                    ));
                }
            }
        }
        StructureIdentifier::Siret(s) => {
            let e = establishments::by_siret(&txn, s.as_ref())
                .await?
                .filter(|e| e.active);
            if e.is_none() && new.without_directory_by.is_none() {
                return Err(ApiError::failed_precondition(
                    "directory_required",
                    "no directory lists this SIRET; an operator may register it with allow_without_directory",
                ));
            }
            e
        }
    };
    if establishment.is_some() {
        new.without_directory_by = None;
    }
    let name = match (&new.name, &establishment) {
        (Some(n), _) => n.as_str().to_owned(),
        (None, Some(e)) => e.name.clone(),
        (None, None) => return Err(ApiError::invalid_field("name", "must not be empty")),
    };
    let structure = structures::insert(&txn, &new, &name).await?;
    let mut message = convert::structure(&structure);
    message.establishment = establishment;
    let id_nat = message.id_nat_struct.clone();
    let by = match &new.without_directory_by {
        Some(op) => actor::operator(op),
        // Until the gateway passes the caller's verified identity, the service acts.
        None => actor::service(crate::SERVICE),
    };
    let event = NewEvent::new(
        STRUCTURE_REGISTERED,
        by,
        Payload::StructureRegistered(pb::StructureRegistered {
            structure: Some(message.clone()),
        }),
    )
    .about("structure", id_nat.clone());
    ctx.commit(txn, vec![event]).await?;
    tracing::info!(structure = %id_nat, "structure registered");
    Ok(pb::RegisterStructureResponse {
        structure: Some(message),
    })
}

/// `GetStructure`.
pub async fn get(
    ctx: &Ctx,
    request: pb::GetStructureRequest,
) -> Result<pb::GetStructureResponse, ApiError> {
    let id_nat = convert::id_nat_struct(&request.id_nat_struct)?;
    let db = &ctx.platform.db;
    let structure = structures::get_by_id_nat(db, &id_nat.to_string()).await?;
    let mut message = convert::structure(&structure);
    message.establishment = match &structure.identifier {
        StructureIdentifier::Finess(f) => establishments::by_finess(db, f.as_ref()).await?,
        StructureIdentifier::Siret(s) => establishments::by_siret(db, s.as_ref()).await?,
    };
    Ok(pb::GetStructureResponse {
        structure: Some(message),
    })
}
