//! Identity-proofing attestations: every refusal check, the accepted level, a second
//! provider, and the retention of the evidence.

use std::time::Duration;

use chrono::Utc;
use egide_attest::{
    Algorithm, SigningKey,
    attestation::{self, Claims, Level, Method},
};
use egide_enrolment::config::ProviderSettings;
use egide_kit::events::{ActorKind, Payload};
use egide_proto::enrolment::v1::{ConfirmEmailCodeResponse, WalletState};
use egide_sims::proofing::AttestationRequest;
use tonic::Code;

use crate::{
    files::{Person, import_reference},
    helpers::{
        TestApp, error_metadata, eventually, expect_error, sims, spawn_app, spawn_app_with_config,
        violation_fields,
    },
    patient::{Enrolment, attest, attestation_request, confirmed, started, state_of, submit},
};

/// Claims as the simulator would sign them for this enrolment.
fn claims(person: &Person, e: &Enrolment, c: &ConfirmEmailCodeResponse) -> Claims {
    let now = Utc::now().timestamp();
    Claims {
        iss: sims().proofing.issuer().into(),
        aud: c.proofing_audience.clone(),
        sub: e.wallet_id.clone(),
        nonce: c.proofing_nonce.clone(),
        iat: now,
        exp: now + 300,
        txn: format!("test-{}", uuid::Uuid::now_v7().simple()),
        level: Level::Substantial,
        method: Method::FranceIdentite,
        identity: person.attested(),
    }
}

/// Submits `token` and checks it is refused with `check`.
async fn refused(app: &TestApp, e: &Enrolment, token: String, check: &str) -> tonic::Status {
    let status = expect_error(
        submit(app, &e.wallet_id, token).await,
        Code::PermissionDenied,
        "attestation_invalid",
    );
    assert_eq!(
        error_metadata(&status, "check").as_deref(),
        Some(check),
        "{status:?}"
    );
    status
}

#[tokio::test]
async fn every_bad_attestation_is_refused_with_its_check_and_the_enrolment_still_waits() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let (e, c) = confirmed(&app, &zoe).await;
    let good = attestation_request(&zoe, &e.wallet_id, &c);
    let now = Utc::now().timestamp();
    let rogue = SigningKey::generate(Algorithm::Es256);

    refused(&app, &e, "not-a-jws".into(), "malformed").await;
    refused(&app, &e, "e".repeat(17 * 1024), "too_large").await;
    let forged = attestation::sign(&claims(&zoe, &e, &c), &rogue, sims().proofing.kid()).unwrap();
    refused(&app, &e, forged, "bad_signature").await;
    let foreign = Claims {
        iss: "https://rogue.example.test".into(),
        ..claims(&zoe, &e, &c)
    };
    refused(
        &app,
        &e,
        attestation::sign(&foreign, &rogue, "rogue-1").unwrap(),
        "unknown_issuer",
    )
    .await;
    let other_kid = attestation::sign(&claims(&zoe, &e, &c), &rogue, "sim-2").unwrap();
    refused(&app, &e, other_kid, "unknown_key").await;

    let cases: Vec<(AttestationRequest, &str)> = vec![
        (
            AttestationRequest {
                audience: "another-service".into(),
                ..good.clone()
            },
            "wrong_audience",
        ),
        (
            AttestationRequest {
                issued_at: Some(now - 400),
                ttl_secs: Some(3600),
                ..good.clone()
            },
            "stale",
        ),
        (
            AttestationRequest {
                issued_at: Some(now - 200),
                ttl_secs: Some(60),
                ..good.clone()
            },
            "expired",
        ),
        (
            AttestationRequest {
                issued_at: Some(now + 600),
                ..good.clone()
            },
            "not_yet_valid",
        ),
        (
            AttestationRequest {
                nonce: "a-nonce-of-another-step".into(),
                ..good.clone()
            },
            "wrong_nonce",
        ),
        (
            AttestationRequest {
                subject: uuid::Uuid::now_v7().to_string(),
                ..good.clone()
            },
            "wrong_subject",
        ),
    ];
    for (request, check) in cases {
        refused(&app, &e, attest(&request).await, check).await;
    }
    let impostor = Person {
        birth_name: "ADRUNE",
        birth_date: "1975-12-02",
        ..zoe.clone()
    };
    let status = refused(
        &app,
        &e,
        attest(&attestation_request(&impostor, &e.wallet_id, &c)).await,
        "identity_mismatch",
    )
    .await;
    assert_eq!(
        violation_fields(&status),
        [
            "attestation.identity.birth_name",
            "attestation.identity.birth_date"
        ]
    );
    assert!(
        !format!("{status:?}").contains("1975-12-01"),
        "no reference trait in the answer"
    );

    // Nothing was recorded; the right attestation still goes through.
    assert_eq!(
        state_of(&app, &e.wallet_id).await,
        WalletState::PendingProofing
    );
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM proofing_evidence").await,
        0
    );
    assert!(
        app.events_of("egide.enrolment.wallet.proofed")
            .await
            .is_empty()
    );
    let token = attest(&good).await;
    let proofed = submit(&app, &e.wallet_id, token.clone())
        .await
        .expect("the good one");
    assert_eq!(
        proofed.wallet.map(|w| w.state()),
        Some(WalletState::PendingDevice)
    );
    // Its nonce is burnt: a replay finds the enrolment past that step.
    expect_error(
        submit(&app, &e.wallet_id, token).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
}

#[tokio::test]
async fn an_attestation_before_the_email_is_confirmed_is_out_of_order() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let e = started(&app, &zoe).await;
    let early = AttestationRequest {
        subject: e.wallet_id.clone(),
        nonce: "no-nonce-issued-yet".into(),
        audience: "egide-enrolment".into(),
        level: None,
        method: None,
        identity: zoe.attested(),
        issued_at: None,
        ttl_secs: None,
    };
    expect_error(
        submit(&app, &e.wallet_id, attest(&early).await).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    expect_error(
        submit(&app, &e.wallet_id, String::new()).await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(
        state_of(&app, &e.wallet_id).await,
        WalletState::PendingEmail
    );
}

#[tokio::test]
async fn a_level_below_the_configured_minimum_is_refused() {
    let app = spawn_app_with_config(|c| c.proofing.min_level = "high".into()).await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let (e, c) = confirmed(&app, &zoe).await;
    let substantial = attestation_request(&zoe, &e.wallet_id, &c);
    refused(&app, &e, attest(&substantial).await, "level_too_low").await;
    assert_eq!(
        state_of(&app, &e.wallet_id).await,
        WalletState::PendingProofing
    );

    let high = AttestationRequest {
        level: Some(Level::High),
        method: Some(Method::InPerson),
        ..substantial
    };
    let wallet = submit(&app, &e.wallet_id, attest(&high).await)
        .await
        .expect("high is enough")
        .wallet
        .unwrap();
    let proofing = wallet.proofing.expect("proofing");
    assert_eq!(
        (proofing.level.as_str(), proofing.method.as_str()),
        ("high", "in_person")
    );
}

#[tokio::test]
async fn a_second_trusted_provider_with_an_ed25519_key_is_accepted() {
    const ISSUER: &str = "https://video-proofing.example.test";
    let key = SigningKey::generate(Algorithm::EdDsa);
    let pem = key.verifying_key().to_public_key_pem();
    let app = spawn_app_with_config(|c| {
        c.proofing.providers.push(ProviderSettings {
            issuer: ISSUER.into(),
            kid: "video-2026".into(),
            public_key_pem: pem,
            public_key_file: String::new(),
        });
    })
    .await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let (e, c) = confirmed(&app, &zoe).await;
    let claims = Claims {
        iss: ISSUER.into(),
        method: Method::VideoSelfie,
        ..claims(&zoe, &e, &c)
    };

    // The simulator's key id is not one of this provider's.
    refused(
        &app,
        &e,
        attestation::sign(&claims, &key, sims().proofing.kid()).unwrap(),
        "unknown_key",
    )
    .await;
    let token = attestation::sign(&claims, &key, "video-2026").unwrap();
    let wallet = submit(&app, &e.wallet_id, token)
        .await
        .expect("accepted")
        .wallet
        .unwrap();
    let proofing = wallet.proofing.expect("proofing");
    assert_eq!(
        (
            proofing.provider.as_str(),
            proofing.level.as_str(),
            proofing.method.as_str()
        ),
        (ISSUER, "substantial", "video_selfie")
    );
    let stored = app
        .sql_text("SELECT transaction FROM proofing_evidence")
        .await;
    assert_eq!(stored, claims.txn);
}

#[tokio::test]
async fn proofing_evidence_is_kept_for_the_retention_period_then_purged() {
    let app = spawn_app_with_config(|c| c.proofing.purge_every_secs = 1).await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let (e, c) = confirmed(&app, &zoe).await;
    let token = attest(&attestation_request(&zoe, &e.wallet_id, &c)).await;
    submit(&app, &e.wallet_id, token.clone())
        .await
        .expect("proven");

    // One row, kept 90 days (R161-33-18: within 3 months), holding the attestation.
    let sql = format!(
        "SELECT count(*) FROM proofing_evidence WHERE wallet_id = '{}' AND attestation = '{token}' \
         AND provider = '{}' AND transaction LIKE 'sim-%' AND purge_at = received_at + interval '90 days' \
         AND received_at > now() - interval '1 minute'",
        e.wallet_id,
        sims().proofing.issuer()
    );
    assert_eq!(app.sql_i64(&sql).await, 1);

    // Once due, the retention job removes it and says so.
    app.sql("UPDATE proofing_evidence SET purge_at = now() - interval '1 second'")
        .await;
    eventually(Duration::from_secs(10), "evidence purged", || async {
        (app.sql_i64("SELECT count(*) FROM proofing_evidence").await == 0).then_some(())
    })
    .await;
    let purged = app
        .events_of("egide.enrolment.wallet.evidence_purged")
        .await;
    assert_eq!(purged.len(), 1);
    let envelope = &purged[0].envelope;
    assert_eq!(
        envelope.actor.as_ref().and_then(|a| a.kind.clone()),
        Some(ActorKind::Service("enrolment".into()))
    );
    match &envelope.payload {
        Some(Payload::WalletChanged(w)) => {
            assert_eq!(w.wallet_id, e.wallet_id);
            assert_eq!(w.state(), WalletState::PendingDevice);
        }
        other => panic!("{other:?}"),
    }
    // The wallet itself keeps how it was proven.
    assert_eq!(
        state_of(&app, &e.wallet_id).await,
        WalletState::PendingDevice
    );
    assert!(
        crate::patient::get_wallet(&app, &e.wallet_id)
            .await
            .proofing
            .is_some()
    );
}
