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
        })
        .await
        .unwrap();
    client
        .end_session(pb::EndSessionRequest {
            refresh_token: "egrt_x".into(),
        })
        .await
        .unwrap();
    let empty = client
        .end_session(pb::EndSessionRequest {
            refresh_token: String::new(),
        })
        .await;
    expect_error(empty, Code::InvalidArgument, "invalid_argument");
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
