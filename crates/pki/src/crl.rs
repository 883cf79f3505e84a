//! Certificate revocation lists (RFC 5280 §5): parsed once, signature checked
//! against the issuing CA, indexed for O(1) serial lookups.
//!
//! A [`Crl`] owns its data (no borrow of the DER) and keeps only what lookups
//! and listings need: a million entries take about 50 MB and load in well
//! under a second in release builds (`examples/crl_1m.rs`).
//!
//! Only complete, direct CRLs are accepted: delta CRLs, indirect CRLs, CRLs
//! partitioned by reason, and CRLs with unknown critical extensions are
//! refused with [`Reason::MalformedCrl`], because using one as if it were a
//! complete CRL would report revoked certificates as good.

pub(crate) mod der_write;
mod entries;
mod extensions;
pub(crate) mod fields;
mod index;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::der::{self, BIT_STRING, INTEGER, Reader, SEQUENCE};
use crate::reason::{Error, Reason};

/// Largest CRL accepted, in bytes: 256 MiB is about 8 million entries.
pub const MAX_CRL_LEN: usize = 256 << 20;

/// Which certificates a CRL covers (its issuingDistributionPoint's
/// onlyContainsUserCerts / onlyContainsCACerts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CrlScope {
    /// Every certificate of the issuer (no restriction).
    #[default]
    All,
    /// End-entity certificates only: says nothing about CA certificates.
    UserCertsOnly,
    /// CA certificates only: says nothing about end-entity certificates.
    CaCertsOnly,
}

/// A revoked serial's entry in a CRL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The revocationDate of the entry.
    pub revoked_at: OffsetDateTime,
    /// The RFC 5280 CRLReason, snake_case (`key_compromise`, `superseded`,
    /// `certificate_hold`…), when the entry carries a reasonCode.
    pub reason: Option<&'static str>,
}

/// A parsed, indexed certificate revocation list.
#[derive(Debug)]
pub struct Crl {
    issuer_der: Vec<u8>,
    issuer: String,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    number: Option<String>,
    authority_key_id: Option<Vec<u8>>,
    scope: CrlScope,
    distribution_points: Vec<String>,
    distribution_point_name: Option<Vec<u8>>,
    has_deltas: bool,
    sha256: [u8; 32],
    index: index::SerialIndex,
}

pub(crate) fn malformed(detail: impl Into<String>) -> Error {
    Error::new(Reason::MalformedCrl, detail)
}

impl Crl {
    /// Parses and indexes a DER CRL, verifying its signature with `issuer`: a
    /// certificate whose subject is the CRL's issuer (byte for byte) and whose
    /// keyUsage, when present, allows cRLSign.
    ///
    /// Errors: [`Reason::MalformedCrl`] (bad DER, above [`MAX_CRL_LEN`],
    /// unsupported kind of CRL, unknown critical extension),
    /// [`Reason::BadSignature`] (issuer name differs, or the signature does not
    /// verify), [`Reason::KeyUsage`] (no cRLSign),
    /// [`Reason::UnsupportedAlgorithm`].
    pub fn parse_verified(der: &[u8], issuer: &Certificate) -> Result<Crl, Error> {
        parse(der, Some(issuer))
    }

    /// Parses and indexes a DER CRL without checking its signature: for
    /// listing, inspection and fuzzing — never to decide revocation.
    pub fn parse_unverified(der: &[u8]) -> Result<Crl, Error> {
        parse(der, None)
    }

    /// The DER of the issuer Name.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// The issuer Name as text (RFC 4514 style, most significant RDN first).
    pub fn issuer(&self) -> String {
        self.issuer.clone()
    }

    /// thisUpdate.
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// nextUpdate, when present (RFC 5280 requires it; some CAs omit it).
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update
    }

    /// The cRLNumber in decimal, when present.
    pub fn number(&self) -> Option<String> {
        self.number.clone()
    }

    /// The authorityKeyIdentifier's keyIdentifier, when present: it names the
    /// issuer key when a CA has several.
    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.authority_key_id.as_deref()
    }

    /// The certificates this CRL covers (issuingDistributionPoint).
    pub fn scope(&self) -> CrlScope {
        self.scope
    }

    /// The URIs of the issuingDistributionPoint's distributionPoint, if any: a
    /// CRL naming distribution points covers only certificates whose
    /// cRLDistributionPoints name one of them (RFC 5280 §6.3.3 (b)(2)(i)).
    pub fn distribution_points(&self) -> &[String] {
        &self.distribution_points
    }

    /// Whether this CRL covers `cert` (RFC 5280 §6.3.3 (b)): its scope (user or CA
    /// certificates only) takes in `cert`, and when it names a distribution point, one of
    /// `cert`'s cRLDistributionPoints shares a name with it (or, `cert` having none, the
    /// point names `cert`'s issuer). A CRL that does not cover a certificate says nothing
    /// about it: neither good nor revoked.
    ///
    /// Delta CRLs are not processed, so a base CRL that points to deltas (freshestCRL,
    /// in the CRL or in `cert`) covers nothing: a revocation only a delta lists would go
    /// unseen (PKITS 4.15.4), and failing closed (`revocation_unknown`) is the answer.
    pub fn covers(&self, cert: &Certificate) -> bool {
        if self.has_deltas || cert.has_freshest_crl() {
            return false;
        }
        match self.scope {
            CrlScope::UserCertsOnly if cert.is_ca() => return false,
            CrlScope::CaCertsOnly if !cert.is_ca() => return false,
            _ => {}
        }
        let Some(point) = &self.distribution_point_name else {
            return true;
        };
        // Names relative to the CRL issuer are the cert's issuer (whose CRL this is).
        let issuer = cert.issuer_der();
        let ours = point_names(point, issuer);
        match cert.crl_distribution_point_names() {
            Some(theirs) => theirs
                .iter()
                .any(|name| point_names(name, issuer).iter().any(|n| ours.contains(n))),
            None => {
                let issuer_name = directory_key(issuer);
                ours.iter().any(|n| Some(n) == issuer_name.as_ref())
            }
        }
    }

    /// SHA-256 of the whole DER CRL, lowercase hex.
    pub fn sha256_hex(&self) -> String {
        crate::cert::hex(&self.sha256)
    }

    /// Number of distinct revoked serials.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry of a serial — DER INTEGER content bytes, as
    /// `Certificate::serial()` gives them — in O(1). Non-minimal encodings on
    /// either side still match.
    pub fn revoked(&self, serial: &[u8]) -> Option<RevokedEntry> {
        let entry = self.index.get(fields::serial(serial)?)?;
        Some(RevokedEntry {
            revoked_at: fields::datetime(entry.revoked_at),
            reason: fields::reason_name(entry.reason),
        })
    }

    /// The status of the certificate with `serial` at `at` by this CRL: revoked when listed
    /// with a revocation time not after `at`, good otherwise (whether the CRL is current
    /// is the caller's question: [`Crl::is_current`]).
    pub fn status(&self, serial: &[u8], at: OffsetDateTime) -> crate::path::RevocationStatus {
        match self.revoked(serial) {
            Some(e) if e.revoked_at <= at => crate::path::RevocationStatus::Revoked {
                reason: e.reason.unwrap_or("unspecified").to_owned(),
                at: Some(e.revoked_at),
            },
            _ => crate::path::RevocationStatus::Good,
        }
    }

    /// Whether the CRL is in force at `at`: `this_update <= at < next_update`.
    /// Without a nextUpdate there is no upper bound; callers wanting a maximum
    /// age compare [`Crl::this_update`] themselves.
    pub fn is_current(&self, at: OffsetDateTime) -> bool {
        self.this_update <= at && self.next_update.is_none_or(|next| at < next)
    }
}

/// The fields of a TBSCertList read before the entries.
struct TbsHead<'a> {
    v2: bool,
    signature_alg: &'a [u8],
    issuer: &'a [u8],
    this_update: i64,
    next_update: Option<i64>,
    revoked: Option<&'a [u8]>,
    extensions: Option<&'a [u8]>,
}

fn parse(input: &[u8], issuer: Option<&Certificate>) -> Result<Crl, Error> {
    if input.len() > MAX_CRL_LEN {
        return Err(malformed(format!(
            "CRL of {} bytes is above the {MAX_CRL_LEN}-byte limit",
            input.len()
        )));
    }
    let outer = der::single(input, SEQUENCE).ok_or_else(|| malformed("not a DER CRL"))?;
    let mut r = Reader::new(outer.value);
    let (Some(tbs), Some(alg), Some(sig), true) = (
        r.expect(SEQUENCE),
        r.expect(SEQUENCE),
        r.expect(BIT_STRING),
        r.is_empty(),
    ) else {
        return Err(malformed(
            "CertificateList is not tbsCertList, signatureAlgorithm, signatureValue",
        ));
    };
    let head = tbs_head(tbs.value)?;
    if head.signature_alg != alg.raw {
        return Err(malformed(
            "TBSCertList signature algorithm differs from the outer one",
        ));
    }
    if let Some(issuer) = issuer {
        check_issuer(issuer, head.issuer)?;
        let signature = match sig.value {
            [0, signature @ ..] => signature,
            _ => return Err(malformed("signature BIT STRING with unused bits")),
        };
        crate::sig::verify_signed_data(issuer.spki_der(), alg.raw, tbs.raw, signature)
            .map_err(|e| Error::new(e.reason, format!("CRL signature: {}", e.detail)))?;
    }
    let ext = match head.extensions {
        Some(value) => extensions::parse(value)?,
        None => extensions::CrlExtensions::default(),
    };
    // §5.2.3: issuers MUST include the cRLNumber; without it, which CRL is newer cannot
    // be told (so neither can a replayed older one).
    if ext.number.is_none() {
        return Err(malformed("no cRLNumber extension"));
    }
    let index = entries::index(head.revoked, head.v2)?;
    Ok(Crl {
        issuer_der: head.issuer.to_vec(),
        issuer: name_text(head.issuer),
        this_update: fields::datetime(head.this_update),
        next_update: head.next_update.map(fields::datetime),
        number: ext.number,
        authority_key_id: ext.authority_key_id,
        scope: ext.scope,
        distribution_points: ext.distribution_points,
        distribution_point_name: ext.distribution_point_name,
        has_deltas: ext.has_deltas,
        sha256: sha256(input),
        index,
    })
}

fn tbs_head(value: &[u8]) -> Result<TbsHead<'_>, Error> {
    let mut r = Reader::new(value);
    let v2 = match r.optional(INTEGER) {
        Some(v) if v.value == [1] => true,
        Some(_) => return Err(malformed("CRL version is not v2")),
        None => false,
    };
    let signature_alg = r
        .expect(SEQUENCE)
        .ok_or_else(|| malformed("bad TBSCertList signature algorithm"))?
        .raw;
    let issuer = r
        .expect(SEQUENCE)
        .ok_or_else(|| malformed("bad CRL issuer Name"))?
        .raw;
    let this_update = r
        .read()
        .and_then(|t| fields::time(t.tag, t.value))
        .ok_or_else(|| malformed("bad thisUpdate"))?;
    let next_update = match r.peek_tag() {
        Some(tag @ (fields::UTC_TIME | fields::GENERALIZED_TIME)) => Some(
            r.read()
                .and_then(|t| fields::time(tag, t.value))
                .ok_or_else(|| malformed("bad nextUpdate"))?,
        ),
        _ => None,
    };
    let revoked = r.optional(SEQUENCE).map(|t| t.value);
    let extensions = match r.optional(0xa0) {
        Some(explicit) => Some(
            der::single(explicit.value, SEQUENCE)
                .ok_or_else(|| malformed("bad crlExtensions"))?
                .value,
        ),
        None => None,
    };
    if !r.is_empty() {
        return Err(malformed("trailing data in TBSCertList"));
    }
    if extensions.is_some() && !v2 {
        return Err(malformed("CRL extensions in a v1 CRL"));
    }
    Ok(TbsHead {
        v2,
        signature_alg,
        issuer,
        this_update,
        next_update,
        revoked,
        extensions,
    })
}

/// The CRL must come from `issuer`: the same Name (RFC 5280 §7.1), and cRLSign allowed.
fn check_issuer(issuer: &Certificate, crl_issuer: &[u8]) -> Result<(), Error> {
    if !crate::names::same_name(issuer.subject_der(), crl_issuer) {
        return Err(Error::new(
            Reason::BadSignature,
            "the CRL issuer is not the subject of the given issuer certificate",
        ));
    }
    if issuer
        .key_usage()
        .is_some_and(|bits| bits & crate::cert::ku::CRL_SIGN == 0)
    {
        return Err(Error::new(
            Reason::KeyUsage,
            "the issuer certificate's keyUsage does not allow cRLSign",
        ));
    }
    Ok(())
}

/// The Name as text, rendered as `Certificate::subject()` renders names.
fn name_text(name_der: &[u8]) -> String {
    use x509_parser::prelude::FromDer as _;
    match x509_parser::x509::X509Name::from_der(name_der) {
        Ok((_, name)) => name.to_string(),
        Err(_) => String::from("<unreadable name>"),
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The GeneralNames of a DistributionPointName (DER), as comparison keys: each of a
/// `fullName`, or the `nameRelativeToCRLIssuer` appended to `crl_issuer` (a Name, DER);
/// directory names in their RFC 5280 §7.1 form, other names as their DER.
fn point_names(point: &[u8], crl_issuer: &[u8]) -> Vec<Vec<u8>> {
    let Some(name) = der::Reader::new(point).read() else {
        return Vec::new();
    };
    match name.tag {
        0xa0 => {
            let mut r = der::Reader::new(name.value);
            let mut out = Vec::new();
            while let Some(general_name) = r.read() {
                let key = match general_name.tag {
                    0xa4 => directory_key(general_name.value),
                    _ => None,
                };
                out.push(key.unwrap_or_else(|| general_name.raw.to_vec()));
            }
            out
        }
        0xa1 => {
            let Some(issuer) = der::single(crl_issuer, SEQUENCE) else {
                return Vec::new();
            };
            let rdn = der_write::tlv(der::SET, name.value);
            let full = der_write::cons(SEQUENCE, &[issuer.value, &rdn]);
            directory_key(&full).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// The comparison key of a directoryName: a marker and the name's canonical form.
fn directory_key(name_der: &[u8]) -> Option<Vec<u8>> {
    crate::names::canonical_name(name_der).map(|c| [&[0xa4][..], &c].concat())
}
