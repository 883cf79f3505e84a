//! The card PIN: from `--pin`, `EGIDE_CARD_PIN`, or typed without echo. Never printed,
//! except once when `issue-card` chose it.

use std::{
    io::{BufRead as _, Write as _},
    process::{Command, Stdio},
};

use anyhow::Context as _;
use secrecy::SecretString;

/// The PIN comes from here when set (scripts, tests).
pub const PIN_ENV: &str = "EGIDE_CARD_PIN";

/// `given`, else `EGIDE_CARD_PIN`, else `None`.
pub fn from_args_or_env(given: Option<String>) -> Option<SecretString> {
    given
        .or_else(|| std::env::var(PIN_ENV).ok())
        .map(SecretString::from)
}

/// `given`, else `EGIDE_CARD_PIN`, else typed on the terminal.
pub fn read(given: Option<String>) -> anyhow::Result<SecretString> {
    match from_args_or_env(given) {
        Some(pin) => Ok(pin),
        None => prompt().with_context(|| format!("reading the card PIN (or set {PIN_ENV})")),
    }
}

/// Asks on `/dev/tty` with echo off through `stty` (no terminal crate for one prompt, no
/// unsafe code); echo is restored even when reading fails.
fn prompt() -> anyhow::Result<SecretString> {
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
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    Ok(SecretString::from(line))
}
