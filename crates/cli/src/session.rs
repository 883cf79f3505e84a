//! The CLI's sessions: tokens kept in `<run_dir>/sessions/` (0600), refreshed before they
//! expire, and a fresh device-key login when a command needs a person the CLI plays (the
//! carte Vitale app or e-CPS whose key `egide patient enrol` saved).
//!
//! Token files hold the access and refresh tokens: they are secrets, written readable by
//! their owner only and never printed (only `--json` on `login` prints a token response,
//! as asked).

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use egide_attest::{device::DeviceSigner, login::login_message};
use egide_proto::auth::v1::{
    self as pb, auth_service_client::AuthServiceClient, login_owner::Owner,
};
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

/// The client id the CLI logs in as.
pub const CLIENT_ID: &str = "egide-cli";

/// Refresh this long before the access token expires.
const REFRESH_MARGIN_SECS: i64 = 30;

/// A stored session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stored {
    /// `wallet:<id>` or `ps:<idNat_PS>`.
    pub owner: String,
    pub session_id: String,
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub acr: String,
    pub amr: Vec<String>,
}

/// Whose session: the file name is the owner with `:` as `-`.
fn path(run_dir: &Path, owner: &str) -> PathBuf {
    run_dir
        .join("sessions")
        .join(format!("{}.json", owner.replace(':', "-")))
}

fn current_path(run_dir: &Path) -> PathBuf {
    run_dir.join("sessions").join("current")
}

/// Saves `s` (0600) and makes it the current session.
pub fn save(run_dir: &Path, s: &Stored) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = path(run_dir, &s.owner);
    let dir = file.parent().context("sessions dir")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = file.with_extension("json.tmp");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    out.write_all(&serde_json::to_vec_pretty(s)?)?;
    out.sync_all()?;
    std::fs::rename(&tmp, &file)?;
    std::fs::write(current_path(run_dir), &s.owner)?;
    Ok(())
}

/// The stored session of `owner`.
pub fn load(run_dir: &Path, owner: &str) -> Option<Stored> {
    let text = std::fs::read(path(run_dir, owner)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The current session (the last login).
pub fn current(run_dir: &Path) -> Option<Stored> {
    let owner = std::fs::read_to_string(current_path(run_dir)).ok()?;
    load(run_dir, owner.trim())
}

/// The owner of the most recently saved session whose owner starts with `prefix`
/// (`account:`: the local account that logged in last, when another session is current).
pub fn latest_of(run_dir: &Path, prefix: &str) -> Option<String> {
    let file_prefix = prefix.replace(':', "-");
    std::fs::read_dir(run_dir.join("sessions"))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&file_prefix) && name.ends_with(".json")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max_by_key(|(modified, _)| *modified)
        .and_then(|(_, path)| serde_json::from_slice::<Stored>(&std::fs::read(path).ok()?).ok())
        .map(|s| s.owner)
}

/// Forgets `owner`'s session.
pub fn forget(run_dir: &Path, owner: &str) {
    let _ = std::fs::remove_file(path(run_dir, owner));
    if std::fs::read_to_string(current_path(run_dir)).is_ok_and(|c| c.trim() == owner) {
        let _ = std::fs::remove_file(current_path(run_dir));
    }
}

/// auth, through the gateway.
pub async fn auth(run_dir: &Path) -> anyhow::Result<AuthServiceClient<Channel>> {
    Ok(AuthServiceClient::new(
        crate::client::gateway(run_dir).await?,
    ))
}

/// Saves the session of a token response for `owner`.
pub fn store(run_dir: &Path, owner: &str, t: pb::TokenResponse) -> anyhow::Result<Stored> {
    let s = stored(owner, t);
    save(run_dir, &s)?;
    Ok(s)
}

fn stored(owner: &str, t: pb::TokenResponse) -> Stored {
    Stored {
        owner: owner.to_owned(),
        session_id: t.session_id,
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_at: unix_now() + i64::from(t.expires_in),
        acr: t.acr,
        amr: t.amr,
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The device key the CLI saved for `owner` (`wallet:<id>` → `devices/wallet-<id>.pem`,
/// the newest of `…-N.pem` that has its `.device` id beside it), and that id.
pub fn device_key(run_dir: &Path, owner: &str) -> anyhow::Result<(DeviceSigner, String)> {
    let stem = owner.replace(':', "-");
    let dir = run_dir.join("devices");
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)
        .with_context(|| format!("no device keys in {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "pem")
                && p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(|s| s == stem || s.starts_with(&format!("{stem}-")))
                && p.with_extension("device").exists()
        })
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    candidates.sort();
    let (_, pem_path) = candidates.pop().with_context(|| {
        format!(
            "no registered device key for {owner} in {} (give --key and --device)",
            dir.display()
        )
    })?;
    read_key(&pem_path, None)
}

/// A device key file and its device id (`--device`, else the `.device` file beside it).
pub fn read_key(
    pem_path: &Path,
    device_id: Option<&str>,
) -> anyhow::Result<(DeviceSigner, String)> {
    let pem = std::fs::read_to_string(pem_path)
        .with_context(|| format!("reading {}", pem_path.display()))?;
    let signer = DeviceSigner::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{}: {e}", pem_path.display()))?;
    let device_id = match device_id {
        Some(id) => id.to_owned(),
        None => {
            let id_path = pem_path.with_extension("device");
            std::fs::read_to_string(&id_path)
                .with_context(|| format!("reading {} (or give --device)", id_path.display()))?
                .trim()
                .to_owned()
        }
    };
    Ok((signer, device_id))
}

/// `wallet:<id>` / `ps:<id>` as the API's owner.
pub fn login_owner(owner: &str) -> anyhow::Result<pb::LoginOwner> {
    let owner = match owner.split_once(':') {
        Some(("wallet", id)) => Owner::WalletId(id.to_owned()),
        Some(("ps", id)) => Owner::IdNatPs(id.to_owned()),
        _ => anyhow::bail!("an owner is wallet:<id> or ps:<idNat_PS>, not {owner:?}"),
    };
    Ok(pb::LoginOwner { owner: Some(owner) })
}

/// A device-key login of `owner` with `signer`; the session is saved and returned with
/// the token response.
pub async fn login_device(
    run_dir: &Path,
    owner: &str,
    signer: &DeviceSigner,
    device_id: &str,
    scope: &str,
) -> anyhow::Result<(Stored, pb::TokenResponse)> {
    let mut auth = auth(run_dir).await?;
    let challenge = auth
        .start_login(pb::StartLoginRequest {
            client_id: CLIENT_ID.into(),
            scope: scope.into(),
            means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                owner: Some(login_owner(owner)?),
                device_id: device_id.into(),
            })),
        })
        .await?
        .into_inner();
    let message = login_message(
        "device",
        owner,
        device_id,
        CLIENT_ID,
        &challenge.challenge_id,
        &challenge.challenge,
    );
    let tokens = auth
        .complete_login(pb::CompleteLoginRequest {
            challenge_id: challenge.challenge_id,
            proof: Some(pb::complete_login_request::Proof::DeviceSignature(
                signer.sign(&message),
            )),
            nonce: String::new(),
        })
        .await?
        .into_inner();
    let s = stored(owner, tokens.clone());
    save(run_dir, &s)?;
    Ok((s, tokens))
}

/// A live access token for `owner`: the stored one, refreshed if it is about to expire,
/// else a new device-key login with the key the CLI saved for it.
pub async fn access_token(run_dir: &Path, owner: &str) -> anyhow::Result<String> {
    if let Some(s) = load(run_dir, owner) {
        if s.expires_at - REFRESH_MARGIN_SECS > unix_now() {
            return Ok(s.access_token);
        }
        let refreshed = auth(run_dir)
            .await?
            .refresh_session(pb::RefreshSessionRequest {
                refresh_token: s.refresh_token.clone(),
                client_id: CLIENT_ID.into(),
            })
            .await;
        match refreshed {
            Ok(t) => {
                let s = stored(owner, t.into_inner());
                save(run_dir, &s)?;
                return Ok(s.access_token);
            }
            Err(status) => {
                eprintln!(
                    "session of {owner} ended ({}); logging in again",
                    status.message()
                );
                forget(run_dir, owner);
            }
        }
    }
    anyhow::ensure!(
        !owner.starts_with("account:"),
        "the session of {owner} ended: log in again (egide login password)"
    );
    let (signer, device_id) = device_key(run_dir, owner)?;
    Ok(login_device(run_dir, owner, &signer, &device_id, "")
        .await?
        .0
        .access_token)
}

/// `message` with `authorization: Bearer <token>`.
pub fn bearer<T>(token: &str, message: T) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .context("the access token is not header-safe")?,
    );
    Ok(request)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn sessions_are_private_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let s = Stored {
            owner: "wallet:0193".into(),
            session_id: "s".into(),
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: 1,
            acr: "eidas2".into(),
            amr: vec!["hwk".into()],
        };
        save(dir.path(), &s).unwrap();
        let file = dir.path().join("sessions/wallet-0193.json");
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load(dir.path(), "wallet:0193").unwrap().refresh_token, "r");
        assert_eq!(current(dir.path()).unwrap().owner, "wallet:0193");
        forget(dir.path(), "wallet:0193");
        assert!(current(dir.path()).is_none() && !file.exists());
    }
}
