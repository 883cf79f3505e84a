//! CPS card login: the card's authentication key signs the login message over the
//! challenge; certval validates the certificate for `ps-authentication` and the signature;
//! the certificate's idNat_PS must be the professional asked for, active in the directory.

use egide_attest::login::login_message;
use egide_kit::{ApiError, FieldViolation};
use egide_proto::{auth::v1 as pb, certval::v1 as cv};
use egide_token::Category;
use sea_orm::TransactionTrait;
use uuid::Uuid;

use super::{Binding, burn_challenge, login_failed};
use crate::{Ctx, sessions, tokens::Grant};

/// The `means` of card logins.
pub const MEANS: &str = "card";

/// The credential the login message names: any card of the professional (the certificate
/// is only known at the second step, and certval ties it to the idNat_PS).
pub const CREDENTIAL: &str = "cps";

/// The certval purpose of the card's certificate.
pub const PURPOSE: &str = "ps-authentication";

/// A CPS card is the strongest means professionals have (PSC's highest level).
pub const ACR: &str = "eidas3";

/// RFC 8176: a smart card, unlocked by its PIN (checked by the card itself).
pub const AMR: [&str; 3] = ["sc", "pin", "mfa"];

const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;
const MAX_INTERMEDIATES: usize = 16;
const MAX_SIGNATURE_BYTES: usize = 1024;

/// An idNat_PS, as the request gives it.
fn id_nat_ps(id: &str) -> Result<String, ApiError> {
    let id = id.trim();
    if (2..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id.to_owned())
    } else {
        Err(ApiError::invalid_field("card.id_nat_ps", "an idNat_PS"))
    }
}

/// Step 1.
pub async fn start(
    ctx: &Ctx,
    client_id: &str,
    scope: &str,
    login: &pb::CardLogin,
    cnf_x5t: Option<&str>,
) -> Result<pb::StartLoginResponse, ApiError> {
    let owner = format!("ps:{}", id_nat_ps(&login.id_nat_ps)?);
    super::start(
        ctx,
        Binding {
            means: MEANS,
            owner: &owner,
            credential: CREDENTIAL,
            client_id,
            scope,
            cnf_x5t,
        },
    )
    .await
}

fn check(proof: &pb::CardProof) -> Result<cv::SignatureAlgorithm, ApiError> {
    let mut violations = Vec::new();
    if proof.certificate.is_empty() || proof.certificate.len() > MAX_CERTIFICATE_BYTES {
        violations.push(FieldViolation::new(
            "card.certificate",
            "the card's authentication certificate, DER, at most 16 KiB",
        ));
    }
    if proof.intermediates.len() > MAX_INTERMEDIATES
        || proof
            .intermediates
            .iter()
            .any(|c| c.is_empty() || c.len() > MAX_CERTIFICATE_BYTES)
    {
        violations.push(FieldViolation::new(
            "card.intermediates",
            "at most 16 CA certificates, DER, at most 16 KiB each",
        ));
    }
    if proof.signature.is_empty() || proof.signature.len() > MAX_SIGNATURE_BYTES {
        violations.push(FieldViolation::new(
            "card.signature",
            "the card's signature, at most 1 KiB",
        ));
    }
    let algorithm = cv::SignatureAlgorithm::try_from(proof.algorithm)
        .ok()
        .filter(|a| *a != cv::SignatureAlgorithm::Unspecified);
    match algorithm {
        Some(a) if violations.is_empty() => Ok(a),
        None => {
            violations.push(FieldViolation::new(
                "card.algorithm",
                "the signature algorithm",
            ));
            Err(ApiError::invalid_argument(violations))
        }
        Some(_) => Err(ApiError::invalid_argument(violations)),
    }
}

/// Step 2: the card's proof; opens the session.
pub async fn complete(
    ctx: &Ctx,
    challenge_id: &str,
    proof: &pb::CardProof,
    nonce: &str,
    cnf_x5t: Option<&str>,
) -> Result<pb::TokenResponse, ApiError> {
    let algorithm = check(proof)?;
    let challenge = burn_challenge(ctx, challenge_id, MEANS, cnf_x5t).await?;
    let id = challenge
        .owner
        .strip_prefix("ps:")
        .ok_or_else(login_failed)?
        .to_owned();
    let verdict = ctx
        .peers
        .verify_signature(cv::VerifySignatureRequest {
            leaf: proof.certificate.clone(),
            intermediates: proof.intermediates.clone(),
            purpose: PURPOSE.to_owned(),
            message: login_message(
                MEANS,
                &challenge.owner,
                CREDENTIAL,
                &challenge.client_id,
                &challenge.id.to_string(),
                &challenge.challenge,
            ),
            signature: proof.signature.clone(),
            algorithm: algorithm as i32,
            at: None,
        })
        .await?;
    let holder = verdict
        .chain
        .as_ref()
        .and_then(|c| c.identity.as_ref())
        .and_then(|i| i.kind.as_ref());
    let same = matches!(holder, Some(cv::certificate_identity::Kind::Professional(p)) if p.idnat_ps.trim() == id);
    if !verdict.valid || !same {
        tracing::info!(reason = %verdict.reason, same_professional = same, "card login refused");
        return Err(login_failed());
    }
    if !ctx.peers.professional_active(&id).await? {
        tracing::info!("card login refused: the professional is not active in the directory");
        return Err(login_failed());
    }
    let grant = Grant {
        session_id: Uuid::now_v7(),
        category: Category::Professional,
        subject: id.clone(),
        client_id: challenge.client_id.clone(),
        scope: challenge.scope.clone(),
        acr: ACR.to_owned(),
        amr: AMR.iter().map(|s| (*s).to_owned()).collect(),
        auth_time: chrono::Utc::now(),
        cnf_x5t: challenge.cnf_x5t.clone(),
        nonce: nonce.to_owned(),
    };
    let issued = ctx.issuer.issue(&grant).await?;
    let txn = ctx.platform.db.begin().await?;
    let new = sessions::NewSession {
        grant: grant.clone(),
        owner: challenge.owner.clone(),
        device_id: None,
        means: MEANS,
        ins_digest: String::new(),
    };
    let (refresh_token, event) = sessions::insert(ctx, &txn, &new).await?;
    ctx.platform.commit(txn, vec![event]).await?;
    Ok(crate::api::token_response(&grant, issued, refresh_token))
}
