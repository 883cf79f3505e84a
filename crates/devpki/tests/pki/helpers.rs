#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::OnceLock;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use egide_devpki::{DevPki, init};
use egide_testkit::Vault;
use tokio::sync::OnceCell;
use vaultrs::client::VaultClient;
use x509_parser::{
    extensions::{DistributionPointName, GeneralName, ParsedExtension},
    prelude::*,
};

/// The binary's OpenBao.
pub fn vault() -> &'static Vault {
    static VAULT: OnceLock<Vault> = OnceLock::new();
    VAULT.get_or_init(|| Vault::spawn().expect("starting OpenBao"))
}

/// A root-token client.
pub fn client() -> VaultClient {
    vault().root_client().unwrap()
}

/// The dev PKI, built once.
pub async fn pki() -> &'static DevPki {
    static PKI: OnceCell<DevPki> = OnceCell::const_new();
    PKI.get_or_init(|| async { init(&client(), &vault().addr()).await.expect("pki init") })
        .await
}

/// What the tests check of a certificate.
#[derive(Debug, Default)]
pub struct Facts {
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
    /// RDNs, most significant first: (attribute OID, value).
    pub rdns: Vec<Vec<(String, String)>>,
    pub serial: Vec<u8>,
    pub is_ca: bool,
    pub path_len: Option<u32>,
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_encipherment: bool,
    pub key_cert_sign: bool,
    pub client_auth: bool,
    pub server_auth: bool,
    pub eku_present: bool,
    pub policies: Vec<String>,
    pub crl_urls: Vec<String>,
    pub ocsp_urls: Vec<String>,
    pub dns_sans: Vec<String>,
    pub ip_sans: Vec<Vec<u8>>,
    pub spki_bits: Vec<u8>,
    pub validity_days: i64,
}

pub fn facts(der: &[u8]) -> Facts {
    let (rest, cert) = X509Certificate::from_der(der).unwrap();
    assert!(rest.is_empty());
    let mut f = Facts {
        subject_raw: cert.subject().as_raw().to_vec(),
        issuer_raw: cert.issuer().as_raw().to_vec(),
        serial: cert.raw_serial().to_vec(),
        spki_bits: cert.public_key().subject_public_key.data.to_vec(),
        validity_days: (cert.validity().not_after.timestamp()
            - cert.validity().not_before.timestamp())
            / 86_400,
        ..Facts::default()
    };
    for rdn in cert.subject().iter() {
        f.rdns.push(
            rdn.iter()
                .map(|a| (a.attr_type().to_id_string(), a.as_str().unwrap().to_owned()))
                .collect(),
        );
    }
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                f.is_ca = bc.ca;
                f.path_len = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => {
                f.digital_signature = ku.digital_signature();
                f.non_repudiation = ku.non_repudiation();
                f.key_encipherment = ku.key_encipherment();
                f.key_cert_sign = ku.key_cert_sign();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                f.eku_present = true;
                f.client_auth = eku.client_auth;
                f.server_auth = eku.server_auth;
            }
            ParsedExtension::CertificatePolicies(p) => {
                f.policies = p.iter().map(|i| dotted(i.policy_id.as_bytes())).collect();
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        for n in names {
                            if let GeneralName::URI(u) = n {
                                f.crl_urls.push((*u).to_owned());
                            }
                        }
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for d in &aia.accessdescs {
                    if d.access_method.to_id_string() == "1.3.6.1.5.5.7.48.1"
                        && let GeneralName::URI(u) = &d.access_location
                    {
                        f.ocsp_urls.push((*u).to_owned());
                    }
                }
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for n in &san.general_names {
                    match n {
                        GeneralName::DNSName(d) => f.dns_sans.push((*d).to_owned()),
                        GeneralName::IPAddress(ip) => f.ip_sans.push(ip.to_vec()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    f
}

/// Verifies `sig` over `message` with the key of certificate `cert`.
pub fn verify(cert: &[u8], rsa: bool, message: &[u8], sig: &[u8]) {
    let f = facts(cert);
    let alg: &dyn signature::VerificationAlgorithm = if rsa {
        &signature::RSA_PKCS1_2048_8192_SHA256
    } else {
        &signature::ECDSA_P256_SHA256_ASN1
    };
    UnparsedPublicKey::new(alg, &f.spki_bits)
        .verify(message, sig)
        .expect("the signature verifies with the certificate's key");
}

pub fn pem_certs(text: &str) -> Vec<Vec<u8>> {
    egide_devpki::pem::decode_all(text, "CERTIFICATE").unwrap()
}

pub fn mount_urls(mount: &str) -> (String, String) {
    let addr = vault().addr();
    (
        format!("{addr}/v1/{mount}/crl"),
        format!("{addr}/v1/{mount}/ocsp"),
    )
}

pub const C: &str = "2.5.4.6";
pub const ST: &str = "2.5.4.8";
pub const O: &str = "2.5.4.10";
pub const OU: &str = "2.5.4.11";
pub const CN: &str = "2.5.4.3";
pub const TITLE: &str = "2.5.4.12";
pub const SN: &str = "2.5.4.4";
pub const GN: &str = "2.5.4.42";

/// RDNs from (OID, value) lists.
pub fn rdns(spec: &[&[(&str, &str)]]) -> Vec<Vec<(String, String)>> {
    spec.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|(o, v)| ((*o).to_owned(), (*v).to_owned()))
                .collect()
        })
        .collect()
}

/// A multi-valued RDN's attributes, sorted (DER orders a SET by encoding).
pub fn sorted(mut rdns: Vec<Vec<(String, String)>>) -> Vec<Vec<(String, String)>> {
    for rdn in &mut rdns {
        rdn.sort();
    }
    rdns
}

/// An OID's dotted form with arcs up to 128 bits (x509-parser's `to_id_string` prints
/// hex bytes past 64 bits, and the dev policies' UUID arc is 128 bits).
pub fn dotted(content: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut value: u128 = 0;
    for b in content {
        value = (value << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    arcs.iter()
        .map(u128::to_string)
        .collect::<Vec<_>>()
        .join(".")
}
