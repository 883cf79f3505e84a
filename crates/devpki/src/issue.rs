//! Leaf certificates with an exact subject, for keys generated locally.
//!
//! Vault roles cannot express the IGC-Santé subjects (a `title`, a multi-valued
//! `SN + GN + CN` RDN), and `sign/<role>` rebuilds the subject from the role. So the key
//! pair is generated here (a card's keys never leave the card, a structure's key stays
//! with it), a PKCS#10 request carries the exact subject, and the CA signs it with
//! `sign-verbatim/<role>`, which OpenBao (2.x) implements by keeping the request's
//! subject bytes and extensions. Measured against OpenBao 2.7:
//!
//! - subject: copied byte for byte (multi-valued RDN, `title`, UTF-8 values);
//! - key usage / extended key usage: taken from the request parameters `key_usage` and
//!   `ext_key_usage` (NOT from the role; a key usage extension in the CSR would win);
//! - certificate policies and SANs: copied from the CSR's extension request (a role's
//!   `policy_identifiers` are ignored by `sign-verbatim`, and could not hold the dev
//!   policies anyway: OpenBao parses them into Go `int` arcs, too small for a UUID arc);
//! - CRL distribution point, OCSP and CA issuers URLs: the mount's `config/urls`, added;
//! - TTL, storage of the certificate (revocation, CRL, OCSP): from the role.
//!
//! Hence each issuance passes its [`Profile`]'s key usages, extended key usages and
//! policy explicitly: [`Profile`] is the one definition of each certificate kind, the
//! roles are written from it by `init`.

use std::{net::IpAddr, path::Path, time::Duration};

use egide_ids::{IdNatPs, IdNatStruct};
use http::Method;
use serde_json::{Value, json};
use vaultrs::client::Client;
use zeroize::Zeroizing;

use crate::{
    DistinguishedName, Error, Family, KeyKind, Profile,
    csr::{self, Requested, SubjectAltName},
    files, inspect,
    keys::LocalKey,
    pem,
    vault::{data, field},
};

/// A certificate issued by a dev CA, with its CA chain.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// The CA certificates above it, DER, issuing CA first, root excluded.
    pub intermediates: Vec<Vec<u8>>,
    /// The root, DER.
    pub root: Vec<u8>,
    /// The serial as Vault writes it (`7c:7e:…`).
    pub serial: String,
    /// The mount of the CA that issued it.
    pub mount: String,
}

/// A key pair and its certificate (a structure's or a server's credential).
pub struct Credential {
    /// The private key, PKCS#8 DER.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// What the CA issued.
    pub issued: Issued,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("issued", &self.issued)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// Writes `key.pem` (PKCS#8, mode 0600), `cert.pem` (the leaf), `chain.pem` (the
    /// intermediates) and `root.pem` into `dir`, created if needed.
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let key = Zeroizing::new(pem::encode("PRIVATE KEY", &self.key_pkcs8));
        let write = |name: &str, bytes: &[u8], private: bool| {
            let path = dir.join(name);
            let result = if private {
                files::write_private(&path, bytes)
            } else {
                files::write_public(&path, bytes)
            };
            result.map_err(|e| Error::io(&path, e))
        };
        write("key.pem", key.as_bytes(), true)?;
        write(
            "cert.pem",
            pem::encode("CERTIFICATE", &self.issued.certificate).as_bytes(),
            false,
        )?;
        write(
            "chain.pem",
            chain_pem(&self.issued.intermediates).as_bytes(),
            false,
        )?;
        write(
            "root.pem",
            pem::encode("CERTIFICATE", &self.issued.root).as_bytes(),
            false,
        )?;
        Ok(())
    }
}

/// Certificates as one PEM text.
pub fn chain_pem(certs: &[Vec<u8>]) -> String {
    certs
        .iter()
        .map(|c| pem::encode("CERTIFICATE", c))
        .collect()
}

/// What a structure certificate names (ORG offers): `C=FR, ST=<departement>,
/// O=<organisation>, OU=<idNat_Struct>, CN=<application>`.
#[derive(Clone, Debug)]
pub struct StructureRequest {
    /// The family whose ORGANISATIONS CA issues it (ELEMENTAIRE for client
    /// authentication, domain.md §4).
    pub family: Family,
    /// `1`+FINESS or `3`+SIRET (any idNat_Struct form is accepted).
    pub idnat_struct: IdNatStruct,
    /// The raison sociale.
    pub organisation: String,
    /// The département, e.g. `75`.
    pub departement: String,
    /// The application (CN), e.g. `DPI-HOPITAL`.
    pub application: String,
    /// The key pair to generate.
    pub key: KeyKind,
    /// Validity; the role's (3 years) when `None`.
    pub ttl: Option<Duration>,
}

/// What a server certificate (SERV SSL_SERV) names: the structure's name with CN = the
/// first DNS name (or IP address), and every DNS name and IP address as SANs.
#[derive(Clone, Debug)]
pub struct ServerRequest {
    /// The family whose ORGANISATIONS CA issues it.
    pub family: Family,
    /// The structure running the server.
    pub idnat_struct: IdNatStruct,
    /// The raison sociale.
    pub organisation: String,
    /// The département.
    pub departement: String,
    /// DNS names (at least one name or address in all).
    pub dns: Vec<String>,
    /// IP addresses.
    pub ips: Vec<IpAddr>,
    /// The key pair to generate.
    pub key: KeyKind,
    /// Validity; the role's (3 years) when `None`.
    pub ttl: Option<Duration>,
}

/// A professional's identity as the certificate names it: `C=FR, title=<profession>,
/// SN=<name> + GN=<given name> + CN=<idNat_PS>`.
#[derive(Clone, Debug)]
pub struct Professional {
    /// The idNat_PS (e.g. `899700218896` for a test card).
    pub idnat: IdNatPs,
    /// Surname.
    pub name: String,
    /// Given name.
    pub given_name: String,
    /// Profession (the `title` attribute).
    pub profession: String,
}

impl Professional {
    /// The certificate subject.
    pub fn subject(&self) -> DistinguishedName {
        DistinguishedName::professional(
            &self.profession,
            &self.name,
            &self.given_name,
            &self.idnat.to_string(),
        )
    }
}

/// Issues a structure's ORG AUTH_CLI certificate (`org-auth-cli`).
pub async fn issue_structure(
    vault: &impl Client,
    request: &StructureRequest,
) -> Result<Credential, Error> {
    issue_structure_as(vault, request, Profile::OrgAuthCli).await
}

/// Issues a structure's ORG SIGN certificate (`org-sign`).
pub async fn issue_structure_signing(
    vault: &impl Client,
    request: &StructureRequest,
) -> Result<Credential, Error> {
    issue_structure_as(vault, request, Profile::OrgSign).await
}

async fn issue_structure_as(
    vault: &impl Client,
    request: &StructureRequest,
    profile: Profile,
) -> Result<Credential, Error> {
    let subject = DistinguishedName::structure(
        non_empty(&request.departement, "departement")?,
        non_empty(&request.organisation, "organisation")?,
        &request.idnat_struct.to_string(),
        non_empty(&request.application, "application")?,
    );
    let key = LocalKey::generate(request.key)?;
    let issued = sign(
        vault,
        request.family,
        profile,
        &subject,
        &[],
        &key,
        request.ttl,
    )
    .await?;
    Ok(Credential {
        key_pkcs8: key.pkcs8()?,
        issued,
    })
}

/// Issues a server's SSL_SERV certificate (`serv-ssl`).
pub async fn issue_server(
    vault: &impl Client,
    request: &ServerRequest,
) -> Result<Credential, Error> {
    let mut sans: Vec<SubjectAltName> = request
        .dns
        .iter()
        .map(|d| SubjectAltName::Dns(d.to_ascii_lowercase()))
        .collect();
    sans.extend(request.ips.iter().copied().map(SubjectAltName::Ip));
    let cn = match (request.dns.first(), request.ips.first()) {
        (Some(dns), _) => dns.to_ascii_lowercase(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => {
            return Err(Error::Invalid(
                "a server certificate needs a DNS name or an IP address".into(),
            ));
        }
    };
    let subject = DistinguishedName::structure(
        non_empty(&request.departement, "departement")?,
        non_empty(&request.organisation, "organisation")?,
        &request.idnat_struct.to_string(),
        &cn,
    );
    let key = LocalKey::generate(request.key)?;
    let issued = sign(
        vault,
        request.family,
        Profile::ServSsl,
        &subject,
        &sans,
        &key,
        request.ttl,
    )
    .await?;
    Ok(Credential {
        key_pkcs8: key.pkcs8()?,
        issued,
    })
}

fn non_empty<'a>(value: &'a str, what: &str) -> Result<&'a str, Error> {
    let v = value.trim();
    if v.is_empty() {
        Err(Error::Invalid(format!("{what} is empty")))
    } else {
        Ok(v)
    }
}

/// Has the `family` CA that issues `profile` sign a request for `subject` made with
/// `key`, through `sign-verbatim/<role>` with the profile's usages and policy.
pub(crate) async fn sign(
    vault: &impl Client,
    family: Family,
    profile: Profile,
    subject: &DistinguishedName,
    sans: &[SubjectAltName],
    key: &LocalKey,
    ttl: Option<Duration>,
) -> Result<Issued, Error> {
    let mount = family.mount_for(profile).ok_or_else(|| {
        Error::Invalid(format!(
            "the {family} family issues no {} certificates",
            profile.role()
        ))
    })?;
    let policies = vec![profile.policy().to_owned()];
    let request = csr::build(
        subject,
        key,
        &Requested {
            policies: &policies,
            sans,
        },
    )?;
    let mut body = json!({
        "csr": pem::encode("CERTIFICATE REQUEST", &request),
        "key_usage": profile.key_usage(),
        "ext_key_usage": profile.ext_key_usage(),
    });
    if let Some(ttl) = ttl {
        body["ttl"] = json!(format!("{}s", ttl.as_secs().max(1)));
    }
    let path = format!("{mount}/sign-verbatim/{}", profile.role());
    let answer = data(vault, Method::POST, &path, Some(&body)).await?;
    let certificate = pem::decode_one(field(&answer, "certificate", &path)?, "CERTIFICATE")?;
    let facts = inspect::cert(&certificate)?;
    if facts.subject != subject.to_der() || facts.spki != key.spki()? {
        return Err(Error::Malformed(format!(
            "{path}: the certificate does not carry the requested subject and key"
        )));
    }
    let mut chain: Vec<Vec<u8>> = Vec::new();
    for pem_text in answer
        .get("ca_chain")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        chain.extend(pem::decode_all(pem_text, "CERTIFICATE")?);
    }
    // The root is the self-issued one; everything else is an intermediate.
    let mut root = None;
    let mut intermediates = Vec::new();
    for der in chain {
        let f = inspect::cert(&der)?;
        if f.subject == f.issuer {
            root = Some(der);
        } else {
            intermediates.push(der);
        }
    }
    Ok(Issued {
        certificate,
        intermediates,
        root: root.ok_or_else(|| Error::Malformed(format!("{path}: no root in ca_chain")))?,
        serial: inspect::vault_serial(&facts.serial),
        mount: mount.to_owned(),
    })
}
