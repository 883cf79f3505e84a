//! `init`: builds (or finds) the dev PKI in Vault. Idempotent: a CA whose mount already
//! holds the expected certificate is left alone; roles and URLs are rewritten with the
//! same values.
//!
//! The Vault calls, in order, for a root mount `R` and an intermediate mount `I`:
//!
//! 1. `POST sys/mounts/R` (type `pki`); `R/root/generate/internal` with a placeholder
//!    subject: the EC P-256 key is generated in Vault and stays there.
//! 2. A self-issued template with the exact DN and that public key
//!    ([`crate::template`]) → `R/root/sign-self-issued` → a certificate with the exact
//!    subject, issued by the placeholder; `R/issuers/import/cert` links it to the key;
//!    `R/config/issuers` makes it the default; `R/root/sign-self-issued` again now gives
//!    the exact self-signed root; import it, make it the default, delete the placeholder
//!    issuers (the key stays).
//! 3. `R/config/urls`: CRL distribution point, OCSP responder and CA issuers URLs.
//! 4. `I/intermediate/generate/internal` (key in Vault) → template with the exact DN →
//!    `R/root/sign-self-issued` (R's URLs and key identifier are added) →
//!    `I/intermediate/set-signed` with the root.
//! 5. `I/config/urls`, `I/roles/<profile>` for each profile the CA issues.
//!
//! `root/sign-intermediate` was not used: like every parameter-built subject in OpenBao it
//! goes through Go's `pkix.Name`, which merges the two OUs into one multi-valued RDN.

use chrono::{Duration, Utc};
use http::Method;
use serde_json::{Value, json};
use vaultrs::client::Client;

use crate::{
    Error,
    hierarchy::{CaSpec, Family, cas},
    inspect, pem,
    template::{self, CaTemplate},
    vault::{self as raw, data, field},
};

/// Root certificates last 20 years.
const ROOT_DAYS: i64 = 7305;
/// Intermediate certificates last 10 years.
const INTERMEDIATE_DAYS: i64 = 3653;
/// Certificates are backdated a little, for clocks slightly behind Vault's.
const BACKDATE_MINUTES: i64 = 5;
/// Leaves last 3 years (domain.md §4) unless asked otherwise...
pub const LEAF_TTL: &str = "26280h";
/// ...and at most 5.
const LEAF_MAX_TTL: &str = "43800h";

/// The dev PKI as built.
#[derive(Clone, Debug)]
pub struct DevPki {
    /// Its families.
    pub families: Vec<DevFamily>,
    /// Mounts whose CA this run created (empty when everything was there).
    pub created: Vec<String>,
}

/// One family of the dev PKI.
#[derive(Clone, Debug)]
pub struct DevFamily {
    /// Its trust-configuration name: `IGC-SANTE-ELEMENTAIRE`, `IGC-SANTE-STANDARD`,
    /// `IGC-SANTE-FORT` or `IGC-CPS-LEGACY`.
    pub name: String,
    /// A test family (every family of the dev PKI is).
    pub test: bool,
    /// For the legacy family: certificates issued after this instant (RFC 3339) are
    /// refused; see [`crate::LEGACY_CUT_OFF`].
    pub legacy_cut_off: Option<String>,
    /// The root certificate, PEM.
    pub root_pem: String,
    /// The intermediate CAs: (mount, certificate PEM).
    pub intermediates: Vec<(String, String)>,
}

/// Builds the dev PKI in `vault` (a root token or equivalent), or finds it built.
/// `vault_addr` is the address put in certificates (CRL, OCSP and CA issuer URLs): the
/// one relying parties reach Vault at.
pub async fn init(vault: &impl Client, vault_addr: &str) -> Result<DevPki, Error> {
    let addr = vault_addr.trim_end_matches('/');
    let mut created = Vec::new();
    let mut pems: Vec<(CaSpec, String)> = Vec::new();
    for ca in cas() {
        let pem = match ca.parent {
            None => ensure_root(vault, &ca, &mut created).await?,
            Some(parent) => {
                let root_pem = pems
                    .iter()
                    .find(|(c, _)| c.mount == parent)
                    .map(|(_, p)| p.clone())
                    .ok_or_else(|| Error::Invalid(format!("{parent} is not built")))?;
                ensure_intermediate(vault, &ca, parent, &root_pem, &mut created).await?
            }
        };
        set_urls(vault, ca.mount, addr).await?;
        for profile in ca.profiles {
            raw::call(
                vault,
                Method::POST,
                &format!("{}/roles/{}", ca.mount, profile.role()),
                Some(&role_body(*profile)),
            )
            .await?;
        }
        pems.push((ca, pem));
    }
    let families = Family::ALL
        .into_iter()
        .map(|family| {
            let mut root_pem = String::new();
            let mut intermediates = Vec::new();
            for (ca, pem) in pems.iter().filter(|(c, _)| c.family == family) {
                match ca.parent {
                    None => root_pem = pem.clone(),
                    Some(_) => intermediates.push((ca.mount.to_owned(), pem.clone())),
                }
            }
            DevFamily {
                name: family.name().to_owned(),
                test: true,
                legacy_cut_off: family.legacy_cut_off().map(str::to_owned),
                root_pem,
                intermediates,
            }
        })
        .collect();
    Ok(DevPki { families, created })
}

/// The role of `profile`: its TTLs, and Vault storing every certificate (revocation by
/// serial, CRL and OCSP need it). Its key usages are those [`crate::issue`] passes to
/// `sign-verbatim` (which takes them from the request, not from the role), written here
/// for people reading the role. The policy OID cannot be: OpenBao parses role policy
/// identifiers into Go `int` arcs, and the dev policies' UUID arc is 128 bits; it goes in
/// the request instead, where `sign-verbatim` copies it.
fn role_body(profile: crate::Profile) -> Value {
    json!({
        "key_usage": profile.key_usage(),
        "ext_key_usage": profile.ext_key_usage(),
        "server_flag": false,
        "client_flag": false,
        "code_signing_flag": false,
        "email_protection_flag": false,
        "allow_any_name": true,
        "enforce_hostnames": false,
        "allow_ip_sans": true,
        "require_cn": false,
        "use_csr_common_name": true,
        "use_csr_sans": true,
        "key_type": "any",
        "ttl": LEAF_TTL,
        "max_ttl": LEAF_MAX_TTL,
        "no_store": false,
        "generate_lease": false,
    })
}

async fn set_urls(vault: &impl Client, mount: &str, addr: &str) -> Result<(), Error> {
    let body = json!({
        "issuing_certificates": [format!("{addr}/v1/{mount}/ca")],
        "crl_distribution_points": [format!("{addr}/v1/{mount}/crl")],
        "ocsp_servers": [format!("{addr}/v1/{mount}/ocsp")],
    });
    raw::call(
        vault,
        Method::POST,
        &format!("{mount}/config/urls"),
        Some(&body),
    )
    .await?;
    Ok(())
}

/// The mount's default CA certificate, PEM, if it has one.
pub(crate) async fn current_ca(vault: &impl Client, mount: &str) -> Result<Option<String>, Error> {
    match data(vault, Method::GET, &format!("{mount}/cert/ca"), None).await {
        Ok(d) => Ok(d
            .get("certificate")
            .and_then(Value::as_str)
            .filter(|pem| pem.contains("BEGIN CERTIFICATE"))
            .map(str::to_owned)),
        Err(Error::Vault { status, .. }) if (400..500).contains(&status) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes `mount` a fresh, empty PKI mount.
async fn prepare_mount(vault: &impl Client, mount: &str, max_ttl: &str) -> Result<(), Error> {
    let path = format!("sys/mounts/{mount}");
    let exists = match raw::call(vault, Method::GET, &path, None).await {
        Ok(_) => true,
        Err(Error::Vault { status, .. }) if (400..500).contains(&status) => false,
        Err(e) => return Err(e),
    };
    if exists {
        // Half-built by an interrupted run, or built for another DN or root: nothing
        // issued under it can be valid any more, start over.
        raw::call(vault, Method::DELETE, &path, None).await?;
    }
    let body = json!({ "type": "pki", "config": { "max_lease_ttl": max_ttl } });
    raw::call(vault, Method::POST, &path, Some(&body)).await?;
    Ok(())
}

async fn ensure_root(
    vault: &impl Client,
    ca: &CaSpec,
    created: &mut Vec<String>,
) -> Result<String, Error> {
    let subject = ca.subject.to_der();
    let done = match current_ca(vault, ca.mount).await? {
        Some(pem) => {
            let facts = inspect::cert(&pem::decode_one(&pem, "CERTIFICATE")?)?;
            (facts.subject == subject && facts.issuer == subject).then_some(pem)
        }
        None => None,
    };
    if let Some(pem) = done {
        return Ok(pem);
    }
    prepare_mount(vault, ca.mount, "175200h").await?;
    let m = ca.mount;
    let boot = data(
        vault,
        Method::POST,
        &format!("{m}/root/generate/internal"),
        Some(&json!({
            "common_name": "egide-devpki bootstrap",
            "key_type": "ec",
            "key_bits": 256,
            "ttl": "1h",
            "issuer_name": "bootstrap",
            "key_name": "ca",
        })),
    )
    .await?;
    let boot_der = pem::decode_one(field(&boot, "certificate", m)?, "CERTIFICATE")?;
    let key = inspect::cert(&boot_der)?;
    let now = Utc::now();
    let fake = template::self_issued(&CaTemplate {
        subject: &ca.subject,
        spki: &key.spki,
        public_key_bits: &key.public_key_bits,
        not_before: now - Duration::minutes(BACKDATE_MINUTES),
        not_after: now + Duration::days(ROOT_DAYS),
        path_len: None,
        policies: &[],
    })?;
    // First pass: the exact subject, issued by the bootstrap name.
    let first = sign_self_issued(vault, m, &fake).await?;
    let first_id = import_issuer(vault, m, &first).await?;
    set_default_issuer(vault, m, &first_id).await?;
    // Second pass: the default issuer now has the exact subject, so the result is
    // self-signed by the same key.
    let root = sign_self_issued(vault, m, &fake).await?;
    let root_facts = inspect::cert(&pem::decode_one(&root, "CERTIFICATE")?)?;
    if root_facts.subject != subject || root_facts.issuer != subject || root_facts.spki != key.spki
    {
        return Err(Error::Malformed(format!(
            "{m}: the re-signed root does not carry the expected name and key"
        )));
    }
    let root_id = import_issuer(vault, m, &root).await?;
    set_default_issuer(vault, m, &root_id).await?;
    for stale in [first_id.as_str(), "bootstrap"] {
        raw::call(vault, Method::DELETE, &format!("{m}/issuer/{stale}"), None).await?;
    }
    rotate_crl(vault, m).await?;
    created.push(m.to_owned());
    Ok(root)
}

async fn ensure_intermediate(
    vault: &impl Client,
    ca: &CaSpec,
    parent: &str,
    root_pem: &str,
    created: &mut Vec<String>,
) -> Result<String, Error> {
    let subject = ca.subject.to_der();
    let root = inspect::cert(&pem::decode_one(root_pem, "CERTIFICATE")?)?;
    let done = match current_ca(vault, ca.mount).await? {
        Some(pem) => {
            let facts = inspect::cert(&pem::decode_one(&pem, "CERTIFICATE")?)?;
            let signed_by_root = facts.issuer == root.subject
                && facts.authority_key_id.is_some()
                && facts.authority_key_id == root.subject_key_id;
            (facts.subject == subject && signed_by_root).then_some(pem)
        }
        None => None,
    };
    if let Some(pem) = done {
        return Ok(pem);
    }
    prepare_mount(vault, ca.mount, "87600h").await?;
    let m = ca.mount;
    let csr = data(
        vault,
        Method::POST,
        &format!("{m}/intermediate/generate/internal"),
        Some(&json!({
            "common_name": "egide-devpki pending",
            "key_type": "ec",
            "key_bits": 256,
            "key_name": "ca",
        })),
    )
    .await?;
    let csr_der = pem::decode_one(field(&csr, "csr", m)?, "CERTIFICATE REQUEST")?;
    let (spki, bits) = inspect::csr_public_key(&csr_der)?;
    let now = Utc::now();
    let not_after = (now + Duration::days(INTERMEDIATE_DAYS))
        .min(chrono::DateTime::from_timestamp(root.not_after, 0).unwrap_or(now));
    let policies: Vec<&str> = ca.profiles.iter().map(|p| p.policy()).collect();
    let fake = template::self_issued(&CaTemplate {
        subject: &ca.subject,
        spki: &spki,
        public_key_bits: &bits,
        not_before: now - Duration::minutes(BACKDATE_MINUTES),
        not_after,
        path_len: Some(0),
        policies: &policies,
    })?;
    let cert = sign_self_issued(vault, parent, &fake).await?;
    let facts = inspect::cert(&pem::decode_one(&cert, "CERTIFICATE")?)?;
    if facts.subject != subject || facts.issuer != root.subject || facts.spki != spki {
        return Err(Error::Malformed(format!(
            "{m}: the signed intermediate does not carry the expected names and key"
        )));
    }
    raw::call(
        vault,
        Method::POST,
        &format!("{m}/intermediate/set-signed"),
        Some(&json!({ "certificate": format!("{}\n{}", cert.trim_end(), root_pem.trim_end()) })),
    )
    .await?;
    rotate_crl(vault, m).await?;
    created.push(m.to_owned());
    Ok(cert)
}

async fn sign_self_issued(vault: &impl Client, mount: &str, pem: &str) -> Result<String, Error> {
    let path = format!("{mount}/root/sign-self-issued");
    let d = data(
        vault,
        Method::POST,
        &path,
        Some(&json!({ "certificate": pem })),
    )
    .await?;
    Ok(field(&d, "certificate", &path)?.to_owned())
}

async fn import_issuer(vault: &impl Client, mount: &str, pem: &str) -> Result<String, Error> {
    let path = format!("{mount}/issuers/import/cert");
    let d = data(
        vault,
        Method::POST,
        &path,
        Some(&json!({ "pem_bundle": pem })),
    )
    .await?;
    d.get("imported_issuers")
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Malformed(format!("{path}: no issuer imported")))
}

async fn set_default_issuer(vault: &impl Client, mount: &str, id: &str) -> Result<(), Error> {
    raw::call(
        vault,
        Method::POST,
        &format!("{mount}/config/issuers"),
        Some(&json!({ "default": id })),
    )
    .await?;
    Ok(())
}

/// Signs a fresh CRL with the mount's (final) default issuer, so that the distribution
/// point answers from the start.
async fn rotate_crl(vault: &impl Client, mount: &str) -> Result<(), Error> {
    raw::call(vault, Method::GET, &format!("{mount}/crl/rotate"), None).await?;
    Ok(())
}
