//! The OCSP client against the responder of a real OpenBao PKI mount
//! (`POST /v1/<mount>/ocsp`, unauthenticated), the one the dev PKI serves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;

use egide_testkit::Vault;

use super::{OcspResponse, OcspStatus, build_request};
use crate::Certificate;

/// One HTTP/1.0 exchange with the loopback server (the server closes, so the
/// body is whatever follows the headers).
fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let token = token
        .map(|t| format!("X-Vault-Token: {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{token}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status_line = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (status, raw[split + 4..].to_vec())
}

fn api(vault: &Vault, path: &str, json: &str) -> String {
    let (status, body) = http(
        vault.port(),
        "POST",
        path,
        Some(vault.root_token()),
        "application/json",
        json.as_bytes(),
    );
    let body = String::from_utf8(body).unwrap();
    assert!(
        (200..300).contains(&status),
        "{path}: HTTP {status}: {body}"
    );
    body
}

/// The string value of `"key":"…"` in a JSON answer (PEM and serials only:
/// no escapes other than `\n`).
fn field(json: &str, key: &str) -> String {
    let start = json.find(&format!("\"{key}\":\"")).unwrap() + key.len() + 4;
    let end = start + json[start..].find('"').unwrap();
    json[start..end].replace("\\n", "\n")
}

fn cert(pem: &str) -> Certificate {
    let der = crate::pem::decode_all(pem.as_bytes(), "CERTIFICATE")
        .unwrap()
        .remove(0);
    Certificate::from_der(der).unwrap()
}

fn ask(vault: &Vault, leaf: &Certificate, ca: &Certificate) -> OcspStatus {
    let (status, body) = http(
        vault.port(),
        "POST",
        "/v1/pki/ocsp",
        None,
        "application/ocsp-request",
        &build_request(leaf, ca),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let response = OcspResponse::parse(&body).unwrap();
    response
        .status_for(leaf, ca, time::OffsetDateTime::now_utc())
        .unwrap()
}

#[test]
fn openbao_responder_answers_good_then_revoked() {
    let vault = Vault::spawn().unwrap();
    api(
        &vault,
        "/v1/sys/mounts/pki",
        r#"{"type":"pki","config":{"max_lease_ttl":"87600h"}}"#,
    );
    let root = api(
        &vault,
        "/v1/pki/root/generate/internal",
        r#"{"common_name":"TEST AC OPENBAO","key_type":"ec","key_bits":256,"ttl":"8760h"}"#,
    );
    let ca = cert(&field(&root, "certificate"));
    api(
        &vault,
        "/v1/pki/roles/leaf",
        r#"{"allow_any_name":true,"key_type":"ec","key_bits":256,"ttl":"24h"}"#,
    );
    let issued = api(
        &vault,
        "/v1/pki/issue/leaf",
        r#"{"common_name":"leaf.test"}"#,
    );
    let leaf = cert(&field(&issued, "certificate"));

    assert!(matches!(ask(&vault, &leaf, &ca), OcspStatus::Good { .. }));

    let serial = field(&issued, "serial_number");
    api(
        &vault,
        "/v1/pki/revoke",
        &format!(r#"{{"serial_number":"{serial}"}}"#),
    );
    assert!(matches!(
        ask(&vault, &leaf, &ca),
        OcspStatus::Revoked { .. }
    ));

    // The mount's CRL (DER, unauthenticated) lists it too.
    let (status, der) = http(
        vault.port(),
        "GET",
        "/v1/pki/crl",
        None,
        "application/pkix-crl",
        &[],
    );
    assert_eq!(status, 200);
    let crl = crate::crl::Crl::parse_verified(&der, &ca).unwrap();
    assert!(crl.revoked(leaf.serial()).is_some());
    assert!(crl.is_current(time::OffsetDateTime::now_utc()));
}
