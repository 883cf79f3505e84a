//! The first operator's session, for `egide dev up` (development only): operator routes
//! (directory imports among them) need an operator session with two factors, so `up`
//! enrols the first operator's TOTP once, keeps its secret beside the password
//! (`.run/operator-totp`, 0600), and logs in with password and code. The session becomes
//! the CLI's operator session, as `egide login password … --totp …` would make it.

use std::path::Path;

use anyhow::Context as _;
use egide_auth::accounts::totp;
use egide_proto::auth::v1::{
    self as pb, ConfirmTotpEnrolmentRequest, PasswordLoginRequest, StartTotpEnrolmentRequest,
};

use crate::session;

/// Logs the first operator in with two factors (enrolling TOTP the first time).
pub async fn ensure_session(run_dir: &Path, password_file: &Path) -> anyhow::Result<()> {
    let password = std::fs::read_to_string(password_file)
        .with_context(|| password_file.display().to_string())?
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let secret_file = run_dir.join("operator-totp");
    let mut auth = session::auth(run_dir).await?;
    let login = |second_factor: String| PasswordLoginRequest {
        client_id: session::CLIENT_ID.into(),
        scope: "openid".into(),
        login: super::FIRST_OPERATOR.into(),
        password: password.clone(),
        second_factor,
    };
    let code = |secret: &[u8], ahead: u64| {
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        totp::code_at(secret, now / totp::PERIOD + ahead, totp::DIGITS)
    };
    let (secret, fresh) = if secret_file.exists() {
        let b32 = std::fs::read_to_string(&secret_file)?;
        let secret = totp::base32_decode(b32.trim())
            .with_context(|| format!("{}: not a base32 TOTP secret", secret_file.display()))?;
        (secret, false)
    } else {
        let pwd = auth
            .password_login(login(String::new()))
            .await?
            .into_inner();
        let started = auth
            .start_totp_enrolment(session::bearer(
                &pwd.access_token,
                StartTotpEnrolmentRequest {},
            )?)
            .await
            .context(
                "enrolling the first operator's TOTP (if it has one of its own, log in with \
                 `egide login password --totp …` and import with `egide directory import`)",
            )?
            .into_inner();
        egide_gateway::dev_tls::write_private(&secret_file, started.secret_base32.as_bytes())?;
        let secret = totp::base32_decode(&started.secret_base32)
            .context("auth sent a TOTP secret that is not base32")?;
        auth.confirm_totp_enrolment(session::bearer(
            &pwd.access_token,
            ConfirmTotpEnrolmentRequest {
                code: code(&secret, 0),
            },
        )?)
        .await?;
        (secret, true)
    };
    // A code is good once: right after enrolling, this step's is spent and the next one
    // (inside the ±1 step window) is used; a later `up` tries this step's first.
    let tokens: pb::TokenResponse = if fresh {
        auth.password_login(login(code(&secret, 1))).await?
    } else {
        match auth.password_login(login(code(&secret, 0))).await {
            Ok(tokens) => tokens,
            Err(_) => auth.password_login(login(code(&secret, 1))).await?,
        }
    }
    .into_inner();
    session::store(
        run_dir,
        &format!("account:{}", super::FIRST_OPERATOR),
        tokens,
    )?;
    Ok(())
}
