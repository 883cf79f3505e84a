//! Device keys of the patient app and the professional app (e-CPS), registered with proof
//! of possession over a single-use server nonce (docs/proofing.md).

use chrono::{DateTime, Utc};
use egide_attest::device::{self, DeviceKey};
use egide_kit::{
    ApiError,
    events::{NewEvent, Payload},
};
use egide_proto::enrolment::v1 as pb;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, TransactionTrait, Value};
use uuid::Uuid;

use crate::{Ctx, professionals, wallets, wallets::pb_actor::Who};

/// Whose device.
#[derive(Clone, Debug)]
pub enum Owner {
    /// A patient's wallet.
    Wallet(Uuid),
    /// A professional's e-CPS.
    Professional(String),
}

impl Owner {
    /// Parses the API's owner.
    pub fn from_proto(o: Option<&pb::DeviceOwner>) -> Result<Self, ApiError> {
        match o.and_then(|o| o.owner.as_ref()) {
            Some(pb::device_owner::Owner::WalletId(id)) => Ok(Self::Wallet(wallets::parse_id(id)?)),
            Some(pb::device_owner::Owner::IdNatPs(id)) => {
                Ok(Self::Professional(professionals::parse_id(id)?))
            }
            None => Err(ApiError::invalid_field(
                "owner",
                "a wallet id or an idNat_PS",
            )),
        }
    }

    /// The owner id the registration message binds (`wallet:<id>` / `ps:<idNat_PS>`).
    pub fn key(&self) -> String {
        match self {
            Self::Wallet(id) => format!("wallet:{id}"),
            Self::Professional(id) => format!("ps:{id}"),
        }
    }

    fn column(&self) -> (&'static str, Value) {
        match self {
            Self::Wallet(id) => ("wallet_id", Value::from(*id)),
            Self::Professional(id) => ("id_nat_ps", Value::from(id.clone())),
        }
    }
}

#[derive(FromQueryResult)]
struct Row {
    id: Uuid,
    wallet_id: Option<Uuid>,
    id_nat_ps: Option<String>,
    algorithm: String,
    public_key: Vec<u8>,
    thumbprint: String,
    label: String,
    registered_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl Row {
    fn to_proto(&self) -> pb::Device {
        pb::Device {
            id: self.id.to_string(),
            algorithm: self.algorithm.clone(),
            public_key: self.public_key.clone(),
            thumbprint: self.thumbprint.clone(),
            label: self.label.clone(),
            registered_at: Some(egide_kit::events::timestamp(self.registered_at)),
            revoked_at: self.revoked_at.map(egide_kit::events::timestamp),
        }
    }

    fn event(&self, verb: &'static str, ins_digest: &str, who: &Who) -> NewEvent {
        let owner = match (&self.wallet_id, &self.id_nat_ps) {
            (Some(w), _) => Some(pb::device_changed::Owner::WalletId(w.to_string())),
            (None, Some(p)) => Some(pb::device_changed::Owner::IdNatPs(p.clone())),
            (None, None) => None,
        };
        let actor = match (&self.id_nat_ps, who) {
            (Some(ps), Who::Patient) => egide_kit::events::actor::professional(ps),
            _ => who.actor(ins_digest),
        };
        NewEvent::new(
            verb,
            actor,
            Payload::DeviceChanged(pb::DeviceChanged {
                owner,
                ins_digest: ins_digest.to_owned(),
                device: Some(self.to_proto()),
            }),
        )
        .about("device", self.id.to_string())
    }
}

const COLUMNS: &str =
    "id, wallet_id, id_nat_ps, algorithm, public_key, thumbprint, label, registered_at, revoked_at";

/// The devices of `owner`, live and revoked, oldest first.
pub async fn list<C: ConnectionTrait>(conn: &C, owner: &Owner) -> Result<Vec<pb::Device>, DbErr> {
    let (column, value) = owner.column();
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!("SELECT {COLUMNS} FROM devices WHERE {column} = $1 ORDER BY registered_at"),
        [value],
    ))
    .all(conn)
    .await?
    .iter()
    .map(Row::to_proto)
    .collect())
}

/// Revokes every live device of `owner` in the caller's transaction; returns the events.
pub async fn revoke_all<C: ConnectionTrait>(
    conn: &C,
    owner: &Owner,
    ins_digest: &str,
    who: &Who,
) -> Result<Vec<NewEvent>, DbErr> {
    let (column, value) = owner.column();
    let rows = Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!(
            "UPDATE devices SET revoked_at = now() WHERE {column} = $1 AND revoked_at IS NULL \
             RETURNING {COLUMNS}"
        ),
        [value],
    ))
    .all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.event("egide.enrolment.device.revoked", ins_digest, who))
        .collect())
}

/// Issues a challenge nonce for `owner`, whose state must allow a new device.
pub async fn challenge(
    ctx: &Ctx,
    req: pb::CreateDeviceChallengeRequest,
) -> Result<pb::CreateDeviceChallengeResponse, ApiError> {
    let owner = Owner::from_proto(req.owner.as_ref())?;
    let db = &ctx.platform.db;
    match &owner {
        Owner::Wallet(id) => {
            let w = wallets::load_live(ctx, *id).await?;
            if w.state != "pending_device" && w.state != "active" {
                return Err(ApiError::failed_precondition(
                    "wrong_state",
                    format!(
                        "the wallet is {}; devices are added once the identity is proven",
                        w.state
                    ),
                ));
            }
        }
        Owner::Professional(id) => professionals::ensure_device_allowed(db, id).await?,
    }
    let nonce = crate::codes::random_token(32)?;
    let expires_at =
        Utc::now() + chrono::Duration::seconds(ctx.config.wallet.device_challenge_ttl_secs as i64);
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO device_challenges (nonce, owner, expires_at) VALUES ($1, $2, $3)",
        [
            Value::from(nonce.clone()),
            Value::from(owner.key()),
            Value::from(expires_at),
        ],
    ))
    .await?;
    // Old, unused challenges go away as new ones come.
    db.execute(Statement::from_string(
        db.get_database_backend(),
        "DELETE FROM device_challenges WHERE expires_at < now() - interval '1 hour'",
    ))
    .await?;
    Ok(pb::CreateDeviceChallengeResponse {
        nonce,
        expires_at: Some(egide_kit::events::timestamp(expires_at)),
    })
}

fn bad_proof(message: &str) -> ApiError {
    ApiError::permission_denied("bad_proof", message.to_owned())
}

/// Registers a device (see `RegisterDevice`).
pub async fn register(
    ctx: &Ctx,
    req: pb::RegisterDeviceRequest,
) -> Result<pb::RegisterDeviceResponse, ApiError> {
    let owner = Owner::from_proto(req.owner.as_ref())?;
    let key = DeviceKey::from_spki_der(&req.public_key)
        .map_err(|e| ApiError::invalid_field("public_key", e.to_string()))?;
    let label = req.label.trim().to_owned();
    if label.chars().count() > 64 || label.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "label",
            "at most 64 printable characters",
        ));
    }
    if req.nonce.is_empty() || req.nonce.len() > 128 {
        return Err(ApiError::invalid_field("nonce", "the challenge nonce"));
    }
    let db = &ctx.platform.db;
    // The nonce is consumed by any attempt, right or wrong, by anyone.
    #[derive(FromQueryResult)]
    struct Challenge {
        owner: String,
        live: bool,
    }
    let challenge = Challenge::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM device_challenges WHERE nonce = $1 RETURNING owner, expires_at > now() AS live",
        [Value::from(req.nonce.clone())],
    ))
    .one(db)
    .await?;
    if !challenge.is_some_and(|c| c.live && c.owner == owner.key()) {
        return Err(bad_proof("unknown, used or expired challenge nonce"));
    }
    let message = device::registration_message(&owner.key(), &req.nonce, &key.thumbprint());
    key.verify(&message, &req.signature)
        .map_err(|_| bad_proof("the signature does not prove possession of the key"))?;

    let txn = db.begin().await?;
    let (column, value) = owner.column();
    let mut events = Vec::new();
    let (ins_digest, wallet_row, first_device) = match &owner {
        Owner::Wallet(id) => {
            wallets::load_live(ctx, *id).await?;
            let w = wallets::load(&txn, *id, true).await?;
            if w.state != "pending_device" && w.state != "active" {
                return Err(ApiError::failed_precondition(
                    "wrong_state",
                    format!("the wallet is {}", w.state),
                ));
            }
            let first = w.state == "pending_device";
            (w.ins_digest.clone(), Some(w), first)
        }
        Owner::Professional(id) => {
            let first = professionals::lock_for_device(&txn, id).await?;
            (String::new(), None, first)
        }
    };
    if !first_device {
        authorize(&txn, &owner, &req, &message).await?;
    }
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let live = Count::find_by_statement(Statement::from_sql_and_values(
        txn.get_database_backend(),
        format!("SELECT count(*) AS n FROM devices WHERE {column} = $1 AND revoked_at IS NULL"),
        [value.clone()],
    ))
    .one(&txn)
    .await?
    .map_or(0, |c| c.n);
    if live >= i64::from(ctx.config.wallet.max_devices) {
        return Err(ApiError::failed_precondition(
            "too_many_devices",
            format!(
                "at most {} devices; revoke one first",
                ctx.config.wallet.max_devices
            ),
        ));
    }
    let (wallet_id, id_nat_ps) = match &owner {
        Owner::Wallet(id) => (Some(*id), None),
        Owner::Professional(id) => (None, Some(id.clone())),
    };
    let row = Row::find_by_statement(Statement::from_sql_and_values(
        txn.get_database_backend(),
        format!(
            "INSERT INTO devices (id, wallet_id, id_nat_ps, algorithm, public_key, thumbprint, label, registered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
        ),
        [
            Value::from(Uuid::now_v7()),
            Value::from(wallet_id),
            Value::from(id_nat_ps),
            Value::from(key.algorithm().jose_name()),
            Value::from(key.to_spki_der()),
            Value::from(key.thumbprint()),
            Value::from(label),
        ],
    ))
    .one(&txn)
    .await?
    .ok_or_else(|| ApiError::already_exists("device_exists", "this key is already registered"))?;
    events.push(row.event(
        "egide.enrolment.device.registered",
        &ins_digest,
        &Who::Patient,
    ));
    let mut response = pb::RegisterDeviceResponse {
        device: Some(row.to_proto()),
        ..Default::default()
    };
    match (&owner, wallet_row) {
        (Owner::Wallet(_), Some(w)) => {
            let w = match wallets::on_device_registered(&txn, &w).await? {
                Some((active, ev)) => {
                    events.push(ev);
                    active
                }
                None => w,
            };
            ctx.commit(txn, events).await?;
            response.wallet = Some(wallets::to_proto(ctx, &w, true).await?);
        }
        (Owner::Professional(id), _) => {
            if let Some(ev) = professionals::on_device_registered(&txn, id).await? {
                events.push(ev);
            }
            ctx.commit(txn, events).await?;
            response.professional = Some(professionals::view(db, id).await?);
        }
        (Owner::Wallet(_), None) => {
            return Err(ApiError::internal(anyhow::anyhow!("wallet row missing")));
        }
    }
    tracing::info!(device = %response.device.as_ref().map(|d| d.id.as_str()).unwrap_or(""), "device registered");
    Ok(response)
}

/// A second device needs a live device of the owner to co-sign its registration message.
async fn authorize(
    txn: &sea_orm::DatabaseTransaction,
    owner: &Owner,
    req: &pb::RegisterDeviceRequest,
    message: &[u8],
) -> Result<(), ApiError> {
    let refused = || {
        ApiError::permission_denied(
            "authorization_required",
            "adding a device to an active owner needs a live device's co-signature",
        )
    };
    let id = Uuid::parse_str(req.authorizing_device_id.trim()).map_err(|_| refused())?;
    let (column, value) = owner.column();
    let row = Row::find_by_statement(Statement::from_sql_and_values(
        txn.get_database_backend(),
        format!(
            "SELECT {COLUMNS} FROM devices WHERE id = $1 AND {column} = $2 AND revoked_at IS NULL"
        ),
        [Value::from(id), value],
    ))
    .one(txn)
    .await?
    .ok_or_else(refused)?;
    let key = DeviceKey::from_spki_der(&row.public_key)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored device key: {e}")))?;
    key.verify(message, &req.authorization)
        .map_err(|_| refused())
}

/// Revokes one device.
pub async fn revoke(
    ctx: &Ctx,
    person: Option<&egide_kit::caller::PersonCaller>,
    req: pb::RevokeDeviceRequest,
) -> Result<pb::RevokeDeviceResponse, ApiError> {
    let owner = Owner::from_proto(req.owner.as_ref())?;
    let device_id = Uuid::parse_str(req.device_id.trim())
        .map_err(|_| ApiError::invalid_field("device_id", "a UUID"))?;
    let who = crate::authz::device_actor(person, &owner)?;
    let (column, value) = owner.column();
    let txn = ctx.platform.db.begin().await?;
    let row = Row::find_by_statement(Statement::from_sql_and_values(
        txn.get_database_backend(),
        format!(
            "UPDATE devices SET revoked_at = now() WHERE id = $1 AND {column} = $2 \
             AND revoked_at IS NULL RETURNING {COLUMNS}"
        ),
        [Value::from(device_id), value],
    ))
    .one(&txn)
    .await?
    .ok_or_else(|| ApiError::not_found("device_not_found", "no such live device for this owner"))?;
    let digest = match &owner {
        Owner::Wallet(id) => wallets::load(&txn, *id, false).await?.ins_digest,
        Owner::Professional(_) => String::new(),
    };
    ctx.commit(
        txn,
        vec![row.event("egide.enrolment.device.revoked", &digest, &who)],
    )
    .await?;
    Ok(pb::RevokeDeviceResponse {
        device: Some(row.to_proto()),
    })
}
