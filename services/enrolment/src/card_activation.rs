//! e-CPS activation with a CPS card: a fresh challenge, signed by the card's authentication
//! key over a message that binds it to the professional, checked by the certificate
//! validation service (chain, purpose, revocation, signature). The PIN stays on the card.

use std::time::Duration;

use chrono::Utc;
use egide_ids::IdNatPs;
use egide_kit::{
    ApiError,
    error::FieldViolation,
    events::{actor, timestamp},
};
use egide_proto::{certval::v1 as cv, enrolment::v1 as pb};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement, TransactionTrait, Value};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{Ctx, professionals};

/// How long a challenge may be signed.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(120);

/// Challenges open (unused, unexpired) at once per professional.
pub const MAX_OPEN_CHALLENGES: i64 = 5;

/// Random bytes per challenge.
pub const CHALLENGE_BYTES: usize = 32;

/// The certval purpose a card's authentication certificate must serve.
pub const PURPOSE: &str = "ps-authentication";

/// The event of a successful card verification.
pub const CARD_VERIFIED: &str = "egide.enrolment.professional.ecps_card_verified";

const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;
const MAX_INTERMEDIATES: usize = 16;
const MAX_SIGNATURE_BYTES: usize = 1024;

pub use egide_attest::card::activation_message;

/// `StartCardActivation`.
pub async fn start(
    ctx: &Ctx,
    req: pb::StartCardActivationRequest,
) -> Result<pb::StartCardActivationResponse, ApiError> {
    let id = professionals::parse_id(&req.id_nat_ps)?;
    let txn = ctx.platform.db.begin().await?;
    // The lock serialises starts of one professional, so the open count holds.
    let r = professionals::row(&txn, &id, true).await?;
    professionals::ensure_may_activate(&txn, &r, &id).await?;
    let open = count(
        &txn,
        "SELECT count(*) AS n FROM ecps_card_challenges WHERE id_nat_ps = $1 AND expires_at > now()",
        &id,
    )
    .await?;
    if open >= MAX_OPEN_CHALLENGES {
        return Err(ApiError::resource_exhausted(
            "too_many_challenges",
            format!(
                "{MAX_OPEN_CHALLENGES} card challenges are open; use one or wait {} s",
                CHALLENGE_TTL.as_secs()
            ),
        ));
    }
    let mut challenge = vec![0_u8; CHALLENGE_BYTES];
    getrandom::fill(&mut challenge).map_err(|e| ApiError::internal(anyhow::anyhow!("rng: {e}")))?;
    let challenge_id = Uuid::now_v7();
    let expires_at = Utc::now()
        + chrono::Duration::from_std(CHALLENGE_TTL).unwrap_or(chrono::Duration::minutes(2));
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO ecps_card_challenges (id, id_nat_ps, challenge, created_at, expires_at) \
         VALUES ($1, $2, $3, now(), $4)",
        [
            Value::from(challenge_id),
            Value::from(id.clone()),
            Value::from(challenge.clone()),
            Value::from(expires_at),
        ],
    ))
    .await?;
    // Old, unused challenges go away as new ones come.
    txn.execute(Statement::from_string(
        txn.get_database_backend(),
        "DELETE FROM ecps_card_challenges WHERE expires_at < now() - interval '1 hour'",
    ))
    .await?;
    txn.commit().await?;
    Ok(pb::StartCardActivationResponse {
        challenge_id: challenge_id.to_string(),
        challenge,
        expires_at: Some(timestamp(expires_at)),
    })
}

/// `CompleteCardActivation`.
pub async fn complete(
    ctx: &Ctx,
    req: pb::CompleteCardActivationRequest,
) -> Result<pb::CompleteCardActivationResponse, ApiError> {
    let challenge_id = Uuid::parse_str(req.challenge_id.trim())
        .map_err(|_| ApiError::invalid_field("challenge_id", "the id StartCardActivation gave"))?;
    // Single use: the first attempt, whatever its fate, consumes the challenge.
    let burnt = burn(ctx, challenge_id).await?;
    let id = professionals::parse_id(&req.id_nat_ps)?;
    let algorithm = check_input(&req)?;
    let challenge = match burnt {
        Some(c) if c.id_nat_ps == id && c.live => c.challenge,
        Some(c) if c.id_nat_ps == id => {
            return Err(ApiError::failed_precondition(
                "challenge_expired",
                "the card challenge expired; start again",
            ));
        }
        _ => {
            return Err(ApiError::failed_precondition(
                "no_activation",
                "no card activation is waiting with this challenge; start again",
            ));
        }
    };
    // Checked before the remote call, and again under the lock after it: the lock is not
    // held across certval's answer.
    let r = professionals::row(&ctx.platform.db, &id, false).await?;
    professionals::ensure_may_activate(&ctx.platform.db, &r, &id).await?;

    let verdict = ctx
        .certval
        .verify_signature(cv::VerifySignatureRequest {
            leaf: req.certificate.clone(),
            intermediates: req.intermediates,
            purpose: PURPOSE.to_owned(),
            message: activation_message(&id, &req.challenge_id, &challenge),
            signature: req.signature,
            algorithm: algorithm as i32,
            at: None,
        })
        .await?;
    check_verdict(&verdict, &id)?;

    let txn = ctx.platform.db.begin().await?;
    let r = professionals::row(&txn, &id, true).await?;
    professionals::ensure_may_activate(&txn, &r, &id).await?;
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO ecps (id_nat_ps, state, updated_at, verified_by, card_certificate_sha256) \
         VALUES ($1, 'pending_device', now(), 'card', $2) ON CONFLICT (id_nat_ps) DO UPDATE SET \
         state = 'pending_device', verified_by = 'card', \
         card_certificate_sha256 = EXCLUDED.card_certificate_sha256, updated_at = now()",
        [
            Value::from(id.clone()),
            Value::from(sha256_hex(&req.certificate)),
        ],
    ))
    .await?;
    ctx.commit(
        txn,
        vec![professionals::event(
            CARD_VERIFIED,
            &id,
            true,
            Some("pending_device"),
            actor::professional(&id),
        )],
    )
    .await?;
    tracing::info!("e-CPS card activation verified");
    Ok(pb::CompleteCardActivationResponse {
        professional: Some(professionals::view(&ctx.platform.db, &id).await?),
    })
}

#[derive(FromQueryResult)]
struct Burnt {
    id_nat_ps: String,
    challenge: Vec<u8>,
    live: bool,
}

/// Deletes the challenge (committed at once, outside any later transaction).
async fn burn(ctx: &Ctx, challenge_id: Uuid) -> Result<Option<Burnt>, ApiError> {
    let db = &ctx.platform.db;
    Ok(Burnt::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM ecps_card_challenges WHERE id = $1 \
         RETURNING id_nat_ps, challenge, expires_at > now() AS live",
        [Value::from(challenge_id)],
    ))
    .one(db)
    .await?)
}

/// The sizes certval accepts, checked here so that its refusal is never the caller's.
fn check_input(
    req: &pb::CompleteCardActivationRequest,
) -> Result<cv::SignatureAlgorithm, ApiError> {
    let mut violations = Vec::new();
    if req.certificate.is_empty() || req.certificate.len() > MAX_CERTIFICATE_BYTES {
        violations.push(FieldViolation::new(
            "certificate",
            "the card's authentication certificate, DER, at most 16 KiB",
        ));
    }
    if req.intermediates.len() > MAX_INTERMEDIATES
        || req
            .intermediates
            .iter()
            .any(|c| c.is_empty() || c.len() > MAX_CERTIFICATE_BYTES)
    {
        violations.push(FieldViolation::new(
            "intermediates",
            "at most 16 CA certificates, DER, at most 16 KiB each",
        ));
    }
    if req.signature.is_empty() || req.signature.len() > MAX_SIGNATURE_BYTES {
        violations.push(FieldViolation::new(
            "signature",
            "the card's signature, at most 1 KiB",
        ));
    }
    let algorithm = cv::SignatureAlgorithm::try_from(req.algorithm)
        .ok()
        .filter(|a| *a != cv::SignatureAlgorithm::Unspecified);
    if algorithm.is_none() {
        violations.push(FieldViolation::new("algorithm", "the signature algorithm"));
    }
    match algorithm {
        Some(a) if violations.is_empty() => Ok(a),
        _ => Err(ApiError::invalid_argument(violations)),
    }
}

/// A valid verdict for a certificate of this professional, else why not.
fn check_verdict(verdict: &cv::VerifySignatureResponse, id: &str) -> Result<(), ApiError> {
    if !verdict.valid {
        let cause = if verdict.reason.is_empty() {
            "unknown"
        } else {
            verdict.reason.as_str()
        };
        return Err(ApiError::permission_denied(
            "card_refused",
            format!("the card was refused: {cause}"),
        )
        .with_metadata("cause", cause));
    }
    let holder = verdict
        .chain
        .as_ref()
        .and_then(|c| c.identity.as_ref())
        .and_then(|i| i.kind.as_ref());
    let Some(cv::certificate_identity::Kind::Professional(p)) = holder else {
        return Err(ApiError::permission_denied(
            "card_refused",
            "the certificate names no professional",
        )
        .with_metadata("cause", "identity_missing"));
    };
    let same = IdNatPs::parse(p.idnat_ps.trim()).is_ok_and(|holder| holder.to_string() == id);
    if !same {
        return Err(ApiError::permission_denied(
            "card_mismatch",
            "the card belongs to another professional",
        ));
    }
    Ok(())
}

fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn count<C: ConnectionTrait>(conn: &C, sql: &str, id: &str) -> Result<i64, ApiError> {
    Ok(conn
        .query_one(Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            [Value::from(id)],
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn verdict(valid: bool, reason: &str, idnat: Option<&str>) -> cv::VerifySignatureResponse {
        cv::VerifySignatureResponse {
            valid,
            reason: reason.into(),
            detail: String::new(),
            chain: Some(cv::ValidateChainResponse {
                valid,
                identity: idnat.map(|id| cv::CertificateIdentity {
                    kind: Some(cv::certificate_identity::Kind::Professional(
                        cv::ProfessionalIdentity {
                            idnat_ps: id.into(),
                            ..Default::default()
                        },
                    )),
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn verdicts_map_to_stable_reasons() {
        let id = "810001045367";
        assert!(check_verdict(&verdict(true, "", Some(id)), id).is_ok());
        let refused = check_verdict(&verdict(false, "revoked", None), id).unwrap_err();
        assert_eq!(refused.reason(), "card_refused");
        let other = check_verdict(&verdict(true, "", Some("810002051133")), id).unwrap_err();
        assert_eq!(other.reason(), "card_mismatch");
        let none = check_verdict(&verdict(true, "", None), id).unwrap_err();
        assert_eq!(none.reason(), "card_refused");
    }

    #[test]
    fn malformed_input_names_its_fields() {
        let err = check_input(&pb::CompleteCardActivationRequest::default()).unwrap_err();
        let fields: Vec<_> = err.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["certificate", "signature", "algorithm"]);
    }
}
