//! Certificate validation end to end: the gateway requires hospital software's ORG
//! AUTH_CLI certificates and validates them through certval, which trusts the dev PKI in
//! OpenBao; a revocation reaches the gateway within a second.
//!
//! Needs the binaries: `cargo build --bins` first (`make test` does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use egide_e2e::{Options, Platform, Service};
use egide_proto::certval::v1::{
    ListTrustAnchorsRequest, RevokeCertificateRequest,
    certificate_validation_service_client::CertificateValidationServiceClient,
};
use tonic::{Code, transport::Channel};

fn certval(channel: Channel) -> CertificateValidationServiceClient<Channel> {
    CertificateValidationServiceClient::new(channel)
}

async fn anchors(channel: Channel) -> Result<usize, tonic::Status> {
    certval(channel)
        .list_trust_anchors(ListTrustAnchorsRequest {})
        .await
        .map(|r| r.into_inner().anchors.len())
}

fn cause(status: &tonic::Status) -> (Option<String>, String) {
    let details = tonic_types::StatusExt::get_error_details(status);
    let info = details.error_info();
    (
        info.map(|i| i.reason.clone()),
        info.and_then(|i| i.metadata.get("cause").cloned())
            .unwrap_or_default(),
    )
}

#[tokio::test]
async fn the_gateway_admits_valid_structure_certificates_and_refuses_revoked_ones_within_a_second()
{
    let platform = Platform::start(Options {
        services: vec![Service::Certval, Service::Auth, Service::Audit],
        gateway: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let pki = platform.pki().unwrap();
    let operator = egide_e2e::patient::operator_session(&platform)
        .await
        .unwrap();

    // The platform's own client presents its certificate: admitted.
    assert_eq!(
        anchors(platform.channel(Service::Gateway).unwrap())
            .await
            .unwrap(),
        4
    );

    // No certificate: refused with a reason.
    let anonymous = platform.gateway_channel_as(None).unwrap();
    let status = anchors(anonymous).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        cause(&status).0.as_deref(),
        Some("client_certificate_required")
    );

    // A second piece of hospital software, admitted, then revoked.
    let (credential, dir) = pki.issue_structure_files("dpi-revoked").await.unwrap();
    let software = platform.gateway_channel_as(Some(&dir)).unwrap();
    assert_eq!(anchors(software.clone()).await.unwrap(), 4);
    let started = Instant::now();
    certval(platform.channel(Service::Gateway).unwrap())
        .revoke_certificate(
            egide_e2e::patient::with_bearer(
                &operator.access_token,
                RevokeCertificateRequest {
                    certificate: credential.issued.certificate.clone(),
                    reason: "key_compromise".into(),
                    ..Default::default()
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let refused_after = loop {
        match anchors(software.clone()).await {
            Ok(_) => {
                assert!(
                    started.elapsed() < Duration::from_secs(1),
                    "the revoked certificate still passes after 1 s"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
                assert_eq!(
                    cause(&status),
                    (Some("client_certificate_invalid".into()), "revoked".into())
                );
                break started.elapsed();
            }
        }
    };
    println!("revocation → refusal at the gateway: {refused_after:?}");
    assert!(refused_after < Duration::from_secs(1));
    // The platform's own certificate is unaffected.
    assert_eq!(
        anchors(platform.channel(Service::Gateway).unwrap())
            .await
            .unwrap(),
        4
    );
}
