//! Refresh rotation, reuse detection, logout, session limits.

use std::time::Duration;

use egide_proto::auth::v1 as pb;
use tonic::Code;

use crate::helpers::{expect_error, next_event_about, spawn_app, spawn_app_with};

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replayed_one_revokes_the_session() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let mut events = app.session_events().await;
    let first = app.login(&p, "").await.unwrap();
    let second = app.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.session_id, first.session_id);
    let claims = app.verify(&second.access_token).await;
    assert_eq!(claims.sid, first.session_id);
    assert_eq!(
        next_event_about(&mut events, &first.session_id, Duration::from_secs(10))
            .await
            .0,
        "egide.auth.session.started"
    );
    assert_eq!(
        next_event_about(&mut events, &first.session_id, Duration::from_secs(10))
            .await
            .0,
        "egide.auth.session.refreshed"
    );
    // The spent token again: a thief or a confused client. The whole family dies.
    expect_error(
        app.refresh(&first.refresh_token).await,
        Code::Unauthenticated,
        "refresh_invalid",
    );
    let (event_type, event) =
        next_event_about(&mut events, &first.session_id, Duration::from_secs(10)).await;
    assert_eq!(
        (event_type.as_str(), event.reason.as_str()),
        ("egide.auth.session.revoked", "refresh_reuse")
    );
    assert!(event.tokens_expire_by.is_some());
    expect_error(
        app.refresh(&second.refresh_token).await,
        Code::Unauthenticated,
        "session_ended",
    );
    expect_error(
        app.refresh("egrt_never-issued").await,
        Code::Unauthenticated,
        "refresh_invalid",
    );
}

#[tokio::test]
async fn a_refresh_token_works_only_for_its_client() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let tokens = app.login(&p, "").await.unwrap();
    let other_client = app
        .client
        .clone()
        .refresh_session(pb::RefreshSessionRequest {
            refresh_token: tokens.refresh_token.clone(),
            client_id: "egide-cvapp".into(),
        })
        .await;
    expect_error(other_client, Code::Unauthenticated, "client_mismatch");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let mut events = app.session_events().await;
    let tokens = app.login(&p, "").await.unwrap();
    let mut client = app.client.clone();
    client
        .end_session(pb::EndSessionRequest {
            refresh_token: tokens.refresh_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, started) =
        next_event_about(&mut events, &tokens.session_id, Duration::from_secs(10)).await;
    assert!(started.reason.is_empty());
    let (event_type, ended) =
        next_event_about(&mut events, &tokens.session_id, Duration::from_secs(10)).await;
    assert_eq!(
        (event_type.as_str(), ended.reason.as_str()),
        ("egide.auth.session.ended", "logout")
    );
    expect_error(
        app.refresh(&tokens.refresh_token).await,
        Code::Unauthenticated,
        "session_ended",
    );
    // Logging out twice, or with a token never issued, is not an error (RFC 7009).
    client
        .end_session(pb::EndSessionRequest {
            refresh_token: tokens.refresh_token,
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .end_session(pb::EndSessionRequest {
            refresh_token: "egrt_x".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let empty = client
        .end_session(pb::EndSessionRequest {
            refresh_token: String::new(),
            ..Default::default()
        })
        .await;
    expect_error(empty, Code::InvalidArgument, "invalid_argument");
}

/// RFC 7009 §2.1: a client ends only the sessions issued to it; the gateway ends the
/// session of an access token it verified by passing its person, with no refresh token.
#[tokio::test]
async fn a_session_ends_for_its_own_client_or_its_verified_person() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let tokens = app.login(&p, "").await.unwrap();
    let mut client = app.client.clone();
    let other_client = client
        .end_session(pb::EndSessionRequest {
            refresh_token: tokens.refresh_token.clone(),
            client_id: "someone-else".into(),
        })
        .await;
    expect_error(other_client, Code::PermissionDenied, "client_mismatch");
    app.refresh(&tokens.refresh_token)
        .await
        .expect("still live");

    let tokens = app.login(&p, "").await.unwrap();
    let person = egide_kit::caller::PersonCaller {
        category: egide_kit::caller::Category::Patient,
        subject: p.wallet_id.to_string(),
        acr: tokens.acr.clone(),
        amr: tokens.amr.clone(),
        session_id: tokens.session_id.clone(),
        client_id: crate::helpers::CLIENT.into(),
        auth_time: chrono::Utc::now().timestamp(),
    };
    client
        .end_session(person.request(pb::EndSessionRequest {
            client_id: crate::helpers::CLIENT.into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    expect_error(
        app.refresh(&tokens.refresh_token).await,
        Code::Unauthenticated,
        "session_ended",
    );
}

#[tokio::test]
async fn an_idle_session_ends() {
    let app = spawn_app_with(|c| {
        c.sessions.idle_secs = 2;
        c.sessions.lifetime_secs = 60;
    })
    .await;
    let p = app.enrolled_patient().await;
    let mut events = app.session_events().await;
    let tokens = app.login(&p, "").await.unwrap();
    let tokens = app.refresh(&tokens.refresh_token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    expect_error(
        app.refresh(&tokens.refresh_token).await,
        Code::Unauthenticated,
        "session_ended",
    );
    let mut last = None;
    for _ in 0..3 {
        last =
            Some(next_event_about(&mut events, &tokens.session_id, Duration::from_secs(10)).await);
    }
    let (event_type, event) = last.unwrap();
    assert_eq!(
        (event_type.as_str(), event.reason.as_str()),
        ("egide.auth.session.ended", "idle")
    );
}

/// `message` as the gateway forwards it from a client whose certificate has SHA-256 `sha256`.
fn with_cert<T>(sha256: &str, message: T) -> tonic::Request<T> {
    use tonic::metadata::{AsciiMetadataValue, BinaryMetadataValue};
    let mut request = tonic::Request::new(message);
    let m = request.metadata_mut();
    m.insert(
        egide_kit::caller::STRUCTURE_ID,
        AsciiMetadataValue::from_static("1010003374"),
    );
    m.insert_bin(
        egide_kit::caller::STRUCTURE_ORGANISATION,
        BinaryMetadataValue::from_bytes(b"CH"),
    );
    m.insert_bin(
        egide_kit::caller::STRUCTURE_APPLICATION,
        BinaryMetadataValue::from_bytes(b"DPI"),
    );
    m.insert(
        egide_kit::caller::CLIENT_CERT_SHA256,
        sha256.parse().unwrap(),
    );
    request
}

#[tokio::test]
async fn a_session_bound_to_a_client_certificate_refreshes_only_with_it() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let cert = "ab".repeat(32);
    let other = "cd".repeat(32);
    // A device login whose two steps come from the certificates `start` and `complete`.
    let login = |start: &str, complete: &str| {
        let (start, complete) = (start.to_owned(), complete.to_owned());
        let (mut client, p) = (app.client.clone(), &p);
        async move {
            let c = client
                .start_login(with_cert(
                    &start,
                    pb::StartLoginRequest {
                        client_id: crate::helpers::CLIENT.into(),
                        scope: String::new(),
                        means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                            owner: Some(p.owner()),
                            device_id: p.device_id.to_string(),
                        })),
                    },
                ))
                .await?
                .into_inner();
            client
                .complete_login(with_cert(
                    &complete,
                    pb::CompleteLoginRequest {
                        challenge_id: c.challenge_id.clone(),
                        proof: Some(pb::complete_login_request::Proof::DeviceSignature(
                            crate::helpers::sign(p, &c),
                        )),
                        nonce: String::new(),
                    },
                ))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    // Completing from another certificate burns the challenge and opens nothing.
    expect_error(
        login(&cert, &other).await,
        Code::Unauthenticated,
        "login_failed",
    );
    let tokens = login(&cert, &cert).await.unwrap();
    let bound = app.verify(&tokens.access_token).await.cnf.expect("cnf");
    assert_eq!(bound.x5t_s256.len(), 43);
    let refresh = |sha256: Option<&str>| {
        let message = pb::RefreshSessionRequest {
            refresh_token: tokens.refresh_token.clone(),
            client_id: crate::helpers::CLIENT.into(),
        };
        let request = match sha256 {
            Some(s) => with_cert(s, message),
            None => tonic::Request::new(message),
        };
        let mut client = app.client.clone();
        async move { client.refresh_session(request).await }
    };
    expect_error(
        refresh(None).await,
        Code::Unauthenticated,
        "client_mismatch",
    );
    expect_error(
        refresh(Some(&other)).await,
        Code::Unauthenticated,
        "client_mismatch",
    );
    refresh(Some(&cert))
        .await
        .expect("the bound certificate refreshes");
}
