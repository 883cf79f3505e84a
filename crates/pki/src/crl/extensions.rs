//! CRL-level extensions (RFC 5280 §5.2): the ones read, the ones refused.
//!
//! Read: cRLNumber (required, and non-critical: §5.2.3), authorityKeyIdentifier, issuingDistributionPoint (scope and
//! distribution point URIs). Refused: delta CRLs, indirect CRLs, CRLs
//! partitioned by reason or covering attribute certificates — a validator that
//! took them for complete CRLs would answer "not revoked" for certificates they
//! do not cover. Any other critical extension makes the CRL unusable (§5.2).

use super::fields::{self, Extension};
use super::{CrlScope, malformed};
use crate::der::{INTEGER, Reader, SEQUENCE};
use crate::reason::Error;

const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1d, 0x1b];
const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1d, 0x1c];
const AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x55, 0x1d, 0x23];
const FRESHEST_CRL: &[u8] = &[0x55, 0x1d, 0x2e];

/// What the CRL-level extensions say.
#[derive(Debug, Default)]
pub(crate) struct CrlExtensions {
    pub number: Option<String>,
    pub authority_key_id: Option<Vec<u8>>,
    pub scope: CrlScope,
    pub distribution_points: Vec<String>,
    /// The issuingDistributionPoint's DistributionPointName, DER, when it names one.
    pub distribution_point_name: Option<Vec<u8>>,
    /// A freshestCRL extension: delta CRLs complete this one.
    pub has_deltas: bool,
}

/// Reads the content of the `[0] EXPLICIT Extensions` of a TBSCertList.
pub(crate) fn parse(value: &[u8]) -> Result<CrlExtensions, Error> {
    let list = fields::extensions(value)
        .ok_or_else(|| malformed("malformed or duplicate CRL extensions"))?;
    let mut out = CrlExtensions::default();
    for ext in list {
        match ext.oid {
            // §5.2.3: "This extension is non-critical."
            CRL_NUMBER if ext.critical => return Err(malformed("cRLNumber marked critical")),
            CRL_NUMBER => out.number = Some(crl_number(ext.value)?),
            AUTHORITY_KEY_IDENTIFIER => out.authority_key_id = key_identifier(ext.value)?,
            DELTA_CRL_INDICATOR => {
                return Err(malformed("delta CRLs are not supported"));
            }
            ISSUING_DISTRIBUTION_POINT => issuing_distribution_point(ext.value, &mut out)?,
            FRESHEST_CRL => out.has_deltas = true,
            _ if ext.critical => return Err(unknown_critical(&ext)),
            _ => {}
        }
    }
    Ok(out)
}

fn unknown_critical(ext: &Extension<'_>) -> Error {
    malformed(format!(
        "unknown critical CRL extension {}",
        ext.oid_string()
    ))
}

/// `CRLNumber ::= INTEGER (0..MAX)`, at most 20 octets (§5.2.3).
fn crl_number(value: &[u8]) -> Result<String, Error> {
    let bad = || malformed("malformed cRLNumber");
    let int = crate::der::single(value, INTEGER).ok_or_else(bad)?;
    match int.value {
        [first, ..] if first & 0x80 == 0 && int.value.len() <= 21 => Ok(fields::decimal(int.value)),
        _ => Err(bad()),
    }
}

/// The keyIdentifier of an `AuthorityKeyIdentifier`, if any.
fn key_identifier(value: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let bad = || malformed("malformed authorityKeyIdentifier");
    let seq = crate::der::single(value, SEQUENCE).ok_or_else(bad)?;
    let mut r = Reader::new(seq.value);
    let id = r.optional(0x80).map(|t| t.value.to_vec());
    // authorityCertIssuer [1] and authorityCertSerialNumber [2] are not used.
    while !r.is_empty() {
        r.read().ok_or_else(bad)?;
    }
    Ok(id)
}

/// `IssuingDistributionPoint` (§5.2.5).
fn issuing_distribution_point(value: &[u8], out: &mut CrlExtensions) -> Result<(), Error> {
    let bad = || malformed("malformed issuingDistributionPoint");
    let seq = crate::der::single(value, SEQUENCE).ok_or_else(bad)?;
    let mut r = Reader::new(seq.value);
    if let Some(dp) = r.optional(0xa0) {
        out.distribution_points = full_name_uris(dp.value).ok_or_else(bad)?;
        out.distribution_point_name = Some(dp.value.to_vec());
    }
    let flag = |r: &mut Reader<'_>, tag: u8| -> Result<bool, Error> {
        match r.optional(tag) {
            // DER omits DEFAULT FALSE; an explicit FALSE is tolerated.
            Some(t) => fields::boolean(t.value).ok_or_else(bad),
            None => Ok(false),
        }
    };
    let users = flag(&mut r, 0x81)?;
    let cas = flag(&mut r, 0x82)?;
    if r.optional(0x83).is_some() {
        return Err(malformed(
            "CRLs partitioned by reason (onlySomeReasons) are not supported",
        ));
    }
    if flag(&mut r, 0x84)? {
        return Err(malformed("indirect CRLs are not supported"));
    }
    if flag(&mut r, 0x85)? {
        return Err(malformed("attribute-certificate CRLs are not supported"));
    }
    if !r.is_empty() {
        return Err(bad());
    }
    out.scope = match (users, cas) {
        (false, false) => CrlScope::All,
        (true, false) => CrlScope::UserCertsOnly,
        (false, true) => CrlScope::CaCertsOnly,
        (true, true) => return Err(bad()),
    };
    Ok(())
}

/// URIs of a `DistributionPointName`'s `fullName [0] GeneralNames`; a
/// `nameRelativeToCRLIssuer [1]` yields none.
fn full_name_uris(value: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader::new(value);
    let name = r.read()?;
    if !r.is_empty() {
        return None;
    }
    let mut uris = Vec::new();
    match name.tag {
        0xa0 => {
            let mut names = Reader::new(name.value);
            while !names.is_empty() {
                let general_name = names.read()?;
                // uniformResourceIdentifier [6] IA5String.
                if general_name.tag == 0x86 {
                    uris.push(std::str::from_utf8(general_name.value).ok()?.to_owned());
                }
                if uris.len() > 16 {
                    return None;
                }
            }
        }
        0xa1 => {}
        _ => return None,
    }
    Some(uris)
}
