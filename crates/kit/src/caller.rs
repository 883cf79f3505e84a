//! Who is calling: the structure the gateway authenticated by its client certificate
//! (an IGC-Santé ORG AUTH_CLI certificate, validated by certval for the purpose
//! `structure-client-auth`).
//!
//! The gateway removes every incoming header whose name starts with [`HEADER_PREFIX`]
//! before anything else, then adds the headers below only for a verified certificate.
//! The metadata contract:
//!
//! | header                                | value                                          |
//! |---------------------------------------|------------------------------------------------|
//! | `x-egide-structure-id`                | idNat_Struct, ASCII                            |
//! | `x-egide-structure-organisation-bin`  | organisation (certificate O), UTF-8, binary    |
//! | `x-egide-structure-application-bin`   | application (certificate CN), UTF-8, binary    |
//! | `x-egide-client-cert-sha256`          | SHA-256 of the leaf certificate, lowercase hex |
//!
//! Binary (`-bin`) values travel base64-encoded, as gRPC specifies; tonic decodes them.

use tonic::metadata::MetadataMap;

/// Every header the gateway sets starts with this; it drops incoming ones that do.
pub const HEADER_PREFIX: &str = "x-egide-";

/// The structure's national identifier (idNat_Struct), ASCII.
pub const STRUCTURE_ID: &str = "x-egide-structure-id";

/// The organisation's name (certificate `O`), binary metadata holding UTF-8.
pub const STRUCTURE_ORGANISATION: &str = "x-egide-structure-organisation-bin";

/// The application's name (certificate `CN`), binary metadata holding UTF-8.
pub const STRUCTURE_APPLICATION: &str = "x-egide-structure-application-bin";

/// The SHA-256 of the client's leaf certificate, lowercase hex.
pub const CLIENT_CERT_SHA256: &str = "x-egide-client-cert-sha256";

/// A structure authenticated by its client certificate at the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructureCaller {
    /// idNat_Struct, e.g. `1` + a FINESS number.
    pub idnat_struct: String,
    /// The organisation's name (certificate `O`).
    pub organisation: String,
    /// The application's name (certificate `CN`).
    pub application: String,
    /// SHA-256 of the leaf certificate, lowercase hex.
    pub certificate_sha256: String,
}

/// The structure the gateway authenticated, when it did.
///
/// Trustworthy only behind the gateway, which strips every forged `x-egide-` header
/// before adding these: a service reachable without the gateway (a port exposed past
/// the NetworkPolicy) would believe whatever a client sends. `None` when any of the four
/// headers is missing or malformed (the gateway sets all of them or none).
pub fn structure_caller(metadata: &MetadataMap) -> Option<StructureCaller> {
    let ascii = |name: &str| {
        metadata
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let utf8 = |name: &str| {
        metadata
            .get_bin(name)
            .and_then(|v| v.to_bytes().ok())
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
    };
    Some(StructureCaller {
        idnat_struct: ascii(STRUCTURE_ID)?,
        organisation: utf8(STRUCTURE_ORGANISATION)?,
        application: utf8(STRUCTURE_APPLICATION)?,
        certificate_sha256: ascii(CLIENT_CERT_SHA256)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use tonic::metadata::{AsciiMetadataValue, BinaryMetadataValue};

    use super::*;

    fn full() -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert(STRUCTURE_ID, AsciiMetadataValue::from_static("1750000010"));
        m.insert_bin(
            STRUCTURE_ORGANISATION,
            BinaryMetadataValue::from_bytes("Hôpital Saint-Éloi".as_bytes()),
        );
        m.insert_bin(
            STRUCTURE_APPLICATION,
            BinaryMetadataValue::from_bytes("DPI".as_bytes()),
        );
        m.insert(CLIENT_CERT_SHA256, AsciiMetadataValue::from_static("ab12"));
        m
    }

    #[test]
    fn reads_all_four_headers() {
        let caller = structure_caller(&full()).unwrap();
        assert_eq!(caller.idnat_struct, "1750000010");
        assert_eq!(caller.organisation, "Hôpital Saint-Éloi");
        assert_eq!(caller.application, "DPI");
        assert_eq!(caller.certificate_sha256, "ab12");
    }

    #[test]
    fn a_missing_header_means_no_caller() {
        for name in [
            STRUCTURE_ID,
            STRUCTURE_ORGANISATION,
            STRUCTURE_APPLICATION,
            CLIENT_CERT_SHA256,
        ] {
            let mut m = full();
            m.remove(name);
            m.remove_bin(name);
            assert_eq!(structure_caller(&m), None, "{name}");
        }
        assert_eq!(structure_caller(&MetadataMap::new()), None);
    }
}
