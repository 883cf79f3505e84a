//! The gRPC API: `egide.enrolment.v1.EnrolmentService`.

mod convert;

use egide_kit::{
    ApiError,
    app::Platform,
    events::{NewEvent, Payload, actor},
};
use egide_proto::enrolment::v1::{
    GetStructureRequest, GetStructureResponse, RegisterStructureRequest, RegisterStructureResponse,
    StructureRegistered, enrolment_service_server::EnrolmentService,
};
use sea_orm::TransactionTrait;
use tonic::{Request, Response, Status};

use crate::store::structures;

/// NATS subject and event type of a structure registration.
pub const STRUCTURE_REGISTERED: &str = "egide.enrolment.structure.registered";

/// The enrolment API.
#[derive(Debug, Clone)]
pub struct EnrolmentApi {
    platform: Platform,
}

impl EnrolmentApi {
    /// The API over `platform`.
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }
}

#[tonic::async_trait]
impl EnrolmentService for EnrolmentApi {
    #[tracing::instrument(skip_all, fields(rpc = "RegisterStructure"))]
    async fn register_structure(
        &self,
        request: Request<RegisterStructureRequest>,
    ) -> Result<Response<RegisterStructureResponse>, Status> {
        let new = convert::new_structure(request.into_inner())?;
        let txn = self.platform.db.begin().await.map_err(ApiError::from)?;
        let structure = structures::insert(&txn, &new)
            .await
            .map_err(ApiError::from)?;
        let message = convert::structure(&structure);
        let id_nat = message.id_nat_struct.clone();
        let event = NewEvent::new(
            STRUCTURE_REGISTERED,
            // Until the gateway passes the caller's verified identity, the service acts.
            actor::service(crate::SERVICE),
            Payload::StructureRegistered(StructureRegistered {
                structure: Some(message.clone()),
            }),
        )
        .about("structure", id_nat.clone());
        self.platform
            .outbox
            .enqueue(&txn, event)
            .await
            .map_err(ApiError::from)?;
        txn.commit().await.map_err(ApiError::from)?;
        self.platform.outbox.wake();
        tracing::info!(structure = %id_nat, "structure registered");
        Ok(Response::new(RegisterStructureResponse {
            structure: Some(message),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetStructure"))]
    async fn get_structure(
        &self,
        request: Request<GetStructureRequest>,
    ) -> Result<Response<GetStructureResponse>, Status> {
        let id_nat = convert::id_nat_struct(&request.into_inner().id_nat_struct)?;
        let structure = structures::get_by_id_nat(&self.platform.db, &id_nat.to_string())
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(GetStructureResponse {
            structure: Some(convert::structure(&structure)),
        }))
    }
}
