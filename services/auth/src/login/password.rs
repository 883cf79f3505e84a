//! Password (+ TOTP) login of local accounts, throttled per login and per source.

use egide_kit::{ApiError, FieldViolation};
use egide_proto::auth::v1 as pb;
use sea_orm::TransactionTrait;
use tonic::Code;
use uuid::Uuid;

use super::login_failed;
use crate::{
    Ctx,
    accounts::{self, throttle},
    sessions,
    tokens::Grant,
};

/// The `means` of password logins.
pub const MEANS: &str = "password";

/// Local means are not notified eIDAS means: the low level whatever the factors; the
/// policy decides where two factors (`mfa`) are enough.
pub const ACR: &str = "eidas1";

fn refused(verdict: throttle::Verdict) -> Option<ApiError> {
    match verdict {
        throttle::Verdict::Go => None,
        throttle::Verdict::Locked => Some(ApiError::new(
            Code::Unauthenticated,
            "account_locked",
            "too many failed logins: locked until an operator unlocks it",
        )),
        throttle::Verdict::Wait(delay) => Some(
            ApiError::resource_exhausted(
                "login_throttled",
                "too many failed logins: wait before trying again",
            )
            .with_retry_after(delay)
            .with_metadata("retry_after_secs", delay.as_secs().max(1).to_string()),
        ),
    }
}

/// `PasswordLogin`. `source` is the client's address as the gateway saw it.
pub async fn login(
    ctx: &Ctx,
    req: pb::PasswordLoginRequest,
    scope: String,
    source: Option<std::net::IpAddr>,
    cnf_x5t: Option<String>,
) -> Result<pb::TokenResponse, ApiError> {
    let mut violations = Vec::new();
    let login = accounts::normal_login(&req.login);
    if login.is_none() {
        violations.push(FieldViolation::new("login", "1 to 64 of a-z 0-9 . _ @ -"));
    }
    if req.password.is_empty() || req.password.len() > 1024 {
        violations.push(FieldViolation::new("password", "1 to 1024 bytes"));
    }
    if req.second_factor.len() > 64 {
        violations.push(FieldViolation::new(
            "second_factor",
            "a 6-digit code or a recovery code",
        ));
    }
    let (Some(login), true) = (login, violations.is_empty()) else {
        return Err(ApiError::invalid_argument(violations));
    };
    let settings = &ctx.config.accounts;
    let login_key = format!("login:{login}");
    let source_key = format!(
        "source:{}",
        source.map_or_else(|| "unknown".to_owned(), |s| s.to_string())
    );
    let db = &ctx.platform.db;
    let now = chrono::Utc::now();
    if let Some(refusal) = refused(throttle::check(db, &login_key, &settings.throttle, now).await?)
    {
        return Err(refusal);
    }
    if let Some(refusal) =
        refused(throttle::check(db, &source_key, &settings.source_throttle, now).await?)
    {
        return Err(refusal);
    }
    let account = accounts::by_login(db, &login).await?;
    // The same work whether or not the login exists: keying through Vault, then Argon2id
    // (against a dummy hash for an unknown login).
    let keyed = accounts::keyed(ctx, &req.password).await?;
    let password_ok = ctx
        .hasher
        .verify(keyed, account.as_ref().map(|a| a.password_hash.clone()))
        .await?;
    let txn = db.begin().await?;
    let account = match (account, password_ok) {
        (Some(a), true) => {
            let factor_ok = req.second_factor.is_empty()
                || accounts::second_factor(ctx, &txn, &a, &req.second_factor).await?;
            factor_ok.then_some(a)
        }
        _ => None,
    };
    let Some(account) = account else {
        throttle::fail(&txn, &login_key, &settings.throttle).await?;
        throttle::fail(&txn, &source_key, &settings.source_throttle).await?;
        txn.commit().await?;
        tracing::info!("password login refused");
        return Err(login_failed());
    };
    throttle::succeed(&txn, &login_key).await?;
    let amr: Vec<String> = if req.second_factor.is_empty() {
        vec!["pwd".into()]
    } else {
        vec!["pwd".into(), "otp".into(), "mfa".into()]
    };
    let grant = Grant {
        session_id: Uuid::now_v7(),
        category: account.category(),
        subject: account.id.to_string(),
        client_id: req.client_id.clone(),
        scope,
        acr: ACR.to_owned(),
        amr,
        auth_time: chrono::Utc::now(),
        cnf_x5t,
        nonce: String::new(),
    };
    let issued = ctx.issuer.issue(&grant).await?;
    let new = sessions::NewSession {
        grant: grant.clone(),
        owner: format!("account:{}", account.id),
        device_id: None,
        means: MEANS,
        ins_digest: String::new(),
    };
    let (refresh_token, event) = sessions::insert(ctx, &txn, &new).await?;
    ctx.platform.commit(txn, vec![event]).await?;
    Ok(crate::api::token_response(&grant, issued, refresh_token))
}
