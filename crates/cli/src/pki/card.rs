//! `egide pki card-sign` and `card-status`: using a soft card by hand.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use base64::Engine as _;
use clap::{Args, ValueEnum};
use egide_devpki::{CardError, SoftCard};

use super::pin;

/// Which key of the card.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Slot {
    /// The authentication key (challenge-response).
    Auth,
    /// The signature key.
    Sign,
}

/// `egide pki card-sign`.
#[derive(Args, Debug)]
pub struct CardSignArgs {
    /// The card's directory.
    #[arg(long)]
    card: PathBuf,
    /// The file to sign.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where to write the signature (raw bytes); printed in base64 when left out.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The key to sign with.
    #[arg(long, value_enum, default_value = "sign")]
    key: Slot,
}

/// `egide pki card-status`.
#[derive(Args, Debug)]
pub struct CardStatusArgs {
    /// The card's directory.
    #[arg(long)]
    card: PathBuf,
}

/// `egide pki card-sign`.
pub fn sign(args: CardSignArgs) -> anyhow::Result<ExitCode> {
    let mut card = SoftCard::open(&args.card)
        .with_context(|| format!("opening the soft card in {}", args.card.display()))?;
    if card.is_blocked() {
        anyhow::bail!(CardError::Blocked);
    }
    let message =
        std::fs::read(&args.input).with_context(|| format!("{}", args.input.display()))?;
    let pin = pin::read(None)?;
    let signature = match args.key {
        Slot::Auth => card.authenticate(&pin, &message),
        Slot::Sign => card.sign(&pin, &message),
    }
    .map_err(|e| match e {
        CardError::WrongPin { retries_left: 0 } => {
            anyhow::anyhow!("wrong PIN: no tries left, the card is now blocked")
        }
        CardError::WrongPin { retries_left } => {
            anyhow::anyhow!("wrong PIN: {retries_left} tries left before the card blocks")
        }
        other => anyhow::Error::new(other),
    })?;
    match args.out {
        Some(path) => {
            std::fs::write(&path, &signature).with_context(|| format!("{}", path.display()))?;
            eprintln!("signature ({:?}) in {}", card.algorithm(), path.display());
        }
        None => println!(
            "{}",
            base64::engine::general_purpose::STANDARD.encode(&signature)
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `egide pki card-status`.
pub fn status(args: &CardStatusArgs) -> anyhow::Result<ExitCode> {
    let card = SoftCard::open(&args.card)
        .with_context(|| format!("opening the soft card in {}", args.card.display()))?;
    println!("soft CPS card {}", card.idnat());
    println!("  algorithm {:?}", card.algorithm());
    println!(
        "  PIN       {}",
        if card.is_blocked() {
            "BLOCKED".to_owned()
        } else {
            format!("{} tries left", card.retries_left())
        }
    );
    for (what, der) in [
        ("auth", card.auth_certificate()),
        ("sign", card.sign_certificate()),
    ] {
        let s = egide_devpki::summary(der).with_context(|| format!("{what} certificate"))?;
        println!("  {what:<9} {}", s.subject);
        println!("            serial {}  until {}", s.serial, s.not_after);
    }
    Ok(ExitCode::SUCCESS)
}
