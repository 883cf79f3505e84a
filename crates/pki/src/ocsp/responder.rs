//! Who may sign an OCSP response (RFC 6960 §4.2.2.2): the CA that issued the
//! certificate, or a delegated responder — a certificate issued by that CA,
//! carrying id-kp-OCSPSigning, valid now — included in the response.
//!
//! The delegated responder's own revocation status is not checked: RFC 6960
//! leaves that to the id-pkix-ocsp-nocheck convention, and a CA that
//! delegates is trusted to keep the delegate's lifetime short.

use time::OffsetDateTime;

use super::malformed;
use super::request::{CertIdHash, public_key_bits};
use super::response::{Basic, ResponderId};
use crate::cert::Certificate;
use crate::reason::Error;

/// id-kp-OCSPSigning.
const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// Checks that the response is signed by `issuer` or by a responder it
/// authorised.
pub(crate) fn verify(basic: &Basic, issuer: &Certificate, at: OffsetDateTime) -> Result<(), Error> {
    if names(&basic.responder, issuer) {
        return check_signature(basic, issuer, "the CA");
    }
    let delegate = basic
        .certs
        .iter()
        .find(|c| names(&basic.responder, c))
        .ok_or_else(|| {
            malformed("the responder is neither the CA nor a certificate included in the response")
        })?;
    authorised(delegate, issuer, at)?;
    check_signature(basic, delegate, "the delegated responder")
}

/// Whether the responderID designates `cert`.
fn names(id: &ResponderId, cert: &Certificate) -> bool {
    match id {
        ResponderId::ByName(name) => name.as_slice() == cert.subject_der(),
        ResponderId::ByKey(hash) => {
            public_key_bits(cert.spki_der()).is_some_and(|key| CertIdHash::Sha1.hash(key) == *hash)
        }
    }
}

fn check_signature(basic: &Basic, signer: &Certificate, who: &str) -> Result<(), Error> {
    crate::sig::verify_signed_data(
        signer.spki_der(),
        &basic.signature_alg,
        &basic.tbs,
        &basic.signature,
    )
    .map_err(|e| {
        Error::new(
            e.reason,
            format!("OCSP response signed by {who}: {}", e.detail),
        )
    })
}

/// A delegated responder must be issued (and signed) by the CA, carry
/// id-kp-OCSPSigning and be valid at `at`.
fn authorised(
    delegate: &Certificate,
    issuer: &Certificate,
    at: OffsetDateTime,
) -> Result<(), Error> {
    if delegate.issuer_der() != issuer.subject_der() {
        return Err(malformed(
            "the delegated responder certificate was not issued by the certificate's CA",
        ));
    }
    crate::sig::verify_signed_data(
        issuer.spki_der(),
        delegate.signature_algorithm_der(),
        delegate.tbs_der(),
        delegate.signature_value(),
    )
    .map_err(|e| {
        Error::new(
            e.reason,
            format!(
                "the delegated responder certificate is not signed by the CA: {}",
                e.detail
            ),
        )
    })?;
    if !delegate
        .extended_key_usages()
        .iter()
        .any(|oid| oid == OCSP_SIGNING)
    {
        return Err(malformed(
            "the delegated responder certificate lacks id-kp-OCSPSigning",
        ));
    }
    if at < delegate.not_before() || at > delegate.not_after() {
        return Err(malformed(
            "the delegated responder certificate is not valid at the validation time",
        ));
    }
    Ok(())
}
