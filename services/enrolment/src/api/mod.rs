//! The gRPC API: `egide.enrolment.v1.EnrolmentService`. Handlers parse, call the module
//! that owns the resource, and map errors once (`ApiError → Status`).

mod convert;
mod structures;

use std::pin::Pin;

use egide_kit::ApiError;
use egide_proto::enrolment::v1::{self as pb, enrolment_service_server::EnrolmentService};
use futures::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::{Ctx, card_activation, devices, directory, professionals, wallets};

pub use structures::STRUCTURE_REGISTERED;

/// The enrolment API.
#[derive(Debug, Clone)]
pub struct EnrolmentApi {
    ctx: Ctx,
}

impl EnrolmentApi {
    /// The API over `ctx`.
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

fn respond<T>(r: Result<T, ApiError>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

/// The response stream of `ImportDirectory`.
pub type ImportStream =
    Pin<Box<dyn Stream<Item = Result<pb::ImportDirectoryResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EnrolmentService for EnrolmentApi {
    #[tracing::instrument(skip_all, fields(rpc = "RegisterStructure"))]
    async fn register_structure(
        &self,
        request: Request<pb::RegisterStructureRequest>,
    ) -> Result<Response<pb::RegisterStructureResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        let operator = egide_kit::caller::operator(person.as_ref())
            .ok()
            .map(|p| p.subject.clone());
        respond(structures::register(&self.ctx, operator.as_deref(), request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetStructure"))]
    async fn get_structure(
        &self,
        request: Request<pb::GetStructureRequest>,
    ) -> Result<Response<pb::GetStructureResponse>, Status> {
        respond(structures::get(&self.ctx, request.into_inner()).await)
    }

    type ImportDirectoryStream = ImportStream;

    #[tracing::instrument(skip_all, fields(rpc = "ImportDirectory"))]
    async fn import_directory(
        &self,
        request: Request<Streaming<pb::ImportDirectoryRequest>>,
    ) -> Result<Response<Self::ImportDirectoryStream>, Status> {
        // The verified operator runs it (and is recorded), never a declared one.
        let operator = verified_operator(&request)?;
        respond(directory::import::start(self.ctx.clone(), operator, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListDirectoryImports"))]
    async fn list_directory_imports(
        &self,
        request: Request<pb::ListDirectoryImportsRequest>,
    ) -> Result<Response<pb::ListDirectoryImportsResponse>, Status> {
        verified_operator(&request)?;
        respond(directory::status::list_imports(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListImportRejects"))]
    async fn list_import_rejects(
        &self,
        request: Request<pb::ListImportRejectsRequest>,
    ) -> Result<Response<pb::ListImportRejectsResponse>, Status> {
        verified_operator(&request)?;
        respond(directory::status::list_rejects(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "SearchInsIdentity"))]
    async fn search_ins_identity(
        &self,
        request: Request<pb::SearchInsIdentityRequest>,
    ) -> Result<Response<pb::SearchInsIdentityResponse>, Status> {
        respond(directory::status::search_ins(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetProfessional"))]
    async fn get_professional(
        &self,
        request: Request<pb::GetProfessionalRequest>,
    ) -> Result<Response<pb::GetProfessionalResponse>, Status> {
        respond(professionals::get(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "SetProfessionalContacts"))]
    async fn set_professional_contacts(
        &self,
        request: Request<pb::SetProfessionalContactsRequest>,
    ) -> Result<Response<pb::SetProfessionalContactsResponse>, Status> {
        let operator = verified_operator(&request)?;
        respond(professionals::set_contacts(&self.ctx, operator, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "StartEcpsActivation"))]
    async fn start_ecps_activation(
        &self,
        request: Request<pb::StartEcpsActivationRequest>,
    ) -> Result<Response<pb::StartEcpsActivationResponse>, Status> {
        respond(professionals::start_ecps(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ConfirmEcpsActivation"))]
    async fn confirm_ecps_activation(
        &self,
        request: Request<pb::ConfirmEcpsActivationRequest>,
    ) -> Result<Response<pb::ConfirmEcpsActivationResponse>, Status> {
        respond(professionals::confirm_ecps(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "StartCardActivation"))]
    async fn start_card_activation(
        &self,
        request: Request<pb::StartCardActivationRequest>,
    ) -> Result<Response<pb::StartCardActivationResponse>, Status> {
        respond(card_activation::start(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "CompleteCardActivation"))]
    async fn complete_card_activation(
        &self,
        request: Request<pb::CompleteCardActivationRequest>,
    ) -> Result<Response<pb::CompleteCardActivationResponse>, Status> {
        respond(card_activation::complete(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "StartWalletEnrolment"))]
    async fn start_wallet_enrolment(
        &self,
        request: Request<pb::StartWalletEnrolmentRequest>,
    ) -> Result<Response<pb::StartWalletEnrolmentResponse>, Status> {
        respond(wallets::start(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ResendEmailCode"))]
    async fn resend_email_code(
        &self,
        request: Request<pb::ResendEmailCodeRequest>,
    ) -> Result<Response<pb::ResendEmailCodeResponse>, Status> {
        respond(wallets::resend(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ConfirmEmailCode"))]
    async fn confirm_email_code(
        &self,
        request: Request<pb::ConfirmEmailCodeRequest>,
    ) -> Result<Response<pb::ConfirmEmailCodeResponse>, Status> {
        respond(wallets::confirm_email(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "SubmitIdentityProof"))]
    async fn submit_identity_proof(
        &self,
        request: Request<pb::SubmitIdentityProofRequest>,
    ) -> Result<Response<pb::SubmitIdentityProofResponse>, Status> {
        respond(wallets::submit_proof(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "CreateDeviceChallenge"))]
    async fn create_device_challenge(
        &self,
        request: Request<pb::CreateDeviceChallengeRequest>,
    ) -> Result<Response<pb::CreateDeviceChallengeResponse>, Status> {
        respond(devices::challenge(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "RegisterDevice"))]
    async fn register_device(
        &self,
        request: Request<pb::RegisterDeviceRequest>,
    ) -> Result<Response<pb::RegisterDeviceResponse>, Status> {
        respond(devices::register(&self.ctx, request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "RevokeDevice"))]
    async fn revoke_device(
        &self,
        request: Request<pb::RevokeDeviceRequest>,
    ) -> Result<Response<pb::RevokeDeviceResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        respond(devices::revoke(&self.ctx, person.as_ref(), request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetWallet"))]
    async fn get_wallet(
        &self,
        request: Request<pb::GetWalletRequest>,
    ) -> Result<Response<pb::GetWalletResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        respond(wallets::get(&self.ctx, person.as_ref(), request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "SuspendWallet"))]
    async fn suspend_wallet(
        &self,
        request: Request<pb::SuspendWalletRequest>,
    ) -> Result<Response<pb::SuspendWalletResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        respond(wallets::suspend(&self.ctx, person.as_ref(), request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ReactivateWallet"))]
    async fn reactivate_wallet(
        &self,
        request: Request<pb::ReactivateWalletRequest>,
    ) -> Result<Response<pb::ReactivateWalletResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        respond(wallets::reactivate(&self.ctx, person.as_ref(), request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(rpc = "CloseWallet"))]
    async fn close_wallet(
        &self,
        request: Request<pb::CloseWalletRequest>,
    ) -> Result<Response<pb::CloseWalletResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        respond(wallets::close(&self.ctx, person.as_ref(), request.into_inner()).await)
    }
}

/// The id of the operator (with a second factor) the gateway verified for `request`, or
/// PERMISSION_DENIED `operator_required`.
fn verified_operator<T>(request: &Request<T>) -> Result<String, Status> {
    let person = egide_kit::caller::person_caller(request.metadata());
    Ok(egide_kit::caller::operator(person.as_ref())?
        .subject
        .clone())
}
