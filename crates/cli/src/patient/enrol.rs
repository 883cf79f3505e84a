//! `egide patient enrol`: the carte Vitale app's enrolment, played against the simulators.
//!
//! The steps print what happened (states, masked e-mail, key thumbprint), never the code,
//! the attestation or the private key; the final wallet shows the patient's own identity,
//! which is the point.

use std::{io::BufRead as _, path::Path, process::ExitCode};

use anyhow::Context as _;
use clap::Args;
use egide_attest::{
    Algorithm,
    attestation::{Identity, Sex},
};
use egide_directory::ins::{self, IDENTITY_FILE_NAME};
use egide_proto::enrolment::v1::{
    ConfirmEmailCodeRequest, IdentityTraits, StartWalletEnrolmentRequest,
    SubmitIdentityProofRequest, Wallet,
};
use egide_sims::proofing::AttestationRequest;

use super::wallet_owner;
use crate::{
    client::{Enrolment, JsonArg, has_reason, required, short_enum, show, step},
    endpoints::Endpoints,
    ins::TraitsArgs,
    phone::{Inbox, NewDevice, mailbox},
    proofing,
};

/// `egide patient enrol` options.
#[derive(Args, Debug)]
pub struct EnrolArgs {
    /// Matricule INS (NIR), 15 characters, with the traits; without them, the first
    /// identity of the demo directory's `ins_reference.csv` that has no wallet yet.
    #[arg(long, requires = "TraitsArgs")]
    nir: Option<String>,
    #[command(flatten)]
    traits: Option<TraitsArgs>,
    /// Where the code goes (default: a fresh address at patients.egide.test).
    #[arg(long)]
    email: Option<String>,
    /// Generate an Ed25519 device key instead of P-256.
    #[arg(long)]
    ed25519: bool,
    #[command(flatten)]
    json: JsonArg,
}

/// An identity to enrol, as the proto and the attestation need it.
struct Candidate {
    nir: String,
    traits: IdentityTraits,
}

/// `egide patient enrol`.
pub async fn run(
    run_dir: &Path,
    client: &mut Enrolment,
    args: EnrolArgs,
) -> anyhow::Result<ExitCode> {
    let json = args.json;
    let declared = match (args.nir, args.traits) {
        (Some(nir), Some(traits)) => Some(Candidate {
            nir,
            traits: traits.into(),
        }),
        (None, None) => None,
        _ => anyhow::bail!("--nir and the traits go together"),
    };
    let endpoints = Endpoints::read(run_dir)?;
    anyhow::ensure!(
        !endpoints.proofing_sim.is_empty(),
        "endpoints.json has no proofing_sim: restart the stack with this version of `egide dev up`"
    );
    let mailbox = mailbox(run_dir)?;
    let email = args.email.unwrap_or_else(fresh_email);
    let inbox = Inbox::watch(&mailbox, &email)?;

    // 1. Start, with the declared identity or the first free one of the reference.
    let (candidate, started) = match declared {
        Some(candidate) => {
            let started = start(client, &candidate, &email).await?;
            (candidate, started)
        }
        None => start_first_free(client, run_dir, &email, json).await?,
    };
    let wallet = required(started, "wallet")?;
    step(
        json,
        &format!(
            "1/4 started     wallet {} ({}), code sent to {}",
            wallet.id,
            state(&wallet),
            wallet.email_masked
        ),
    );

    // 2. The e-mail code, read from the mail capture.
    let code = inbox.code().await?;
    let confirmed = client
        .confirm_email_code(ConfirmEmailCodeRequest {
            wallet_id: wallet.id.clone(),
            code,
        })
        .await?
        .into_inner();
    step(
        json,
        &format!(
            "2/4 e-mail      confirmed ({})",
            confirmed.wallet.as_ref().map(state).unwrap_or("?")
        ),
    );

    // 3. The identity proof, from the proofing simulator, bound to the nonce and audience.
    let attestation = proofing::attest(
        &endpoints.proofing_sim,
        &AttestationRequest {
            subject: wallet.id.clone(),
            nonce: confirmed.proofing_nonce,
            audience: confirmed.proofing_audience,
            level: None,
            method: None,
            identity: attested_identity(&candidate.traits)?,
            issued_at: None,
            ttl_secs: None,
        },
    )
    .await?;
    let proven = client
        .submit_identity_proof(SubmitIdentityProofRequest {
            wallet_id: wallet.id.clone(),
            attestation,
        })
        .await?
        .into_inner();
    let proofing = proven.wallet.as_ref().and_then(|w| w.proofing.as_ref());
    step(
        json,
        &format!(
            "3/4 proofing    accepted{} ({})",
            proofing
                .map(|p| format!(": {} by {}", p.level, p.method))
                .unwrap_or_default(),
            proven.wallet.as_ref().map(state).unwrap_or("?")
        ),
    );

    // 4. A device key, proven over a challenge.
    let algorithm = if args.ed25519 {
        Algorithm::EdDsa
    } else {
        Algorithm::Es256
    };
    let device = NewDevice::generate(run_dir, &format!("wallet-{}", wallet.id), algorithm)?;
    let registered = device
        .register(
            client,
            wallet_owner(wallet.id.clone()),
            &format!("wallet:{}", wallet.id),
        )
        .await?;
    let key = registered.device.as_ref();
    step(
        json,
        &format!(
            "4/4 device      {} {} registered, private key in {}",
            key.map(|d| d.algorithm.as_str()).unwrap_or("?"),
            key.map(|d| d.thumbprint.as_str()).unwrap_or("?"),
            device.path().display()
        ),
    );
    step(json, "");
    show(&required(registered.wallet, "wallet")?, json)?;
    Ok(ExitCode::SUCCESS)
}

fn state(w: &Wallet) -> &'static str {
    short_enum(w.state().as_str_name(), "WALLET_STATE_")
}

async fn start(
    client: &mut Enrolment,
    candidate: &Candidate,
    email: &str,
) -> Result<Option<Wallet>, tonic::Status> {
    let request = StartWalletEnrolmentRequest {
        nir: candidate.nir.clone(),
        traits: Some(candidate.traits.clone()),
        email: email.to_owned(),
    };
    Ok(client
        .start_wallet_enrolment(request)
        .await?
        .into_inner()
        .wallet)
}

/// Tries the identities of `<run_dir>/directory/ins_reference.csv` in order, skipping
/// those that already have a wallet or an enrolment in progress.
async fn start_first_free(
    client: &mut Enrolment,
    run_dir: &Path,
    email: &str,
    json: JsonArg,
) -> anyhow::Result<(Candidate, Option<Wallet>)> {
    let path = run_dir.join("directory").join(IDENTITY_FILE_NAME);
    let mut skipped = 0_u64;
    for candidate in reference_identities(&path)? {
        let candidate = candidate?;
        match start(client, &candidate, email).await {
            Ok(wallet) => {
                if skipped > 0 {
                    step(
                        json,
                        &format!(
                            "    (skipped {skipped} with a wallet or an enrolment in progress)"
                        ),
                    );
                }
                return Ok((candidate, wallet));
            }
            Err(status)
                if has_reason(&status, "wallet_exists")
                    || has_reason(&status, "enrolment_in_progress") =>
            {
                skipped += 1;
            }
            Err(status) => return Err(status.into()),
        }
    }
    anyhow::bail!(
        "every identity of {} already has a wallet ({skipped} tried): pass --nir and the traits",
        path.display()
    )
}

/// The identities of an `ins_reference.csv`, read lazily (the file may be large).
fn reference_identities(
    path: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Candidate>>> {
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "{} (run `egide dev up` once, or pass --nir and the traits)",
            path.display()
        )
    })?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header = lines.next().transpose()?.unwrap_or_default();
    ins::check_identity_header(header.trim_start_matches('\u{feff}').as_bytes())?;
    let shown = path.display().to_string();
    Ok(lines.enumerate().filter_map(move |(i, line)| {
        let line = match line {
            Ok(line) => line,
            Err(e) => return Some(Err(e.into())),
        };
        // Bad lines were rejected by the import too: skip them here (line numbers only,
        // never their content).
        let identity = match ins::parse_identity(line.trim_end_matches('\r').as_bytes()) {
            Ok(identity) => identity,
            Err(e) => {
                eprintln!("    {shown}:{}: skipped ({})", i + 2, e.code);
                return None;
            }
        };
        Some(Ok(Candidate {
            nir: identity.ins.matricule().to_string(),
            traits: IdentityTraits {
                birth_name: identity.birth_name.to_owned(),
                given_names: identity.given_name_list().map(str::to_owned).collect(),
                sex: identity.sex.letter().to_owned(),
                birth_date: identity.birth_date.format("%Y-%m-%d").to_string(),
                birth_place: identity.birth_place.to_owned(),
            },
        }))
    }))
}

/// The identity the (simulated) provider read from the identity card: the declared one.
fn attested_identity(t: &IdentityTraits) -> anyhow::Result<Identity> {
    let sex = match t.sex.as_str() {
        "M" => Sex::M,
        "F" => Sex::F,
        _ => anyhow::bail!("sex must be M or F"),
    };
    Ok(Identity {
        birth_name: t.birth_name.clone(),
        given_names: t.given_names.clone(),
        sex,
        birth_date: t.birth_date.clone(),
        birth_place: t.birth_place.clone(),
    })
}

/// A fresh address at the simulated patients' domain, unique per run.
fn fresh_email() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("patient-{nanos:x}@patients.egide.test")
}
