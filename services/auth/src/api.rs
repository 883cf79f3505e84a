//! The gRPC API (`egide.auth.v1.AuthService`).

use egide_kit::ApiError;
use egide_proto::auth::v1::{self as pb, auth_service_server::AuthService};
use tonic::{Request, Response, Status};

use crate::{
    Ctx, accounts,
    login::{self, card, device},
    sessions,
    tokens::{Grant, Issued},
};

/// The service.
#[derive(Clone, Debug)]
pub struct AuthApi {
    ctx: Ctx,
}

impl AuthApi {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

/// The token response for a grant.
pub fn token_response(grant: &Grant, issued: Issued, refresh_token: String) -> pb::TokenResponse {
    pb::TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
        refresh_token,
        id_token: issued.id_token.unwrap_or_default(),
        session_id: grant.session_id.to_string(),
        acr: grant.acr.clone(),
        amr: grant.amr.clone(),
        scope: grant.scope.clone(),
    }
}

/// The client certificate the gateway saw, as `x5t#S256` (base64url of its SHA-256).
fn cnf_x5t<T>(request: &Request<T>) -> Option<String> {
    let caller = egide_kit::caller::structure_caller(request.metadata())?;
    egide_kit::caller::x5t_s256(&caller.certificate_sha256)
}

fn refresh_token_field(token: &str) -> Result<(), ApiError> {
    if token.is_empty() || token.len() > 128 {
        return Err(ApiError::invalid_field("refresh_token", "a refresh token"));
    }
    Ok(())
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    #[tracing::instrument(skip_all, fields(client = %request.get_ref().client_id))]
    async fn start_login(
        &self,
        request: Request<pb::StartLoginRequest>,
    ) -> Result<Response<pb::StartLoginResponse>, Status> {
        let cnf = cnf_x5t(&request);
        let r = request.into_inner();
        let scope = login::client_and_scope(&self.ctx, &r.client_id, &r.scope)?;
        let answer = match &r.means {
            Some(pb::start_login_request::Means::Device(d)) => {
                device::start(&self.ctx, &r.client_id, &scope, d, cnf.as_deref()).await?
            }
            Some(pb::start_login_request::Means::Card(c)) => {
                card::start(&self.ctx, &r.client_id, &scope, c, cnf.as_deref()).await?
            }
            None => {
                return Err(
                    ApiError::invalid_field("means", "a login means (device or card)").into(),
                );
            }
        };
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn complete_login(
        &self,
        request: Request<pb::CompleteLoginRequest>,
    ) -> Result<Response<pb::TokenResponse>, Status> {
        let cnf = cnf_x5t(&request);
        let r = request.into_inner();
        if r.nonce.len() > 256 {
            return Err(ApiError::invalid_field("nonce", "at most 256 bytes").into());
        }
        let answer = match &r.proof {
            Some(pb::complete_login_request::Proof::DeviceSignature(sig)) => {
                device::complete(&self.ctx, &r.challenge_id, sig, &r.nonce, cnf.as_deref()).await?
            }
            Some(pb::complete_login_request::Proof::Card(proof)) => {
                card::complete(&self.ctx, &r.challenge_id, proof, &r.nonce, cnf.as_deref()).await?
            }
            None => {
                return Err(
                    ApiError::invalid_field("proof", "the proof over the challenge").into(),
                );
            }
        };
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all, fields(client = %request.get_ref().client_id))]
    async fn refresh_session(
        &self,
        request: Request<pb::RefreshSessionRequest>,
    ) -> Result<Response<pb::TokenResponse>, Status> {
        let cnf = cnf_x5t(&request);
        let r = request.into_inner();
        refresh_token_field(&r.refresh_token)?;
        let answer =
            sessions::refresh(&self.ctx, &r.refresh_token, &r.client_id, cnf.as_deref()).await?;
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn end_session(
        &self,
        request: Request<pb::EndSessionRequest>,
    ) -> Result<Response<pb::EndSessionResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        let r = request.into_inner();
        let target = if r.refresh_token.is_empty()
            && let Some(person) = &person
        {
            sessions::EndTarget::Session(
                person
                    .session_id
                    .parse()
                    .map_err(|_| ApiError::invalid_field("refresh_token", "a refresh token"))?,
            )
        } else {
            refresh_token_field(&r.refresh_token)?;
            sessions::EndTarget::RefreshToken(&r.refresh_token)
        };
        let client_id = (!r.client_id.is_empty()).then_some(r.client_id.as_str());
        sessions::end(&self.ctx, target, client_id).await?;
        Ok(Response::new(pb::EndSessionResponse {}))
    }

    #[tracing::instrument(skip_all, fields(client = %request.get_ref().client_id))]
    async fn password_login(
        &self,
        request: Request<pb::PasswordLoginRequest>,
    ) -> Result<Response<pb::TokenResponse>, Status> {
        let cnf = cnf_x5t(&request);
        let source = egide_kit::caller::client_ip(request.metadata());
        let r = request.into_inner();
        let scope = login::client_and_scope(&self.ctx, &r.client_id, &r.scope)?;
        let answer = login::password::login(&self.ctx, r, scope, source, cnf).await?;
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        let answer = accounts::create(&self.ctx, person.as_ref(), request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn unlock_account(
        &self,
        request: Request<pb::UnlockAccountRequest>,
    ) -> Result<Response<pb::UnlockAccountResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        let answer = accounts::unlock(&self.ctx, person.as_ref(), request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn start_totp_enrolment(
        &self,
        request: Request<pb::StartTotpEnrolmentRequest>,
    ) -> Result<Response<pb::StartTotpEnrolmentResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        Ok(Response::new(
            accounts::start_totp(&self.ctx, person.as_ref()).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn confirm_totp_enrolment(
        &self,
        request: Request<pb::ConfirmTotpEnrolmentRequest>,
    ) -> Result<Response<pb::ConfirmTotpEnrolmentResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        let answer =
            accounts::confirm_totp(&self.ctx, person.as_ref(), request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    async fn get_jwks(
        &self,
        _request: Request<pb::GetJwksRequest>,
    ) -> Result<Response<pb::GetJwksResponse>, Status> {
        let state = self.ctx.issuer.keys().current().ok_or_else(|| {
            ApiError::unavailable(anyhow::anyhow!("token signing key not read yet"))
        })?;
        let keys = state.jwks.iter().map(egide_kit::jwks::to_proto).collect();
        Ok(Response::new(pb::GetJwksResponse { keys }))
    }
}
