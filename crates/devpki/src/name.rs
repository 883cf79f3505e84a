//! Distinguished names as IGC-Santé writes them, encoded exactly (RDN by RDN, multi-valued
//! RDNs included).

use crate::der;

/// Attribute types used in IGC-Santé names.
pub mod attr {
    /// countryName.
    pub const C: &str = "2.5.4.6";
    /// stateOrProvinceName (the département of a structure).
    pub const ST: &str = "2.5.4.8";
    /// organizationName.
    pub const O: &str = "2.5.4.10";
    /// organizationalUnitName.
    pub const OU: &str = "2.5.4.11";
    /// commonName.
    pub const CN: &str = "2.5.4.3";
    /// title (a professional's profession).
    pub const TITLE: &str = "2.5.4.12";
    /// surname.
    pub const SN: &str = "2.5.4.4";
    /// givenName.
    pub const GN: &str = "2.5.4.42";
}

/// One attribute of a name: its type (dotted OID) and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute type, e.g. [`attr::CN`].
    pub oid: &'static str,
    /// The value.
    pub value: String,
}

/// A distinguished name: relative distinguished names from the most significant (`C`)
/// to the least (`CN`), each holding one or more attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinguishedName {
    rdns: Vec<Vec<Attribute>>,
}

impl DistinguishedName {
    /// A name from its RDNs, most significant first.
    pub fn new(rdns: Vec<Vec<Attribute>>) -> Self {
        Self { rdns }
    }

    /// A professional's name: `C=FR, title=<profession>, SN=<name> + GN=<given name> +
    /// CN=<idNat_PS>` (one multi-valued RDN for SN, GN and CN).
    pub fn professional(profession: &str, name: &str, given_name: &str, idnat_ps: &str) -> Self {
        Self::new(vec![
            vec![a(attr::C, "FR")],
            vec![a(attr::TITLE, profession)],
            vec![
                a(attr::SN, name),
                a(attr::GN, given_name),
                a(attr::CN, idnat_ps),
            ],
        ])
    }

    /// A structure's name: `C=FR, ST=<département>, O=<raison sociale>, OU=<idNat_Struct>,
    /// CN=<application or FQDN>`.
    pub fn structure(departement: &str, organisation: &str, idnat_struct: &str, cn: &str) -> Self {
        Self::new(vec![
            vec![a(attr::C, "FR")],
            vec![a(attr::ST, departement)],
            vec![a(attr::O, organisation)],
            vec![a(attr::OU, idnat_struct)],
            vec![a(attr::CN, cn)],
        ])
    }

    /// A CA name: `C=<c>, O=<o>, OU=<each ou in turn>, CN=<cn>`, each attribute its own
    /// RDN; `ous` are given most significant first.
    pub fn ca(country: &str, organisation: &str, ous: &[&str], cn: &str) -> Self {
        let mut rdns = vec![vec![a(attr::C, country)], vec![a(attr::O, organisation)]];
        rdns.extend(ous.iter().map(|ou| vec![a(attr::OU, ou)]));
        rdns.push(vec![a(attr::CN, cn)]);
        Self::new(rdns)
    }

    /// The RDNs, most significant first.
    pub fn rdns(&self) -> &[Vec<Attribute>] {
        &self.rdns
    }

    /// The first value of attribute `oid`, if any.
    pub fn get(&self, oid: &str) -> Option<&str> {
        self.rdns
            .iter()
            .flatten()
            .find(|at| at.oid == oid)
            .map(|at| at.value.as_str())
    }

    /// The DER `Name`. `countryName` is a PrintableString (X.520 requires it); every other
    /// value a UTF8String (RFC 5280 §4.1.2.4 for new certificates).
    pub fn to_der(&self) -> Vec<u8> {
        let rdns: Vec<Vec<u8>> = self
            .rdns
            .iter()
            .map(|rdn| {
                der::set_of(
                    rdn.iter()
                        .map(|at| {
                            let value = if at.oid == attr::C && der::is_printable(&at.value) {
                                der::printable_string(&at.value)
                            } else {
                                der::utf8_string(&at.value)
                            };
                            let oid = der::oid(at.oid).unwrap_or_default();
                            der::sequence(&[&oid, &value])
                        })
                        .collect(),
                )
            })
            .collect();
        der::tlv(der::tag::SEQUENCE, &rdns.concat())
    }
}

/// RFC 4514 order (least significant RDN first), `+` inside a multi-valued RDN: the way
/// OpenSSL's `-nameopt RFC2253` prints it, without escaping.
impl std::fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text: Vec<String> = self
            .rdns
            .iter()
            .rev()
            .map(|rdn| {
                rdn.iter()
                    .map(|at| format!("{}={}", short_name(at.oid), at.value))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        f.write_str(&text.join(", "))
    }
}

fn short_name(oid: &str) -> &str {
    match oid {
        attr::C => "C",
        attr::ST => "ST",
        attr::O => "O",
        attr::OU => "OU",
        attr::CN => "CN",
        attr::TITLE => "title",
        attr::SN => "SN",
        attr::GN => "GN",
        other => other,
    }
}

fn a(oid: &'static str, value: &str) -> Attribute {
    Attribute {
        oid,
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn professional_name_has_one_multi_valued_rdn() {
        let n = DistinguishedName::professional("Médecin", "DUPONT", "Jean", "899700218896");
        assert_eq!(n.rdns().len(), 3);
        assert_eq!(n.rdns()[2].len(), 3);
        assert_eq!(
            n.to_string(),
            "SN=DUPONT+GN=Jean+CN=899700218896, title=Médecin, C=FR"
        );
        assert_eq!(n.get(attr::CN), Some("899700218896"));
        let der = n.to_der();
        let (_, parsed) = <x509_parser::x509::X509Name<'_> as x509_parser::prelude::FromDer<
            '_,
            _,
        >>::from_der(&der)
        .unwrap();
        let rdns: Vec<_> = parsed.iter().collect();
        assert_eq!(rdns.len(), 3);
        assert_eq!(rdns[2].iter().count(), 3);
        assert_eq!(
            parsed.iter_common_name().next().unwrap().as_str().unwrap(),
            "899700218896"
        );
    }

    #[test]
    fn ca_name_keeps_the_two_ous_apart() {
        let n = DistinguishedName::ca(
            "FR",
            "ASIP-SANTE",
            &["0002 187512751", "IGC-SANTE"],
            "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS",
        );
        assert_eq!(
            n.to_string(),
            "CN=AC IGC-SANTE ELEMENTAIRE ORGANISATIONS, OU=IGC-SANTE, OU=0002 187512751, O=ASIP-SANTE, C=FR"
        );
        assert_eq!(n.rdns().iter().filter(|r| r.len() == 1).count(), 5);
    }
}
