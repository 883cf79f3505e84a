//! OCSP (RFC 6960): requests for one certificate, and responses checked the
//! way a relying party must — signature by the CA or by a delegated responder
//! it authorised, CertID match, and freshness.
//!
//! A response that does not mention the certificate asked about is an error
//! ([`Reason::MalformedOcsp`]), not [`OcspStatus::Unknown`]: `Unknown` is kept
//! for a responder that explicitly answers "unknown", so that callers can tell
//! a responder's answer from a useless response (and try another source).

#[cfg(test)]
mod openbao_tests;
#[cfg(test)]
mod proptests;
mod request;
mod responder;
mod response;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use time::{Duration, OffsetDateTime};

pub use request::build_request;

use crate::cert::Certificate;
use crate::crl::fields;
use crate::reason::{Error, Reason};
use request::public_key_bits;
use response::{Basic, Status};

/// Largest OCSP response accepted, in bytes (a response with a delegated
/// responder certificate is 2–4 KiB).
pub const MAX_OCSP_RESPONSE_LEN: usize = 256 * 1024;

/// Clock skew tolerated on thisUpdate: a responder's clock slightly ahead of ours.
const SKEW: Duration = Duration::minutes(5);

/// The status a responder gave for one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OcspStatus {
    /// Not revoked, as of `this_update`; the answer holds until `next_update`.
    Good {
        /// When the responder knew the status to be correct.
        this_update: OffsetDateTime,
        /// When newer information will be available, if the responder says.
        next_update: Option<OffsetDateTime>,
    },
    /// Revoked.
    Revoked {
        /// revocationTime.
        at: OffsetDateTime,
        /// The RFC 5280 CRLReason, snake_case (`key_compromise`…), if given.
        reason: Option<&'static str>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// A decoded `id-pkix-ocsp-basic` response, not yet trusted: only
/// [`OcspResponse::status_for`] tells anything, after checking the signature.
#[derive(Clone, Debug)]
pub struct OcspResponse {
    basic: Basic,
}

pub(crate) fn malformed(detail: impl Into<String>) -> Error {
    Error::new(Reason::MalformedOcsp, detail)
}

impl OcspResponse {
    /// Decodes a DER OCSPResponse. A responseStatus other than `successful` is
    /// an error whose detail says what the responder said (`responder said
    /// tryLater`…); response types other than id-pkix-ocsp-basic, critical
    /// extensions and inputs above [`MAX_OCSP_RESPONSE_LEN`] are refused
    /// ([`Reason::MalformedOcsp`]).
    pub fn parse(der: &[u8]) -> Result<OcspResponse, Error> {
        if der.len() > MAX_OCSP_RESPONSE_LEN {
            return Err(malformed(format!(
                "OCSP response of {} bytes is above the {MAX_OCSP_RESPONSE_LEN}-byte limit",
                der.len()
            )));
        }
        Ok(Self {
            basic: response::decode(der)?,
        })
    }

    /// producedAt: when the responder signed the response.
    pub fn produced_at(&self) -> OffsetDateTime {
        fields::datetime(self.basic.produced_at)
    }

    /// The status of `cert` (issued by `issuer`) at `at`.
    ///
    /// Checks, in order: the signature — by `issuer` itself, or by a delegated
    /// responder certificate included in the response, issued and signed by
    /// `issuer`, carrying id-kp-OCSPSigning and valid at `at`; then finds the
    /// SingleResponse whose CertID (SHA-1 or SHA-256) names `cert`; then
    /// `thisUpdate <= at + 5 min` and `at < nextUpdate` when present.
    ///
    /// Errors: [`Reason::BadSignature`] or [`Reason::UnsupportedAlgorithm`]
    /// from the signature checks; [`Reason::MalformedOcsp`] for an
    /// unauthorised responder, a response without this certificate, or one
    /// that is not yet valid or stale.
    pub fn status_for(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        at: OffsetDateTime,
    ) -> Result<OcspStatus, Error> {
        responder::verify(&self.basic, issuer, at)?;
        let single = self
            .find(cert, issuer)
            .ok_or_else(|| malformed("the response has no status for this certificate"))?;
        let this_update = fields::datetime(single.this_update);
        let next_update = single.next_update.map(fields::datetime);
        if this_update > at + SKEW {
            return Err(malformed(format!(
                "OCSP response not yet valid: thisUpdate {this_update} is after {at}"
            )));
        }
        if let Some(next) = next_update
            && at >= next
        {
            return Err(malformed(format!(
                "stale OCSP response: nextUpdate {next} has passed"
            )));
        }
        Ok(match single.status {
            Status::Good => OcspStatus::Good {
                this_update,
                next_update,
            },
            Status::Revoked { at, reason } => OcspStatus::Revoked {
                at: fields::datetime(at),
                reason: reason.and_then(fields::reason_name),
            },
            Status::Unknown => OcspStatus::Unknown,
        })
    }

    /// The SingleResponse whose CertID names `cert` issued by `issuer`.
    fn find(&self, cert: &Certificate, issuer: &Certificate) -> Option<&response::Single> {
        let serial = fields::serial(cert.serial())?;
        let key = public_key_bits(issuer.spki_der())?;
        self.basic.responses.iter().find(|s| {
            let Some(hash) = s.hash else { return false };
            s.serial == serial
                && s.name_hash == hash.hash(cert.issuer_der())
                && s.key_hash == hash.hash(key)
        })
    }
}
