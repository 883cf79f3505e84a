//! Device-key login (carte Vitale app, e-CPS): the device signs the login message over a
//! challenge with the key enrolment registered.

use egide_attest::{device::DeviceKey, login::login_message};
use egide_kit::ApiError;
use egide_proto::auth::v1::{self as pb, login_owner::Owner};
use egide_token::Category;
use sea_orm::{DbBackend, Statement, TransactionTrait};
use uuid::Uuid;

use super::{Binding, burn_challenge, login_failed};
use crate::{Ctx, sessions, tokens::Grant};

/// The `means` of device logins.
pub const MEANS: &str = "device";

/// eIDAS level of a device-key login: the carte Vitale app is a substantial means
/// (domain.md §5, §7), and so is e-CPS.
pub const ACR: &str = "eidas2";

/// RFC 8176: proof of possession of a hardware-held key, which the app unlocks only after
/// the person's PIN or biometric check (the app's contract, docs/auth.md): two factors.
pub const AMR: [&str; 2] = ["hwk", "mfa"];

/// `wallet:<uuid>` or `ps:<idNat_PS>`, checked.
fn owner_key(owner: Option<&pb::LoginOwner>) -> Result<(String, Category), ApiError> {
    match owner.and_then(|o| o.owner.as_ref()) {
        Some(Owner::WalletId(id)) => Uuid::parse_str(id)
            .map(|id| (format!("wallet:{id}"), Category::Patient))
            .map_err(|_| ApiError::invalid_field("device.owner.wallet_id", "a wallet id (UUID)")),
        Some(Owner::IdNatPs(id)) => {
            if (2..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok((format!("ps:{id}"), Category::Professional))
            } else {
                Err(ApiError::invalid_field(
                    "device.owner.id_nat_ps",
                    "an idNat_PS",
                ))
            }
        }
        None => Err(ApiError::invalid_field(
            "device.owner",
            "a wallet id or an idNat_PS",
        )),
    }
}

/// Step 1: a challenge. Answered alike for owners and devices that do not exist.
pub async fn start(
    ctx: &Ctx,
    client_id: &str,
    scope: &str,
    login: &pb::DeviceLogin,
    cnf_x5t: Option<&str>,
) -> Result<pb::StartLoginResponse, ApiError> {
    let (owner, _) = owner_key(login.owner.as_ref())?;
    let device_id = Uuid::parse_str(&login.device_id)
        .map_err(|_| ApiError::invalid_field("device.device_id", "a device id (UUID)"))?;
    super::start(
        ctx,
        Binding {
            means: MEANS,
            owner: &owner,
            credential: &device_id.to_string(),
            client_id,
            scope,
            cnf_x5t,
        },
    )
    .await
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct KeyRow {
    owner: String,
    public_key: Vec<u8>,
    live: bool,
    ins_digest: String,
}

/// Step 2: the signature; opens the session.
pub async fn complete(
    ctx: &Ctx,
    challenge_id: &str,
    signature: &[u8],
    nonce: &str,
    cnf_x5t: Option<&str>,
) -> Result<pb::TokenResponse, ApiError> {
    let challenge = burn_challenge(ctx, challenge_id, MEANS, cnf_x5t).await?;
    let device_id = Uuid::parse_str(&challenge.credential).map_err(|_| login_failed())?;
    let txn = ctx.platform.db.begin().await?;
    // The key and its owner in one statement, with shared locks held to the commit: a
    // concurrent suspension or revocation waits for this login and then revokes its
    // session too, or commits first and this login sees it.
    let key =
        <KeyRow as sea_orm::FromQueryResult>::find_by_statement(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT k.owner, k.public_key, o.live, o.ins_digest FROM login_keys k \
             JOIN owners o ON o.owner = k.owner \
             WHERE k.device_id = $1 AND k.revoked_at IS NULL FOR SHARE",
            [device_id.into()],
        ))
        .one(&txn)
        .await?
        .filter(|k| k.owner == challenge.owner && k.live)
        .ok_or_else(login_failed)?;
    let message = login_message(
        MEANS,
        &challenge.owner,
        &challenge.credential,
        &challenge.client_id,
        &challenge.id.to_string(),
        &challenge.challenge,
    );
    DeviceKey::from_spki_der(&key.public_key)
        .and_then(|k| k.verify(&message, signature))
        .map_err(|error| {
            tracing::info!(code = error.code(), "device login refused");
            login_failed()
        })?;
    let category = if challenge.owner.starts_with("wallet:") {
        Category::Patient
    } else {
        Category::Professional
    };
    let subject = challenge
        .owner
        .split_once(':')
        .map(|(_, s)| s.to_owned())
        .unwrap_or_default();
    let grant = Grant {
        session_id: Uuid::now_v7(),
        category,
        subject,
        client_id: challenge.client_id.clone(),
        scope: challenge.scope.clone(),
        acr: ACR.to_owned(),
        amr: AMR.iter().map(|s| (*s).to_owned()).collect(),
        auth_time: chrono::Utc::now(),
        cnf_x5t: challenge.cnf_x5t.clone(),
        nonce: nonce.to_owned(),
    };
    // Signed before the session is stored: with Vault away no session opens, and a
    // session is acknowledged only once it is committed.
    let issued = ctx.issuer.issue(&grant).await?;
    let new = sessions::NewSession {
        grant: grant.clone(),
        owner: challenge.owner.clone(),
        device_id: Some(device_id),
        means: MEANS,
        ins_digest: key.ins_digest,
    };
    let (refresh_token, event) = sessions::insert(ctx, &txn, &new).await?;
    ctx.platform.commit(txn, vec![event]).await?;
    Ok(crate::api::token_response(&grant, issued, refresh_token))
}
