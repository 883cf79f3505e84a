//! Device-key login: the happy path, what the tokens say, and every refused proof.

use std::time::Duration;

use egide_attest::{Algorithm, device::DeviceSigner};
use egide_proto::auth::v1 as pb;
use egide_token::Category;
use tonic::Code;

use crate::helpers::{
    CLIENT, Patient, expect_error, next_event_about, sign, spawn_app, violation_fields,
};

#[tokio::test]
async fn a_patient_logs_in_with_the_device_key_and_gets_verifiable_tokens() {
    let app = spawn_app().await;
    let mut events = app.session_events().await;
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let p = Patient::new(alg);
        app.wallet_state(&p, egide_proto::enrolment::v1::WalletState::Active)
            .await;
        app.device(&p, false).await;
        let tokens = egide_testkit::eventually(Duration::from_secs(20), "a login", || async {
            app.login(&p, "openid").await.ok()
        })
        .await;
        assert_eq!(tokens.token_type, "Bearer");
        assert_eq!(tokens.expires_in, 300);
        assert_eq!(
            (tokens.acr.as_str(), tokens.amr.clone()),
            ("eidas2", vec!["hwk".to_owned(), "mfa".to_owned()])
        );
        assert!(tokens.refresh_token.starts_with("egrt_"));
        let claims = app.verify(&tokens.access_token).await;
        assert_eq!(claims.sub, p.wallet_id.to_string());
        assert_eq!(claims.egide_category, Category::Patient);
        assert_eq!(claims.client_id, CLIENT);
        assert_eq!(claims.sid, tokens.session_id);
        assert_eq!(claims.aud, "egide");
        assert_eq!(claims.scope, "openid");
        assert_eq!(claims.cnf, None);
        assert!(claims.exp - claims.iat == 300);
        // The ID token: same key, typ JWT, audience the client, nonce echoed.
        let header = egide_token::decode_header(&tokens.id_token).unwrap();
        assert_eq!(header.typ, "JWT");
        let payload = tokens.id_token.split('.').nth(1).unwrap();
        let id: egide_token::IdClaims = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (id.aud.as_str(), id.nonce.as_str()),
            (CLIENT, "n-0S6_WzA2Mj")
        );
        let (event_type, event) =
            next_event_about(&mut events, &tokens.session_id, Duration::from_secs(10)).await;
        assert_eq!(event_type, "egide.auth.session.started");
        assert_eq!(event.subject_id, p.wallet_id.to_string());
        assert_eq!(event.category(), pb::Category::Patient);
    }
}

#[tokio::test]
async fn without_openid_there_is_no_id_token() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let tokens = app.login(&p, "").await.unwrap();
    assert!(tokens.id_token.is_empty());
}

#[tokio::test]
async fn every_attempt_burns_the_challenge() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    // The right signature twice: the second is a replay.
    let c = app.start(&p, "").await.unwrap();
    app.complete(&c.challenge_id, sign(&p, &c)).await.unwrap();
    expect_error(
        app.complete(&c.challenge_id, sign(&p, &c)).await,
        Code::Unauthenticated,
        "login_failed",
    );
    // A wrong signature, then the right one over the same challenge.
    let c = app.start(&p, "").await.unwrap();
    let thief = DeviceSigner::generate(Algorithm::Es256);
    let forged = thief.sign(b"anything");
    expect_error(
        app.complete(&c.challenge_id, forged).await,
        Code::Unauthenticated,
        "login_failed",
    );
    expect_error(
        app.complete(&c.challenge_id, sign(&p, &c)).await,
        Code::Unauthenticated,
        "login_failed",
    );
    // Garbage instead of a signature.
    let c = app.start(&p, "").await.unwrap();
    expect_error(
        app.complete(&c.challenge_id, vec![0; 300]).await,
        Code::Unauthenticated,
        "login_failed",
    );
}

#[tokio::test]
async fn a_signature_for_another_device_owner_or_client_opens_nothing() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let other = app.enrolled_patient().await;
    // The challenge was asked for p; other's phone signs p's message: not p's key.
    let c = app.start(&p, "").await.unwrap();
    let stolen = Patient {
        wallet_id: p.wallet_id,
        device_id: p.device_id,
        phone: other.phone,
    };
    expect_error(
        app.complete(&c.challenge_id, sign(&stolen, &c)).await,
        Code::Unauthenticated,
        "login_failed",
    );
    // A challenge for a device that does not exist is answered like any other.
    let ghost = Patient::new(Algorithm::Es256);
    let c = app.start(&ghost, "").await.unwrap();
    assert_eq!(c.challenge.len(), 32);
    expect_error(
        app.complete(&c.challenge_id, sign(&ghost, &c)).await,
        Code::Unauthenticated,
        "login_failed",
    );
    // A message signed for another client.
    let c = app.start(&p, "").await.unwrap();
    let for_other_client = p.phone.sign(&egide_attest::login::login_message(
        "device",
        &p.owner_key(),
        &p.device_id.to_string(),
        "egide-cvapp",
        &c.challenge_id,
        &c.challenge,
    ));
    expect_error(
        app.complete(&c.challenge_id, for_other_client).await,
        Code::Unauthenticated,
        "login_failed",
    );
}

#[tokio::test]
async fn an_expired_challenge_is_refused() {
    let app = crate::helpers::spawn_app_with(|c| c.login.challenge_ttl_secs = 10).await;
    let p = app.enrolled_patient().await;
    let c = app.start(&p, "").await.unwrap();
    let expires = egide_kit::events::from_timestamp(c.expires_at.as_ref().unwrap()).unwrap();
    let left = expires - chrono::Utc::now();
    assert!(
        left <= chrono::Duration::seconds(10) && left > chrono::Duration::seconds(5),
        "{left}"
    );
    tokio::time::sleep(Duration::from_millis(10_200)).await;
    expect_error(
        app.complete(&c.challenge_id, sign(&p, &c)).await,
        Code::Unauthenticated,
        "login_failed",
    );
}

#[tokio::test]
async fn malformed_login_requests_get_field_violations() {
    let app = spawn_app().await;
    let mut client = app.client.clone();
    let bad = |client_id: &str, scope: &str, owner: Option<pb::LoginOwner>, device_id: &str| {
        pb::StartLoginRequest {
            client_id: client_id.into(),
            scope: scope.into(),
            means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                owner,
                device_id: device_id.into(),
            })),
        }
    };
    let p = Patient::new(Algorithm::Es256);
    let cases = [
        (
            bad(
                "unknown-client",
                "",
                Some(p.owner()),
                &p.device_id.to_string(),
            ),
            "client_id",
        ),
        (
            bad("egide cli\n", "", Some(p.owner()), &p.device_id.to_string()),
            "client_id",
        ),
        (
            bad(
                CLIENT,
                "open\"id",
                Some(p.owner()),
                &p.device_id.to_string(),
            ),
            "scope",
        ),
        (
            bad(CLIENT, "", None, &p.device_id.to_string()),
            "device.owner",
        ),
        (
            bad(
                CLIENT,
                "",
                Some(pb::LoginOwner {
                    owner: Some(pb::login_owner::Owner::WalletId("w1".into())),
                }),
                &p.device_id.to_string(),
            ),
            "device.owner.wallet_id",
        ),
        (
            bad(
                CLIENT,
                "",
                Some(pb::LoginOwner {
                    owner: Some(pb::login_owner::Owner::IdNatPs("8\n1".into())),
                }),
                &p.device_id.to_string(),
            ),
            "device.owner.id_nat_ps",
        ),
        (
            bad(CLIENT, "", Some(p.owner()), "not-a-uuid"),
            "device.device_id",
        ),
        (
            pb::StartLoginRequest {
                client_id: CLIENT.into(),
                scope: String::new(),
                means: None,
            },
            "means",
        ),
    ];
    for (request, field) in cases {
        let status = expect_error(
            client.start_login(request).await,
            Code::InvalidArgument,
            "invalid_argument",
        );
        assert_eq!(violation_fields(&status), [field]);
    }
    for (request, field) in [
        (
            pb::CompleteLoginRequest {
                challenge_id: "x".into(),
                proof: Some(pb::complete_login_request::Proof::DeviceSignature(vec![1])),
                nonce: String::new(),
            },
            "challenge_id",
        ),
        (
            pb::CompleteLoginRequest {
                challenge_id: uuid::Uuid::now_v7().to_string(),
                proof: None,
                nonce: String::new(),
            },
            "proof",
        ),
        (
            pb::CompleteLoginRequest {
                challenge_id: uuid::Uuid::now_v7().to_string(),
                proof: Some(pb::complete_login_request::Proof::DeviceSignature(vec![1])),
                nonce: "n".repeat(300),
            },
            "nonce",
        ),
    ] {
        let status = expect_error(
            client.complete_login(request).await,
            Code::InvalidArgument,
            "invalid_argument",
        );
        assert_eq!(violation_fields(&status), [field]);
    }
}

#[tokio::test]
async fn a_professional_logs_in_with_the_ecps_device_until_the_ecps_stops() {
    use egide_kit::events::Payload;
    use egide_proto::enrolment::v1 as enrolment;
    let app = spawn_app().await;
    let id_nat_ps = "810001045367";
    let phone = DeviceSigner::generate(Algorithm::Es256);
    let device_id = uuid::Uuid::now_v7();
    let professional = |ecps: enrolment::EcpsState| {
        Payload::ProfessionalChanged(enrolment::ProfessionalChanged {
            id_nat_ps: id_nat_ps.into(),
            import_id: String::new(),
            active: true,
            ecps_state: ecps as i32,
        })
    };
    app.publish(
        "egide.enrolment.professional.ecps_activated",
        professional(enrolment::EcpsState::Active),
    )
    .await;
    let key = phone.device_key();
    app.publish(
        "egide.enrolment.device.registered",
        Payload::DeviceChanged(enrolment::DeviceChanged {
            owner: Some(enrolment::device_changed::Owner::IdNatPs(id_nat_ps.into())),
            ins_digest: String::new(),
            device: Some(enrolment::Device {
                id: device_id.to_string(),
                algorithm: "ES256".into(),
                public_key: key.to_spki_der(),
                thumbprint: key.thumbprint(),
                ..Default::default()
            }),
        }),
    )
    .await;
    let login = || async {
        let mut client = app.client.clone();
        let c = client
            .start_login(pb::StartLoginRequest {
                client_id: CLIENT.into(),
                scope: String::new(),
                means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                    owner: Some(pb::LoginOwner {
                        owner: Some(pb::login_owner::Owner::IdNatPs(id_nat_ps.into())),
                    }),
                    device_id: device_id.to_string(),
                })),
            })
            .await?
            .into_inner();
        let message = egide_attest::login::login_message(
            "device",
            &format!("ps:{id_nat_ps}"),
            &device_id.to_string(),
            CLIENT,
            &c.challenge_id,
            &c.challenge,
        );
        app.complete(&c.challenge_id, phone.sign(&message)).await
    };
    let tokens = egide_testkit::eventually(Duration::from_secs(20), "an e-CPS login", || async {
        login().await.ok()
    })
    .await;
    let claims = app.verify(&tokens.access_token).await;
    assert_eq!(
        (claims.egide_category, claims.sub.as_str()),
        (Category::Professional, id_nat_ps)
    );
    // The e-CPS stops (the directory no longer lists them): its sessions end, logins stop.
    let mut events = app.session_events().await;
    app.publish(
        "egide.enrolment.professional.deactivated",
        Payload::ProfessionalChanged(enrolment::ProfessionalChanged {
            id_nat_ps: id_nat_ps.into(),
            import_id: String::new(),
            active: false,
            ecps_state: enrolment::EcpsState::Inactive as i32,
        }),
    )
    .await;
    let event = crate::helpers::next_event_of(
        &mut events,
        &tokens.session_id,
        "egide.auth.session.revoked",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(event.reason, "professional_deactivated");
    expect_error(login().await, Code::Unauthenticated, "login_failed");
}
