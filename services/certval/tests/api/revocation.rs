//! Revocation: by operator (event + Vault), across replicas, CRLs, OCSP, unknown status.

use std::time::{Duration, Instant};

use egide_certval::config::UnknownStatus;
use egide_kit::events::{EventEnvelope, Payload};
use egide_proto::certval::v1::{
    ListCrlsRequest, RevocationSource, RevokeCertificateRequest, SubmitCrlRequest,
};
use futures::StreamExt as _;
use prost::Message as _;
use tonic::Code;

use crate::helpers::{reason, spawn, spawn_on, spawn_with, structure, vault};

fn revoke_request(cert: &[u8]) -> RevokeCertificateRequest {
    RevokeCertificateRequest {
        certificate: cert.to_vec(),
        reason: "key_compromise".into(),
        ..Default::default()
    }
}

/// `message` from an operator logged in with two factors, as the gateway forwards it.
fn as_operator<T>(message: T) -> tonic::Request<T> {
    egide_kit::caller::PersonCaller::test_operator("op-test").request(message)
}

#[tokio::test]
async fn a_revocation_reaches_every_replica_within_a_second() {
    let a = spawn().await;
    let b = spawn_on(a.db_url.clone(), |_| {}).await;
    let cred = structure().await;
    for app in [&a, &b] {
        let r = app.validate(&cred, "structure-client-auth").await;
        assert!(r.valid, "{}", r.reason);
    }
    let nats = async_nats::connect(egide_testkit::shared().nats.url())
        .await
        .unwrap();
    let mut events = nats
        .subscribe("egide.certval.certificate.revoked")
        .await
        .unwrap();

    let started = Instant::now();
    let answer = a
        .client
        .clone()
        .revoke_certificate(as_operator(revoke_request(&cred.issued.certificate)))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.newly_revoked);
    // The replica that took the call refuses at once (its cached answer is dropped)...
    let r = a.validate(&cred, "structure-client-auth").await;
    assert_eq!(r.reason, "revoked");
    assert_eq!(r.revocation, RevocationSource::Event as i32);
    // ...and the other one as soon as the event reaches it.
    loop {
        let r = b.validate(&cred, "structure-client-auth").await;
        if r.reason == "revoked" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "replica b still says {:?} after 1 s",
            r.reason
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "revocation reached the second replica in {:?}",
        started.elapsed()
    );

    // The event, with the issuer key and serial.
    let serial = egide_pki::Certificate::from_der(cred.issued.certificate.clone())
        .unwrap()
        .serial_hex();
    let event = loop {
        let m = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
            .unwrap();
        let envelope = EventEnvelope::decode(m.payload.as_ref()).unwrap();
        if let Some(Payload::CertificateRevoked(e)) = envelope.payload
            && e.serial_hex == serial
        {
            break e;
        }
    };
    assert_eq!(event.reason, "key_compromise");
    assert!(!event.certificate_sha256.is_empty());

    // Twice is not an error, and publishes nothing new.
    let again = a
        .client
        .clone()
        .revoke_certificate(as_operator(revoke_request(&cred.issued.certificate)))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.newly_revoked);

    // The dev PKI's own CRL says so too (revoked in the Vault mount).
    let crl = egide_devpki::crl_der(&vault(), &cred.issued.mount)
        .await
        .unwrap();
    let ca = egide_pki::Certificate::from_der(cred.issued.intermediates[0].clone()).unwrap();
    let crl = egide_pki::crl::Crl::parse_verified(&crl, &ca).unwrap();
    let cert = egide_pki::Certificate::from_der(cred.issued.certificate.clone()).unwrap();
    assert!(
        crl.revoked(cert.serial()).is_some(),
        "Vault's CRL does not list the serial"
    );

    // A replica started afterwards reads it from the database.
    let c = spawn_on(a.db_url.clone(), |_| {}).await;
    assert_eq!(
        c.validate(&cred, "structure-client-auth").await.reason,
        "revoked"
    );
}

#[tokio::test]
async fn revocation_requests_are_checked() {
    let app = spawn().await;
    let status = app
        .client
        .clone()
        .revoke_certificate(as_operator(RevokeCertificateRequest {
            serial_hex: "zz".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = app
        .client
        .clone()
        .revoke_certificate(as_operator(RevokeCertificateRequest {
            serial_hex: "01".into(),
            issuer_name_sha256: "ab".repeat(32),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status).as_deref(), Some("unknown_issuer"));
    let cred = structure().await;
    let status = app
        .client
        .clone()
        .revoke_certificate(as_operator(RevokeCertificateRequest {
            reason: "because".into(),
            ..revoke_request(&cred.issued.certificate)
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

/// Revoking is an operator's act, recorded under the verified operator: nobody, a patient
/// or an operator without a second factor is refused before anything is looked at.
#[tokio::test]
async fn only_an_operator_with_two_factors_revokes() {
    use egide_kit::caller::{Category, PersonCaller};
    let app = spawn().await;
    let cred = structure().await;
    let request = || revoke_request(&cred.issued.certificate);
    let patient = PersonCaller {
        category: Category::Patient,
        subject: "0190f1c2-0000-7000-8000-000000000001".into(),
        amr: vec!["hwk".into(), "mfa".into()],
        ..PersonCaller::test_operator("x")
    };
    let password_only = PersonCaller {
        amr: vec!["pwd".into()],
        ..PersonCaller::test_operator("op-weak")
    };
    for refused in [
        tonic::Request::new(request()),
        patient.request(request()),
        password_only.request(request()),
    ] {
        let status = app
            .client
            .clone()
            .revoke_certificate(refused)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(reason(&status).as_deref(), Some("operator_required"));
    }
    let done = app
        .client
        .clone()
        .revoke_certificate(as_operator(request()))
        .await
        .unwrap()
        .into_inner();
    assert!(done.newly_revoked);
    use sea_orm::ConnectionTrait as _;
    let db = sea_orm::Database::connect(app.db_url.as_str())
        .await
        .unwrap();
    let row = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT operator_id FROM revocations WHERE serial_hex = $1",
            [done.revocation.unwrap().serial_hex.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let by: String = row.try_get("", "operator_id").unwrap();
    assert_eq!(by, "op-test");
}

#[tokio::test]
async fn a_submitted_crl_is_checked_and_kept() {
    let app = spawn().await;
    let cred = structure().await;
    let der = egide_devpki::crl_der(&vault(), &cred.issued.mount)
        .await
        .unwrap();
    let info = app
        .client
        .clone()
        .submit_crl(SubmitCrlRequest { crl: der.clone() })
        .await
        .unwrap()
        .into_inner()
        .crl
        .unwrap();
    assert!(info.issuer.contains("ORGANISATIONS"), "{}", info.issuer);
    assert_eq!(info.source, "submitted");
    let status = app
        .client
        .clone()
        .submit_crl(SubmitCrlRequest { crl: der.clone() })
        .await
        .unwrap_err();
    assert_eq!(reason(&status).as_deref(), Some("stale_crl"));
    let crls = app
        .client
        .clone()
        .list_crls(ListCrlsRequest {})
        .await
        .unwrap()
        .into_inner()
        .crls;
    assert!(crls.iter().any(|c| c.sha256_hex == info.sha256_hex));
    let status = app
        .client
        .clone()
        .submit_crl(SubmitCrlRequest {
            crl: b"garbage".to_vec(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status).as_deref(), Some("malformed_crl"));
    // A CRL signed by someone else: its issuer is no trusted CA.
    let mut tampered = der.clone();
    let n = tampered.len();
    tampered[n - 5] ^= 1;
    let status = app
        .client
        .clone()
        .submit_crl(SubmitCrlRequest { crl: tampered })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn without_crls_the_ocsp_responder_answers() {
    let app = spawn_with(|c| c.revocation.fetch_crls = false).await;
    let cred = structure().await;
    let r = app.validate(&cred, "structure-client-auth").await;
    assert!(r.valid, "{} {}", r.reason, r.detail);
    assert_eq!(r.revocation, RevocationSource::Ocsp as i32);
}

#[tokio::test]
async fn an_unknown_status_fails_closed_unless_allowed() {
    let closed = spawn_with(|c| {
        c.revocation.fetch_crls = false;
        c.revocation.ocsp = false;
    })
    .await;
    let cred = structure().await;
    let r = closed.validate(&cred, "structure-client-auth").await;
    assert!(!r.valid);
    assert_eq!(r.reason, "revocation_unknown");
    let open = spawn_with(|c| {
        c.revocation.fetch_crls = false;
        c.revocation.ocsp = false;
        c.revocation.unknown = UnknownStatus::Allow;
    })
    .await;
    let r = open.validate(&cred, "structure-client-auth").await;
    assert!(r.valid, "{}", r.reason);
    assert_eq!(r.revocation, RevocationSource::None as i32);
}
