//! Identities carried by IGC-Santé certificate subjects (domain.md §3–4).
//!
//! * Professional: `C=FR, title=<profession>, SN=<name> + GN=<given name> + CN=<idNat_PS>`
//!   (SN, GN and CN usually share one multi-valued RDN; either form is read).
//! * Structure: `C=FR, ST=<département>, O=<raison sociale>, OU=<idNat_Struct>, CN=<application>`.

use egide_ids::{IdNatPs, IdNatStruct, RppsPolicy};

use crate::cert::Certificate;
use crate::reason::{Error, Reason};

/// Which identity a purpose requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityKind {
    /// A health professional (CPS card, e-CPS).
    Professional,
    /// A health structure (ORG/SERV certificates).
    Structure,
}

/// The identity read from a certificate subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A health professional.
    Professional(ProfessionalIdentity),
    /// A health structure.
    Structure(StructureIdentity),
}

impl Identity {
    /// The kind of this identity.
    pub fn kind(&self) -> IdentityKind {
        match self {
            Self::Professional(_) => IdentityKind::Professional,
            Self::Structure(_) => IdentityKind::Structure,
        }
    }
}

/// A professional's identity from a CPS / e-CPS certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfessionalIdentity {
    /// idNat_PS, from the CN.
    pub idnat_ps: IdNatPs,
    /// Family name, from SN.
    pub name: String,
    /// Given name, from GN.
    pub given_name: String,
    /// Profession, from title.
    pub profession: String,
}

/// A structure's identity from an ORG/SERV certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructureIdentity {
    /// idNat_Struct, from the OU.
    pub idnat_struct: IdNatStruct,
    /// Raison sociale, from O.
    pub organisation: String,
    /// Application name or FQDN, from CN.
    pub application: String,
    /// Département, from ST when present.
    pub departement: Option<String>,
}

pub(crate) const CN: &[u8] = &[0x55, 0x04, 0x03];
const SN: &[u8] = &[0x55, 0x04, 0x04];
const ST: &[u8] = &[0x55, 0x04, 0x08];
const O: &[u8] = &[0x55, 0x04, 0x0a];
const OU: &[u8] = &[0x55, 0x04, 0x0b];
const TITLE: &[u8] = &[0x55, 0x04, 0x0c];
const GN: &[u8] = &[0x55, 0x04, 0x2a];

/// Reads the identity the subject carries: professional when it has SN, GN, title
/// and an idNat_PS CN, otherwise structure when it has O, CN and an idNat_Struct OU.
/// [`Reason::IdentityMissing`] when it carries neither.
pub fn extract(cert: &Certificate) -> Result<Identity, Error> {
    let attrs = attributes(cert.subject_der())?;
    match professional(&attrs) {
        Ok(id) => Ok(id),
        Err(pro) => structure(&attrs).map_err(|st| {
            Error::new(
                Reason::IdentityMissing,
                format!("no identity in the subject: {}; {}", pro.detail, st.detail),
            )
        }),
    }
}

/// Reads the identity of kind `kind`; [`Reason::IdentityMissing`] when absent or unparseable.
pub fn extract_as(cert: &Certificate, kind: IdentityKind) -> Result<Identity, Error> {
    let attrs = attributes(cert.subject_der())?;
    match kind {
        IdentityKind::Professional => professional(&attrs),
        IdentityKind::Structure => structure(&attrs),
    }
}

fn missing(detail: impl Into<String>) -> Error {
    Error::new(Reason::IdentityMissing, detail)
}

type Attrs<'a> = Vec<(&'a [u8], Option<String>)>;

/// The single value of attribute `oid`; an error when absent, repeated or not a string.
fn one<'a>(attrs: &'a Attrs<'_>, oid: &[u8], what: &str) -> Result<&'a str, Error> {
    let mut found = attrs.iter().filter(|(o, _)| *o == oid);
    let first = found.next().ok_or_else(|| missing(format!("no {what}")))?;
    if found.next().is_some() {
        return Err(missing(format!("several {what}")));
    }
    first
        .1
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| missing(format!("{what} is empty or not a string")))
}

fn professional(attrs: &Attrs<'_>) -> Result<Identity, Error> {
    let cn = one(attrs, CN, "CN")?;
    // Test CPS cards (idNat_PS 8997…) do not always carry a valid RPPS key; they are
    // told apart by their (test) trust family, not here.
    let idnat_ps = IdNatPs::parse(cn)
        .or_else(|e| {
            IdNatPs::parse_with(cn, &RppsPolicy::with_test_prefixes(["997"])).map_err(|_| e)
        })
        .map_err(|e| missing(format!("CN is not an idNat_PS: {e}")))?;
    Ok(Identity::Professional(ProfessionalIdentity {
        idnat_ps,
        name: one(attrs, SN, "SN (surname)")?.to_owned(),
        given_name: one(attrs, GN, "GN (given name)")?.to_owned(),
        profession: one(attrs, TITLE, "title (profession)")?.to_owned(),
    }))
}

fn structure(attrs: &Attrs<'_>) -> Result<Identity, Error> {
    // Several OUs may appear; exactly one must be an idNat_Struct.
    let mut ids = attrs
        .iter()
        .filter(|(o, _)| *o == OU)
        .filter_map(|(_, v)| v.as_deref().and_then(|v| IdNatStruct::parse(v).ok()));
    let idnat_struct = ids
        .next()
        .ok_or_else(|| missing("no OU carrying an idNat_Struct"))?;
    if ids.next().is_some() {
        return Err(missing("several OUs carry an idNat_Struct"));
    }
    let departement = match attrs.iter().filter(|(o, _)| *o == ST).count() {
        0 => None,
        1 => Some(one(attrs, ST, "ST (département)")?.to_owned()),
        _ => return Err(missing("several ST")),
    };
    Ok(Identity::Structure(StructureIdentity {
        idnat_struct,
        organisation: one(attrs, O, "O (organisation)")?.to_owned(),
        application: one(attrs, CN, "CN (application)")?.to_owned(),
        departement,
    }))
}

/// Every attribute of a DER Name, in order: (type OID content bytes, string value
/// when the value is a string type).
pub(crate) fn attributes(name_der: &[u8]) -> Result<Attrs<'_>, Error> {
    let rdns =
        crate::names::rdns(name_der).ok_or_else(|| missing("subject is not a well-formed Name"))?;
    Ok(rdns
        .into_iter()
        .flatten()
        .map(|(oid, value)| (oid, directory_string(value.tag, value.value)))
        .collect())
}

/// Decodes the DirectoryString forms (and IA5String); `None` for other types or bad encodings.
pub(crate) fn directory_string(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String
        0x0c | 0x13 | 0x16 => std::str::from_utf8(bytes).ok().map(str::to_owned),
        // TeletexString: in practice Latin-1
        0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UTF-16BE
        0x1e => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        // UniversalString: UTF-32BE
        0x1c => {
            if !bytes.len().is_multiple_of(4) {
                return None;
            }
            bytes
                .chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_string_types() {
        assert_eq!(directory_string(0x0c, "é".as_bytes()).as_deref(), Some("é"));
        assert_eq!(directory_string(0x14, &[0xe9]).as_deref(), Some("é"));
        assert_eq!(directory_string(0x1e, &[0x00, 0xe9]).as_deref(), Some("é"));
        assert_eq!(
            directory_string(0x1c, &[0, 0, 0, 0xe9]).as_deref(),
            Some("é")
        );
        assert_eq!(directory_string(0x1e, &[0xd8, 0x00]), None);
        assert_eq!(directory_string(0x04, b"x"), None);
    }
}
