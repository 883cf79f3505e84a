//! The certval configuration that trusts the dev PKI (`egide pki init`): its families'
//! roots and CAs written to files, its dev policy OIDs required per purpose, and its
//! Vault mounts. Used by `egide dev up`, the end-to-end platform and tests.

use std::path::Path;

use egide_devpki::{DevPki, policy};

use crate::config::{CertvalConfig, FamilySettings, PurposeSettings};

/// What the dev PKI adds to a certval configuration.
#[derive(Clone, Debug)]
pub struct DevTrust {
    /// The families, with their files.
    pub families: Vec<FamilySettings>,
    /// The Vault PKI mounts.
    pub mounts: Vec<String>,
}

/// The dev policy OID each purpose requires.
pub const DEV_POLICIES: [(&str, &str); 5] = [
    ("ps-authentication", policy::PS_AUTH),
    ("ps-signature", policy::PS_SIGN),
    ("structure-client-auth", policy::ORG_AUTH_CLI),
    ("server-auth", policy::SERV_SSL),
    ("structure-signature", policy::ORG_SIGN),
];

impl DevTrust {
    /// Writes each family's root and intermediates under `dir` (`<family>-root.pem`,
    /// `<family>-cas.pem`).
    pub fn write(pki: &DevPki, dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut families = Vec::new();
        let mut mounts = Vec::new();
        for f in &pki.families {
            let slug = f.name.to_ascii_lowercase();
            let root = dir.join(format!("{slug}-root.pem"));
            let cas = dir.join(format!("{slug}-cas.pem"));
            std::fs::write(&root, &f.root_pem)?;
            let pems: String = f
                .intermediates
                .iter()
                .map(|(_, pem)| pem.as_str())
                .collect();
            std::fs::write(&cas, pems)?;
            mounts.extend(f.intermediates.iter().map(|(m, _)| m.clone()));
            families.push(FamilySettings {
                name: f.name.clone(),
                anchors: vec![root.display().to_string()],
                intermediates: vec![cas.display().to_string()],
                test: f.test,
                cut_off: f.legacy_cut_off.clone(),
                ..Default::default()
            });
        }
        Ok(Self { families, mounts })
    }

    /// Applies it to `config`: test families trusted (so not production), dev policies
    /// required, revocation in the dev mounts.
    pub fn apply(&self, config: &mut CertvalConfig) {
        config.trust.production = false;
        config.trust.families = self.families.clone();
        for (purpose, oid) in DEV_POLICIES {
            config.purposes.insert(
                purpose.to_owned(),
                PurposeSettings {
                    policies: Some(vec![oid.to_owned()]),
                    ..PurposeSettings::default()
                },
            );
        }
        config.dev_pki.mounts = self.mounts.clone();
    }

    /// The same as a TOML configuration file's text.
    pub fn toml(&self) -> String {
        // A JSON string is a valid TOML basic string.
        let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        let list = |v: &[String]| {
            let items: Vec<String> = v.iter().map(|s| q(s)).collect();
            format!("[{}]", items.join(", "))
        };
        let mut out = String::from("[trust]\nproduction = false\n\n");
        for f in &self.families {
            out.push_str("[[trust.families]]\n");
            out.push_str(&format!("name = {}\n", q(&f.name)));
            out.push_str(&format!("anchors = {}\n", list(&f.anchors)));
            out.push_str(&format!("intermediates = {}\n", list(&f.intermediates)));
            out.push_str(&format!("test = {}\n", f.test));
            if let Some(c) = &f.cut_off {
                out.push_str(&format!("cut_off = {}\n", q(c)));
            }
            out.push('\n');
        }
        for (purpose, oid) in DEV_POLICIES {
            out.push_str(&format!(
                "[purposes.{purpose}]\npolicies = [{}]\n\n",
                q(oid)
            ));
        }
        out.push_str(&format!("[dev_pki]\nmounts = {}\n", list(&self.mounts)));
        out
    }
}
