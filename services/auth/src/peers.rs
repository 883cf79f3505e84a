//! The services card logins ask, lazily connected (auth starts and serves without them;
//! only card logins fail, UNAVAILABLE, while they are away). Fail closed: no answer is
//! never a yes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use egide_kit::ApiError;
use egide_proto::{
    certval::v1::{
        self as cv, certificate_validation_service_client::CertificateValidationServiceClient,
    },
    enrolment::v1::{GetProfessionalRequest, enrolment_service_client::EnrolmentServiceClient},
};
use tonic::{Code, transport::Channel};

use egide_kit::mesh::{Mesh, peer_channel};

use crate::config::PeerSettings;

/// certval and enrolment.
#[derive(Clone, Debug)]
pub struct Peers {
    certval: CertificateValidationServiceClient<Channel>,
    enrolment: EnrolmentServiceClient<Channel>,
    timeout: Duration,
    cache_for: Duration,
    /// idNat_PS → (active in the directory, when learnt).
    professionals: Arc<Mutex<HashMap<String, (bool, Instant)>>>,
}

fn unavailable(what: &str, status: tonic::Status) -> ApiError {
    let cause = anyhow::anyhow!("{what}: {:?} {}", status.code(), status.message());
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            ApiError::unavailable(cause)
        }
        _ => ApiError::internal(cause),
    }
}

impl Peers {
    pub fn new(settings: &PeerSettings, mesh: Option<&Mesh>) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        Ok(Self {
            certval: CertificateValidationServiceClient::new(peer_channel(
                mesh,
                &settings.certval,
                "certval",
                timeout,
            )?),
            enrolment: EnrolmentServiceClient::new(peer_channel(
                mesh,
                &settings.enrolment,
                "enrolment",
                timeout,
            )?),
            timeout,
            cache_for: Duration::from_secs(settings.professional_cache_secs),
            professionals: Arc::default(),
        })
    }

    /// certval's `VerifySignature`.
    pub async fn verify_signature(
        &self,
        request: cv::VerifySignatureRequest,
    ) -> Result<cv::VerifySignatureResponse, ApiError> {
        let mut client = self.certval.clone();
        match tokio::time::timeout(self.timeout, client.verify_signature(request)).await {
            Ok(Ok(r)) => Ok(r.into_inner()),
            Ok(Err(status)) => Err(unavailable("certval", status)),
            Err(_) => Err(ApiError::unavailable(anyhow::anyhow!(
                "certval did not answer in time"
            ))),
        }
    }

    /// Whether the directory lists `id_nat_ps` as active (enrolment's `GetProfessional`,
    /// remembered `professional_cache_secs`: first-time additions of an import are not
    /// announced one by one, so auth's read model may not know them).
    pub async fn professional_active(&self, id_nat_ps: &str) -> Result<bool, ApiError> {
        let cached = self
            .professionals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id_nat_ps)
            .filter(|(_, at)| at.elapsed() < self.cache_for)
            .map(|(active, _)| *active);
        if let Some(active) = cached {
            return Ok(active);
        }
        let mut client = self.enrolment.clone();
        let call = client.get_professional(GetProfessionalRequest {
            id_nat_ps: id_nat_ps.to_owned(),
        });
        let active = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(r)) => r.into_inner().professional.is_some_and(|p| p.active),
            Ok(Err(status)) if status.code() == Code::NotFound => false,
            Ok(Err(status)) => return Err(unavailable("enrolment", status)),
            Err(_) => {
                return Err(ApiError::unavailable(anyhow::anyhow!(
                    "enrolment did not answer in time"
                )));
            }
        };
        let mut cache = self.professionals.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 100_000 {
            cache.clear();
        }
        cache.insert(id_nat_ps.to_owned(), (active, Instant::now()));
        Ok(active)
    }

    /// Forgets what is known of `id_nat_ps` (a directory event about them arrived).
    pub fn forget(&self, id_nat_ps: &str) {
        self.professionals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id_nat_ps);
    }
}
