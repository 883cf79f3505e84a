//! Sessions: opened by any means, refreshed with rotating refresh tokens, ended by logout
//! or limits, revoked when what they depend on dies. Every change is an event.

use chrono::{DateTime, Utc};
use egide_kit::{
    ApiError,
    events::{NewEvent, Payload, actor, timestamp},
};
use egide_proto::auth::v1 as pb;
use egide_token::Category;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, FromQueryResult, Statement, TransactionTrait,
    Value,
};
use sha2::{Digest as _, Sha256};
use tonic::Code;
use uuid::Uuid;

use crate::{Ctx, tokens::Grant};

/// Event types.
pub const STARTED: &str = "egide.auth.session.started";
pub const REFRESHED: &str = "egide.auth.session.refreshed";
pub const ENDED: &str = "egide.auth.session.ended";
pub const REVOKED: &str = "egide.auth.session.revoked";

/// A session about to be stored.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub grant: Grant,
    /// `wallet:<id>` or `ps:<idNat_PS>` (or `account:<id>`): the session dies with it.
    pub owner: String,
    /// The device key used, when one was: the session dies with it too.
    pub device_id: Option<Uuid>,
    /// `device`, `card`, `password`…
    pub means: &'static str,
    /// For event actors: the patient's INS digest, when the owner is a wallet.
    pub ins_digest: String,
}

#[derive(Debug, FromQueryResult)]
struct Row {
    id: Uuid,
    category: String,
    subject: String,
    owner: String,
    acr: String,
    amr: Vec<String>,
    client_id: String,
    scope: String,
    cnf_x5t: Option<String>,
    auth_time: DateTime<Utc>,
    last_active_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, category, subject, owner, acr, amr, client_id, scope, cnf_x5t, \
                       auth_time, last_active_at, expires_at, ended_at";

impl Row {
    fn category(&self) -> Category {
        Category::parse(&self.category).unwrap_or(Category::Patient)
    }

    fn event(
        &self,
        verb: &'static str,
        reason: &str,
        tokens_expire_by: Option<DateTime<Utc>>,
        who: egide_kit::events::Actor,
    ) -> NewEvent {
        let mut event = NewEvent::new(
            verb,
            who,
            Payload::SessionChanged(pb::SessionChanged {
                session_id: self.id.to_string(),
                category: proto_category(self.category()) as i32,
                subject_id: self.subject.clone(),
                client_id: self.client_id.clone(),
                acr: self.acr.clone(),
                amr: self.amr.clone(),
                auth_time: Some(timestamp(self.auth_time)),
                expires_at: Some(timestamp(self.expires_at)),
                reason: reason.to_owned(),
                tokens_expire_by: tokens_expire_by.map(timestamp),
            }),
        )
        .about("session", self.id.to_string());
        if let Some((kind, id)) = self.owner.split_once(':') {
            event = event.about(if kind == "ps" { "professional" } else { kind }, id);
        }
        event
    }
}

fn proto_category(c: Category) -> pb::Category {
    match c {
        Category::Patient => pb::Category::Patient,
        Category::Professional => pb::Category::Professional,
        Category::Staff => pb::Category::Staff,
        Category::Operator => pb::Category::Operator,
    }
}

/// Who a session's own events name: the person.
fn person(category: Category, subject: &str, ins_digest: &str) -> egide_kit::events::Actor {
    match category {
        Category::Patient => actor::patient(ins_digest),
        Category::Professional => actor::professional(subject),
        Category::Staff | Category::Operator => actor::operator(subject),
    }
}

/// A new refresh token and the hash stored for it.
fn new_refresh_token() -> Result<(String, Vec<u8>), ApiError> {
    use base64::Engine as _;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| ApiError::internal(anyhow::anyhow!("getrandom: {e}")))?;
    let token = format!(
        "egrt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let hash = hash(&token);
    Ok((token, hash))
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Stores `new` in `txn`; returns its refresh token and its `started` event.
pub async fn insert(
    ctx: &Ctx,
    txn: &DatabaseTransaction,
    new: &NewSession,
) -> Result<(String, NewEvent), ApiError> {
    let g = &new.grant;
    let lifetime = chrono::Duration::seconds(ctx.config.sessions.lifetime_secs as i64);
    let row = Row::find_by_statement(stmt(
        &format!(
            "INSERT INTO sessions (id, category, subject, owner, device_id, means, acr, amr, \
             client_id, scope, cnf_x5t, auth_time, last_active_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING {COLUMNS}"
        ),
        [
            g.session_id.into(),
            g.category.as_str().into(),
            g.subject.clone().into(),
            new.owner.clone().into(),
            new.device_id.into(),
            new.means.into(),
            g.acr.clone().into(),
            g.amr.clone().into(),
            g.client_id.clone().into(),
            g.scope.clone().into(),
            g.cnf_x5t.clone().into(),
            g.auth_time.into(),
            (g.auth_time + lifetime).into(),
        ],
    ))
    .one(txn)
    .await?
    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("session insert returned nothing")))?;
    let (token, token_hash) = new_refresh_token()?;
    txn.execute(stmt(
        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, now())",
        [token_hash.into(), g.session_id.into()],
    ))
    .await?;
    let who = person(g.category, &g.subject, &new.ins_digest);
    Ok((token, row.event(STARTED, "", None, who)))
}

/// Why a refresh token opens nothing.
fn refresh_refused(reason: &'static str) -> ApiError {
    ApiError::new(
        Code::Unauthenticated,
        reason,
        "the refresh token opens no session",
    )
}

/// Rotates `token`: new access (and ID) token and refresh token for its live session.
/// A spent token presented again ends the session (reuse means theft: RFC 9700 §4.14.2).
pub async fn refresh(
    ctx: &Ctx,
    token: &str,
    client_id: &str,
    cnf_x5t: Option<&str>,
) -> Result<pb::TokenResponse, ApiError> {
    let db = &ctx.platform.db;
    let txn = db.begin().await?;
    let token_hash = hash(token);
    let spent = txn
        .query_one(stmt(
            "UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = $1 \
             AND spent_at IS NULL RETURNING session_id",
            [token_hash.clone().into()],
        ))
        .await?;
    let session_id: Uuid = match spent {
        Some(row) => row.try_get("", "session_id")?,
        None => {
            let reused = txn
                .query_one(stmt(
                    "SELECT session_id FROM refresh_tokens WHERE token_hash = $1",
                    [token_hash.into()],
                ))
                .await?;
            if let Some(row) = reused {
                let session_id: Uuid = row.try_get("", "session_id")?;
                let events = end_where(
                    &txn,
                    "id = $1",
                    session_id.into(),
                    REVOKED,
                    "refresh_reuse",
                    ctx.access_ttl(),
                )
                .await?;
                if !events.is_empty() {
                    tracing::warn!(%session_id, "spent refresh token presented again: session revoked");
                }
                ctx.platform.commit(txn, events).await?;
            }
            return Err(refresh_refused("refresh_invalid"));
        }
    };
    let row = Row::find_by_statement(stmt(
        &format!("SELECT {COLUMNS} FROM sessions WHERE id = $1 FOR UPDATE"),
        [session_id.into()],
    ))
    .one(&txn)
    .await?
    .ok_or_else(|| refresh_refused("refresh_invalid"))?;
    if row.ended_at.is_some() {
        return Err(refresh_refused("session_ended"));
    }
    let now = Utc::now();
    let idle = chrono::Duration::seconds(ctx.config.sessions.idle_secs as i64);
    let over = if now >= row.expires_at {
        Some("lifetime_over")
    } else if now - row.last_active_at >= idle {
        Some("idle")
    } else {
        None
    };
    if let Some(reason) = over {
        let events = end_where(
            &txn,
            "id = $1",
            session_id.into(),
            ENDED,
            reason,
            ctx.access_ttl(),
        )
        .await?;
        ctx.platform.commit(txn, events).await?;
        return Err(refresh_refused("session_ended"));
    }
    // A session bound to a client certificate refreshes only with that certificate
    // (RFC 8705 §4: the refresh token is sender-constrained too).
    if row.client_id != client_id || row.cnf_x5t.as_deref().is_some_and(|c| Some(c) != cnf_x5t) {
        return Err(ApiError::new(
            Code::Unauthenticated,
            "client_mismatch",
            "the refresh token was issued to another client",
        ));
    }
    let grant = Grant {
        session_id,
        category: row.category(),
        subject: row.subject.clone(),
        client_id: row.client_id.clone(),
        scope: row.scope.clone(),
        acr: row.acr.clone(),
        amr: row.amr.clone(),
        auth_time: row.auth_time,
        cnf_x5t: row.cnf_x5t.clone(),
        nonce: String::new(),
    };
    let issued = ctx.issuer.issue(&grant).await?;
    let (refresh_token, token_hash) = new_refresh_token()?;
    txn.execute(stmt(
        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, now())",
        [token_hash.into(), session_id.into()],
    ))
    .await?;
    txn.execute(stmt(
        "UPDATE sessions SET last_active_at = now() WHERE id = $1",
        [session_id.into()],
    ))
    .await?;
    let event = row.event(
        REFRESHED,
        "",
        None,
        egide_kit::events::actor::service(crate::SERVICE),
    );
    ctx.platform.commit(txn, vec![event]).await?;
    Ok(crate::api::token_response(&grant, issued, refresh_token))
}

/// Ends the session `token` belongs to (spent or not); an unknown token is not an error.
/// Which session EndSession ends.
#[derive(Clone, Copy, Debug)]
pub enum EndTarget<'a> {
    /// The one a refresh token belongs to (unknown: nothing to do).
    RefreshToken(&'a str),
    /// The verified caller's own.
    Session(Uuid),
}

/// Ends the `target` session, as a logout; with `client_id`, only if it was issued to
/// that client (RFC 7009 §2.1).
pub async fn end(
    ctx: &Ctx,
    target: EndTarget<'_>,
    client_id: Option<&str>,
) -> Result<(), ApiError> {
    let txn = ctx.platform.db.begin().await?;
    let session_id = match target {
        EndTarget::Session(id) => Some(id),
        EndTarget::RefreshToken(token) => txn
            .query_one(stmt(
                "SELECT session_id FROM refresh_tokens WHERE token_hash = $1",
                [hash(token).into()],
            ))
            .await?
            .map(|row| row.try_get::<Uuid>("", "session_id"))
            .transpose()?,
    };
    let Some(session_id) = session_id else {
        return Ok(());
    };
    if let Some(client_id) = client_id {
        let issued_to = txn
            .query_one(stmt(
                "SELECT client_id FROM sessions WHERE id = $1",
                [session_id.into()],
            ))
            .await?
            .map(|row| row.try_get::<String>("", "client_id"))
            .transpose()?;
        if issued_to.is_some_and(|c| c != client_id) {
            return Err(ApiError::permission_denied(
                "client_mismatch",
                "this session was issued to another client",
            ));
        }
    }
    let events = end_where(
        &txn,
        "id = $1",
        session_id.into(),
        ENDED,
        "logout",
        ctx.access_ttl(),
    )
    .await?;
    ctx.platform.commit(txn, events).await
}

/// Ends every live session matching `condition` (one `$1` parameter) in `txn`, as
/// `verb` (`ended` or `revoked`) for `reason`; returns their events. Access tokens of
/// these sessions are refused from now on, and none lives past now + `access_ttl`.
pub async fn end_where(
    txn: &DatabaseTransaction,
    condition: &str,
    value: Value,
    verb: &'static str,
    reason: &'static str,
    access_ttl: std::time::Duration,
) -> Result<Vec<NewEvent>, sea_orm::DbErr> {
    let rows = Row::find_by_statement(stmt(
        &format!(
            "UPDATE sessions SET ended_at = now(), end_reason = $2 \
             WHERE {condition} AND ended_at IS NULL RETURNING {COLUMNS}"
        ),
        [value, reason.into()],
    ))
    .all(txn)
    .await?;
    let by = Utc::now() + chrono::Duration::from_std(access_ttl).unwrap_or_default();
    Ok(rows
        .iter()
        .map(|r| r.event(verb, reason, Some(by), actor::service(crate::SERVICE)))
        .collect())
}
