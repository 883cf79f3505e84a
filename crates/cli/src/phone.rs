//! What the phone apps (carte Vitale app, e-CPS) do, played by the CLI against the
//! simulators: read one-time codes from the mail capture, hold a device key and register
//! it with proof of possession.
//!
//! Codes and private keys are never printed: a code goes straight from the captured mail
//! to the request, a key straight to a 0600 file.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use egide_attest::{
    Algorithm,
    device::{DeviceSigner, registration_message},
};
use egide_proto::enrolment::v1::{
    CreateDeviceChallengeRequest, Device, DeviceOwner, RegisterDeviceRequest,
    RegisterDeviceResponse,
};
use egide_sims::mailbox::Mailbox;
use secrecy::ExposeSecret as _;

use crate::{
    client::{Enrolment, fmt_opt_time},
    endpoints::Endpoints,
};

/// How long a code mail may take to arrive (the service sends through its outbox).
const MAIL_WAIT: Duration = Duration::from_secs(30);
/// Digits of a one-time code.
const CODE_DIGITS: usize = 6;

/// The mail capture of the local stack.
pub fn mailbox(run_dir: &Path) -> anyhow::Result<Mailbox> {
    let endpoints = Endpoints::read(run_dir)?;
    anyhow::ensure!(
        !endpoints.mail_dir.is_empty(),
        "endpoints.json has no mail_dir: restart the stack with this version of `egide dev up`"
    );
    Ok(Mailbox::new(endpoints.mail_dir))
}

/// One recipient's inbox, watched from before a code is sent.
pub struct Inbox {
    mailbox: Mailbox,
    address: String,
    known: usize,
}

impl Inbox {
    /// Notes how many mails `address` already has; call it before the code is sent.
    pub fn watch(mailbox: &Mailbox, address: &str) -> anyhow::Result<Self> {
        let known = mailbox
            .messages_to(address)
            .with_context(|| format!("reading {}", mailbox.dir().display()))?
            .len();
        Ok(Self {
            mailbox: mailbox.clone(),
            address: address.to_owned(),
            known,
        })
    }

    /// Waits for the new mail and returns the code in it.
    pub async fn code(&self) -> anyhow::Result<String> {
        let mail = self
            .mailbox
            .wait_new_to(&self.address, self.known, MAIL_WAIT)
            .await?;
        mail.find_code(CODE_DIGITS).with_context(|| {
            format!(
                "the mail {} holds no {CODE_DIGITS}-digit code",
                mail.path.display()
            )
        })
    }
}

/// A device key to register: generated, saved, then proven.
pub struct NewDevice {
    signer: DeviceSigner,
    path: PathBuf,
}

impl NewDevice {
    /// Generates a key and saves it (PKCS#8 PEM, mode 0600) as
    /// `<run_dir>/devices/<stem>.pem`, or `<stem>-2.pem`… if that exists.
    pub fn generate(run_dir: &Path, stem: &str, algorithm: Algorithm) -> anyhow::Result<Self> {
        let signer = DeviceSigner::generate(algorithm);
        let pem = signer.to_pkcs8_pem()?;
        let dir = run_dir.join("devices");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = write_new_private(&dir, stem, pem.expose_secret().as_bytes())?;
        Ok(Self { signer, path })
    }

    /// Where the private key is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Asks for a challenge and registers the key for `owner`, whose registration id
    /// (`wallet:<id>`, `ps:<idNat_PS>`) the proof is bound to.
    pub async fn register(
        &self,
        client: &mut Enrolment,
        owner: DeviceOwner,
        owner_key: &str,
    ) -> anyhow::Result<RegisterDeviceResponse> {
        let challenge = client
            .create_device_challenge(CreateDeviceChallengeRequest {
                owner: Some(owner.clone()),
            })
            .await?
            .into_inner();
        let key = self.signer.device_key();
        let message = registration_message(owner_key, &challenge.nonce, &key.thumbprint());
        let request = RegisterDeviceRequest {
            owner: Some(owner),
            public_key: key.to_spki_der(),
            nonce: challenge.nonce,
            signature: self.signer.sign(&message),
            label: format!("egide CLI ({})", self.signer.algorithm()),
            // The first device of an enrolment needs no co-signature.
            ..Default::default()
        };
        let registered = client.register_device(request).await?.into_inner();
        // The device id beside the key: `egide login device` needs both.
        if let Some(device) = &registered.device {
            let id_path = self.path.with_extension("device");
            std::fs::write(&id_path, &device.id)
                .with_context(|| format!("writing {}", id_path.display()))?;
        }
        Ok(registered)
    }
}

/// Creates `<dir>/<stem>.pem` (or the first free `<stem>-N.pem`) readable by its owner
/// only, never over an existing key.
fn write_new_private(dir: &Path, stem: &str, data: &[u8]) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt as _;
    for n in 1..100 {
        let name = if n == 1 {
            format!("{stem}.pem")
        } else {
            format!("{stem}-{n}.pem")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(data)?;
                file.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    anyhow::bail!("too many device keys named {stem} in {}", dir.display())
}

/// Prints registered devices, one per line.
pub fn print_devices(devices: &[Device]) {
    if devices.is_empty() {
        println!("  devices     none");
    }
    for d in devices {
        let state = match &d.revoked_at {
            Some(t) => format!("REVOKED {}", fmt_opt_time(Some(t))),
            None => format!("registered {}", fmt_opt_time(d.registered_at.as_ref())),
        };
        println!(
            "  device      {}  {:<5} {}  {:?}  {state}",
            d.id, d.algorithm, d.thumbprint, d.label
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn keys_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_new_private(dir.path(), "wallet-1", b"one").unwrap();
        let second = write_new_private(dir.path(), "wallet-1", b"two").unwrap();
        assert_eq!(first, dir.path().join("wallet-1.pem"));
        assert_eq!(second, dir.path().join("wallet-1-2.pem"));
        assert_eq!(std::fs::read(&first).unwrap(), b"one");
        for path in [first, second] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_saved_device_key_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let device = NewDevice::generate(dir.path(), "ps-810001045367", Algorithm::EdDsa).unwrap();
        let pem = std::fs::read_to_string(device.path()).unwrap();
        let loaded = DeviceSigner::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(
            loaded.device_key().thumbprint(),
            device.signer.device_key().thumbprint()
        );
    }
}
