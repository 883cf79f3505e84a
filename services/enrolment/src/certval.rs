//! The certificate validation service, as enrolment uses it: one signature check by a
//! card's certificate. Fail closed: no answer is never a yes.

use egide_kit::ApiError;
use egide_proto::certval::v1::{
    self as cv, certificate_validation_service_client::CertificateValidationServiceClient,
};
use tonic::{Code, transport::Channel};

use crate::config::CertvalSettings;

/// A lazily connected client: enrolment starts and serves without certval, and only the
/// calls that need it fail while it is away.
#[derive(Clone, Debug)]
pub struct Certval {
    client: CertificateValidationServiceClient<Channel>,
    settings: CertvalSettings,
}

impl Certval {
    /// A client of `settings.endpoint` (over the mesh when `mesh` is given); fails only on
    /// a malformed endpoint.
    pub fn new(
        settings: &CertvalSettings,
        mesh: Option<&egide_kit::mesh::Mesh>,
    ) -> anyhow::Result<Self> {
        let channel =
            egide_kit::mesh::peer_channel(mesh, &settings.endpoint, "certval", settings.timeout())?;
        Ok(Self {
            client: CertificateValidationServiceClient::new(channel),
            settings: settings.clone(),
        })
    }

    /// `VerifySignature`: the certificate valid for `request.purpose` and the signature
    /// made by its key. Transport failures and time-outs are UNAVAILABLE; a refusal of the
    /// request itself (which enrolment checks first) is INTERNAL.
    pub async fn verify_signature(
        &self,
        request: cv::VerifySignatureRequest,
    ) -> Result<cv::VerifySignatureResponse, ApiError> {
        let mut client = self.client.clone();
        let call = client.verify_signature(request);
        match tokio::time::timeout(self.settings.timeout(), call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(map_status(status)),
            Err(_) => Err(ApiError::unavailable(anyhow::anyhow!(
                "certval did not answer within {:?}",
                self.settings.timeout()
            ))),
        }
    }
}

fn map_status(status: tonic::Status) -> ApiError {
    let cause = anyhow::anyhow!("certval: {:?} {}", status.code(), status.message());
    match status.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::Unknown
        | Code::ResourceExhausted
        | Code::Aborted => ApiError::unavailable(cause),
        _ => ApiError::internal(cause),
    }
}
