//! Local accounts: the first operator, password + TOTP logins, replay, recovery codes,
//! throttling and lockout, account creation rules.

use std::time::{Duration, Instant};

use egide_auth::accounts::totp;
use egide_kit::caller::{Category, PersonCaller};
use egide_proto::auth::v1 as pb;
use tonic::Code;

use crate::helpers::{CLIENT, TestApp, as_person, expect_error, spawn_app_with, violation_fields};

const PASSWORD: &str = "orbit lantern quietly seventeen marmalade";

struct Operator {
    app: TestApp,
    login: String,
}

/// An auth whose first operator is `op-<random>` with [`PASSWORD`].
async fn with_operator(tweak: impl FnOnce(&mut egide_auth::AuthConfig)) -> Operator {
    let login = format!("op-{}", uuid::Uuid::now_v7().simple());
    let file = std::env::temp_dir().join(format!("{login}.password"));
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let app = spawn_app_with(|c| {
        c.accounts.bootstrap_operator = login.clone();
        c.accounts.bootstrap_password_file = file.display().to_string();
        tweak(c);
    })
    .await;
    let o = Operator { app, login };
    egide_testkit::eventually(Duration::from_secs(20), "the first operator", || async {
        o.login(PASSWORD, "").await.ok()
    })
    .await;
    o
}

impl Operator {
    async fn login(
        &self,
        password: &str,
        second_factor: &str,
    ) -> Result<pb::TokenResponse, tonic::Status> {
        self.login_as(&self.login, password, second_factor).await
    }

    async fn login_as(
        &self,
        login: &str,
        password: &str,
        second_factor: &str,
    ) -> Result<pb::TokenResponse, tonic::Status> {
        self.app
            .client
            .clone()
            .password_login(pb::PasswordLoginRequest {
                client_id: CLIENT.into(),
                scope: String::new(),
                login: login.into(),
                password: password.into(),
                second_factor: second_factor.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// The person the gateway would pass for `tokens`.
    async fn person(&self, tokens: &pb::TokenResponse) -> PersonCaller {
        let c = self.app.verify(&tokens.access_token).await;
        PersonCaller {
            category: c.egide_category,
            subject: c.sub,
            acr: c.acr,
            amr: c.amr,
            session_id: c.sid,
            client_id: c.client_id,
            auth_time: c.auth_time,
        }
    }

    /// Enrols TOTP for the session `tokens`; returns the secret and the recovery codes.
    async fn enrol_totp(&self, tokens: &pb::TokenResponse) -> (Vec<u8>, Vec<String>) {
        let person = self.person(tokens).await;
        let mut client = self.app.client.clone();
        let started = client
            .start_totp_enrolment(as_person(&person, pb::StartTotpEnrolmentRequest {}))
            .await
            .unwrap()
            .into_inner();
        assert!(
            started.otpauth_uri.starts_with("otpauth://totp/Egide:"),
            "{}",
            started.otpauth_uri
        );
        assert!(
            started
                .otpauth_uri
                .contains(&format!("secret={}", started.secret_base32))
        );
        let secret = totp::base32_decode(&started.secret_base32).unwrap();
        let code = totp::code_at(&secret, now() / totp::PERIOD, totp::DIGITS);
        let codes = client
            .confirm_totp_enrolment(as_person(&person, pb::ConfirmTotpEnrolmentRequest { code }))
            .await
            .unwrap()
            .into_inner()
            .recovery_codes;
        (secret, codes)
    }
}

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

#[tokio::test]
async fn the_first_operator_logs_in_with_a_password_then_with_totp() {
    let o = with_operator(|_| {}).await;
    let pwd = o.login(PASSWORD, "").await.unwrap();
    assert_eq!(
        (pwd.acr.as_str(), pwd.amr.clone()),
        ("eidas1", vec!["pwd".to_owned()])
    );
    let claims = o.app.verify(&pwd.access_token).await;
    assert_eq!(claims.egide_category, Category::Operator);
    let (secret, recovery) = o.enrol_totp(&pwd).await;
    assert_eq!(recovery.len(), 10);
    // A code a step ahead (clock skew) is accepted once, then refused as a replay.
    let code = totp::code_at(&secret, now() / totp::PERIOD + 1, totp::DIGITS);
    let mfa = o.login(PASSWORD, &code).await.unwrap();
    assert_eq!(mfa.amr, ["pwd", "otp", "mfa"]);
    expect_error(
        o.login(PASSWORD, &code).await,
        Code::Unauthenticated,
        "login_failed",
    );
    // A wrong code, and a right code with a wrong password.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    expect_error(
        o.login(PASSWORD, wrong).await,
        Code::Unauthenticated,
        "login_failed",
    );
    // A recovery code works once.
    let via_recovery = o
        .login(PASSWORD, &recovery[3].to_lowercase())
        .await
        .unwrap();
    assert_eq!(via_recovery.amr, ["pwd", "otp", "mfa"]);
    expect_error(
        o.login(PASSWORD, &recovery[3]).await,
        Code::Unauthenticated,
        "login_failed",
    );
    // Replacing the TOTP needs a session that used it.
    let person = o.person(&pwd).await;
    let again = o
        .app
        .client
        .clone()
        .start_totp_enrolment(as_person(&person, pb::StartTotpEnrolmentRequest {}))
        .await;
    expect_error(again, Code::PermissionDenied, "second_factor_required");
}

#[tokio::test]
async fn an_unknown_login_and_a_wrong_password_get_the_same_answer_in_the_same_time() {
    let o = with_operator(|_| {}).await;
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for i in 0..4 {
        let started = Instant::now();
        let a = o
            .login_as(
                &format!("nobody-{i}-{}", uuid::Uuid::now_v7().simple()),
                PASSWORD,
                "",
            )
            .await
            .unwrap_err();
        unknown.push(started.elapsed());
        let started = Instant::now();
        let b = o.login(&format!("{PASSWORD} {i}"), "").await.unwrap_err();
        wrong.push(started.elapsed());
        assert_eq!((a.code(), a.message()), (b.code(), b.message()));
        assert_eq!(
            egide_kit::error::decode(&a).0,
            egide_kit::error::decode(&b).0
        );
    }
    unknown.sort();
    wrong.sort();
    let (u, w) = (unknown[2].as_secs_f64(), wrong[2].as_secs_f64());
    eprintln!("median: unknown login {u:.3} s, wrong password {w:.3} s");
    // Without the dummy hash an unknown login would answer ~50 times faster.
    assert!(
        u > w / 3.0 && w > u / 3.0,
        "unknown {u:.3} s vs wrong {w:.3} s"
    );
}

#[tokio::test]
async fn failures_bring_a_growing_delay_then_a_lock_that_an_operator_lifts() {
    let o = with_operator(|c| {
        c.accounts.throttle.free_failures = 2;
        c.accounts.throttle.base_delay_secs = 120;
        c.accounts.throttle.max_failures = 3;
    })
    .await;
    let victim = format!("victim-{}", uuid::Uuid::now_v7().simple());
    for _ in 0..2 {
        expect_error(
            o.login_as(&victim, "guess", "").await,
            Code::Unauthenticated,
            "login_failed",
        );
    }
    // Third attempt: too soon after two failures.
    let status = expect_error(
        o.login_as(&victim, "guess", "").await,
        Code::ResourceExhausted,
        "login_throttled",
    );
    use tonic_types::StatusExt as _;
    let retry = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap();
    assert!(
        retry > Duration::from_secs(60) && retry <= Duration::from_secs(120),
        "{retry:?}"
    );
    // The operator's own login is not affected (per login), and it unlocks the victim.
    let pwd = o.login(PASSWORD, "").await.unwrap();
    let (secret, _) = o.enrol_totp(&pwd).await;
    // The enrolment spent the current step's code: the next one (clock skew allows it).
    let code = totp::code_at(&secret, now() / totp::PERIOD + 1, totp::DIGITS);
    let mfa = o.login(PASSWORD, &code).await.unwrap();
    let operator = o.person(&mfa).await;
    let unlocked = o
        .app
        .client
        .clone()
        .unlock_account(as_person(
            &operator,
            pb::UnlockAccountRequest {
                login: victim.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!unlocked.was_locked);
    expect_error(
        o.login_as(&victim, "guess", "").await,
        Code::Unauthenticated,
        "login_failed",
    );
    // With no delay, the third failure locks.
    let o2 = with_operator(|c| {
        c.accounts.throttle.base_delay_secs = 0;
        c.accounts.throttle.max_failures = 3;
    })
    .await;
    for _ in 0..3 {
        expect_error(
            o2.login_as(&victim, "guess", "").await,
            Code::Unauthenticated,
            "login_failed",
        );
    }
    expect_error(
        o2.login_as(&victim, "guess", "").await,
        Code::Unauthenticated,
        "account_locked",
    );
    // The lock holds even for the right password.
    let locked_operator = o2.login.clone();
    for _ in 0..3 {
        let _ = o2.login_as(&locked_operator, "guess", "").await;
    }
    expect_error(
        o2.login(PASSWORD, "").await,
        Code::Unauthenticated,
        "account_locked",
    );
}

#[tokio::test]
async fn accounts_are_created_by_operators_with_strong_passwords_only() {
    let o = with_operator(|_| {}).await;
    let pwd = o.login(PASSWORD, "").await.unwrap();
    let (secret, _) = o.enrol_totp(&pwd).await;
    // The enrolment spent the current step's code: the next one (clock skew allows it).
    let code = totp::code_at(&secret, now() / totp::PERIOD + 1, totp::DIGITS);
    let operator = o.person(&o.login(PASSWORD, &code).await.unwrap()).await;
    let without_mfa = o.person(&o.login(PASSWORD, "").await.unwrap()).await;
    let mut client = o.app.client.clone();
    let request = |password: &str, login: &str| pb::CreateAccountRequest {
        login: login.into(),
        kind: pb::AccountKind::Staff as i32,
        structure_id: "1350002020".into(),
        display_name: "Agent d'accueil".into(),
        password: password.into(),
    };
    let login = format!("accueil-{}", uuid::Uuid::now_v7().simple());
    let weak = client
        .create_account(as_person(&operator, request("Azerty123!", &login)))
        .await;
    let status = expect_error(weak, Code::InvalidArgument, "weak_password");
    assert_eq!(violation_fields(&status), ["password"]);
    let no_mfa = client
        .create_account(as_person(&without_mfa, request(PASSWORD, &login)))
        .await;
    expect_error(no_mfa, Code::PermissionDenied, "operator_required");
    let anonymous = client.create_account(request(PASSWORD, &login)).await;
    expect_error(anonymous, Code::PermissionDenied, "operator_required");
    let created = client
        .create_account(as_person(
            &operator,
            request("plum tractor vinegar ceiling sonnet", &login),
        ))
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(
        (created.login.as_str(), created.totp_enabled),
        (login.as_str(), false)
    );
    let again = client
        .create_account(as_person(
            &operator,
            request("plum tractor vinegar ceiling sonnet", &login.to_uppercase()),
        ))
        .await;
    expect_error(again, Code::AlreadyExists, "login_taken");
    let staff = o
        .login_as(&login, "plum tractor vinegar ceiling sonnet", "")
        .await
        .unwrap();
    assert_eq!(
        o.app.verify(&staff.access_token).await.egide_category,
        Category::Staff
    );
    // Malformed requests name their fields.
    let bad = client
        .create_account(as_person(
            &operator,
            pb::CreateAccountRequest {
                login: "a b".into(),
                kind: 0,
                structure_id: String::new(),
                display_name: String::new(),
                password: String::new(),
            },
        ))
        .await;
    let status = expect_error(bad, Code::InvalidArgument, "invalid_argument");
    assert_eq!(
        violation_fields(&status),
        ["login", "kind", "structure_id", "display_name", "password"]
    );
}
