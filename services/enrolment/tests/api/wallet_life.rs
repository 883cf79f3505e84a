//! The life of a wallet after enrolment: suspension and reactivation by the patient or an
//! operator, closing, and the expiry of abandoned enrolments.

use egide_attest::{Algorithm, device::DeviceSigner};
use egide_kit::events::{ActorKind, Payload};
use egide_proto::enrolment::v1::WalletState;
use tonic::Code;

use crate::{
    files::{Person, import_reference},
    helpers::{
        TestApp, expect_error, spawn_app, spawn_app_with_config, unique_email, violation_fields,
        wait_until_past,
    },
    patient::{
        self, Enrolment, active, add_device, challenge, close, code_sent_to, confirm, get_wallet,
        operator, patient_requester, proven, reactivate, start, started, state_of, suspend,
        wallet_owner,
    },
};

/// The actor and payload of the last event of `event_type`.
async fn last(app: &TestApp, event_type: &str) -> (Option<ActorKind>, Payload) {
    let e = app
        .events_of(event_type)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no {event_type}"));
    (
        e.envelope.actor.and_then(|a| a.kind),
        e.envelope.payload.expect("payload"),
    )
}

#[tokio::test]
async fn suspension_and_reactivation_by_patient_and_operator_are_recorded() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let (Enrolment { wallet_id: id, .. }, _) = active(&app, &Person::zoe()).await;

    let w = suspend(&app, &id, "lost_phone", patient_requester())
        .await
        .expect("suspended");
    assert_eq!(
        (
            w.state(),
            w.suspension_reason.as_str(),
            w.suspended_by.as_str()
        ),
        (WalletState::Suspended, "lost_phone", "patient")
    );
    let (actor, payload) = last(&app, "egide.enrolment.wallet.suspended").await;
    assert!(
        matches!(actor, Some(ActorKind::PatientInsDigest(_))),
        "{actor:?}"
    );
    let Payload::WalletChanged(p) = payload else {
        panic!("{payload:?}")
    };
    assert_eq!(
        (p.state(), p.reason.as_str(), p.by.as_str()),
        (WalletState::Suspended, "lost_phone", "patient")
    );
    // No new device while suspended.
    expect_error(
        challenge(&app, &wallet_owner(&id)).await,
        Code::FailedPrecondition,
        "wrong_state",
    );

    let w = reactivate(&app, &id, operator("op-cpam-35"))
        .await
        .expect("reactivated");
    assert_eq!(
        (
            w.state(),
            w.suspension_reason.as_str(),
            w.suspended_by.as_str()
        ),
        (WalletState::Active, "", "")
    );
    let (actor, _) = last(&app, "egide.enrolment.wallet.reactivated").await;
    assert_eq!(actor, Some(ActorKind::Operator("op-cpam-35".into())));

    let w = suspend(&app, &id, "fraud_suspicion", operator("op-cpam-35"))
        .await
        .expect("suspended");
    assert_eq!(w.suspended_by, "operator:op-cpam-35");
    assert_eq!(
        get_wallet(&app, &id).await.suspended_by,
        "operator:op-cpam-35"
    );
    let (actor, payload) = last(&app, "egide.enrolment.wallet.suspended").await;
    assert_eq!(actor, Some(ActorKind::Operator("op-cpam-35".into())));
    let Payload::WalletChanged(p) = payload else {
        panic!("{payload:?}")
    };
    assert_eq!(
        (p.reason.as_str(), p.by.as_str()),
        ("fraud_suspicion", "operator:op-cpam-35")
    );
    // The patient cannot lift a suspension (a stolen phone must not reactivate itself).
    expect_error(
        reactivate(&app, &id, patient_requester()).await,
        Code::PermissionDenied,
        "operator_required",
    );
    assert_eq!(state_of(&app, &id).await, WalletState::Suspended);
    let w = reactivate(&app, &id, operator("op-cpam-35"))
        .await
        .expect("reactivated by an operator");
    assert_eq!(w.state(), WalletState::Active);

    // A verified caller is required (the gateway's), and a reason.
    expect_error(
        suspend(&app, &id, "lost_phone", None).await,
        Code::PermissionDenied,
        "person_required",
    );
    let status = expect_error(
        suspend(&app, &id, " ", patient_requester()).await,
        Code::InvalidArgument,
        "invalid_argument",
    );
    assert_eq!(violation_fields(&status), ["reason"]);
    assert_eq!(state_of(&app, &id).await, WalletState::Active);
}

#[tokio::test]
async fn transitions_from_the_wrong_state_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let pending = started(&app, &Person::zoe()).await;
    let (active_wallet, _) = active(&app, &Person::paul()).await;
    let before = app.events().await.len();

    expect_error(
        suspend(&app, &pending.wallet_id, "lost_phone", patient_requester()).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    expect_error(
        reactivate(&app, &active_wallet.wallet_id, operator("op-1")).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    expect_error(
        reactivate(&app, &pending.wallet_id, operator("op-1")).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    assert_eq!(
        app.events().await.len(),
        before,
        "no event for a refused transition"
    );
    assert_eq!(
        state_of(&app, &pending.wallet_id).await,
        WalletState::PendingEmail
    );
    assert_eq!(
        state_of(&app, &active_wallet.wallet_id).await,
        WalletState::Active
    );

    // A pending enrolment may be abandoned; a closed wallet stays closed.
    let closed = close(&app, &pending.wallet_id, patient_requester())
        .await
        .expect("closed");
    assert_eq!(closed.state(), WalletState::Closed);
    expect_error(
        close(&app, &pending.wallet_id, patient_requester()).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    expect_error(
        reactivate(&app, &pending.wallet_id, operator("op-1")).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    expect_error(
        confirm(&app, &pending.wallet_id, "123456").await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    expect_error(
        close(&app, &unknown, patient_requester()).await,
        Code::NotFound,
        "wallet_not_found",
    );
}

#[tokio::test]
async fn closing_revokes_every_device_with_one_event_each() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let (e, first) = active(&app, &Person::zoe()).await;
    let owner = wallet_owner(&e.wallet_id);
    add_device(
        &app,
        &owner,
        &DeviceSigner::generate(Algorithm::EdDsa),
        &first,
    )
    .await
    .expect("second device");

    let closed = close(&app, &e.wallet_id, operator("op-cpam-35"))
        .await
        .expect("closed");
    assert_eq!(closed.state(), WalletState::Closed);
    assert_eq!(closed.devices.len(), 2);
    assert!(
        closed.devices.iter().all(|d| d.revoked_at.is_some()),
        "{:?}",
        closed.devices
    );
    let revoked = app.events_of("egide.enrolment.device.revoked").await;
    assert_eq!(revoked.len(), 2);
    for r in &revoked {
        assert_eq!(
            r.envelope.actor.as_ref().and_then(|a| a.kind.clone()),
            Some(ActorKind::Operator("op-cpam-35".into()))
        );
    }
    let (actor, _) = last(&app, "egide.enrolment.wallet.closed").await;
    assert_eq!(actor, Some(ActorKind::Operator("op-cpam-35".into())));
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM devices WHERE revoked_at IS NULL")
            .await,
        0
    );
    expect_error(
        challenge(&app, &owner).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
}

#[tokio::test]
async fn a_pending_enrolment_past_its_lifetime_expires_and_a_new_one_may_start() {
    let app = spawn_app_with_config(|c| c.wallet.pending_ttl_secs = 1).await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let email = unique_email("zoe");
    let first = start(&app, &zoe, &email)
        .await
        .expect("started")
        .wallet
        .expect("wallet");
    let code = code_sent_to(&email, 0).await;
    wait_until_past(first.expires_at.as_ref().expect("expires_at")).await;

    // The next step finds it expired, even with the right code.
    expect_error(
        confirm(&app, &first.id, &code).await,
        Code::FailedPrecondition,
        "enrolment_expired",
    );
    assert_eq!(state_of(&app, &first.id).await, WalletState::Expired);
    let (actor, _) = last(&app, "egide.enrolment.wallet.expired").await;
    assert_eq!(actor, Some(ActorKind::Service("enrolment".into())));
    expect_error(
        confirm(&app, &first.id, &code).await,
        Code::FailedPrecondition,
        "wrong_state",
    );

    // A new enrolment may start.
    let second = started(&app, &zoe).await;
    assert_eq!(
        state_of(&app, &second.wallet_id).await,
        WalletState::PendingEmail
    );

    // A start also expires an abandoned enrolment it finds in its way.
    app.sql(&format!(
        "UPDATE wallets SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        second.wallet_id
    ))
    .await;
    let third = started(&app, &zoe).await;
    assert_eq!(
        state_of(&app, &second.wallet_id).await,
        WalletState::Expired
    );
    assert_eq!(
        state_of(&app, &third.wallet_id).await,
        WalletState::PendingEmail
    );
    assert_eq!(
        app.events_of("egide.enrolment.wallet.expired").await.len(),
        2
    );
}

#[tokio::test]
async fn a_device_cannot_activate_an_enrolment_past_its_lifetime() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let e = proven(&app, &Person::zoe()).await;
    let owner = wallet_owner(&e.wallet_id);
    let phone = DeviceSigner::generate(Algorithm::Es256);
    let nonce = challenge(&app, &owner)
        .await
        .expect("challenge while still pending")
        .nonce;
    app.sql(&format!(
        "UPDATE wallets SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        e.wallet_id
    ))
    .await;

    let refused = patient::register(&app, patient::registration(&phone, &owner, &nonce)).await;
    expect_error(refused, Code::FailedPrecondition, "enrolment_expired");
    assert_eq!(state_of(&app, &e.wallet_id).await, WalletState::Expired);
    assert!(
        app.events_of("egide.enrolment.wallet.activated")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn only_the_verified_patient_or_an_operator_acts_on_a_wallet() {
    let app = crate::helpers::spawn_app().await;
    crate::files::import_reference(&app, &[]).await;
    let (zoe, _) = active(&app, &crate::files::Person::zoe()).await;
    let (paul, _) = active(&app, &crate::files::Person::paul()).await;
    // Nobody verified: refused, whatever the request says.
    let anonymous = suspend(&app, &zoe.wallet_id, "lost_phone", None).await;
    crate::helpers::expect_error(anonymous, tonic::Code::PermissionDenied, "person_required");
    // Paul, logged in, on Zoé's wallet.
    let request = egide_proto::enrolment::v1::SuspendWalletRequest {
        wallet_id: zoe.wallet_id.clone(),
        reason: "lost_phone".into(),
    };
    let paul_on_zoe = app
        .client
        .clone()
        .suspend_wallet(patient::as_patient(&paul.wallet_id, request))
        .await;
    crate::helpers::expect_error(
        paul_on_zoe,
        tonic::Code::PermissionDenied,
        "not_your_wallet",
    );
    assert_eq!(
        state_of(&app, &zoe.wallet_id).await,
        egide_proto::enrolment::v1::WalletState::Active
    );
}
