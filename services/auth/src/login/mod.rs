//! The ways in. Each proves who is there and ends in [`crate::sessions::insert`].
//!
//! Challenges (for the means that sign one) live in Postgres, so that any replica may
//! answer the second step and a restart loses none; the first attempt to use one deletes
//! it, whatever the outcome.

pub mod card;
pub mod device;
pub mod password;

use chrono::{DateTime, Utc};
use egide_kit::{ApiError, FieldViolation};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use tonic::Code;
use uuid::Uuid;

use crate::Ctx;

/// A client id: 1 to 64 of `[A-Za-z0-9._-]` (it is signed inside login messages, where
/// it must not hold a newline).
pub fn valid_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The one answer to every failed proof: it says nothing of what failed.
pub fn login_failed() -> ApiError {
    ApiError::new(Code::Unauthenticated, "login_failed", "login failed")
}

/// Checks the client id and the scope of a login request.
pub fn client_and_scope(ctx: &Ctx, client_id: &str, scope: &str) -> Result<String, ApiError> {
    let mut violations = Vec::new();
    if !valid_client_id(client_id) || !ctx.config.login.clients.iter().any(|c| c == client_id) {
        violations.push(FieldViolation::new("client_id", "not a registered client"));
    }
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if scope.len() > 512
        || scopes.iter().any(|s| {
            !s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        })
    {
        violations.push(FieldViolation::new(
            "scope",
            "space-separated scope tokens, at most 512 bytes",
        ));
    }
    if violations.is_empty() {
        Ok(scopes.join(" "))
    } else {
        Err(ApiError::invalid_argument(violations))
    }
}

/// A stored challenge.
#[derive(Debug, FromQueryResult)]
pub struct Challenge {
    pub id: Uuid,
    pub means: String,
    pub owner: String,
    pub credential: String,
    pub client_id: String,
    pub scope: String,
    pub cnf_x5t: Option<String>,
    pub challenge: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// What a new challenge is bound to.
#[derive(Debug)]
pub struct Binding<'a> {
    pub means: &'static str,
    pub owner: &'a str,
    pub credential: &'a str,
    pub client_id: &'a str,
    pub scope: &'a str,
    pub cnf_x5t: Option<&'a str>,
}

/// Stores a fresh 32-byte challenge bound to `binding` and answers `StartLogin` with it.
pub async fn start(
    ctx: &Ctx,
    binding: Binding<'_>,
) -> Result<egide_proto::auth::v1::StartLoginResponse, ApiError> {
    let (id, challenge, expires_at) = issue_challenge(ctx, binding).await?;
    Ok(egide_proto::auth::v1::StartLoginResponse {
        challenge_id: id.to_string(),
        challenge: challenge.to_vec(),
        expires_at: Some(egide_kit::events::timestamp(expires_at)),
    })
}

/// Stores a fresh 32-byte challenge bound to `binding`.
pub async fn issue_challenge(
    ctx: &Ctx,
    binding: Binding<'_>,
) -> Result<(Uuid, [u8; 32], DateTime<Utc>), ApiError> {
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("getrandom: {e}")))?;
    let id = Uuid::now_v7();
    let expires_at =
        Utc::now() + chrono::Duration::seconds(ctx.config.login.challenge_ttl_secs as i64);
    ctx.platform
        .db
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO login_challenges (id, means, owner, credential, client_id, scope, cnf_x5t, \
             challenge, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                id.into(),
                binding.means.into(),
                binding.owner.into(),
                binding.credential.into(),
                binding.client_id.into(),
                binding.scope.into(),
                binding.cnf_x5t.map(str::to_owned).into(),
                challenge.to_vec().into(),
                expires_at.into(),
            ],
        ))
        .await?;
    Ok((id, challenge, expires_at))
}

/// Deletes challenge `id` and returns it if it was live, of `means`, and asked by the same
/// client certificate (or none) as now. Any call burns it.
pub async fn burn_challenge(
    ctx: &Ctx,
    id: &str,
    means: &str,
    cnf_x5t: Option<&str>,
) -> Result<Challenge, ApiError> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(ApiError::invalid_field(
            "challenge_id",
            "a challenge id from StartLogin",
        ));
    };
    let challenge = Challenge::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "DELETE FROM login_challenges WHERE id = $1 RETURNING id, means, owner, credential, \
         client_id, scope, cnf_x5t, challenge, expires_at",
        [id.into()],
    ))
    .one(&ctx.platform.db)
    .await?
    .ok_or_else(login_failed)?;
    if challenge.expires_at <= Utc::now()
        || challenge.means != means
        || challenge.cnf_x5t.as_deref() != cnf_x5t
    {
        return Err(login_failed());
    }
    Ok(challenge)
}

/// Deletes expired challenges every minute until `shutdown`.
pub async fn prune_challenges(ctx: Ctx) {
    let shutdown = ctx.platform.shutdown.clone();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
        }
        let pruned = ctx
            .platform
            .db
            .execute(Statement::from_string(
                DbBackend::Postgres,
                "DELETE FROM login_challenges WHERE expires_at < now()",
            ))
            .await;
        if let Err(error) = pruned {
            tracing::warn!(%error, "pruning login challenges");
        }
    }
}
