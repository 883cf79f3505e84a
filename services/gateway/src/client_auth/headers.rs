//! The identity headers: incoming ones are never believed, verified ones are added.

use base64::Engine as _;
use egide_kit::caller::{
    CLIENT_CERT_SHA256, STRUCTURE_APPLICATION, STRUCTURE_ID, STRUCTURE_ORGANISATION,
    StructureCaller,
};
use http::{HeaderMap, HeaderValue};

/// Removes every header whose name starts with `x-egide-`.
pub fn strip_forged(headers: &mut HeaderMap) {
    egide_kit::caller::strip(headers);
}

/// Whether an idNat_Struct can travel as an ASCII header.
pub fn is_header_safe(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Adds the verified caller's headers. Names may have accents: they go as gRPC binary
/// metadata (base64 of the UTF-8, unpadded as gRPC emits it).
pub fn inject(headers: &mut HeaderMap, caller: &StructureCaller) -> Result<(), http::Error> {
    let binary = |s: &str| {
        HeaderValue::from_str(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(s))
    };
    headers.insert(STRUCTURE_ID, HeaderValue::from_str(&caller.idnat_struct)?);
    headers.insert(STRUCTURE_ORGANISATION, binary(&caller.organisation)?);
    headers.insert(STRUCTURE_APPLICATION, binary(&caller.application)?);
    headers.insert(
        CLIENT_CERT_SHA256,
        HeaderValue::from_str(&caller.certificate_sha256)?,
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use egide_kit::caller::structure_caller;
    use tonic::metadata::MetadataMap;

    use super::*;

    #[test]
    fn forged_identity_headers_are_removed_and_others_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(STRUCTURE_ID, HeaderValue::from_static("1999999999"));
        headers.insert("x-egide-anything-bin", HeaderValue::from_static("AAAA"));
        headers.append("x-egide-structure-id", HeaderValue::from_static("twice"));
        headers.insert("x-request-id", HeaderValue::from_static("r1"));
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        strip_forged(&mut headers);
        assert_eq!(headers.len(), 2, "{headers:?}");
        assert!(headers.keys().all(|k| !k.as_str().starts_with("x-egide-")));
    }

    #[test]
    fn injected_headers_read_back_through_the_kit() {
        let caller = StructureCaller {
            idnat_struct: "1750000010".into(),
            organisation: "Centre hospitalier d'Évreux".into(),
            application: "Dossier patient — ‘DPI’".into(),
            certificate_sha256: "ab".repeat(32),
        };
        let mut headers = HeaderMap::new();
        headers.insert(STRUCTURE_ID, HeaderValue::from_static("forged"));
        strip_forged(&mut headers);
        inject(&mut headers, &caller).unwrap();
        let read = structure_caller(&MetadataMap::from_headers(headers)).unwrap();
        assert_eq!(read, caller);
    }

    #[test]
    fn only_printable_ascii_ids_travel() {
        assert!(is_header_safe("1750000010"));
        assert!(!is_header_safe(""));
        assert!(!is_header_safe("17 5"));
        assert!(!is_header_safe("1é"));
    }
}
