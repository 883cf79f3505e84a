//! The dev PKI's Vault mounts where RevokeCertificate also revokes: the mount of a CA is
//! known from its name (the dev hierarchy's names are fixed), and used only when the
//! configuration lists it (production lists none).

use egide_pki::Certificate;

/// The configured dev PKI mounts.
#[derive(Debug, Default)]
pub struct DevMounts {
    mounts: Vec<String>,
}

impl DevMounts {
    /// The configured mounts.
    pub fn new(mounts: Vec<String>) -> Self {
        Self { mounts }
    }

    /// The configured mount whose CA is `ca`, if one is.
    pub fn mount_for(&self, ca: &Certificate) -> Option<&str> {
        let mount = egide_devpki::mount_for_issuer(ca.subject_der())?;
        self.mounts.iter().map(String::as_str).find(|m| *m == mount)
    }
}
