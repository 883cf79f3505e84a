//! `egide professional activate --card DIR`: e-CPS activation with a soft CPS card. The
//! card signs the service's challenge with its authentication key after checking its PIN
//! itself, as a real card does; the PIN never leaves this process.

use std::path::Path;

use anyhow::Context as _;
use egide_devpki::{CardAlgorithm, CardError, SoftCard, check_pin_format};
use egide_proto::{
    certval::v1::SignatureAlgorithm,
    enrolment::v1::{CompleteCardActivationRequest, Professional, StartCardActivationRequest},
};

use super::{ecps_state, register_phone};
use crate::client::{Enrolment, JsonArg, fmt_opt_time, required, step};

/// The e-CPS activation with the card in `card_dir`, step by step.
pub async fn activate(
    client: &mut Enrolment,
    run_dir: &Path,
    id_nat_ps: String,
    card_dir: &Path,
    json: JsonArg,
) -> anyhow::Result<Professional> {
    let mut card = SoftCard::open(card_dir)
        .with_context(|| format!("opening the soft card in {}", card_dir.display()))?;
    // Before any challenge is asked for: a blocked card or a malformed PIN cannot sign.
    if card.is_blocked() {
        return Err(card_failure(CardError::Blocked));
    }
    let pin = crate::pki::pin::read(None)?;
    check_pin_format(&pin).map_err(card_failure)?;
    let started = client
        .start_card_activation(StartCardActivationRequest {
            id_nat_ps: id_nat_ps.clone(),
        })
        .await?
        .into_inner();
    step(
        json,
        &format!(
            "1/3 challenge   {} (until {})",
            started.challenge_id,
            fmt_opt_time(started.expires_at.as_ref())
        ),
    );
    let message = egide_attest::card::activation_message(
        &id_nat_ps,
        &started.challenge_id,
        &started.challenge,
    );
    let signature = card.authenticate(&pin, &message).map_err(card_failure)?;
    let completed = client
        .complete_card_activation(CompleteCardActivationRequest {
            id_nat_ps: id_nat_ps.clone(),
            challenge_id: started.challenge_id,
            certificate: card.auth_certificate().to_vec(),
            intermediates: card.chain(),
            signature,
            algorithm: algorithm(card.algorithm()) as i32,
        })
        .await?
        .into_inner();
    let professional = required(completed.professional, "professional")?;
    step(
        json,
        &format!(
            "2/3 card        verified (e-CPS {})",
            ecps_state(&professional)
        ),
    );
    register_phone(client, run_dir, &id_nat_ps, json).await
}

fn algorithm(a: CardAlgorithm) -> SignatureAlgorithm {
    match a {
        CardAlgorithm::RsaPkcs1Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
        CardAlgorithm::EcdsaP256Sha256 => SignatureAlgorithm::EcdsaP256Sha256,
    }
}

/// What the card said, for people: a wrong PIN with the tries left, a blocked card.
fn card_failure(e: CardError) -> anyhow::Error {
    match e {
        CardError::WrongPin { retries_left: 0 } => {
            anyhow::anyhow!("wrong PIN: no tries left, the card is now blocked")
        }
        CardError::WrongPin { retries_left } => anyhow::anyhow!(
            "wrong PIN: {retries_left} {} left before the card blocks",
            if retries_left == 1 { "try" } else { "tries" }
        ),
        CardError::Blocked => {
            anyhow::anyhow!("the card is blocked (too many wrong PINs); it cannot sign any more")
        }
        other => anyhow::Error::new(other).context("the card did not sign"),
    }
}
