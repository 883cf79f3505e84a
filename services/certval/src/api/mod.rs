//! The gRPC API: `egide.certval.v1.CertificateValidationService`.

pub mod convert;
pub mod revoke;

use egide_kit::ApiError;
use egide_pki::{Certificate, crl::Crl, pem};
use egide_proto::certval::v1::{
    self as pb, certificate_validation_service_server::CertificateValidationService,
};
use tonic::{Request, Response, Status};

use crate::{
    Ctx,
    validation::{Outcome, RequestError},
};

/// Largest message VerifySignature signs over.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The service implementation.
#[derive(Clone, Debug)]
pub struct CertvalApi {
    ctx: Ctx,
}

impl CertvalApi {
    /// Handlers over `ctx`.
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    async fn validate(
        &self,
        leaf: &[u8],
        intermediates: &[Vec<u8>],
        purpose: &str,
        at: Option<&prost_types::Timestamp>,
    ) -> Result<std::sync::Arc<Outcome>, ApiError> {
        if leaf.is_empty() {
            return Err(ApiError::invalid_field(
                "leaf",
                "required: a DER certificate",
            ));
        }
        let at = match at {
            None => None,
            Some(t) => Some(
                convert::from_ts(t).ok_or_else(|| ApiError::invalid_field("at", "out of range"))?,
            ),
        };
        let purpose = (!purpose.is_empty()).then_some(purpose);
        self.ctx
            .validations
            .validate(leaf, intermediates, purpose, at)
            .await
            .map_err(|e| match e {
                RequestError::UnknownPurpose(_) => ApiError::invalid_field(
                    "purpose",
                    format!(
                        "unknown; one of {}",
                        egide_pki::purpose::PURPOSES.join(", ")
                    ),
                ),
                RequestError::TooManyIntermediates => {
                    ApiError::invalid_field("intermediates", e.to_string())
                }
            })
    }
}

#[tonic::async_trait]
impl CertificateValidationService for CertvalApi {
    #[tracing::instrument(skip_all, fields(purpose = %request.get_ref().purpose))]
    async fn validate_chain(
        &self,
        request: Request<pb::ValidateChainRequest>,
    ) -> Result<Response<pb::ValidateChainResponse>, Status> {
        let r = request.into_inner();
        let outcome = self
            .validate(&r.leaf, &r.intermediates, &r.purpose, r.at.as_ref())
            .await?;
        Ok(Response::new(convert::outcome(&outcome)))
    }

    #[tracing::instrument(skip_all, fields(purpose = %request.get_ref().purpose))]
    async fn verify_signature(
        &self,
        request: Request<pb::VerifySignatureRequest>,
    ) -> Result<Response<pb::VerifySignatureResponse>, Status> {
        let r = request.into_inner();
        let algorithm = pb::SignatureAlgorithm::try_from(r.algorithm)
            .ok()
            .and_then(convert::algorithm)
            .ok_or_else(|| ApiError::invalid_field("algorithm", "required"))?;
        if r.message.len() > MAX_MESSAGE_BYTES {
            return Err(ApiError::invalid_field("message", "larger than 1 MiB").into());
        }
        if r.signature.is_empty() {
            return Err(ApiError::invalid_field("signature", "required").into());
        }
        let outcome = self
            .validate(&r.leaf, &r.intermediates, &r.purpose, r.at.as_ref())
            .await?;
        let chain = convert::outcome(&outcome);
        let answer = match &outcome.result {
            Err(_) => pb::VerifySignatureResponse {
                valid: false,
                reason: chain.reason.clone(),
                detail: chain.detail.clone(),
                chain: Some(chain),
            },
            Ok(path) => {
                let leaf = path
                    .path
                    .first()
                    .map(Certificate::spki_der)
                    .unwrap_or_default();
                match egide_pki::sig::verify(leaf, algorithm, &r.message, &r.signature) {
                    Ok(()) => pb::VerifySignatureResponse {
                        valid: true,
                        reason: String::new(),
                        detail: String::new(),
                        chain: Some(chain),
                    },
                    Err(e) => pb::VerifySignatureResponse {
                        valid: false,
                        reason: convert::signature_reason(e.reason).to_owned(),
                        detail: e.detail,
                        chain: Some(chain),
                    },
                }
            }
        };
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn submit_crl(
        &self,
        request: Request<pb::SubmitCrlRequest>,
    ) -> Result<Response<pb::SubmitCrlResponse>, Status> {
        let r = request.into_inner();
        let der = pem::decode_all(&r.crl, "X509 CRL")
            .ok()
            .and_then(|mut all| (all.len() == 1).then(|| all.remove(0)))
            .ok_or_else(|| {
                ApiError::new(
                    tonic::Code::InvalidArgument,
                    "malformed_crl",
                    "not one DER or PEM CRL",
                )
                .with_violations(vec![egide_kit::error::FieldViolation::new(
                    "crl",
                    "not one DER or PEM CRL",
                )])
            })?;
        let unverified = Crl::parse_unverified(&der).map_err(|e| {
            ApiError::new(
                tonic::Code::InvalidArgument,
                "malformed_crl",
                e.detail.clone(),
            )
            .with_violations(vec![egide_kit::error::FieldViolation::new("crl", e.detail)])
        })?;
        let trust = self.ctx.validations.trust();
        let cas = trust.cas_named(unverified.issuer_der());
        if cas.is_empty() {
            return Err(ApiError::failed_precondition(
                "unknown_issuer",
                format!("no trusted CA is named {}", unverified.issuer()),
            )
            .into());
        }
        let mut last = None;
        for ca in cas {
            match Crl::parse_verified(&der, ca) {
                Ok(crl) => {
                    let info = convert::crl_info(&crl, "submitted");
                    if let Some(held) = self.ctx.validations.revocations().crl(crl.issuer_der())
                        && held.crl.this_update() >= crl.this_update()
                    {
                        return Err(ApiError::failed_precondition(
                            "stale_crl",
                            "a CRL of this issuer as recent or newer is held",
                        )
                        .into());
                    }
                    self.ctx
                        .validations
                        .fetcher()
                        .keep(crl, &der, "submitted", ca)
                        .await
                        .map_err(ApiError::unavailable)?;
                    return Ok(Response::new(pb::SubmitCrlResponse { crl: Some(info) }));
                }
                Err(e) => last = Some(e),
            }
        }
        let detail = last.map(|e| e.detail).unwrap_or_default();
        Err(ApiError::failed_precondition(
            "bad_signature",
            format!("no CA of that name signed it: {detail}"),
        )
        .into())
    }

    async fn list_crls(
        &self,
        _request: Request<pb::ListCrlsRequest>,
    ) -> Result<Response<pb::ListCrlsResponse>, Status> {
        let mut crls: Vec<_> = self
            .ctx
            .validations
            .revocations()
            .crls()
            .iter()
            .map(|h| convert::crl_info(&h.crl, &h.source))
            .collect();
        crls.sort_by(|a, b| a.issuer.cmp(&b.issuer));
        Ok(Response::new(pb::ListCrlsResponse { crls }))
    }

    async fn list_trust_anchors(
        &self,
        _request: Request<pb::ListTrustAnchorsRequest>,
    ) -> Result<Response<pb::ListTrustAnchorsResponse>, Status> {
        let trust = self.ctx.validations.trust();
        let anchors = trust
            .validator
            .trust()
            .anchors()
            .map(|(family, cert)| pb::TrustAnchor {
                family: family.name.clone(),
                subject: cert.subject(),
                sha256_hex: cert.sha256_hex(),
                not_before: Some(convert::ts(cert.not_before())),
                not_after: Some(convert::ts(cert.not_after())),
                test: family.test,
                cut_off: family.cut_off.map(convert::ts),
            })
            .collect();
        Ok(Response::new(pb::ListTrustAnchorsResponse { anchors }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RevokeCertificate"))]
    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Result<Response<pb::RevokeCertificateResponse>, Status> {
        let person = egide_kit::caller::person_caller(request.metadata());
        Ok(Response::new(
            revoke::revoke(&self.ctx, person.as_ref(), request.into_inner()).await?,
        ))
    }
}
