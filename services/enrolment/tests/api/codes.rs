//! The e-mail code of a wallet enrolment: wrong, exhausted, expired, replaced, replayed.

use egide_proto::enrolment::v1::{ResendEmailCodeRequest, ResendEmailCodeResponse, WalletState};
use tonic::Code;

use crate::{
    files::{Person, import_reference},
    helpers::{TestApp, expect_error, spawn_app, spawn_app_with_config, wait_until_past},
    patient::{code_sent_to, confirm, mails_to, started, state_of},
};

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().collect();
    let last = digits.last_mut().expect("a code");
    *last = b'0' + (*last - b'0' + 1) % 10;
    String::from_utf8(digits).expect("digits")
}

async fn resend(app: &TestApp, wallet_id: &str) -> Result<ResendEmailCodeResponse, tonic::Status> {
    app.client
        .clone()
        .resend_email_code(ResendEmailCodeRequest {
            wallet_id: wallet_id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_wrong_code_counts_an_attempt_and_the_right_one_still_works() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let e = started(&app, &Person::zoe()).await;
    let code = code_sent_to(&e.email, 0).await;

    let status = expect_error(
        confirm(&app, &e.wallet_id, &other_than(&code)).await,
        Code::PermissionDenied,
        "wrong_code",
    );
    assert!(
        status.message().contains("4 attempt(s) left"),
        "{}",
        status.message()
    );
    let status = expect_error(
        confirm(&app, &e.wallet_id, &other_than(&other_than(&code))).await,
        Code::PermissionDenied,
        "wrong_code",
    );
    assert!(
        status.message().contains("3 attempt(s) left"),
        "{}",
        status.message()
    );
    assert_eq!(
        state_of(&app, &e.wallet_id).await,
        WalletState::PendingEmail
    );
    assert!(
        app.events_of("egide.enrolment.wallet.email_confirmed")
            .await
            .is_empty()
    );

    let confirmed = confirm(&app, &e.wallet_id, &format!(" {code} "))
        .await
        .expect("the right code, spaces trimmed");
    assert_eq!(
        confirmed.wallet.map(|w| w.state()),
        Some(WalletState::PendingProofing)
    );

    // Replayed: the enrolment has moved on.
    expect_error(
        confirm(&app, &e.wallet_id, &code).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
    // And a new code cannot be asked for any more.
    expect_error(
        resend(&app, &e.wallet_id).await,
        Code::FailedPrecondition,
        "wrong_state",
    );
}

#[tokio::test]
async fn after_the_last_attempt_even_the_right_code_fails_until_a_new_one_is_sent() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let e = started(&app, &Person::zoe()).await;
    let code = code_sent_to(&e.email, 0).await;
    let wrong = other_than(&code);
    for _ in 0..4 {
        expect_error(
            confirm(&app, &e.wallet_id, &wrong).await,
            Code::PermissionDenied,
            "wrong_code",
        );
    }
    expect_error(
        confirm(&app, &e.wallet_id, &wrong).await,
        Code::ResourceExhausted,
        "too_many_attempts",
    );
    expect_error(
        confirm(&app, &e.wallet_id, &code).await,
        Code::ResourceExhausted,
        "too_many_attempts",
    );
    assert_eq!(
        state_of(&app, &e.wallet_id).await,
        WalletState::PendingEmail
    );

    resend(&app, &e.wallet_id).await.expect("a new code");
    let fresh = code_sent_to(&e.email, 1).await;
    confirm(&app, &e.wallet_id, &fresh)
        .await
        .expect("the new code works");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = spawn_app_with_config(|c| c.codes.ttl_secs = 1).await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let email = crate::helpers::unique_email("zoe");
    let started = crate::patient::start(&app, &zoe, &email)
        .await
        .expect("started");
    let id = started.wallet.expect("wallet").id;
    let code = code_sent_to(&email, 0).await;
    wait_until_past(started.code_expires_at.as_ref().expect("code_expires_at")).await;

    expect_error(
        confirm(&app, &id, &code).await,
        Code::FailedPrecondition,
        "code_expired",
    );
    assert_eq!(state_of(&app, &id).await, WalletState::PendingEmail);
}

#[tokio::test]
async fn a_resent_code_replaces_the_previous_one_within_the_send_limit() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let e = started(&app, &Person::zoe()).await;
    let first = code_sent_to(&e.email, 0).await;
    resend(&app, &e.wallet_id).await.expect("second code");
    let second = code_sent_to(&e.email, 1).await;
    resend(&app, &e.wallet_id).await.expect("third code");
    let third = code_sent_to(&e.email, 2).await;

    // Three codes were sent (the first one included): no more.
    expect_error(
        resend(&app, &e.wallet_id).await,
        Code::ResourceExhausted,
        "too_many_codes",
    );
    assert_eq!(mails_to(&e.email), 3);

    for old in [&first, &second] {
        if *old != third {
            expect_error(
                confirm(&app, &e.wallet_id, old).await,
                Code::PermissionDenied,
                "wrong_code",
            );
        }
    }
    confirm(&app, &e.wallet_id, &third)
        .await
        .expect("only the last code works");
}

#[tokio::test]
async fn a_code_only_confirms_its_own_enrolment() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = started(&app, &Person::zoe()).await;
    let paul = started(&app, &Person::paul()).await;
    let zoe_code = code_sent_to(&zoe.email, 0).await;
    let paul_code = code_sent_to(&paul.email, 0).await;
    if zoe_code != paul_code {
        expect_error(
            confirm(&app, &paul.wallet_id, &zoe_code).await,
            Code::PermissionDenied,
            "wrong_code",
        );
    }
    confirm(&app, &zoe.wallet_id, &zoe_code)
        .await
        .expect("Zoé's code for Zoé");
    let unknown = uuid::Uuid::now_v7().to_string();
    expect_error(
        confirm(&app, &unknown, &paul_code).await,
        Code::NotFound,
        "wallet_not_found",
    );
    expect_error(
        confirm(&app, "not-a-uuid", &paul_code).await,
        Code::InvalidArgument,
        "invalid_argument",
    );
}
