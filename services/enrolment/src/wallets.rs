//! Patients' wallets: the enrolment state machine and the wallet's life after it.
//!
//! `pending_email → pending_proofing → pending_device → active ⇄ suspended → closed`, and
//! `expired` for an enrolment abandoned before activation. Every transition commits with
//! its `egide.enrolment.wallet.<verb>` event; patients appear in events only as the keyed
//! digest of their INS.

use chrono::{DateTime, Utc};
use egide_ids::Nir;
use egide_kit::{
    ApiError,
    error::FieldViolation,
    events::{NewEvent, Payload},
};
use egide_proto::enrolment::v1 as pb;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbErr, FromQueryResult, Statement, TransactionTrait,
    Value,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{
    Ctx,
    codes::{self, Purpose},
    devices, identity,
    identity::Traits,
    messages::{self, Channel},
};

/// Vault transit key of the INS digest.
pub const INS_DIGEST_KEY: &str = "egide-ins-digest";

/// A wallet row.
#[derive(Clone, FromQueryResult)]
pub struct Row {
    pub id: Uuid,
    pub nir: String,
    pub oid: String,
    pub ins_digest: String,
    pub state: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
    pub suspended_by: Option<String>,
    pub proofing_nonce: Option<String>,
    pub proofing_provider: Option<String>,
    pub proofing_level: Option<String>,
    pub proofing_method: Option<String>,
    pub proofed_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("id", &self.id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, nir, oid, ins_digest, state, email, created_at, expires_at, \
    activated_at, suspension_reason, suspended_by, proofing_nonce, proofing_provider, \
    proofing_level, proofing_method, proofed_at";

fn state_of(s: &str) -> pb::WalletState {
    use pb::WalletState as S;
    match s {
        "pending_email" => S::PendingEmail,
        "pending_proofing" => S::PendingProofing,
        "pending_device" => S::PendingDevice,
        "active" => S::Active,
        "suspended" => S::Suspended,
        "closed" => S::Closed,
        "expired" => S::Expired,
        _ => S::Unspecified,
    }
}

/// Parses a wallet id from the API.
pub fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s.trim()).map_err(|_| ApiError::invalid_field("wallet_id", "a UUID"))
}

/// Loads a wallet, locking it for update when `lock`.
pub async fn load<C: ConnectionTrait>(conn: &C, id: Uuid, lock: bool) -> Result<Row, ApiError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM wallets WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        [Value::from(id)],
    ))
    .one(conn)
    .await?
    .ok_or_else(|| ApiError::not_found("wallet_not_found", "no such wallet"))
}

fn wrong_state(row: &Row, wanted: &str) -> ApiError {
    ApiError::failed_precondition(
        "wrong_state",
        format!("the wallet is {}; this needs it {wanted}", row.state),
    )
}

/// The `wallet.<verb>` event of `row` as it is now.
fn event(verb: &'static str, row: &Row, by: pb_actor::Who) -> NewEvent {
    let payload = pb::WalletChanged {
        wallet_id: row.id.to_string(),
        ins_digest: row.ins_digest.clone(),
        state: state_of(&row.state) as i32,
        reason: row.suspension_reason.clone().unwrap_or_default(),
        by: row.suspended_by.clone().unwrap_or_default(),
        proofing: proofing(row),
    };
    NewEvent::new(
        verb,
        by.actor(&row.ins_digest),
        Payload::WalletChanged(payload),
    )
    .about("wallet", row.id.to_string())
}

/// Who acts on a wallet.
pub mod pb_actor {
    use egide_kit::events::{Actor, actor};

    /// The acting party.
    #[derive(Clone, Debug)]
    pub enum Who {
        /// The patient (in events: their INS digest).
        Patient,
        /// An operator, by id.
        Operator(String),
        /// The service itself (jobs).
        Service,
    }

    impl Who {
        /// The event actor.
        pub fn actor(&self, ins_digest: &str) -> Actor {
            match self {
                Self::Patient => actor::patient(ins_digest),
                Self::Operator(id) => actor::operator(id),
                Self::Service => actor::service(crate::SERVICE),
            }
        }

        /// How `suspended_by` records it.
        pub fn label(&self) -> String {
            match self {
                Self::Patient => "patient".into(),
                Self::Operator(id) => format!("operator:{id}"),
                Self::Service => format!("service:{}", crate::SERVICE),
            }
        }
    }
}

use pb_actor::Who;

/// Whether `id` is an acceptable operator id.
pub fn valid_operator(id: &str) -> bool {
    let id = id.trim();
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| !c.is_control())
}

fn proofing(row: &Row) -> Option<pb::Proofing> {
    Some(pb::Proofing {
        provider: row.proofing_provider.clone()?,
        level: row.proofing_level.clone().unwrap_or_default(),
        method: row.proofing_method.clone().unwrap_or_default(),
        proofed_at: row.proofed_at.map(egide_kit::events::timestamp),
    })
}

fn nir_hash(nir: &Nir) -> String {
    let d = Sha256::digest(nir.to_string().as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

async fn record_failure(ctx: &Ctx, nir: &Nir) -> Result<(), ApiError> {
    ctx.platform
        .db
        .execute(Statement::from_sql_and_values(
            ctx.platform.db.get_database_backend(),
            "INSERT INTO enrolment_failures (nir_hash, at) VALUES ($1, now())",
            [Value::from(nir_hash(nir))],
        ))
        .await?;
    Ok(())
}

async fn throttled(ctx: &Ctx, nir: &Nir) -> Result<bool, ApiError> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let settings = &ctx.config.wallet;
    let count = Count::find_by_statement(Statement::from_sql_and_values(
        ctx.platform.db.get_database_backend(),
        "SELECT count(*) AS n FROM enrolment_failures WHERE nir_hash = $1 \
         AND at > now() - make_interval(secs => $2)",
        [
            Value::from(nir_hash(nir)),
            Value::from(settings.failed_start_window_secs as f64),
        ],
    ))
    .one(&ctx.platform.db)
    .await?
    .map_or(0, |c| c.n);
    Ok(count >= i64::from(settings.max_failed_starts))
}

/// The keyed digest of an INS (`<oid>:<nir>`), through Vault transit.
pub async fn ins_digest(ctx: &Ctx, oid: &str, nir: &str) -> Result<String, ApiError> {
    ctx.platform
        .vault
        .hmac_hex(INS_DIGEST_KEY, format!("{oid}:{nir}").as_bytes())
        .await
        .map_err(|e| ApiError::unavailable(anyhow::anyhow!(e)))
}

/// Starts an enrolment (see `StartWalletEnrolment`).
pub async fn start(
    ctx: &Ctx,
    req: pb::StartWalletEnrolmentRequest,
) -> Result<pb::StartWalletEnrolmentResponse, ApiError> {
    let nir = Nir::parse(req.nir.trim());
    let traits = Traits::from_proto(req.traits.as_ref(), "traits");
    let email = req.email.trim().to_owned();
    let mut violations = Vec::new();
    if let Err(e) = &nir {
        violations.push(FieldViolation::new("nir", e.to_string()));
    }
    if let Err(e) = &traits {
        violations.extend(e.violations().iter().cloned());
    }
    if !messages::is_plausible_email(&email) {
        violations.push(FieldViolation::new("email", "an e-mail address"));
    }
    let (Ok(nir), Ok(traits), true) = (nir, traits, violations.is_empty()) else {
        return Err(ApiError::invalid_argument(violations));
    };
    if throttled(ctx, &nir).await? {
        return Err(ApiError::resource_exhausted(
            "too_many_attempts",
            "too many failed attempts for this NIR; try again later",
        ));
    }
    let db = &ctx.platform.db;
    let reference = match identity::by_nir(db, &nir).await? {
        Some(r) => {
            let differing = traits.mismatches(&r.traits);
            if !differing.is_empty() {
                record_failure(ctx, &nir).await?;
                return Err(ApiError::failed_precondition(
                    "identity_mismatch",
                    "the traits do not match the INS reference identity of this NIR",
                )
                .with_violations(
                    differing
                        .into_iter()
                        .map(|f| FieldViolation::new(format!("traits.{f}"), "does not match"))
                        .collect(),
                ));
            }
            r
        }
        None => {
            record_failure(ctx, &nir).await?;
            let by_traits = identity::by_traits(db, &traits).await?;
            return Err(match by_traits.len() {
                0 => ApiError::not_found(
                    "identity_not_found",
                    "no INS reference identity has this NIR or these traits",
                ),
                1 => ApiError::failed_precondition(
                    "identity_mismatch",
                    "the NIR does not match the INS reference identity with these traits",
                )
                .with_violations(vec![FieldViolation::new("nir", "does not match")]),
                _ => ApiError::failed_precondition(
                    "identity_ambiguous",
                    "several INS reference identities have these traits and none this NIR",
                ),
            });
        }
    };
    let digest = ins_digest(ctx, &reference.oid, &reference.nir).await?;
    let txn = db.begin().await?;
    // An open wallet for this NIR blocks a new one, unless it is a pending enrolment
    // past its expiry, which expires now.
    let open = Row::find_by_statement(Statement::from_sql_and_values(
        txn.get_database_backend(),
        format!(
            "SELECT {COLUMNS} FROM wallets WHERE nir = $1 AND state NOT IN ('closed', 'expired') \
             FOR UPDATE"
        ),
        [Value::from(reference.nir.clone())],
    ))
    .one(&txn)
    .await?;
    let mut events = Vec::new();
    if let Some(open) = open {
        let pending = open.state.starts_with("pending_");
        if pending && open.expires_at.is_some_and(|t| t <= Utc::now()) {
            let expired = set_state(&txn, open.id, "expired", "").await?;
            events.push(event(
                "egide.enrolment.wallet.expired",
                &expired,
                Who::Service,
            ));
        } else if pending {
            return Err(ApiError::already_exists(
                "enrolment_in_progress",
                "an enrolment for this NIR is in progress",
            ));
        } else {
            return Err(ApiError::already_exists(
                "wallet_exists",
                "a wallet exists for this NIR",
            ));
        }
    }
    let id = Uuid::now_v7();
    let now = Utc::now();
    let expires_at = now + chrono::Duration::seconds(ctx.config.wallet.pending_ttl_secs as i64);
    let inserted = txn
        .execute(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO wallets (id, nir, oid, ins_digest, state, email, created_at, updated_at, \
             expires_at) VALUES ($1, $2, $3, $4, 'pending_email', $5, $6, $6, $7) \
             ON CONFLICT DO NOTHING",
            [
                Value::from(id),
                Value::from(reference.nir.clone()),
                Value::from(reference.oid.clone()),
                Value::from(digest),
                Value::from(email.clone()),
                Value::from(now),
                Value::from(expires_at),
            ],
        ))
        .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::already_exists(
            "enrolment_in_progress",
            "an enrolment for this NIR is in progress",
        ));
    }
    let code = codes::issue(
        &txn,
        &ctx.config.codes,
        &id.to_string(),
        Purpose::WalletEmail,
        true,
    )
    .await?;
    send_email_code(&txn, &email, &code).await?;
    let row = load(&txn, id, false).await?;
    events.push(event("egide.enrolment.wallet.started", &row, Who::Patient));
    ctx.commit(txn, events).await?;
    tracing::info!(wallet = %id, "wallet enrolment started");
    Ok(pb::StartWalletEnrolmentResponse {
        wallet: Some(to_proto(ctx, &row, false).await?),
        code_expires_at: Some(egide_kit::events::timestamp(code.expires_at)),
    })
}

async fn send_email_code<C: ConnectionTrait>(
    conn: &C,
    email: &str,
    code: &codes::Issued,
) -> Result<(), DbErr> {
    messages::queue(
        conn,
        Channel::Email,
        email,
        "Votre code Égide",
        &format!(
            "Votre code de confirmation : {}\n\nIl expire à {} (UTC). Si vous n'avez rien demandé, \
             ignorez ce message.\n",
            code.code,
            code.expires_at.format("%H:%M")
        ),
    )
    .await?;
    Ok(())
}

async fn set_state<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    state: &str,
    extra: &str,
) -> Result<Row, ApiError> {
    conn.execute(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!("UPDATE wallets SET state = $2, updated_at = now(){extra} WHERE id = $1"),
        [Value::from(id), Value::from(state)],
    ))
    .await?;
    load(conn, id, false).await
}

/// Loads a pending wallet for a step, expiring it (committed) when it is past its time.
async fn pending(
    ctx: &Ctx,
    txn: DatabaseTransaction,
    id: Uuid,
    state: &str,
) -> Result<(DatabaseTransaction, Row), ApiError> {
    let row = load(&txn, id, true).await?;
    if row.state.starts_with("pending_") && row.expires_at.is_some_and(|t| t <= Utc::now()) {
        let expired = set_state(&txn, id, "expired", "").await?;
        ctx.commit(
            txn,
            vec![event(
                "egide.enrolment.wallet.expired",
                &expired,
                Who::Service,
            )],
        )
        .await?;
        return Err(ApiError::failed_precondition(
            "enrolment_expired",
            "this enrolment has expired; start again",
        ));
    }
    if row.state != state {
        return Err(wrong_state(&row, state));
    }
    Ok((txn, row))
}

/// Loads a wallet, expiring it first (committed, with its event) when it is a pending
/// enrolment past its lifetime, which then answers `enrolment_expired`.
pub async fn load_live(ctx: &Ctx, id: Uuid) -> Result<Row, ApiError> {
    let txn = ctx.platform.db.begin().await?;
    let row = load(&txn, id, true).await?;
    if row.state.starts_with("pending_") && row.expires_at.is_some_and(|t| t <= Utc::now()) {
        // Expires it (committed) and answers `enrolment_expired`.
        return pending(ctx, txn, id, &row.state).await.map(|(_, row)| row);
    }
    txn.commit().await?;
    Ok(row)
}

/// Sends a new e-mail code.
pub async fn resend(
    ctx: &Ctx,
    req: pb::ResendEmailCodeRequest,
) -> Result<pb::ResendEmailCodeResponse, ApiError> {
    let id = parse_id(&req.wallet_id)?;
    let txn = ctx.platform.db.begin().await?;
    let (txn, row) = pending(ctx, txn, id, "pending_email").await?;
    let code = codes::issue(
        &txn,
        &ctx.config.codes,
        &id.to_string(),
        Purpose::WalletEmail,
        false,
    )
    .await?;
    send_email_code(&txn, &row.email, &code).await?;
    ctx.commit(txn, Vec::new()).await?;
    Ok(pb::ResendEmailCodeResponse {
        code_expires_at: Some(egide_kit::events::timestamp(code.expires_at)),
    })
}

/// Confirms the e-mail code.
pub async fn confirm_email(
    ctx: &Ctx,
    req: pb::ConfirmEmailCodeRequest,
) -> Result<pb::ConfirmEmailCodeResponse, ApiError> {
    let id = parse_id(&req.wallet_id)?;
    if req.code.trim().is_empty() || req.code.len() > 32 {
        return Err(ApiError::invalid_field("code", "the code from the e-mail"));
    }
    let txn = ctx.platform.db.begin().await?;
    let (txn, _) = pending(ctx, txn, id, "pending_email").await?;
    if let Err(refusal) = codes::check(
        &txn,
        &ctx.config.codes,
        &id.to_string(),
        Purpose::WalletEmail,
        &req.code,
    )
    .await?
    {
        // The attempt counts even though the request fails.
        ctx.commit(txn, Vec::new()).await?;
        return Err(refusal.into());
    }
    let nonce = codes::random_token(32)?;
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE wallets SET proofing_nonce = $2 WHERE id = $1",
        [Value::from(id), Value::from(nonce.clone())],
    ))
    .await?;
    let row = set_state(&txn, id, "pending_proofing", "").await?;
    ctx.commit(
        txn,
        vec![event(
            "egide.enrolment.wallet.email_confirmed",
            &row,
            Who::Patient,
        )],
    )
    .await?;
    Ok(pb::ConfirmEmailCodeResponse {
        wallet: Some(to_proto(ctx, &row, false).await?),
        proofing_nonce: nonce,
        proofing_audience: ctx.config.proofing.audience.clone(),
    })
}

fn level_str(level: egide_attest::attestation::Level) -> &'static str {
    match level {
        egide_attest::attestation::Level::Substantial => "substantial",
        egide_attest::attestation::Level::High => "high",
    }
}

fn method_str(method: egide_attest::attestation::Method) -> &'static str {
    use egide_attest::attestation::Method;
    match method {
        Method::FranceIdentite => "france_identite",
        Method::VideoSelfie => "video_selfie",
        Method::InPerson => "in_person",
    }
}

fn attestation_refused(check: &str, message: impl Into<String>) -> ApiError {
    ApiError::permission_denied("attestation_invalid", message).with_metadata("check", check)
}

/// Verifies and records the identity-proofing attestation.
pub async fn submit_proof(
    ctx: &Ctx,
    req: pb::SubmitIdentityProofRequest,
) -> Result<pb::SubmitIdentityProofResponse, ApiError> {
    use egide_attest::attestation;
    let id = parse_id(&req.wallet_id)?;
    if req.attestation.is_empty() {
        return Err(ApiError::invalid_field("attestation", "required"));
    }
    let settings = &ctx.config.proofing;
    let expect = attestation::Expectations {
        audience: settings.audience.clone(),
        now: Utc::now(),
        max_age: std::time::Duration::from_secs(settings.max_age_secs),
        max_skew: std::time::Duration::from_secs(settings.max_skew_secs),
    };
    let claims = attestation::verify(&req.attestation, &ctx.providers, &expect)
        .map_err(|e| attestation_refused(e.code(), format!("attestation refused: {e}")))?;
    let txn = ctx.platform.db.begin().await?;
    let (txn, row) = pending(ctx, txn, id, "pending_proofing").await?;
    if claims.sub != id.to_string() {
        return Err(attestation_refused(
            "wrong_subject",
            "the attestation is for another enrolment",
        ));
    }
    let nonce_ok = row.proofing_nonce.as_deref().is_some_and(|n| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            n.as_bytes(),
            claims.nonce.as_bytes(),
        ))
    });
    if !nonce_ok {
        return Err(attestation_refused(
            "wrong_nonce",
            "the attestation is not bound to this enrolment's nonce",
        ));
    }
    let min_level = match settings.min_level.as_str() {
        "high" => attestation::Level::High,
        _ => attestation::Level::Substantial,
    };
    if claims.level < min_level {
        return Err(attestation_refused(
            "level_too_low",
            format!(
                "level {} is below {}",
                level_str(claims.level),
                settings.min_level
            ),
        ));
    }
    let nir =
        Nir::parse(&row.nir).map_err(|e| ApiError::internal(anyhow::anyhow!("stored NIR: {e}")))?;
    let reference = identity::by_nir(&txn, &nir).await?.ok_or_else(|| {
        ApiError::failed_precondition(
            "identity_not_found",
            "the INS reference no longer lists this identity",
        )
    })?;
    let proven = Traits::from_proto(
        Some(&pb::IdentityTraits {
            birth_name: claims.identity.birth_name.clone(),
            given_names: claims.identity.given_names.clone(),
            sex: match claims.identity.sex {
                attestation::Sex::M => "M".into(),
                attestation::Sex::F => "F".into(),
            },
            birth_date: claims.identity.birth_date.clone(),
            birth_place: claims.identity.birth_place.clone(),
        }),
        "attestation.identity",
    )
    .map_err(|_| attestation_refused("malformed", "the attested identity is malformed"))?;
    let differing = proven.mismatches(&reference.traits);
    if !differing.is_empty() {
        return Err(attestation_refused(
            "identity_mismatch",
            "the attested identity differs from the INS identity",
        )
        .with_violations(
            differing
                .into_iter()
                .map(|f| FieldViolation::new(format!("attestation.identity.{f}"), "does not match"))
                .collect(),
        ));
    }
    let now = Utc::now();
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE wallets SET proofing_nonce = NULL, proofing_provider = $2, proofing_level = $3, \
         proofing_method = $4, proofed_at = $5 WHERE id = $1",
        [
            Value::from(id),
            Value::from(claims.iss.clone()),
            Value::from(level_str(claims.level)),
            Value::from(method_str(claims.method)),
            Value::from(now),
        ],
    ))
    .await?;
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO proofing_evidence (wallet_id, provider, transaction, attestation, received_at, purge_at) \
         VALUES ($1, $2, $3, $4, $5, $5 + make_interval(days => $6)) \
         ON CONFLICT (wallet_id) DO UPDATE SET provider = EXCLUDED.provider, \
           transaction = EXCLUDED.transaction, attestation = EXCLUDED.attestation, \
           received_at = EXCLUDED.received_at, purge_at = EXCLUDED.purge_at",
        [
            Value::from(id),
            Value::from(claims.iss.clone()),
            Value::from(claims.txn.clone()),
            Value::from(req.attestation),
            Value::from(now),
            Value::from(settings.evidence_retention_days as i32),
        ],
    ))
    .await?;
    let row = set_state(&txn, id, "pending_device", "").await?;
    ctx.commit(
        txn,
        vec![event("egide.enrolment.wallet.proofed", &row, Who::Patient)],
    )
    .await?;
    tracing::info!(wallet = %id, level = level_str(claims.level), "identity proven");
    Ok(pb::SubmitIdentityProofResponse {
        wallet: Some(to_proto(ctx, &row, false).await?),
    })
}

/// Called by device registration in its transaction: the first device activates a wallet.
pub async fn on_device_registered(
    txn: &DatabaseTransaction,
    row: &Row,
) -> Result<Option<(Row, NewEvent)>, ApiError> {
    if row.state != "pending_device" {
        return Ok(None);
    }
    let active = set_state(
        txn,
        row.id,
        "active",
        ", activated_at = now(), expires_at = NULL",
    )
    .await?;
    let ev = event("egide.enrolment.wallet.activated", &active, Who::Patient);
    Ok(Some((active, ev)))
}

/// Suspends an active wallet.
pub async fn suspend(
    ctx: &Ctx,
    person: Option<&egide_kit::caller::PersonCaller>,
    req: pb::SuspendWalletRequest,
) -> Result<pb::SuspendWalletResponse, ApiError> {
    let id = parse_id(&req.wallet_id)?;
    let who = crate::authz::wallet_actor(person, id)?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ApiError::invalid_field("reason", "1 to 200 characters"));
    }
    let txn = ctx.platform.db.begin().await?;
    let row = load(&txn, id, true).await?;
    if row.state != "active" {
        return Err(wrong_state(&row, "active"));
    }
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE wallets SET suspension_reason = $2, suspended_by = $3, suspended_at = now() WHERE id = $1",
        [Value::from(id), Value::from(reason), Value::from(who.label())],
    ))
    .await?;
    let row = set_state(&txn, id, "suspended", "").await?;
    ctx.commit(
        txn,
        vec![event("egide.enrolment.wallet.suspended", &row, who)],
    )
    .await?;
    Ok(pb::SuspendWalletResponse {
        wallet: Some(to_proto(ctx, &row, true).await?),
    })
}

/// Reactivates a suspended wallet.
pub async fn reactivate(
    ctx: &Ctx,
    person: Option<&egide_kit::caller::PersonCaller>,
    req: pb::ReactivateWalletRequest,
) -> Result<pb::ReactivateWalletResponse, ApiError> {
    let id = parse_id(&req.wallet_id)?;
    let who = crate::authz::wallet_actor(person, id)?;
    if !matches!(who, Who::Operator(_)) {
        // Suspending is safe for anyone to ask; lifting a suspension needs an operator
        // who has checked who is asking (a stolen phone must not reactivate itself).
        return Err(ApiError::permission_denied(
            "operator_required",
            "only an insurer operator may reactivate a wallet",
        ));
    }
    let txn = ctx.platform.db.begin().await?;
    let row = load(&txn, id, true).await?;
    if row.state != "suspended" {
        return Err(wrong_state(&row, "suspended"));
    }
    let row = set_state(
        &txn,
        id,
        "active",
        ", suspension_reason = NULL, suspended_by = NULL, suspended_at = NULL",
    )
    .await?;
    ctx.commit(
        txn,
        vec![event("egide.enrolment.wallet.reactivated", &row, who)],
    )
    .await?;
    Ok(pb::ReactivateWalletResponse {
        wallet: Some(to_proto(ctx, &row, true).await?),
    })
}

/// Closes a wallet and revokes its devices.
pub async fn close(
    ctx: &Ctx,
    person: Option<&egide_kit::caller::PersonCaller>,
    req: pb::CloseWalletRequest,
) -> Result<pb::CloseWalletResponse, ApiError> {
    let id = parse_id(&req.wallet_id)?;
    let who = crate::authz::wallet_actor(person, id)?;
    let txn = ctx.platform.db.begin().await?;
    let row = load(&txn, id, true).await?;
    if row.state == "closed" || row.state == "expired" {
        return Err(wrong_state(&row, "open"));
    }
    let mut events =
        devices::revoke_all(&txn, &devices::Owner::Wallet(id), &row.ins_digest, &who).await?;
    let row = set_state(&txn, id, "closed", ", closed_at = now(), expires_at = NULL").await?;
    events.push(event("egide.enrolment.wallet.closed", &row, who));
    ctx.commit(txn, events).await?;
    Ok(pb::CloseWalletResponse {
        wallet: Some(to_proto(ctx, &row, true).await?),
    })
}

/// Returns a wallet.
pub async fn get(
    ctx: &Ctx,
    person: Option<&egide_kit::caller::PersonCaller>,
    req: pb::GetWalletRequest,
) -> Result<pb::GetWalletResponse, ApiError> {
    let id = parse_id(&req.wallet_id)?;
    crate::authz::own_wallet(person, id)?;
    let row = load(&ctx.platform.db, id, false).await?;
    Ok(pb::GetWalletResponse {
        wallet: Some(to_proto(ctx, &row, true).await?),
    })
}

/// The API view of a wallet. The qualified identity, rights and devices are shown once the
/// identity is proven.
pub async fn to_proto(ctx: &Ctx, row: &Row, full: bool) -> Result<pb::Wallet, ApiError> {
    let db = &ctx.platform.db;
    let proven = row.proofed_at.is_some() && row.state != "pending_proofing";
    let mut wallet = pb::Wallet {
        id: row.id.to_string(),
        state: state_of(&row.state) as i32,
        identity: Some(pb::InsIdentity {
            nir: row.nir.clone(),
            oid: row.oid.clone(),
            traits: None,
            identity_status: String::new(),
        }),
        email_masked: messages::mask_email(&row.email),
        proofing: proofing(row),
        created_at: Some(egide_kit::events::timestamp(row.created_at)),
        activated_at: row.activated_at.map(egide_kit::events::timestamp),
        suspension_reason: row.suspension_reason.clone().unwrap_or_default(),
        suspended_by: row.suspended_by.clone().unwrap_or_default(),
        expires_at: row.expires_at.map(egide_kit::events::timestamp),
        ..Default::default()
    };
    if proven && (full || row.state != "closed") {
        if let Ok(nir) = Nir::parse(&row.nir)
            && let Some(reference) = identity::by_nir(db, &nir).await?
        {
            wallet.identity = Some(pb::InsIdentity {
                nir: reference.nir.clone(),
                oid: reference.oid.clone(),
                traits: Some(reference.traits.to_proto()),
                identity_status: "QUAL".into(),
            });
        }
        let (rights, dependants) = identity::rights(db, &row.nir).await?;
        wallet.rights = rights;
        wallet.dependants = dependants;
        wallet.devices = devices::list(db, &devices::Owner::Wallet(row.id)).await?;
    }
    Ok(wallet)
}

/// Purges proofing evidence past its retention date; returns how many were purged.
pub async fn purge_evidence(ctx: &Ctx) -> Result<u64, ApiError> {
    #[derive(FromQueryResult)]
    struct Purged {
        wallet_id: Uuid,
    }
    let txn = ctx.platform.db.begin().await?;
    let purged = Purged::find_by_statement(Statement::from_string(
        txn.get_database_backend(),
        "DELETE FROM proofing_evidence WHERE purge_at <= now() RETURNING wallet_id",
    ))
    .all(&txn)
    .await?;
    let mut events = Vec::with_capacity(purged.len());
    for p in &purged {
        let row = load(&txn, p.wallet_id, false).await?;
        events.push(event(
            "egide.enrolment.wallet.evidence_purged",
            &row,
            Who::Service,
        ));
    }
    let n = purged.len() as u64;
    ctx.commit(txn, events).await?;
    if n > 0 {
        tracing::info!(purged = n, "proofing evidence purged");
    }
    Ok(n)
}

/// Runs [`purge_evidence`] every `purge_every_secs` until shutdown.
pub async fn retention_job(ctx: Ctx) {
    let every = std::time::Duration::from_secs(ctx.config.proofing.purge_every_secs.max(1));
    loop {
        if let Err(e) = purge_evidence(&ctx).await {
            tracing::warn!(error = %e, "evidence purge failed");
        }
        tokio::select! {
            () = ctx.platform.shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
