#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::testutil::{
    Hash, basic, by_key, by_name, cert_id, good, ocsp_response, response_data, revoked, single,
    unknown,
};
use super::{OcspResponse, OcspStatus, build_request};
use crate::crl::der_write::{self as w, cons, seq};
use crate::crl::testutil::{DAY, NOW, TestCa, at};
use crate::der::{self, Reader};
use crate::reason::Reason;

struct World {
    ca: TestCa,
    leaf: TestCa,
}

fn world() -> World {
    let ca = TestCa::new("TEST AC IGC-SANTE ELEMENTAIRE PERSONNES");
    let leaf = ca.issue("899700218896", |_| {});
    World { ca, leaf }
}

/// A response from `signer` (named by name) about `cert_ids`/`statuses`.
fn response(signer: &TestCa, singles: &[Vec<u8>], certs: &[&crate::Certificate]) -> Vec<u8> {
    let tbs = response_data(&by_name(&signer.cert), NOW, singles, None);
    ocsp_response(&basic(signer, &tbs, certs))
}

fn status(der: &[u8], w: &World, at_secs: i64) -> Result<OcspStatus, crate::Error> {
    OcspResponse::parse(der)?.status_for(&w.leaf.cert, &w.ca.cert, at(at_secs))
}

#[test]
fn good_signed_by_the_issuer() {
    let w = world();
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let der = response(
        &w.ca,
        &[single(&id, &good(), NOW - 60, Some(NOW + DAY))],
        &[],
    );
    assert_eq!(
        status(&der, &w, NOW).unwrap(),
        OcspStatus::Good {
            this_update: at(NOW - 60),
            next_update: Some(at(NOW + DAY)),
        }
    );
    assert_eq!(OcspResponse::parse(&der).unwrap().produced_at(), at(NOW));
}

#[test]
fn revoked_with_reason_by_key_and_sha256_cert_id() {
    let w = world();
    let id = cert_id(Hash::Sha256, &w.leaf.cert, &w.ca.cert);
    let tbs = response_data(
        &by_key(&w.ca.cert),
        NOW,
        &[single(&id, &revoked(NOW - DAY, Some(1)), NOW - 60, None)],
        None,
    );
    let der = ocsp_response(&basic(&w.ca, &tbs, &[]));
    assert_eq!(
        status(&der, &w, NOW).unwrap(),
        OcspStatus::Revoked {
            at: at(NOW - DAY),
            reason: Some("key_compromise"),
        }
    );
    // Without a reason.
    let tbs = response_data(
        &by_key(&w.ca.cert),
        NOW,
        &[single(&id, &revoked(NOW - DAY, None), NOW - 60, None)],
        None,
    );
    let der = ocsp_response(&basic(&w.ca, &tbs, &[]));
    assert_eq!(
        status(&der, &w, NOW).unwrap(),
        OcspStatus::Revoked {
            at: at(NOW - DAY),
            reason: None,
        }
    );
}

#[test]
fn unknown_status() {
    let w = world();
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let der = response(&w.ca, &[single(&id, &unknown(), NOW - 60, None)], &[]);
    assert_eq!(status(&der, &w, NOW).unwrap(), OcspStatus::Unknown);
}

#[test]
fn picks_the_matching_single_response() {
    let w = world();
    let other = w.ca.issue("other", |_| {});
    let singles = [
        single(
            &cert_id(Hash::Sha1, &other.cert, &w.ca.cert),
            &revoked(NOW - DAY, None),
            NOW,
            None,
        ),
        single(
            &cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert),
            &good(),
            NOW,
            None,
        ),
    ];
    let der = response(&w.ca, &singles, &[]);
    assert!(matches!(
        status(&der, &w, NOW).unwrap(),
        OcspStatus::Good { .. }
    ));
}

#[test]
fn delegated_responder_with_ocsp_signing() {
    let w = world();
    let responder = w.ca.ocsp_responder(true, NOW - DAY, NOW + 30 * DAY);
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let der = response(
        &responder,
        &[single(&id, &good(), NOW, None)],
        &[&responder.cert],
    );
    assert!(matches!(
        status(&der, &w, NOW).unwrap(),
        OcspStatus::Good { .. }
    ));

    // Named by key works as well.
    let tbs = response_data(
        &by_key(&responder.cert),
        NOW,
        &[single(&id, &good(), NOW, None)],
        None,
    );
    let der = ocsp_response(&basic(&responder, &tbs, &[&responder.cert]));
    assert!(matches!(
        status(&der, &w, NOW).unwrap(),
        OcspStatus::Good { .. }
    ));

    // The delegate's certificate left out: nobody to check the signature with.
    let der = response(&responder, &[single(&id, &good(), NOW, None)], &[]);
    let e = status(&der, &w, NOW).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedOcsp, "{}", e.detail);
}

#[test]
fn delegated_responder_without_ocsp_signing_is_refused() {
    let w = world();
    let responder = w.ca.ocsp_responder(false, NOW - DAY, NOW + 30 * DAY);
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let der = response(
        &responder,
        &[single(&id, &good(), NOW, None)],
        &[&responder.cert],
    );
    let e = status(&der, &w, NOW).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedOcsp);
    assert!(e.detail.contains("OCSPSigning"), "{}", e.detail);
}

#[test]
fn delegated_responder_outside_its_validity_is_refused() {
    let w = world();
    let responder = w.ca.ocsp_responder(true, NOW - 30 * DAY, NOW - DAY);
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let der = response(
        &responder,
        &[single(&id, &good(), NOW, None)],
        &[&responder.cert],
    );
    let e = status(&der, &w, NOW).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedOcsp);
    assert!(e.detail.contains("not valid"), "{}", e.detail);
}

#[test]
fn responder_from_another_ca_is_refused() {
    let w = world();
    let other_ca = TestCa::new("Another CA");
    let responder = other_ca.ocsp_responder(true, NOW - DAY, NOW + DAY);
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let der = response(
        &responder,
        &[single(&id, &good(), NOW, None)],
        &[&responder.cert],
    );
    let e = status(&der, &w, NOW).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedOcsp);
    assert!(e.detail.contains("not issued by"), "{}", e.detail);

    // A CA with the very same name but another key: the delegate's signature fails.
    let twin = TestCa::new("TEST AC IGC-SANTE ELEMENTAIRE PERSONNES");
    let responder = twin.ocsp_responder(true, NOW - DAY, NOW + DAY);
    let der = response(
        &responder,
        &[single(&id, &good(), NOW, None)],
        &[&responder.cert],
    );
    let e = status(&der, &w, NOW).unwrap_err();
    assert_eq!(e.reason, Reason::BadSignature, "{}", e.detail);
}

#[test]
fn bad_signatures_are_refused() {
    let w = world();
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    // Signed by a key that is not the CA's, under the CA's name.
    let twin = TestCa::new("TEST AC IGC-SANTE ELEMENTAIRE PERSONNES");
    let tbs = response_data(
        &by_name(&w.ca.cert),
        NOW,
        &[single(&id, &good(), NOW, None)],
        None,
    );
    let der = ocsp_response(&basic(&twin, &tbs, &[]));
    assert_eq!(
        status(&der, &w, NOW).unwrap_err().reason,
        Reason::BadSignature
    );

    // Revoked turned into good after signing.
    let tbs = response_data(
        &by_name(&w.ca.cert),
        NOW,
        &[single(&id, &unknown(), NOW, None)],
        None,
    );
    let mut der = ocsp_response(&basic(&w.ca, &tbs, &[]));
    let pos = der.windows(2).position(|x| x == [0x82, 0x00]).unwrap();
    der[pos] = 0x80;
    assert_eq!(
        status(&der, &w, NOW).unwrap_err().reason,
        Reason::BadSignature
    );
}

#[test]
fn response_for_another_certificate_is_an_error() {
    let w = world();
    let other = w.ca.issue("other", |_| {});
    let id = cert_id(Hash::Sha1, &other.cert, &w.ca.cert);
    let der = response(&w.ca, &[single(&id, &good(), NOW, None)], &[]);
    let e = status(&der, &w, NOW).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedOcsp);
    assert!(
        e.detail.contains("no status for this certificate"),
        "{}",
        e.detail
    );
}

#[test]
fn freshness() {
    let w = world();
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let der = response(&w.ca, &[single(&id, &good(), NOW, Some(NOW + 3600))], &[]);
    assert!(status(&der, &w, NOW + 3599).is_ok());
    let e = status(&der, &w, NOW + 3600).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedOcsp);
    assert!(e.detail.contains("stale"), "{}", e.detail);
    // thisUpdate slightly in the future: tolerated up to five minutes.
    assert!(status(&der, &w, NOW - 300).is_ok());
    let e = status(&der, &w, NOW - 301).unwrap_err();
    assert!(e.detail.contains("not yet valid"), "{}", e.detail);
}

#[test]
fn unsuccessful_and_malformed_responses() {
    for (code, name) in [
        (1u8, "malformedRequest"),
        (2, "internalError"),
        (3, "tryLater"),
        (5, "sigRequired"),
        (6, "unauthorized"),
    ] {
        let der = seq(&[&w::tlv(0x0a, &[code])]);
        let e = OcspResponse::parse(&der).unwrap_err();
        assert_eq!(e.reason, Reason::MalformedOcsp);
        assert_eq!(e.detail, format!("responder said {name}"));
    }
    let w = world();
    let id = cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert);
    let good_der = response(&w.ca, &[single(&id, &good(), NOW, None)], &[]);
    let critical = seq(&[&w::extension(&[0x2a, 0x03, 0x04], true, &[0x05, 0x00])]);
    let tbs = response_data(
        &by_name(&w.ca.cert),
        NOW,
        &[single(&id, &good(), NOW, None)],
        Some(&critical),
    );
    let with_critical = ocsp_response(&basic(&w.ca, &tbs, &[]));
    let not_basic = seq(&[
        &w::tlv(0x0a, &[0]),
        &cons(
            0xa0,
            &[&seq(&[&w::oid(&[0x2a, 0x03]), &w::octets(&[0x30, 0x00])])],
        ),
    ]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "empty"),
        (seq(&[&w::tlv(0x0a, &[0])]), "successful without bytes"),
        (good_der[..good_der.len() - 2].to_vec(), "truncated"),
        ([good_der.as_slice(), &[0]].concat(), "trailing"),
        (with_critical, "critical extension"),
        (not_basic, "not basic"),
        (vec![0u8; super::MAX_OCSP_RESPONSE_LEN + 1], "too big"),
    ];
    for (der, what) in cases {
        let e = OcspResponse::parse(&der).expect_err(what);
        assert_eq!(e.reason, Reason::MalformedOcsp, "{what}: {}", e.detail);
    }
}

#[test]
fn request_has_the_rfc_6960_shape() {
    let w = world();
    let req = build_request(&w.leaf.cert, &w.ca.cert);
    // OCSPRequest { TBSRequest { requestList { Request { CertID } } } }
    let outer = der::single(&req, der::SEQUENCE).unwrap();
    let tbs = der::single(outer.value, der::SEQUENCE).unwrap();
    let list = der::single(tbs.value, der::SEQUENCE).unwrap();
    let request = der::single(list.value, der::SEQUENCE).unwrap();
    let id = der::single(request.value, der::SEQUENCE).unwrap();
    // The CertID is exactly the one written by hand with SHA-1.
    assert_eq!(id.raw, cert_id(Hash::Sha1, &w.leaf.cert, &w.ca.cert));
    let mut r = Reader::new(id.value);
    let alg = r.expect(der::SEQUENCE).unwrap();
    assert_eq!(alg.raw, seq(&[&w::oid(w::OID_SHA1), &w::NULL]));
    assert_eq!(r.expect(der::OCTET_STRING).unwrap().value.len(), 20);
    assert_eq!(r.expect(der::OCTET_STRING).unwrap().value.len(), 20);
    assert_eq!(r.expect(der::INTEGER).unwrap().value, w.leaf.cert.serial());
    assert!(r.is_empty());
    // x509-parser-independent check that it is also valid BER for another reader.
    let (rest, _) = x509_parser::der_parser::parse_der(&req).unwrap();
    assert!(rest.is_empty());
}

fn openssl_cert(pem: &[u8]) -> crate::Certificate {
    let der = crate::pem::decode_all(pem, "CERTIFICATE")
        .unwrap()
        .remove(0);
    crate::Certificate::from_der(der).unwrap()
}

/// Requests and responses made by `openssl ocsp` (see `crl/openssl/gen.sh`).
#[test]
fn openssl_interop() {
    let ca = openssl_cert(include_bytes!("../crl/openssl/ca.pem"));
    let leaf = openssl_cert(include_bytes!("../crl/openssl/leaf.pem"));
    let good = openssl_cert(include_bytes!("../crl/openssl/good.pem"));
    // Our request is byte for byte what `openssl ocsp -no_nonce` sends.
    assert_eq!(
        build_request(&leaf, &ca),
        include_bytes!("../crl/openssl/leaf.req")
    );

    // Revoked, answered by a delegated responder named byName, its cert included.
    let r = OcspResponse::parse(include_bytes!("../crl/openssl/leaf_by_delegate.ocsp")).unwrap();
    match r.status_for(&leaf, &ca, r.produced_at()).unwrap() {
        OcspStatus::Revoked { reason, .. } => assert_eq!(reason, Some("key_compromise")),
        other => panic!("{other:?}"),
    }
    // The response is about `leaf` only.
    let e = r.status_for(&good, &ca, r.produced_at()).unwrap_err();
    assert!(e.detail.contains("no status"), "{}", e.detail);

    // Good, answered by the CA itself, named byKey, no certs.
    let r = OcspResponse::parse(include_bytes!("../crl/openssl/good_by_ca.ocsp")).unwrap();
    let status = r.status_for(&good, &ca, r.produced_at()).unwrap();
    assert!(
        matches!(
            status,
            OcspStatus::Good {
                next_update: Some(_),
                ..
            }
        ),
        "{status:?}"
    );
    // A week later it is stale.
    let e = r
        .status_for(&good, &ca, r.produced_at() + time::Duration::days(8))
        .unwrap_err();
    assert!(e.detail.contains("stale"), "{}", e.detail);
}
