//! The trust configuration in force: anchors by family, the families' CAs, and the
//! purposes' profiles. Built from the configuration at start-up and again on SIGHUP.

use std::{collections::HashMap, sync::Arc};

use anyhow::{Context as _, bail};
use egide_pki::{
    Certificate,
    path::Validator,
    pem,
    purpose::{self, Profile},
    sig::{KeyAlgorithm, MIN_RSA_BITS},
    trust::{Family, KeyPolicy, TrustStore},
};

use crate::config::{CertvalConfig, FamilySettings};

/// One loaded trust configuration (immutable; replaced as a whole on reload).
pub struct Trust {
    /// The path validator over the anchors.
    pub validator: Validator,
    /// Profiles by purpose name.
    pub profiles: HashMap<String, Profile>,
    /// Every CA certificate known (anchors and configured intermediates) by subject DER:
    /// candidate issuers of CRLs and revocations.
    pub cas: HashMap<Vec<u8>, Vec<Certificate>>,
    /// The configured intermediates: path candidates added to what a caller sends.
    pub intermediates: Vec<Certificate>,
}

impl Trust {
    /// Reads the anchor and intermediate files of `config`.
    pub fn load(config: &CertvalConfig) -> anyhow::Result<Self> {
        let mut families = Vec::new();
        let mut cas: HashMap<Vec<u8>, Vec<Certificate>> = HashMap::new();
        let mut intermediates = Vec::new();
        for (i, f) in config.trust.families.iter().enumerate() {
            let cut_off = f
                .cut_off
                .as_deref()
                .map(|s| {
                    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                        .with_context(|| format!("trust.families[{i}].cut_off: {s}"))
                })
                .transpose()?;
            let anchors = read_certs(&f.anchors)
                .with_context(|| format!("trust.families[{i}] ({}) anchors", f.name))?;
            if anchors.is_empty() {
                bail!("trust.families[{i}] ({}): no anchor", f.name);
            }
            let inter = read_certs(&f.intermediates)
                .with_context(|| format!("trust.families[{i}] ({}) intermediates", f.name))?;
            for c in anchors.iter().chain(&inter) {
                cas.entry(c.subject_der().to_vec())
                    .or_default()
                    .push(c.clone());
            }
            intermediates.extend(inter);
            families.push((
                Family {
                    name: f.name.clone(),
                    test: f.test,
                    cut_off,
                    keys: key_policy(f).with_context(|| format!("trust.families[{i}]"))?,
                },
                anchors,
            ));
        }
        let store = TrustStore::new(families, config.trust.production)
            .map_err(|e| anyhow::anyhow!("trust: {e}"))?;
        let mut profiles = HashMap::new();
        for name in purpose::PURPOSES {
            let mut profile = purpose::builtin(name).context("built-in purpose")?;
            if let Some(over) = config.purposes.get(name) {
                if let Some(p) = &over.policies {
                    profile.policies = p.clone();
                }
                if let Some(f) = &over.families {
                    profile.families = f.clone();
                }
                if let Some(e) = &over.extended_key_usages {
                    profile.extended_key_usages = e.clone();
                }
                if let Some(c) = over.check_revocation {
                    profile.check_revocation = c;
                }
                if let Some(w) = over.web_pki {
                    profile.web_pki = w;
                }
            }
            profiles.insert(name.to_owned(), profile);
        }
        if let Some(unknown) = config
            .purposes
            .keys()
            .find(|k| !purpose::PURPOSES.contains(&k.as_str()))
        {
            bail!(
                "purposes.{unknown}: no such purpose (known: {})",
                purpose::PURPOSES.join(", ")
            );
        }
        Ok(Self {
            validator: Validator::new(Arc::new(store)),
            profiles,
            cas,
            intermediates,
        })
    }

    /// The CA certificates whose subject is `name_der`.
    pub fn cas_named(&self, name_der: &[u8]) -> &[Certificate] {
        self.cas
            .get(name_der)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

fn read_certs(files: &[String]) -> anyhow::Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| file.clone())?;
        for der in
            pem::decode_all(&bytes, "CERTIFICATE").map_err(|e| anyhow::anyhow!("{file}: {e}"))?
        {
            out.push(Certificate::from_der(der).map_err(|e| anyhow::anyhow!("{file}: {e}"))?);
        }
    }
    Ok(out)
}

/// A family's key policy from its settings; the engine's floor cannot be lowered.
fn key_policy(f: &FamilySettings) -> anyhow::Result<KeyPolicy> {
    let algorithms = f
        .key_algorithms
        .iter()
        .map(|name| {
            KeyAlgorithm::from_name(name).with_context(|| {
                let known: Vec<_> = KeyAlgorithm::ALL.iter().map(|a| a.name()).collect();
                format!("key_algorithms: {name:?} (known: {})", known.join(", "))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let min_rsa_bits = f.min_rsa_bits.unwrap_or(MIN_RSA_BITS);
    if min_rsa_bits < MIN_RSA_BITS {
        bail!("min_rsa_bits: {min_rsa_bits} is below the floor of {MIN_RSA_BITS}");
    }
    Ok(KeyPolicy {
        algorithms,
        min_rsa_bits,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn settings(algorithms: &[&str], min_rsa_bits: Option<usize>) -> FamilySettings {
        FamilySettings {
            name: "f".into(),
            key_algorithms: algorithms.iter().map(|s| (*s).to_owned()).collect(),
            min_rsa_bits,
            ..FamilySettings::default()
        }
    }

    #[test]
    fn a_family_key_policy_is_read_and_never_below_the_floor() {
        assert_eq!(
            key_policy(&settings(&[], None)).unwrap(),
            KeyPolicy::default()
        );
        let p = key_policy(&settings(&["rsa", "ec-p256"], Some(3072))).unwrap();
        assert_eq!(p.algorithms, [KeyAlgorithm::Rsa, KeyAlgorithm::EcP256]);
        assert_eq!(p.min_rsa_bits, 3072);
        let e = key_policy(&settings(&["dsa"], None)).unwrap_err();
        assert!(format!("{e:#}").contains("\"dsa\""), "{e:#}");
        let e = key_policy(&settings(&[], Some(1024))).unwrap_err();
        assert!(
            format!("{e:#}").contains("below the floor of 2048"),
            "{e:#}"
        );
    }
}
