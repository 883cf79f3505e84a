//! The simulators of what is outside Égide — the SMTP relay (which also receives the SMS,
//! through the e-mail-to-SMS gateway domain) and the identity-proofing provider — and the
//! enrolment configuration file that points at them.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use egide_sims::proofing::{DEFAULT_ISSUER, DEFAULT_KID};
use tokio::process::Command;

use super::{Children, UpArgs, fresh_addr_file, service_port, spawn, wait_started};

/// Port offsets from `--service-port-base`.
pub const MAIL_SIM_OFFSET: u16 = 10;
/// See [`MAIL_SIM_OFFSET`].
pub const PROOFING_SIM_OFFSET: u16 = 11;

/// Where the simulators listen and write.
pub struct Sims {
    /// The mail capture directory.
    pub mail_dir: PathBuf,
    /// `smtp://127.0.0.1:port`.
    pub mail_smtp: String,
    /// `http://127.0.0.1:port`.
    pub proofing_url: String,
    /// The enrolment service's configuration file.
    pub enrolment_config: PathBuf,
}

/// Starts both simulators, waits until they listen, and writes
/// `<run_dir>/config/enrolment.toml`.
pub async fn start(
    run_dir: &Path,
    logs: &Path,
    bin_dir: &Path,
    args: &UpArgs,
    children: &mut Children,
) -> anyhow::Result<Sims> {
    let mail_dir = run_dir.join("mail");
    let proofing_dir = run_dir.join("proofing");
    let addr_dir = run_dir.join("addr");
    for dir in [&mail_dir, &proofing_dir, &addr_dir] {
        std::fs::create_dir_all(dir)?;
    }
    let public_key = proofing_dir.join("sim-public.pem");

    let mail_addr = fresh_addr_file(&addr_dir, "mail-sim")?;
    let mut cmd = Command::new(bin_dir.join("egide-mail-sim"));
    cmd.arg("--listen")
        .arg(format!("127.0.0.1:{}", service_port(args, MAIL_SIM_OFFSET)))
        .arg("--addr-file")
        .arg(&mail_addr)
        .arg("--dir")
        .arg(&mail_dir);
    children
        .0
        .push(("mail-sim".into(), spawn(cmd, logs, "mail-sim")?));

    let proofing_addr = fresh_addr_file(&addr_dir, "proofing-sim")?;
    let mut cmd = Command::new(bin_dir.join("egide-proofing-sim"));
    cmd.arg("--listen")
        .arg(format!(
            "127.0.0.1:{}",
            service_port(args, PROOFING_SIM_OFFSET)
        ))
        .arg("--addr-file")
        .arg(&proofing_addr)
        .args(["--issuer", DEFAULT_ISSUER, "--kid", DEFAULT_KID])
        .arg("--key")
        .arg(proofing_dir.join("sim-key.pem"))
        .arg("--public-key-out")
        .arg(&public_key);
    children
        .0
        .push(("proofing-sim".into(), spawn(cmd, logs, "proofing-sim")?));

    // The proofing simulator writes its public key before it listens: once both listen,
    // the enrolment service can read everything its configuration names.
    let read = |path: &Path| {
        egide_sims::read_addr_file(path).with_context(|| format!("reading {}", path.display()))
    };
    let mail = wait_started(children, "mail-sim", logs, || read(&mail_addr)).await?;
    let proofing = wait_started(children, "proofing-sim", logs, || read(&proofing_addr)).await?;

    let mail_smtp = format!("smtp://{mail}");
    let enrolment_config = write_enrolment_config(run_dir, &mail_smtp, &public_key)?;
    Ok(Sims {
        mail_dir,
        mail_smtp,
        proofing_url: format!("http://{proofing}"),
        enrolment_config,
    })
}

/// `<run_dir>/config/enrolment.toml`: the relay to send codes through and the proofing
/// provider to trust (the simulator, by its public key file).
fn write_enrolment_config(
    run_dir: &Path,
    smtp_url: &str,
    public_key: &Path,
) -> anyhow::Result<PathBuf> {
    let dir = run_dir.join("config");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("enrolment.toml");
    let text = format!(
        "# Written by `egide dev up` at every start: the simulators of the local stack.\n\
         \n\
         [mail]\n\
         smtp_url = {}\n\
         \n\
         [[proofing.providers]]\n\
         issuer = {}\n\
         kid = {}\n\
         public_key_file = {}\n",
        toml_string(smtp_url)?,
        toml_string(DEFAULT_ISSUER)?,
        toml_string(DEFAULT_KID)?,
        toml_string(&public_key.display().to_string())?,
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A TOML basic string. JSON string syntax as serde_json writes it (`\"`, `\\`, `\n`,
/// `\uXXXX` for control characters) is valid TOML basic-string syntax.
fn toml_string(s: &str) -> anyhow::Result<String> {
    Ok(serde_json::to_string(s)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn config_strings_are_escaped() {
        assert_eq!(
            toml_string(r#"/tmp/a "b"\c"#).unwrap(),
            r#""/tmp/a \"b\"\\c""#
        );
        let dir = tempfile::tempdir().unwrap();
        let path = write_enrolment_config(dir.path(), "smtp://127.0.0.1:2525", Path::new("/k.pem"))
            .unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("[mail]\nsmtp_url = \"smtp://127.0.0.1:2525\"\n"));
        assert!(text.contains("[[proofing.providers]]\nissuer = \"https://proofing-sim.egide.test\"\nkid = \"sim-1\"\npublic_key_file = \"/k.pem\"\n"));
    }
}
