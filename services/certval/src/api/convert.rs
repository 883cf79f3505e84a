//! Between the engine's types and the proto messages.

use egide_kit::events::timestamp;
use egide_pki::{Certificate, Reason, identity::Identity};
use egide_proto::certval::v1 as pb;
use time::OffsetDateTime;

use crate::{revocation::Source, validation::Outcome};

/// `time` to a proto timestamp.
pub fn ts(t: OffsetDateTime) -> prost_types::Timestamp {
    timestamp(crate::revocation::fetch::to_chrono(t))
}

/// A proto timestamp to `time`; `None` when out of range.
pub fn from_ts(t: &prost_types::Timestamp) -> Option<OffsetDateTime> {
    let nanos = u32::try_from(t.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    OffsetDateTime::from_unix_timestamp(t.seconds)
        .ok()
        .map(|d| d + time::Duration::nanoseconds(i64::from(nanos)))
}

/// A certificate's summary.
pub fn summary(c: &Certificate) -> pb::CertificateSummary {
    pb::CertificateSummary {
        subject: c.subject(),
        issuer: c.issuer(),
        serial_hex: c.serial_hex(),
        sha256_hex: c.sha256_hex(),
        not_before: Some(ts(c.not_before())),
        not_after: Some(ts(c.not_after())),
    }
}

/// An identity.
pub fn identity(i: &Identity) -> pb::CertificateIdentity {
    use pb::certificate_identity::Kind;
    let kind = match i {
        Identity::Professional(p) => Kind::Professional(pb::ProfessionalIdentity {
            idnat_ps: p.idnat_ps.to_string(),
            name: p.name.clone(),
            given_name: p.given_name.clone(),
            profession: p.profession.clone(),
        }),
        Identity::Structure(s) => Kind::Structure(pb::StructureIdentity {
            idnat_struct: s.idnat_struct.to_string(),
            organisation: s.organisation.clone(),
            application: s.application.clone(),
            departement: s.departement.clone().unwrap_or_default(),
        }),
    };
    pb::CertificateIdentity { kind: Some(kind) }
}

fn source(s: Source) -> pb::RevocationSource {
    match s {
        Source::Event => pb::RevocationSource::Event,
        Source::Crl => pb::RevocationSource::Crl,
        Source::Ocsp => pb::RevocationSource::Ocsp,
        Source::None => pb::RevocationSource::None,
    }
}

/// The answer to ValidateChain.
pub fn outcome(o: &Outcome) -> pb::ValidateChainResponse {
    let skipped = o
        .skipped
        .iter()
        .map(|s| pb::SkippedCertificate {
            index: u32::try_from(s.index).unwrap_or(u32::MAX),
            reason: s.reason.code().to_owned(),
            detail: s.detail.clone(),
        })
        .collect();
    match &o.result {
        Ok(v) => pb::ValidateChainResponse {
            valid: true,
            reason: String::new(),
            detail: String::new(),
            failing_index: -1,
            path: v.path.iter().map(summary).collect(),
            family: v.family.name.clone(),
            identity: v.identity.as_ref().map(identity),
            revocation: source(o.revocation).into(),
            skipped,
        },
        Err(f) => pb::ValidateChainResponse {
            valid: false,
            reason: f.reason.code().to_owned(),
            detail: f.detail.clone(),
            failing_index: f.index.and_then(|i| i32::try_from(i).ok()).unwrap_or(-1),
            path: f.path.iter().map(summary).collect(),
            family: String::new(),
            identity: None,
            revocation: source(o.revocation).into(),
            skipped,
        },
    }
}

/// The engine's algorithm for a proto one.
pub fn algorithm(a: pb::SignatureAlgorithm) -> Option<egide_pki::sig::SignatureAlgorithm> {
    use egide_pki::sig::SignatureAlgorithm as A;
    Some(match a {
        pb::SignatureAlgorithm::Unspecified => return None,
        pb::SignatureAlgorithm::RsaPkcs1Sha256 => A::RsaPkcs1Sha256,
        pb::SignatureAlgorithm::RsaPssSha256 => A::RsaPssSha256,
        pb::SignatureAlgorithm::EcdsaP256Sha256 => A::EcdsaP256Sha256,
        pb::SignatureAlgorithm::EcdsaP384Sha384 => A::EcdsaP384Sha384,
        pb::SignatureAlgorithm::Ed25519 => A::Ed25519,
    })
}

/// The code of a signature refusal.
pub fn signature_reason(r: Reason) -> &'static str {
    match r {
        Reason::UnsupportedAlgorithm => "algorithm_mismatch",
        other => other.code(),
    }
}

/// A CRL's description.
pub fn crl_info(crl: &egide_pki::crl::Crl, source: &str) -> pb::CrlInfo {
    pb::CrlInfo {
        issuer: crl.issuer(),
        this_update: Some(ts(crl.this_update())),
        next_update: crl.next_update().map(ts),
        entries: crl.len() as u64,
        number: crl.number().unwrap_or_default(),
        source: source.to_owned(),
        sha256_hex: crl.sha256_hex(),
    }
}
