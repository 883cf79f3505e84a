//! Test PKI builder: a tiny DER writer, keys of every supported type, and
//! certificate issuance with full control over the TBS (multi-valued RDNs,
//! RSA-PSS, policies, odd extensions) — things rcgen cannot write.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::der;

/// Midnight UTC on a date.
pub fn date(y: i32, m: u8, d: u8) -> OffsetDateTime {
    time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
        .unwrap()
        .midnight()
        .assume_utc()
}

/// The instant tests validate at.
pub fn now() -> OffsetDateTime {
    date(2025, 6, 1)
}

/// Minimal DER writer.
pub mod w {
    use super::*;

    use crate::crl::der_write;

    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        der_write::tlv(tag, content)
    }
    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }
    pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x31, &parts.concat())
    }
    pub fn oid(dotted: &str) -> Vec<u8> {
        tlv(0x06, &der::oid_from_string(dotted).unwrap())
    }
    pub fn uint(v: u64) -> Vec<u8> {
        der_write::uint(v)
    }
    pub fn boolean(b: bool) -> Vec<u8> {
        tlv(0x01, &[if b { 0xff } else { 0 }])
    }
    pub fn octets(b: &[u8]) -> Vec<u8> {
        der_write::octets(b)
    }
    pub fn bits(b: &[u8]) -> Vec<u8> {
        der_write::bits(b)
    }
    pub fn utf8(s: &str) -> Vec<u8> {
        tlv(0x0c, s.as_bytes())
    }
    pub fn printable(s: &str) -> Vec<u8> {
        tlv(0x13, s.as_bytes())
    }
    pub fn null() -> Vec<u8> {
        der_write::NULL.to_vec()
    }
    /// Context-specific constructed (EXPLICIT or constructed IMPLICIT) [n].
    pub fn ctx(n: u8, content: &[u8]) -> Vec<u8> {
        tlv(0xa0 | n, content)
    }
    /// Context-specific primitive [n].
    pub fn ctx_prim(n: u8, content: &[u8]) -> Vec<u8> {
        tlv(0x80 | n, content)
    }
    pub fn time(t: OffsetDateTime) -> Vec<u8> {
        let y = t.year();
        let body = format!(
            "{:02}{:02}{:02}{:02}{:02}Z",
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        if (1950..2050).contains(&y) {
            tlv(0x17, format!("{:02}{body}", y % 100).as_bytes())
        } else {
            tlv(0x18, format!("{y:04}{body}").as_bytes())
        }
    }
    /// A KeyUsage-style named BIT STRING from x509-parser-numbered bits.
    pub fn named_bits(flags: u16) -> Vec<u8> {
        let mut bytes = vec![
            (flags as u8).reverse_bits(),
            ((flags >> 8) as u8).reverse_bits(),
        ];
        while bytes.last() == Some(&0) {
            bytes.pop();
        }
        let unused = bytes.last().map_or(0, |b| b.trailing_zeros() as u8);
        let mut c = vec![unused];
        c.extend(bytes);
        tlv(0x03, &c)
    }
}

fn attr_oid(short: &str) -> &str {
    match short {
        "C" => "2.5.4.6",
        "CN" => "2.5.4.3",
        "SN" => "2.5.4.4",
        "ST" => "2.5.4.8",
        "O" => "2.5.4.10",
        "OU" => "2.5.4.11",
        "title" => "2.5.4.12",
        "GN" => "2.5.4.42",
        other => other,
    }
}

fn atv(attr: &str, value: &str) -> Vec<u8> {
    let v = if attr == "C" {
        w::printable(value)
    } else {
        w::utf8(value)
    };
    w::seq(&[w::oid(attr_oid(attr)), v])
}

/// A Name with one attribute per RDN.
pub fn name(attrs: &[(&str, &str)]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> = attrs.iter().map(|(a, v)| w::set(&[atv(a, v)])).collect();
    w::seq(&rdns)
}

/// A Name whose RDNs may hold several attributes.
pub fn name_multi(rdns: &[&[(&str, &str)]]) -> Vec<u8> {
    let rdns: Vec<Vec<u8>> = rdns
        .iter()
        .map(|rdn| w::set(&rdn.iter().map(|(a, v)| atv(a, v)).collect::<Vec<_>>()))
        .collect();
    w::seq(&rdns)
}

pub fn cn(cn: &str) -> Vec<u8> {
    name(&[("C", "FR"), ("O", "Egide Test"), ("CN", cn)])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    P256,
    P384,
    Ed25519,
    Rsa,
    RsaPss,
}

enum Inner {
    Ec(EcdsaKeyPair, &'static signature::EcdsaSigningAlgorithm),
    Ed(Ed25519KeyPair),
    Rsa(Arc<RsaKeyPair>),
}

pub struct Key {
    pub alg: Alg,
    inner: Inner,
    pub spki: Vec<u8>,
}

fn rsa_key(i: usize) -> Arc<RsaKeyPair> {
    static KEYS: OnceLock<Vec<Arc<RsaKeyPair>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..3)
            .map(|_| Arc::new(RsaKeyPair::generate(KeySize::Rsa2048).unwrap()))
            .collect()
    });
    keys[i % keys.len()].clone()
}

impl Key {
    pub fn new(alg: Alg) -> Self {
        static NEXT_RSA: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let rng = SystemRandom::new();
        let (inner, spki) = match alg {
            Alg::P256 | Alg::P384 => {
                let a = if alg == Alg::P256 {
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
                let kp = EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref()).unwrap();
                let spki = kp.public_key().as_der().unwrap().as_ref().to_vec();
                (Inner::Ec(kp, a), spki)
            }
            Alg::Ed25519 => {
                let kp = Ed25519KeyPair::generate().unwrap();
                let spki = kp.public_key().as_der().unwrap().as_ref().to_vec();
                (Inner::Ed(kp), spki)
            }
            Alg::Rsa | Alg::RsaPss => {
                let n = NEXT_RSA.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let kp = rsa_key(n);
                let spki = kp.public_key().as_der().unwrap().as_ref().to_vec();
                (Inner::Rsa(kp), spki)
            }
        };
        Self { alg, inner, spki }
    }

    /// The AlgorithmIdentifier this key signs with.
    pub fn sig_alg(&self) -> Vec<u8> {
        match self.alg {
            Alg::P256 => w::seq(&[w::oid("1.2.840.10045.4.3.2")]),
            Alg::P384 => w::seq(&[w::oid("1.2.840.10045.4.3.3")]),
            Alg::Ed25519 => w::seq(&[w::oid("1.3.101.112")]),
            Alg::Rsa => w::seq(&[w::oid("1.2.840.113549.1.1.11"), w::null()]),
            Alg::RsaPss => pss_sha256_alg(),
        }
    }

    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ec(kp, _) => kp.sign(&rng, msg).unwrap().as_ref().to_vec(),
            Inner::Ed(kp) => kp.sign(msg).as_ref().to_vec(),
            Inner::Rsa(kp) => {
                let enc: &dyn signature::RsaEncoding = if self.alg == Alg::RsaPss {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(enc, &rng, msg, &mut sig).unwrap();
                sig
            }
        }
    }

    /// A subject key identifier (first 20 bytes of SHA-256 of the SPKI).
    pub fn key_id(&self) -> Vec<u8> {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.spki).as_ref()[..20].to_vec()
    }
}

pub fn pss_sha256_alg() -> Vec<u8> {
    let sha256 = w::seq(&[w::oid("2.16.840.1.101.3.4.2.1"), w::null()]);
    let mgf = w::seq(&[w::oid("1.2.840.113549.1.1.8"), sha256.clone()]);
    let params = w::seq(&[w::ctx(0, &sha256), w::ctx(1, &mgf), w::ctx(2, &w::uint(32))]);
    w::seq(&[w::oid("1.2.840.113549.1.1.10"), params])
}

/// One extension.
#[derive(Clone, Debug)]
pub struct Ext {
    pub oid: String,
    pub critical: bool,
    pub value: Vec<u8>,
}

impl Ext {
    pub fn encode(&self) -> Vec<u8> {
        let mut parts = vec![w::oid(&self.oid)];
        if self.critical {
            parts.push(w::boolean(true));
        }
        parts.push(w::octets(&self.value));
        w::seq(&parts)
    }
}

pub mod ext {
    use super::*;

    pub fn raw(oid: &str, critical: bool, value: Vec<u8>) -> Ext {
        Ext {
            oid: oid.to_owned(),
            critical,
            value,
        }
    }
    pub fn bc(ca: bool, path_len: Option<u64>) -> Ext {
        let mut parts = Vec::new();
        if ca {
            parts.push(w::boolean(true));
        }
        if let Some(p) = path_len {
            parts.push(w::uint(p));
        }
        raw("2.5.29.19", true, w::seq(&parts))
    }
    pub fn ku(flags: u16) -> Ext {
        raw("2.5.29.15", true, w::named_bits(flags))
    }
    pub fn eku(oids: &[&str]) -> Ext {
        raw(
            "2.5.29.37",
            false,
            w::seq(&oids.iter().map(|o| w::oid(o)).collect::<Vec<_>>()),
        )
    }
    pub fn policies(oids: &[&str]) -> Ext {
        raw(
            "2.5.29.32",
            false,
            w::seq(
                &oids
                    .iter()
                    .map(|o| w::seq(&[w::oid(o)]))
                    .collect::<Vec<_>>(),
            ),
        )
    }
    pub fn inhibit_any_policy(skip: u64) -> Ext {
        raw("2.5.29.54", true, w::uint(skip))
    }
    pub fn require_explicit_policy(skip: u64) -> Ext {
        raw(
            "2.5.29.36",
            true,
            w::seq(&[w::ctx_prim(0, &w::uint(skip)[2..])]),
        )
    }
    pub fn ski(key: &Key) -> Ext {
        raw("2.5.29.14", false, w::octets(&key.key_id()))
    }
    pub fn aki(key: &Key) -> Ext {
        raw("2.5.29.35", false, w::seq(&[w::ctx_prim(0, &key.key_id())]))
    }
    pub fn san(names: &[Gn]) -> Ext {
        raw(
            "2.5.29.17",
            false,
            w::seq(&names.iter().map(Gn::encode).collect::<Vec<_>>()),
        )
    }
    pub fn nc(permitted: &[Gn], excluded: &[Gn]) -> Ext {
        let subtrees = |list: &[Gn]| -> Vec<u8> {
            list.iter()
                .map(|g| w::seq(&[g.encode()]))
                .collect::<Vec<_>>()
                .concat()
        };
        let mut parts = Vec::new();
        if !permitted.is_empty() {
            parts.push(w::ctx(0, &subtrees(permitted)));
        }
        if !excluded.is_empty() {
            parts.push(w::ctx(1, &subtrees(excluded)));
        }
        raw("2.5.29.30", true, w::seq(&parts))
    }
    pub fn ocsp_aia(url: &str) -> Ext {
        let desc = w::seq(&[w::oid("1.3.6.1.5.5.7.48.1"), w::ctx_prim(6, url.as_bytes())]);
        raw("1.3.6.1.5.5.7.1.1", false, w::seq(&[desc]))
    }
    pub fn crl_dp(url: &str) -> Ext {
        // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
        let full_name = w::ctx(0, &w::ctx_prim(6, url.as_bytes()));
        raw(
            "2.5.29.31",
            false,
            w::seq(&[w::seq(&[w::ctx(0, &full_name)])]),
        )
    }
}

/// A GeneralName to write.
#[derive(Clone, Debug)]
pub enum Gn {
    Dns(String),
    Email(String),
    Ip(Vec<u8>),
    Dir(Vec<u8>),
    Uri(String),
}

impl Gn {
    pub fn dns(s: &str) -> Self {
        Self::Dns(s.to_owned())
    }
    pub fn ip(s: &str) -> Self {
        match s.parse::<IpAddr>().unwrap() {
            IpAddr::V4(a) => Self::Ip(a.octets().to_vec()),
            IpAddr::V6(a) => Self::Ip(a.octets().to_vec()),
        }
    }
    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Email(s) => w::ctx_prim(1, s.as_bytes()),
            Self::Dns(s) => w::ctx_prim(2, s.as_bytes()),
            Self::Dir(n) => w::ctx(4, n),
            Self::Uri(s) => w::ctx_prim(6, s.as_bytes()),
            Self::Ip(b) => w::ctx_prim(7, b),
        }
    }
}

/// What goes into a certificate.
#[derive(Clone, Debug)]
pub struct Spec {
    pub version: u8,
    pub serial: u64,
    pub subject: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub extensions: Vec<Ext>,
    /// Replaces the TBS signature field (to test a mismatch).
    pub tbs_sig_alg: Option<Vec<u8>>,
    /// Flips a bit of the signature.
    pub corrupt_signature: bool,
    /// Replaces `serial` with these INTEGER content bytes (zero, negative, too long).
    pub raw_serial: Option<Vec<u8>>,
    /// Leaves out the SKI and AKI the builder otherwise adds to a v3 certificate.
    pub no_key_ids: bool,
}

pub const KU_DIGITAL_SIGNATURE: u16 = 1;
pub const KU_NON_REPUDIATION: u16 = 2;
pub const KU_KEY_CERT_SIGN: u16 = 1 << 5;
pub const KU_CRL_SIGN: u16 = 1 << 6;
pub const EKU_SERVER: &str = "1.3.6.1.5.5.7.3.1";
pub const EKU_CLIENT: &str = "1.3.6.1.5.5.7.3.2";

fn next_serial() -> u64 {
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x1000);
    SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Spec {
    pub fn new(subject: Vec<u8>) -> Self {
        Self {
            version: 3,
            serial: next_serial(),
            subject,
            not_before: date(2020, 1, 1),
            not_after: date(2035, 1, 1),
            extensions: Vec::new(),
            tbs_sig_alg: None,
            corrupt_signature: false,
            raw_serial: None,
            no_key_ids: false,
        }
    }

    /// A CA: basicConstraints cA, keyCertSign + cRLSign.
    pub fn ca(subject: Vec<u8>, path_len: Option<u64>) -> Self {
        let mut s = Self::new(subject);
        s.extensions.push(ext::bc(true, path_len));
        s.extensions.push(ext::ku(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
        s
    }

    /// A TLS-ish leaf: digitalSignature, serverAuth + clientAuth, DNS leaf.example.test.
    pub fn leaf(subject: Vec<u8>) -> Self {
        let mut s = Self::new(subject);
        s.extensions.push(ext::ku(KU_DIGITAL_SIGNATURE));
        s.extensions.push(ext::eku(&[EKU_SERVER, EKU_CLIENT]));
        s.extensions.push(ext::san(&[Gn::dns("leaf.example.test")]));
        s
    }

    pub fn with(mut self, e: Ext) -> Self {
        self.extensions.retain(|x| x.oid != e.oid);
        self.extensions.push(e);
        self
    }

    pub fn without(mut self, oid: &str) -> Self {
        self.extensions.retain(|x| x.oid != oid);
        self
    }

    pub fn valid(mut self, from: OffsetDateTime, to: OffsetDateTime) -> Self {
        self.not_before = from;
        self.not_after = to;
        self
    }

    /// The certificate DER, `subject_key` certified by `issuer_key` under `issuer`.
    pub fn issue_der(&self, subject_key: &Key, issuer: &[u8], issuer_key: &Key) -> Vec<u8> {
        let alg = issuer_key.sig_alg();
        let mut exts = self.extensions.clone();
        if self.version == 3 && !self.no_key_ids {
            if !exts.iter().any(|e| e.oid == "2.5.29.14") {
                exts.push(ext::ski(subject_key));
            }
            if !exts.iter().any(|e| e.oid == "2.5.29.35") {
                exts.push(ext::aki(issuer_key));
            }
        }
        let mut tbs = Vec::new();
        if self.version > 1 {
            tbs.push(w::ctx(0, &w::uint(u64::from(self.version - 1))));
        }
        tbs.push(match &self.raw_serial {
            Some(content) => w::tlv(0x02, content),
            None => w::uint(self.serial),
        });
        tbs.push(self.tbs_sig_alg.clone().unwrap_or_else(|| alg.clone()));
        tbs.push(issuer.to_vec());
        tbs.push(w::seq(&[w::time(self.not_before), w::time(self.not_after)]));
        tbs.push(self.subject.clone());
        tbs.push(subject_key.spki.clone());
        if !exts.is_empty() {
            tbs.push(w::ctx(
                3,
                &w::seq(&exts.iter().map(Ext::encode).collect::<Vec<_>>()),
            ));
        }
        let tbs = w::seq(&tbs);
        let mut sig = issuer_key.sign(&tbs);
        if self.corrupt_signature {
            let last = sig.len() - 1;
            sig[last] ^= 1;
        }
        w::seq(&[tbs, alg, w::bits(&sig)])
    }

    pub fn issue(&self, subject_key: &Key, issuer: &Ca) -> Certificate {
        Certificate::from_der(self.issue_der(subject_key, &issuer.name, &issuer.key)).unwrap()
    }

    pub fn self_sign(&self, key: &Key) -> Certificate {
        Certificate::from_der(self.issue_der(key, &self.subject, key)).unwrap()
    }
}

/// A CA: its key, name and certificate.
pub struct Ca {
    pub key: Key,
    pub name: Vec<u8>,
    pub cert: Certificate,
}

impl Ca {
    pub fn root(cn_: &str, alg: Alg) -> Self {
        Self::root_with(Spec::ca(cn(cn_), None), alg)
    }

    pub fn root_with(spec: Spec, alg: Alg) -> Self {
        let key = Key::new(alg);
        let cert = spec.self_sign(&key);
        Self {
            key,
            name: spec.subject,
            cert,
        }
    }

    /// A subordinate CA with default CA extensions.
    pub fn sub(&self, cn_: &str, alg: Alg) -> Self {
        self.sub_with(Spec::ca(cn(cn_), None), alg)
    }

    pub fn sub_with(&self, spec: Spec, alg: Alg) -> Self {
        let key = Key::new(alg);
        let cert = spec.issue(&key, self);
        Self {
            key,
            name: spec.subject,
            cert,
        }
    }

    /// Another certificate for the same CA (same name and key), issued by `issuer`.
    pub fn cross(&self, spec: Spec, issuer: &Ca) -> Certificate {
        assert_eq!(spec.subject, self.name);
        spec.issue(&self.key, issuer)
    }

    pub fn leaf(&self, cn_: &str, alg: Alg) -> Certificate {
        self.leaf_with(Spec::leaf(cn(cn_)), alg)
    }

    pub fn leaf_with(&self, spec: Spec, alg: Alg) -> Certificate {
        spec.issue(&Key::new(alg), self)
    }
}
