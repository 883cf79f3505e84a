//! A parsed certificate that owns its DER and remembers where things are in it.
//!
//! Parsing happens once, in [`Certificate::from_der`], with x509-parser (which
//! checks the DER and deep-parses the standard extensions). The facts validation
//! needs are kept as small values or as byte ranges into the DER, so the type is
//! `'static`, `Send + Sync` and cloned by bumping an `Arc`.

use std::sync::Arc;

use aws_lc_rs::digest;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::der::{self, Reader};
use crate::reason::{Error, Reason};

/// Largest certificate accepted (real ones are a few KiB).
pub const MAX_CERTIFICATE_SIZE: usize = 64 * 1024;

/// A byte range into the certificate's DER (u32: certificates are small).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(base: &[u8], sub: &[u8]) -> Result<Self, Error> {
        let r = der::range_in(base, sub).ok_or_else(|| malformed("internal range error"))?;
        // Both ends fit: the whole input is at most MAX_CERTIFICATE_SIZE.
        Ok(Self {
            start: u32::try_from(r.start).map_err(|_| malformed("too large"))?,
            end: u32::try_from(r.end).map_err(|_| malformed("too large"))?,
        })
    }

    fn of(self, der: &[u8]) -> &[u8] {
        der.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

/// basicConstraints, as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BasicConstraints {
    pub ca: bool,
    pub path_len: Option<u32>,
}

/// keyUsage bits (bit 0 = digitalSignature … bit 8 = decipherOnly), as x509-parser numbers them.
pub(crate) mod ku {
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    pub const NON_REPUDIATION: u16 = 1 << 1;
    pub const KEY_ENCIPHERMENT: u16 = 1 << 2;
    pub const DATA_ENCIPHERMENT: u16 = 1 << 3;
    pub const KEY_AGREEMENT: u16 = 1 << 4;
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
    pub const CRL_SIGN: u16 = 1 << 6;
}

/// Where the facts live in the DER, and the small values read once.
#[derive(Clone, Copy, Debug, Default)]
struct Facts {
    tbs: Span,
    signature_algorithm: Span,
    signature_value: Span,
    serial: Span,
    issuer: Span,
    subject: Span,
    spki: Span,
    not_before: i64,
    not_after: i64,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<u16>,
    /// Contents (inside the OCTET STRING) of extensions read on demand.
    eku: Option<Span>,
    san: Option<Span>,
    name_constraints: Option<Span>,
    policies: Option<Span>,
    inhibit_any_policy: Option<u32>,
    require_explicit_policy: Option<u32>,
    ski: Option<Span>,
    aki: Option<Span>,
    /// OID (content bytes) of the first critical extension this crate does not process.
    unsupported_critical: Option<Span>,
    self_issued: bool,
    /// X.509 version minus one (0 = v1 … 2 = v3).
    version: u32,
    /// Which of the extensions whose criticality RFC 5280 fixes are marked critical.
    critical: Criticality,
    /// The authorityKeyIdentifier is there (with or without a keyIdentifier).
    aki_present: bool,
    /// The authorityKeyIdentifier names an issuer or a serial, not only a key.
    aki_issuer_serial: bool,
    /// A freshestCRL extension (delta CRLs) is there.
    freshest_crl: bool,
}

/// The criticality of the extensions RFC 5280 says how to mark: `None` when absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Criticality {
    pub basic_constraints: Option<bool>,
    pub ski: Option<bool>,
    pub aki: Option<bool>,
    pub san: Option<bool>,
    pub name_constraints: Option<bool>,
    pub policy_constraints: Option<bool>,
    pub eku: Option<bool>,
    pub aia: Option<bool>,
}

/// An X.509 certificate: its DER and the facts read from it once.
#[derive(Clone)]
pub struct Certificate {
    der: Arc<[u8]>,
    facts: Facts,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // End-entity subjects name people (identity traits): only CA names are shown.
        let mut d = f.debug_struct("Certificate");
        if self.is_ca() {
            d.field("subject", &self.subject());
        }
        d.field("serial", &self.serial_hex()).finish()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.der, &other.der) || self.der == other.der
    }
}

impl Eq for Certificate {}

fn malformed(detail: impl Into<String>) -> Error {
    Error::new(Reason::MalformedCertificate, detail)
}

// Extension OIDs (content bytes): id-ce is 2.5.29 = 55 1d.
const EXT_SKI: &[u8] = &[0x55, 0x1d, 14];
const EXT_KU: &[u8] = &[0x55, 0x1d, 15];
const EXT_SAN: &[u8] = &[0x55, 0x1d, 17];
const EXT_IAN: &[u8] = &[0x55, 0x1d, 18];
const EXT_BC: &[u8] = &[0x55, 0x1d, 19];
const EXT_NC: &[u8] = &[0x55, 0x1d, 30];
const EXT_CRL_DP: &[u8] = &[0x55, 0x1d, 31];
const EXT_CP: &[u8] = &[0x55, 0x1d, 32];
const EXT_AKI: &[u8] = &[0x55, 0x1d, 35];
const EXT_POLICY_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 36];
const EXT_EKU: &[u8] = &[0x55, 0x1d, 37];
const EXT_INHIBIT_ANY_POLICY: &[u8] = &[0x55, 0x1d, 54];
const EXT_FRESHEST_CRL: &[u8] = &[0x55, 0x1d, 46];
const EXT_AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
const AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];

/// Extensions whose meaning this crate applies, so they may be critical.
///
/// policyMappings is not among them: mapping is not processed, so a critical one
/// is refused rather than silently ignored. policyConstraints is honoured for
/// requireExplicitPolicy (see `path`), inhibitPolicyMapping is moot without mapping.
/// AIA and CRL distribution points are only read as hints for fetching.
const UNDERSTOOD: &[&[u8]] = &[
    EXT_SKI,
    EXT_KU,
    EXT_SAN,
    EXT_IAN,
    EXT_BC,
    EXT_NC,
    EXT_CRL_DP,
    EXT_CP,
    EXT_AKI,
    EXT_POLICY_CONSTRAINTS,
    EXT_EKU,
    EXT_INHIBIT_ANY_POLICY,
    EXT_AIA,
];

impl Certificate {
    /// Parses one DER certificate.
    ///
    /// Refuses (with [`Reason::MalformedCertificate`]) bad DER, trailing bytes,
    /// certificates over [`MAX_CERTIFICATE_SIZE`], versions other than v1–v3, v1/v2
    /// certificates with extensions or unique ids, duplicate extensions, standard
    /// extensions that do not parse, a signature BIT STRING with unused bits, and a
    /// signatureAlgorithm differing from the TBS signature field. An unsupported
    /// signature algorithm or unknown critical extension is not a parse error: it is
    /// reported when the certificate is used in a path.
    pub fn from_der(der: impl Into<Arc<[u8]>>) -> Result<Self, Error> {
        let der: Arc<[u8]> = der.into();
        let facts = read_facts(&der)?;
        Ok(Self { der, facts })
    }

    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// SHA-256 of the DER (the usual certificate fingerprint).
    pub fn sha256(&self) -> [u8; 32] {
        let d = digest::digest(&digest::SHA256, &self.der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// SHA-256 fingerprint, lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256())
    }

    /// The subject Name, DER.
    pub fn subject_der(&self) -> &[u8] {
        self.facts.subject.of(&self.der)
    }

    /// The issuer Name, DER.
    pub fn issuer_der(&self) -> &[u8] {
        self.facts.issuer.of(&self.der)
    }

    /// The subject for people, `C=FR, O=…` in encoding order.
    pub fn subject(&self) -> String {
        name_to_string(self.subject_der())
    }

    /// The issuer for people, `C=FR, O=…` in encoding order.
    pub fn issuer(&self) -> String {
        name_to_string(self.issuer_der())
    }

    /// The serial number: the DER INTEGER content bytes (two's complement, as encoded).
    pub fn serial(&self) -> &[u8] {
        self.facts.serial.of(&self.der)
    }

    /// The serial number, lowercase hex of [`Self::serial`].
    pub fn serial_hex(&self) -> String {
        hex(self.serial())
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> OffsetDateTime {
        timestamp(self.facts.not_before)
    }

    /// End of the validity period (inclusive, RFC 5280).
    pub fn not_after(&self) -> OffsetDateTime {
        timestamp(self.facts.not_after)
    }

    /// The SubjectPublicKeyInfo, DER.
    pub fn spki_der(&self) -> &[u8] {
        self.facts.spki.of(&self.der)
    }

    /// Whether basicConstraints says cA = true.
    pub fn is_ca(&self) -> bool {
        self.facts.basic_constraints.is_some_and(|bc| bc.ca)
    }

    /// Whether subject and issuer are the same name (byte-identical DER).
    pub fn is_self_issued(&self) -> bool {
        self.facts.self_issued
    }

    /// The http(s) URIs of the fullName of the CRL distribution points.
    pub fn crl_distribution_points(&self) -> Vec<String> {
        self.with_parsed(|c| {
            let mut out = Vec::new();
            for ext in c.extensions() {
                if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
                    for point in points.iter() {
                        if let Some(DistributionPointName::FullName(names)) =
                            &point.distribution_point
                        {
                            out.extend(names.iter().filter_map(http_uri));
                        }
                    }
                }
            }
            out
        })
    }

    /// Whether the certificate points to delta CRLs (freshestCRL, RFC 5280 §4.2.1.15).
    pub(crate) fn has_freshest_crl(&self) -> bool {
        self.facts.freshest_crl
    }

    /// The DistributionPointName (DER) of each of the cRLDistributionPoints that names
    /// one; `None` without the extension.
    pub(crate) fn crl_distribution_point_names(&self) -> Option<Vec<Vec<u8>>> {
        self.with_parsed(|c| {
            let ext = c
                .extensions()
                .iter()
                .find(|e| e.oid.as_bytes() == EXT_CRL_DP)?;
            let points = der::single(ext.value, der::SEQUENCE)?;
            let mut r = Reader::new(points.value);
            let mut out = Vec::new();
            while let Some(point) = r.read() {
                if let Some(name) = Reader::new(point.value).optional(0xa0) {
                    out.push(name.value.to_vec());
                }
            }
            Some(out)
        })
    }

    /// The http(s) URIs of the OCSP responders named in authorityInfoAccess.
    pub fn ocsp_urls(&self) -> Vec<String> {
        self.with_parsed(|c| {
            let mut out = Vec::new();
            for ext in c.extensions() {
                if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
                    for desc in aia.iter() {
                        if desc.access_method.as_bytes() == AD_OCSP {
                            out.extend(http_uri(&desc.access_location));
                        }
                    }
                }
            }
            out
        })
    }

    /// The extendedKeyUsage purposes, dotted OIDs (empty without the extension).
    pub fn extended_key_usages(&self) -> Vec<String> {
        self.eku_oids()
            .into_iter()
            .flatten()
            .filter_map(der::oid_to_string)
            .collect()
    }

    /// The TBSCertificate, DER (what the issuer signed).
    pub fn tbs_der(&self) -> &[u8] {
        self.facts.tbs.of(&self.der)
    }

    /// The outer signatureAlgorithm AlgorithmIdentifier, DER.
    pub fn signature_algorithm_der(&self) -> &[u8] {
        self.facts.signature_algorithm.of(&self.der)
    }

    /// The signature bytes (BIT STRING contents without the unused-bits byte).
    pub fn signature_value(&self) -> &[u8] {
        self.facts.signature_value.of(&self.der)
    }

    /// Runs `f` on a fresh x509-parser view of the certificate. It re-parses the
    /// DER: for inspection, not for the validation hot path.
    pub fn with_parsed<R>(&self, f: impl FnOnce(&X509Certificate<'_>) -> R) -> R {
        match X509Certificate::from_der(&self.der) {
            Ok((_, cert)) => f(&cert),
            // `from_der` accepted these very bytes with this very parser, and parsing
            // is a pure function of them: this branch cannot run.
            Err(_) => unreachable!("certificate DER re-parse failed after a successful parse"),
        }
    }

    // ---- crate-internal facts for path validation -------------------------------

    /// How failure details name the certificate: a CA by its subject (public), an
    /// end-entity by its serial only (its subject may name a person).
    pub(crate) fn label(&self) -> String {
        if self.is_ca() {
            self.subject()
        } else {
            format!("certificate {}", self.serial_hex())
        }
    }

    pub(crate) fn basic_constraints(&self) -> Option<BasicConstraints> {
        self.facts.basic_constraints
    }

    pub(crate) fn key_usage(&self) -> Option<u16> {
        self.facts.key_usage
    }

    pub(crate) fn not_before_ts(&self) -> i64 {
        self.facts.not_before
    }

    pub(crate) fn not_after_ts(&self) -> i64 {
        self.facts.not_after
    }

    /// Iterator over the EKU OIDs (content bytes), `None` without the extension.
    pub(crate) fn eku_oids(&self) -> Option<OidIter<'_>> {
        let span = self.facts.eku?;
        let seq = der::single(span.of(&self.der), der::SEQUENCE)?;
        Some(OidIter(Reader::new(seq.value)))
    }

    /// Iterator over the certificatePolicies policy OIDs, `None` without the extension.
    pub(crate) fn policy_oids(&self) -> Option<PolicyIter<'_>> {
        let span = self.facts.policies?;
        let seq = der::single(span.of(&self.der), der::SEQUENCE)?;
        Some(PolicyIter(Reader::new(seq.value)))
    }

    pub(crate) fn inhibit_any_policy(&self) -> Option<u32> {
        self.facts.inhibit_any_policy
    }

    pub(crate) fn require_explicit_policy(&self) -> Option<u32> {
        self.facts.require_explicit_policy
    }

    /// subjectAltName contents (the GeneralNames SEQUENCE).
    pub(crate) fn san_der(&self) -> Option<&[u8]> {
        self.facts.san.map(|s| s.of(&self.der))
    }

    /// nameConstraints contents (the NameConstraints SEQUENCE).
    pub(crate) fn name_constraints_der(&self) -> Option<&[u8]> {
        self.facts.name_constraints.map(|s| s.of(&self.der))
    }

    pub(crate) fn subject_key_id(&self) -> Option<&[u8]> {
        self.facts.ski.map(|s| s.of(&self.der))
    }

    pub(crate) fn authority_key_id(&self) -> Option<&[u8]> {
        self.facts.aki.map(|s| s.of(&self.der))
    }

    /// X.509 version minus one (2 for v3).
    pub(crate) fn version(&self) -> u32 {
        self.facts.version
    }

    pub(crate) fn criticality(&self) -> Criticality {
        self.facts.critical
    }

    /// Whether an authorityKeyIdentifier extension is there, and whether it names an
    /// issuer or serial.
    pub(crate) fn aki_shape(&self) -> (bool, bool) {
        (self.facts.aki_present, self.facts.aki_issuer_serial)
    }

    /// Whether the subject is the empty sequence.
    pub(crate) fn subject_is_empty(&self) -> bool {
        self.subject_der() == [0x30, 0x00]
    }

    /// The first critical extension not processed here, as a dotted OID.
    pub(crate) fn unsupported_critical_extension(&self) -> Option<String> {
        self.facts
            .unsupported_critical
            .map(|s| der::oid_to_string(s.of(&self.der)).unwrap_or_else(|| "<bad oid>".to_owned()))
    }
}

/// OIDs of a SEQUENCE OF OBJECT IDENTIFIER (content bytes).
pub(crate) struct OidIter<'a>(Reader<'a>);

impl<'a> Iterator for OidIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.expect(der::OID).map(|t| t.value)
    }
}

/// Policy OIDs of a certificatePolicies SEQUENCE OF PolicyInformation.
pub(crate) struct PolicyIter<'a>(Reader<'a>);

impl<'a> Iterator for PolicyIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let info = self.0.expect(der::SEQUENCE)?;
        Reader::new(info.value).expect(der::OID).map(|t| t.value)
    }
}

fn timestamp(ts: i64) -> OffsetDateTime {
    // The value came from an OffsetDateTime, so it converts back.
    OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn http_uri(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::URI(uri) => {
            let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
            (lower.starts_with("http://") || lower.starts_with("https://"))
                .then(|| (*uri).to_owned())
        }
        _ => None,
    }
}

fn name_to_string(name_der: &[u8]) -> String {
    match X509Name::from_der(name_der) {
        Ok((_, name)) => name.to_string(),
        Err(_) => String::from("<unreadable name>"),
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// SHA-256 of a DER Name, lowercase hex: the key revocation data is filed under.
pub fn name_sha256_hex(name_der: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, name_der).as_ref())
}

/// Splits Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue }.
fn outer(der: &[u8]) -> Result<(der::Tlv<'_>, der::Tlv<'_>, &[u8]), Error> {
    let seq = der::single(der, der::SEQUENCE)
        .ok_or_else(|| malformed("not a single DER SEQUENCE (bad DER or trailing bytes)"))?;
    let mut r = Reader::new(seq.value);
    let tbs = r
        .expect(der::SEQUENCE)
        .ok_or_else(|| malformed("bad TBSCertificate"))?;
    let alg = r
        .expect(der::SEQUENCE)
        .ok_or_else(|| malformed("bad signatureAlgorithm"))?;
    let sig = r
        .expect(der::BIT_STRING)
        .ok_or_else(|| malformed("bad signatureValue"))?;
    if !r.is_empty() {
        return Err(malformed("data after signatureValue"));
    }
    let sig = match sig.value.split_first() {
        Some((0, bits)) => bits,
        _ => return Err(malformed("signatureValue has unused bits")),
    };
    Ok((tbs, alg, sig))
}

/// The AlgorithmIdentifier inside the TBS (after the optional version and the serial).
fn tbs_signature_field(tbs: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(tbs);
    r.optional(0xa0);
    r.expect(der::INTEGER)?;
    r.expect(der::SEQUENCE).map(|t| t.raw)
}

fn read_facts(der: &[u8]) -> Result<Facts, Error> {
    if der.len() > MAX_CERTIFICATE_SIZE {
        return Err(malformed(format!(
            "certificate of {} bytes exceeds {MAX_CERTIFICATE_SIZE}",
            der.len()
        )));
    }
    let (tbs, alg, sig) = outer(der)?;
    if tbs_signature_field(tbs.value) != Some(alg.raw) {
        return Err(malformed(
            "signatureAlgorithm differs from the TBS signature field",
        ));
    }
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| malformed(format!("certificate does not parse: {e}")))?;
    if !rest.is_empty() {
        return Err(malformed("trailing bytes after the certificate"));
    }
    let t = &cert.tbs_certificate;
    let version = t.version.0;
    if version > 2 {
        return Err(malformed(format!("unknown version {}", version + 1)));
    }
    if version < 2 && !t.extensions().is_empty() {
        return Err(malformed("extensions in a v1/v2 certificate"));
    }
    if version < 1 && (t.issuer_uid.is_some() || t.subject_uid.is_some()) {
        return Err(malformed("unique identifiers in a v1 certificate"));
    }
    let subject = t.subject.as_raw();
    let issuer = t.issuer.as_raw();
    let mut facts = Facts {
        tbs: Span::new(der, tbs.raw)?,
        signature_algorithm: Span::new(der, alg.raw)?,
        signature_value: Span::new(der, sig)?,
        serial: Span::new(der, t.raw_serial())?,
        issuer: Span::new(der, issuer)?,
        subject: Span::new(der, subject)?,
        spki: Span::new(der, t.subject_pki.raw)?,
        not_before: t.validity.not_before.timestamp(),
        not_after: t.validity.not_after.timestamp(),
        self_issued: subject == issuer,
        version,
        ..Facts::default()
    };
    let exts = t.extensions();
    for (i, ext) in exts.iter().enumerate() {
        let oid = ext.oid.as_bytes();
        if exts[..i].iter().any(|e| e.oid.as_bytes() == oid) {
            return Err(malformed(format!(
                "duplicate extension {}",
                der::oid_to_string(oid).unwrap_or_default()
            )));
        }
        let value = Span::new(der, ext.value)?;
        let parsed = ext.parsed_extension();
        let unparsable = matches!(parsed, ParsedExtension::ParseError { .. });
        let understood = UNDERSTOOD.contains(&oid);
        if understood && unparsable {
            return Err(malformed(format!(
                "extension {} does not parse",
                der::oid_to_string(oid).unwrap_or_default()
            )));
        }
        if ext.critical && !understood && facts.unsupported_critical.is_none() {
            facts.unsupported_critical = Some(Span::new(der, oid)?);
        }
        let c = &mut facts.critical;
        match oid {
            EXT_BC => c.basic_constraints = Some(ext.critical),
            EXT_SKI => c.ski = Some(ext.critical),
            EXT_AKI => c.aki = Some(ext.critical),
            EXT_SAN => c.san = Some(ext.critical),
            EXT_NC => c.name_constraints = Some(ext.critical),
            EXT_EKU => c.eku = Some(ext.critical),
            EXT_AIA => c.aia = Some(ext.critical),
            EXT_FRESHEST_CRL => facts.freshest_crl = true,
            EXT_POLICY_CONSTRAINTS => c.policy_constraints = Some(ext.critical),
            _ => {}
        }
        match parsed {
            ParsedExtension::BasicConstraints(bc) => {
                facts.basic_constraints = Some(BasicConstraints {
                    ca: bc.ca,
                    path_len: bc.path_len_constraint,
                });
            }
            ParsedExtension::KeyUsage(k) => facts.key_usage = Some(k.flags),
            ParsedExtension::ExtendedKeyUsage(_) => facts.eku = Some(value),
            ParsedExtension::SubjectAlternativeName(_) => facts.san = Some(value),
            ParsedExtension::NameConstraints(_) => facts.name_constraints = Some(value),
            ParsedExtension::CertificatePolicies(_) => facts.policies = Some(value),
            ParsedExtension::InhibitAnyPolicy(p) => facts.inhibit_any_policy = Some(p.skip_certs),
            ParsedExtension::PolicyConstraints(p) => {
                facts.require_explicit_policy = p.require_explicit_policy;
            }
            ParsedExtension::SubjectKeyIdentifier(k) => facts.ski = Some(Span::new(der, k.0)?),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                facts.aki_present = true;
                facts.aki_issuer_serial =
                    a.authority_cert_issuer.is_some() || a.authority_cert_serial.is_some();
                if let Some(k) = &a.key_identifier {
                    facts.aki = Some(Span::new(der, k.0)?);
                }
            }
            _ => {}
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests;
