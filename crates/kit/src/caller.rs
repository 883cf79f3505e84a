//! Who is calling: the structure the gateway authenticated by its client certificate
//! (an IGC-Santé ORG AUTH_CLI certificate, validated by certval for the purpose
//! `structure-client-auth`), and the person whose access token it verified.
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
//! | `x-egide-client-ip`                   | the client's address, as the gateway saw it    |
//! | `x-egide-person-category`             | `patient`, `professional`, `staff`, `operator` |
//! | `x-egide-person-subject`              | wallet id, idNat_PS or local account id        |
//! | `x-egide-person-acr`                  | `eidas1`, `eidas2`, `eidas3`                   |
//! | `x-egide-person-amr`                  | RFC 8176 values, space-separated               |
//! | `x-egide-person-session`              | the session id (`sid`)                         |
//! | `x-egide-person-client`               | the token's `client_id`                        |
//! | `x-egide-person-auth-time`            | `auth_time`, seconds since the epoch           |
//!
//! Binary (`-bin`) values travel base64-encoded, as gRPC specifies; tonic decodes them.
//!
//! Only the gateway may say who calls: a backend believes these headers only from its
//! mesh certificate ([`crate::mesh::CallerGuard`] strips them from anyone else).

use tonic::metadata::MetadataMap;

/// Every header the gateway sets starts with this; it drops incoming ones that do.
pub const HEADER_PREFIX: &str = "x-egide-";

/// Removes every header whose name starts with [`HEADER_PREFIX`] (HTTP/2 names are
/// lowercase).
pub fn strip(headers: &mut http::HeaderMap) {
    let forged: Vec<_> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(HEADER_PREFIX))
        .cloned()
        .collect();
    for name in forged {
        headers.remove(name);
    }
}

/// The structure's national identifier (idNat_Struct), ASCII.
pub const STRUCTURE_ID: &str = "x-egide-structure-id";

/// The organisation's name (certificate `O`), binary metadata holding UTF-8.
pub const STRUCTURE_ORGANISATION: &str = "x-egide-structure-organisation-bin";

/// The application's name (certificate `CN`), binary metadata holding UTF-8.
pub const STRUCTURE_APPLICATION: &str = "x-egide-structure-application-bin";

/// The SHA-256 of the client's leaf certificate, lowercase hex.
pub const CLIENT_CERT_SHA256: &str = "x-egide-client-cert-sha256";

/// The address the client connected from (as the gateway saw it).
pub const CLIENT_IP: &str = "x-egide-client-ip";

/// The client's address, when the gateway passed it.
pub fn client_ip(metadata: &MetadataMap) -> Option<std::net::IpAddr> {
    metadata.get(CLIENT_IP)?.to_str().ok()?.parse().ok()
}

/// The person's category.
pub const PERSON_CATEGORY: &str = "x-egide-person-category";
/// The person's subject id.
pub const PERSON_SUBJECT: &str = "x-egide-person-subject";
/// The session's eIDAS level.
pub const PERSON_ACR: &str = "x-egide-person-acr";
/// The session's RFC 8176 methods, space-separated.
pub const PERSON_AMR: &str = "x-egide-person-amr";
/// The session id.
pub const PERSON_SESSION: &str = "x-egide-person-session";
/// The client the token was issued to.
pub const PERSON_CLIENT: &str = "x-egide-person-client";
/// When the person authenticated (seconds since the epoch).
pub const PERSON_AUTH_TIME: &str = "x-egide-person-auth-time";

pub use egide_token::Category;

/// A person whose access token the gateway verified (signature, expiry, revocation,
/// certificate binding) and whose session the PGSSI-S policy admitted on this route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonCaller {
    /// Patient, professional, staff or operator.
    pub category: Category,
    /// Wallet id, idNat_PS or local account id.
    pub subject: String,
    /// The session's eIDAS level.
    pub acr: String,
    /// RFC 8176 methods.
    pub amr: Vec<String>,
    /// The session id.
    pub session_id: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// When the person authenticated.
    pub auth_time: i64,
}

impl PersonCaller {
    /// The headers the gateway sets, in order (values are ASCII: every field is checked
    /// before a token is accepted).
    pub fn headers(&self) -> [(&'static str, String); 7] {
        [
            (PERSON_CATEGORY, self.category.as_str().to_owned()),
            (PERSON_SUBJECT, self.subject.clone()),
            (PERSON_ACR, self.acr.clone()),
            (PERSON_AMR, self.amr.join(" ")),
            (PERSON_SESSION, self.session_id.clone()),
            (PERSON_CLIENT, self.client_id.clone()),
            (PERSON_AUTH_TIME, self.auth_time.to_string()),
        ]
    }

    /// `message` with this person's headers, as the gateway forwards it (for tests and
    /// tools that play the gateway over the mesh). A header value that is not ASCII is
    /// left out, which the service reads as no person.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        for (name, value) in self.headers() {
            if let Ok(value) = value.parse() {
                request.metadata_mut().insert(name, value);
            }
        }
        request
    }

    /// An operator logged in with password and TOTP now, for tests.
    pub fn test_operator(id: &str) -> Self {
        Self {
            category: Category::Operator,
            subject: id.to_owned(),
            acr: "eidas1".into(),
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            session_id: uuid::Uuid::now_v7().to_string(),
            client_id: "egide-cli".into(),
            auth_time: chrono::Utc::now().timestamp(),
        }
    }
}

/// An operator with a second factor, or PERMISSION_DENIED `operator_required`: what
/// operator actions need (the gateway's policy asks for the level; this is the service's
/// own check, so that no route that forgot a rule becomes open).
pub fn operator(person: Option<&PersonCaller>) -> Result<&PersonCaller, crate::ApiError> {
    person
        .filter(|p| p.category == Category::Operator && p.amr.iter().any(|a| a == "mfa"))
        .ok_or_else(|| {
            crate::ApiError::permission_denied(
                "operator_required",
                "an operator session with a second factor is required",
            )
        })
}

/// The person the gateway verified, when it did (same trust caveat as
/// [`structure_caller`]). `None` when any header is missing or malformed.
pub fn person_caller(metadata: &MetadataMap) -> Option<PersonCaller> {
    let ascii = |name: &str| {
        metadata
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let non_empty = |name: &str| ascii(name).filter(|v| !v.is_empty());
    Some(PersonCaller {
        category: Category::parse(&ascii(PERSON_CATEGORY)?)?,
        subject: non_empty(PERSON_SUBJECT)?,
        acr: non_empty(PERSON_ACR)?,
        amr: ascii(PERSON_AMR)?
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        session_id: non_empty(PERSON_SESSION)?,
        client_id: non_empty(PERSON_CLIENT)?,
        auth_time: ascii(PERSON_AUTH_TIME)?.parse().ok()?,
    })
}

/// The RFC 8705 `x5t#S256` (base64url, unpadded) of a certificate whose SHA-256 is
/// `sha256_hex` (as [`CLIENT_CERT_SHA256`] carries it); `None` unless that is 32 bytes of
/// hex.
pub fn x5t_s256(sha256_hex: &str) -> Option<String> {
    use base64::Engine as _;
    let raw: Vec<u8> = (0..sha256_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(sha256_hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    (raw.len() == 32).then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

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

    fn person() -> PersonCaller {
        PersonCaller {
            category: Category::Patient,
            subject: "0193a5c0-0000-7000-8000-000000000001".into(),
            acr: "eidas2".into(),
            amr: vec!["hwk".into(), "mfa".into()],
            session_id: "0193a5c0-0000-7000-8000-000000000002".into(),
            client_id: "egide-cli".into(),
            auth_time: 1_800_000_000,
        }
    }

    fn person_headers(p: &PersonCaller) -> MetadataMap {
        let mut m = MetadataMap::new();
        for (name, value) in p.headers() {
            m.insert(name, AsciiMetadataValue::try_from(value.as_str()).unwrap());
        }
        m
    }

    #[test]
    fn certificate_hashes_become_x5t_s256() {
        assert_eq!(x5t_s256(&"00ff".repeat(16)).unwrap().len(), 43);
        assert!(x5t_s256("0g").is_none());
        assert!(x5t_s256("abc").is_none());
        assert!(x5t_s256("00ff").is_none(), "not a SHA-256");
    }

    #[test]
    fn a_person_round_trips_through_the_headers() {
        let p = person();
        assert_eq!(person_caller(&person_headers(&p)), Some(p));
    }

    #[test]
    fn a_missing_or_malformed_person_header_means_no_person() {
        for (name, _) in person().headers() {
            let mut m = person_headers(&person());
            m.remove(name);
            assert_eq!(person_caller(&m), None, "{name}");
        }
        let mut m = person_headers(&person());
        m.insert(PERSON_CATEGORY, AsciiMetadataValue::from_static("admin"));
        assert_eq!(person_caller(&m), None);
        let mut m = person_headers(&person());
        m.insert(
            PERSON_AUTH_TIME,
            AsciiMetadataValue::from_static("yesterday"),
        );
        assert_eq!(person_caller(&m), None);
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
