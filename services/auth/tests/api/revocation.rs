//! Sessions die with what they depend on: a suspended or closed wallet, a revoked device.

use std::time::{Duration, Instant};

use egide_proto::enrolment::v1::WalletState;
use tonic::Code;

use crate::helpers::{expect_error, next_event_about, next_event_of, spawn_app};

#[tokio::test]
async fn a_suspension_revokes_every_session_of_the_wallet_and_stops_logins() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let bystander = app.enrolled_patient().await;
    let a = app.login(&p, "").await.unwrap();
    let b = app.login(&p, "").await.unwrap();
    let kept = app.login(&bystander, "").await.unwrap();
    let mut events = app.session_events().await;
    let suspended_at = Instant::now();
    app.wallet_state(&p, WalletState::Suspended).await;
    for session in [&a.session_id, &b.session_id] {
        let (event_type, event) =
            next_event_about(&mut events, session, Duration::from_secs(10)).await;
        assert_eq!(
            (event_type.as_str(), event.reason.as_str()),
            ("egide.auth.session.revoked", "wallet_suspended")
        );
    }
    let took = suspended_at.elapsed();
    eprintln!("suspension → both revocation events: {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    expect_error(
        app.refresh(&a.refresh_token).await,
        Code::Unauthenticated,
        "session_ended",
    );
    expect_error(
        app.login(&p, "").await,
        Code::Unauthenticated,
        "login_failed",
    );
    app.refresh(&kept.refresh_token)
        .await
        .expect("another wallet's session lives on");
    // Reactivated: logins work again; the revoked sessions stay dead.
    app.wallet_state(&p, WalletState::Active).await;
    egide_testkit::eventually(
        Duration::from_secs(10),
        "login after reactivation",
        || async { app.login(&p, "").await.ok() },
    )
    .await;
    expect_error(
        app.refresh(&b.refresh_token).await,
        Code::Unauthenticated,
        "session_ended",
    );
}

#[tokio::test]
async fn a_revoked_device_takes_its_sessions_with_it() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    let mut events = app.session_events().await;
    let tokens = app.login(&p, "").await.unwrap();
    app.device(&p, true).await;
    let event = next_event_of(
        &mut events,
        &tokens.session_id,
        "egide.auth.session.revoked",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(event.reason, "device_revoked");
    expect_error(
        app.login(&p, "").await,
        Code::Unauthenticated,
        "login_failed",
    );
    // A late (replayed) registration never brings the key back.
    app.device(&p, false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    expect_error(
        app.login(&p, "").await,
        Code::Unauthenticated,
        "login_failed",
    );
}

#[tokio::test]
async fn an_older_event_replayed_late_does_not_undo_a_newer_one() {
    let app = spawn_app().await;
    let p = app.enrolled_patient().await;
    app.wallet_state(&p, WalletState::Closed).await;
    egide_testkit::eventually(Duration::from_secs(10), "closure applied", || async {
        app.login(&p, "").await.err()
    })
    .await;
    // An `activated` with an older producer_seq, as a replay after a gap would bring it.
    app.publish_with_seq(
        "egide.enrolment.wallet.activated",
        egide_kit::events::Payload::WalletChanged(egide_proto::enrolment::v1::WalletChanged {
            wallet_id: p.wallet_id.to_string(),
            state: WalletState::Active as i32,
            ..Default::default()
        }),
        1,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    expect_error(
        app.login(&p, "").await,
        Code::Unauthenticated,
        "login_failed",
    );
}
