//! Local accounts: platform operators and a structure's staff who have neither CPS card
//! nor e-CPS. Passwords ([`password`]), TOTP ([`totp`]) and throttling ([`throttle`]).

pub mod password;
pub mod throttle;
pub mod totp;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use egide_kit::{
    ApiError, FieldViolation,
    caller::{Category, PersonCaller},
    events::{NewEvent, Payload, actor},
};
use egide_proto::auth::v1 as pb;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, TransactionTrait, Value};
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use tonic::Code;
use uuid::Uuid;

use crate::{Ctx, config::AccountSettings};

/// Argon2id hashing off the async workers, at most `hash_concurrency` at once (each takes
/// `argon2_memory_kib`), with a dummy hash so that an unknown login costs what a known one
/// does.
#[derive(Clone)]
pub struct Hasher {
    argon: Arc<argon2::Argon2<'static>>,
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").finish_non_exhaustive()
    }
}

impl Hasher {
    pub fn new(settings: &AccountSettings) -> anyhow::Result<Self> {
        let argon = password::argon2(settings).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        let dummy = password::hash(&argon, &SecretString::from(Uuid::now_v7().to_string()))
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        let concurrency = match settings.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Ok(Self {
            argon: Arc::new(argon),
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy: dummy.into(),
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&argon2::Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable(anyhow::anyhow!("hasher closed")))?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || f(&argon))
            .await
            .map_err(ApiError::internal)
    }

    /// The PHC string of `keyed`.
    pub async fn hash(&self, keyed: SecretString) -> Result<String, ApiError> {
        self.blocking(move |a| password::hash(a, &keyed))
            .await?
            .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
    }

    /// Whether `keyed` matches `phc`; against the dummy (always false) when there is none.
    pub async fn verify(&self, keyed: SecretString, phc: Option<String>) -> Result<bool, ApiError> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.to_string());
        let ok = self
            .blocking(move |a| password::verify(a, &keyed, &phc))
            .await?;
        Ok(ok && known)
    }
}

/// The password keyed through Vault (the pepper): what Argon2id hashes.
pub async fn keyed(ctx: &Ctx, password: &str) -> Result<SecretString, ApiError> {
    ctx.platform
        .vault
        .hmac_hex(&ctx.config.accounts.pepper_key, password.as_bytes())
        .await
        .map(SecretString::from)
        .map_err(|e| ApiError::unavailable(anyhow::anyhow!("keying a password: {e}")))
}

/// A login name: 1 to 64 of `[a-z0-9._@-]`, compared lower-cased.
pub fn normal_login(login: &str) -> Option<String> {
    let login = login.trim().to_ascii_lowercase();
    ((1..=64).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')))
    .then_some(login)
}

#[derive(Debug, FromQueryResult)]
pub struct Row {
    pub id: Uuid,
    pub login: String,
    pub kind: String,
    pub structure_id: String,
    pub display_name: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: i64,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, login, kind, structure_id, display_name, password_hash, totp_secret, \
                       totp_pending, totp_last_step, created_at";

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

impl Row {
    pub fn category(&self) -> Category {
        if self.kind == "operator" {
            Category::Operator
        } else {
            Category::Staff
        }
    }

    fn to_proto(&self) -> pb::Account {
        pb::Account {
            id: self.id.to_string(),
            login: self.login.clone(),
            kind: if self.kind == "operator" {
                pb::AccountKind::Operator
            } else {
                pb::AccountKind::Staff
            } as i32,
            structure_id: self.structure_id.clone(),
            display_name: self.display_name.clone(),
            totp_enabled: self.totp_secret.is_some(),
            created_at: Some(egide_kit::events::timestamp(self.created_at)),
        }
    }

    fn event(&self, verb: &'static str, by: egide_kit::events::Actor) -> NewEvent {
        NewEvent::new(
            verb,
            by,
            Payload::AccountChanged(pb::AccountChanged {
                account_id: self.id.to_string(),
                kind: self.kind.clone(),
                structure_id: self.structure_id.clone(),
            }),
        )
        .about("account", self.id.to_string())
    }
}

/// The account with login `login`.
pub async fn by_login<C: ConnectionTrait>(conn: &C, login: &str) -> Result<Option<Row>, ApiError> {
    Ok(Row::find_by_statement(stmt(
        &format!("SELECT {COLUMNS} FROM accounts WHERE login = $1"),
        [login.into()],
    ))
    .one(conn)
    .await?)
}

async fn by_id<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Row>, ApiError> {
    Ok(Row::find_by_statement(stmt(
        &format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"),
        [id.into()],
    ))
    .one(conn)
    .await?)
}

struct NewAccount<'a> {
    login: String,
    kind: &'static str,
    structure_id: &'a str,
    display_name: &'a str,
    password: &'a str,
    by: &'a str,
}

/// Checks and stores a new account; returns it and its `created` event.
async fn insert(
    ctx: &Ctx,
    new: NewAccount<'_>,
    who: egide_kit::events::Actor,
) -> Result<pb::Account, ApiError> {
    let context = [new.login.as_str(), new.display_name, new.structure_id];
    let min = ctx.config.accounts.min_entropy_bits;
    if let Err(weak) = password::strong_enough(new.password, &context, min) {
        return Err(ApiError::new(
            Code::InvalidArgument,
            "weak_password",
            format!(
                "the password resists about 2^{:.0} guesses; at least 2^{min:.0} are needed",
                weak.bits
            ),
        )
        .with_metadata("estimated_bits", format!("{:.1}", weak.bits))
        .with_metadata("advice", weak.advice)
        .with_violations(vec![FieldViolation::new("password", "too easy to guess")]));
    }
    let keyed = keyed(ctx, new.password).await?;
    let phc = ctx.hasher.hash(keyed).await?;
    let txn = ctx.platform.db.begin().await?;
    let row = Row::find_by_statement(stmt(
        &format!(
            "INSERT INTO accounts (id, login, kind, structure_id, display_name, password_hash, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (login) DO NOTHING RETURNING {COLUMNS}"
        ),
        [
            Uuid::now_v7().into(),
            new.login.clone().into(),
            new.kind.into(),
            new.structure_id.into(),
            new.display_name.into(),
            phc.into(),
            new.by.into(),
        ],
    ))
    .one(&txn)
    .await?
    .ok_or_else(|| ApiError::already_exists("login_taken", "an account has this login"))?;
    let event = row.event("egide.auth.account.created", who);
    ctx.platform.commit(txn, vec![event]).await?;
    Ok(row.to_proto())
}

/// `CreateAccount`.
pub async fn create(
    ctx: &Ctx,
    person: Option<&PersonCaller>,
    req: pb::CreateAccountRequest,
) -> Result<pb::CreateAccountResponse, ApiError> {
    let by = egide_kit::caller::operator(person)?;
    let mut violations = Vec::new();
    let login = normal_login(&req.login);
    if login.is_none() {
        violations.push(FieldViolation::new("login", "1 to 64 of a-z 0-9 . _ @ -"));
    }
    let kind = match req.kind() {
        pb::AccountKind::Operator => "operator",
        pb::AccountKind::Staff => "staff",
        pb::AccountKind::Unspecified => {
            violations.push(FieldViolation::new("kind", "operator or staff"));
            "staff"
        }
    };
    let structure_ok =
        req.structure_id.len() <= 32 && req.structure_id.bytes().all(|b| b.is_ascii_alphanumeric());
    if (kind == "staff") == req.structure_id.is_empty() || !structure_ok {
        violations.push(FieldViolation::new(
            "structure_id",
            "the idNat_Struct of a staff member's structure (operators have none)",
        ));
    }
    if req.display_name.trim().is_empty() || req.display_name.chars().count() > 128 {
        violations.push(FieldViolation::new("display_name", "1 to 128 characters"));
    }
    if req.password.is_empty() {
        violations.push(FieldViolation::new("password", "required"));
    }
    let (Some(login), true) = (login, violations.is_empty()) else {
        return Err(ApiError::invalid_argument(violations));
    };
    let account = insert(
        ctx,
        NewAccount {
            login,
            kind,
            structure_id: &req.structure_id,
            display_name: req.display_name.trim(),
            password: &req.password,
            by: &format!("operator:{}", by.subject),
        },
        actor::operator(&by.subject),
    )
    .await?;
    Ok(pb::CreateAccountResponse {
        account: Some(account),
    })
}

/// The first operator, from the configuration, when no account has its login yet.
pub async fn bootstrap(ctx: &Ctx) -> anyhow::Result<()> {
    let a = &ctx.config.accounts;
    if a.bootstrap_operator.is_empty() {
        return Ok(());
    }
    let login = normal_login(&a.bootstrap_operator)
        .ok_or_else(|| anyhow::anyhow!("accounts.bootstrap_operator: not a login"))?;
    if by_login(&ctx.platform.db, &login)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .is_some()
    {
        return Ok(());
    }
    let password = std::fs::read_to_string(&a.bootstrap_password_file).map_err(|e| {
        anyhow::anyhow!(
            "accounts.bootstrap_password_file {}: {e}",
            a.bootstrap_password_file
        )
    })?;
    // Vault may still be coming up: retry the keying for a while.
    let mut delay = std::time::Duration::from_millis(200);
    for attempt in 0.. {
        let created = insert(
            ctx,
            NewAccount {
                login: login.clone(),
                kind: "operator",
                structure_id: "",
                display_name: "First operator",
                password: password.trim_end_matches(['\n', '\r']),
                by: "bootstrap",
            },
            actor::service(crate::SERVICE),
        )
        .await;
        match created {
            Ok(account) => {
                tracing::info!(login = %account.login, "first operator account created");
                return Ok(());
            }
            Err(e) if e.reason() == "login_taken" => return Ok(()),
            Err(e) if e.code() == Code::Unavailable && attempt < 50 => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
            Err(e) => anyhow::bail!("creating the first operator: {e}"),
        }
    }
    Ok(())
}

/// `UnlockAccount`.
pub async fn unlock(
    ctx: &Ctx,
    person: Option<&PersonCaller>,
    req: pb::UnlockAccountRequest,
) -> Result<pb::UnlockAccountResponse, ApiError> {
    let by = egide_kit::caller::operator(person)?;
    let login = normal_login(&req.login)
        .ok_or_else(|| ApiError::invalid_field("login", "1 to 64 of a-z 0-9 . _ @ -"))?;
    let txn = ctx.platform.db.begin().await?;
    let was_locked = throttle::unlock(&txn, &format!("login:{login}")).await?;
    let events = match by_login(&txn, &login).await? {
        Some(row) => vec![row.event("egide.auth.account.unlocked", actor::operator(&by.subject))],
        None => Vec::new(),
    };
    ctx.platform.commit(txn, events).await?;
    tracing::info!(%was_locked, "login unlocked by an operator");
    Ok(pb::UnlockAccountResponse { was_locked })
}

/// The caller's own account.
async fn own(ctx: &Ctx, person: Option<&PersonCaller>) -> Result<(Row, PersonCaller), ApiError> {
    let refused =
        || ApiError::permission_denied("account_required", "a local account's session is required");
    let p = person
        .filter(|p| matches!(p.category, Category::Operator | Category::Staff))
        .ok_or_else(refused)?;
    let id = Uuid::parse_str(&p.subject).map_err(|_| refused())?;
    let row = by_id(&ctx.platform.db, id).await?.ok_or_else(refused)?;
    Ok((row, p.clone()))
}

/// `StartTotpEnrolment`.
pub async fn start_totp(
    ctx: &Ctx,
    person: Option<&PersonCaller>,
) -> Result<pb::StartTotpEnrolmentResponse, ApiError> {
    let (row, p) = own(ctx, person).await?;
    if row.totp_secret.is_some() && !p.amr.iter().any(|a| a == "otp") {
        return Err(ApiError::permission_denied(
            "second_factor_required",
            "replacing an active TOTP needs a session that used it",
        ));
    }
    let mut secret = [0u8; 20];
    getrandom::fill(&mut secret)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("getrandom: {e}")))?;
    let sealed = ctx
        .platform
        .vault
        .encrypt(&ctx.config.accounts.totp_key, &secret)
        .await
        .map_err(|e| ApiError::unavailable(anyhow::anyhow!("sealing a TOTP secret: {e}")))?;
    ctx.platform
        .db
        .execute(stmt(
            "UPDATE accounts SET totp_pending = $2 WHERE id = $1",
            [row.id.into(), sealed.into()],
        ))
        .await?;
    Ok(pb::StartTotpEnrolmentResponse {
        otpauth_uri: totp::otpauth_uri(&ctx.config.accounts.totp_issuer, &row.login, &secret),
        secret_base32: totp::base32(&secret),
    })
}

/// A TOTP secret from its Vault ciphertext.
async fn open(ctx: &Ctx, sealed: &str) -> Result<Vec<u8>, ApiError> {
    ctx.platform
        .vault
        .decrypt(&ctx.config.accounts.totp_key, sealed)
        .await
        .map_err(|e| ApiError::unavailable(anyhow::anyhow!("opening a TOTP secret: {e}")))
}

fn unix_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// `ConfirmTotpEnrolment`.
pub async fn confirm_totp(
    ctx: &Ctx,
    person: Option<&PersonCaller>,
    req: pb::ConfirmTotpEnrolmentRequest,
) -> Result<pb::ConfirmTotpEnrolmentResponse, ApiError> {
    let (row, p) = own(ctx, person).await?;
    let pending = row.totp_pending.as_deref().ok_or_else(|| {
        ApiError::failed_precondition("no_totp_enrolment", "start a TOTP enrolment first")
    })?;
    let secret = open(ctx, pending).await?;
    let step = totp::matching_step(
        &secret,
        req.code.trim(),
        unix_now(),
        ctx.config.accounts.totp_window,
    )
    .ok_or_else(|| {
        ApiError::new(
            Code::InvalidArgument,
            "totp_invalid",
            "that code is not the current one",
        )
        .with_violations(vec![FieldViolation::new(
            "code",
            "the 6 digits the app shows now",
        )])
    })?;
    let mut codes = Vec::with_capacity(10);
    let txn = ctx.platform.db.begin().await?;
    let updated = txn
        .execute(stmt(
            "UPDATE accounts SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $2 \
             WHERE id = $1 AND totp_pending = $3",
            [row.id.into(), (step as i64).into(), pending.into()],
        ))
        .await?
        .rows_affected();
    if updated != 1 {
        return Err(ApiError::failed_precondition(
            "no_totp_enrolment",
            "the enrolment changed meanwhile; start again",
        ));
    }
    txn.execute(stmt(
        "DELETE FROM recovery_codes WHERE account_id = $1",
        [row.id.into()],
    ))
    .await?;
    for _ in 0..10 {
        let mut raw = [0u8; 10];
        getrandom::fill(&mut raw)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("getrandom: {e}")))?;
        let b32 = totp::base32(&raw);
        let code = format!(
            "{}-{}-{}-{}",
            &b32[..4],
            &b32[4..8],
            &b32[8..12],
            &b32[12..16]
        );
        txn.execute(stmt(
            "INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)",
            [row.id.into(), recovery_hash(&code).into()],
        ))
        .await?;
        codes.push(code);
    }
    let event = row.event(
        "egide.auth.account.totp_enabled",
        actor::operator(&p.subject),
    );
    ctx.platform.commit(txn, vec![event]).await?;
    Ok(pb::ConfirmTotpEnrolmentResponse {
        recovery_codes: codes,
    })
}

/// The stored form of a recovery code (80 random bits: a plain hash is enough).
fn recovery_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

/// Checks the second factor of `row` in `txn`: the current TOTP code (never one already
/// used) or an unused recovery code (then spent).
pub async fn second_factor<C: ConnectionTrait>(
    ctx: &Ctx,
    conn: &C,
    row: &Row,
    given: &str,
) -> Result<bool, ApiError> {
    let given = given.trim();
    if let Some(sealed) = &row.totp_secret
        && given.len() == totp::DIGITS as usize
    {
        let secret = open(ctx, sealed).await?;
        let Some(step) =
            totp::matching_step(&secret, given, unix_now(), ctx.config.accounts.totp_window)
        else {
            return Ok(false);
        };
        let fresh = conn
            .execute(stmt(
                "UPDATE accounts SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
                [row.id.into(), (step as i64).into()],
            ))
            .await?
            .rows_affected();
        if fresh != 1 {
            tracing::warn!(account = %row.id, "a TOTP code was presented a second time");
        }
        return Ok(fresh == 1);
    }
    if row.totp_secret.is_none() {
        return Ok(false);
    }
    let spent = conn
        .execute(stmt(
            "UPDATE recovery_codes SET used_at = now() WHERE account_id = $1 AND code_hash = $2 \
             AND used_at IS NULL",
            [row.id.into(), recovery_hash(given).into()],
        ))
        .await?
        .rows_affected();
    Ok(spent == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_normalised_and_bounded() {
        assert_eq!(
            normal_login(" Jeanne.Dupont@CHU-Rennes "),
            Some("jeanne.dupont@chu-rennes".into())
        );
        assert_eq!(normal_login(""), None);
        assert_eq!(normal_login("a b"), None);
        assert_eq!(normal_login(&"a".repeat(65)), None);
        assert_eq!(normal_login("jeanne\n"), Some("jeanne".into()));
        assert_eq!(normal_login("jé"), None);
    }

    #[test]
    fn recovery_codes_compare_without_dashes_or_case() {
        assert_eq!(
            recovery_hash("ABCD-EFGH-IJKL-MNOP"),
            recovery_hash("abcdefghijklmnop")
        );
        assert_ne!(
            recovery_hash("ABCD-EFGH-IJKL-MNOP"),
            recovery_hash("ABCD-EFGH-IJKL-MNOQ")
        );
    }
}
