//! `egide professional activate --card DIR`: e-CPS activation with a soft CPS card. The
//! card signs the service's challenge with its authentication key after checking its PIN
//! itself, as a real card does; the PIN never leaves this process.

use std::{
    io::{BufRead as _, Write as _},
    path::Path,
    process::{Command, Stdio},
};

use anyhow::Context as _;
use egide_devpki::{CardAlgorithm, CardError, SoftCard, check_pin_format};
use egide_proto::{
    certval::v1::SignatureAlgorithm,
    enrolment::v1::{CompleteCardActivationRequest, Professional, StartCardActivationRequest},
};
use secrecy::SecretString;

use super::{ecps_state, register_phone};
use crate::client::{Enrolment, JsonArg, fmt_opt_time, required, step};

/// The PIN comes from here when set (scripts, tests), else from the terminal.
const PIN_ENV: &str = "EGIDE_CARD_PIN";

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
    let pin = read_pin()?;
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
    let message = activation_message(&id_nat_ps, &started.challenge_id, &started.challenge);
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

/// The bytes the card signs (`CompleteCardActivation` in enrolment_service.proto): the
/// service rebuilds them from the request, so both sides must agree to the byte.
fn activation_message(id_nat_ps: &str, challenge_id: &str, challenge: &[u8]) -> Vec<u8> {
    let mut m = format!("egide-ecps-card-activation\n{id_nat_ps}\n{challenge_id}\n").into_bytes();
    m.extend_from_slice(challenge);
    m
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

/// The PIN from `EGIDE_CARD_PIN`, else typed on the terminal without echo.
fn read_pin() -> anyhow::Result<SecretString> {
    if let Ok(pin) = std::env::var(PIN_ENV) {
        return Ok(SecretString::from(pin));
    }
    prompt_pin().with_context(|| format!("reading the card PIN (or set {PIN_ENV})"))
}

/// Asks on `/dev/tty`, echo off through `stty` (no terminal crate for one prompt, and no
/// unsafe code): restored even when reading fails.
fn prompt_pin() -> anyhow::Result<SecretString> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("no terminal to ask the PIN on")?;
    let stty = |arg: &str| -> anyhow::Result<()> {
        let status = Command::new("stty")
            .arg(arg)
            .stdin(Stdio::from(tty.try_clone()?))
            .status()
            .context("running stty")?;
        anyhow::ensure!(status.success(), "stty {arg} failed");
        Ok(())
    };
    let mut out = tty.try_clone()?;
    write!(out, "card PIN: ")?;
    out.flush()?;
    stty("-echo")?;
    let mut line = String::new();
    let read = std::io::BufReader::new(tty.try_clone()?).read_line(&mut line);
    let restored = stty("echo");
    writeln!(out)?;
    read?;
    restored?;
    // Trimmed in place: the only copy is the one the secret zeroes when dropped.
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    Ok(SecretString::from(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_message_is_the_services() {
        // The same bytes as the enrolment service's own pinned test.
        let m = activation_message(
            "810001045367",
            "0193a5b0-0000-7000-8000-000000000001",
            &[0, 1, 0xff],
        );
        let mut expected = b"egide-ecps-card-activation\n810001045367\n\
            0193a5b0-0000-7000-8000-000000000001\n"
            .to_vec();
        expected.extend_from_slice(&[0, 1, 0xff]);
        assert_eq!(m, expected);
    }
}
