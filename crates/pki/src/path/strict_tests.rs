//! What RFC 5280 and the strict validators refuse (`rfc5280`): one case per class, each
//! refused with its reason at its position, beside the same chain without the defect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::purpose::builtin;
use crate::testpki::*;

fn validator(root: &Certificate) -> Validator {
    let family = Family {
        name: "strict".into(),
        test: false,
        cut_off: None,
    };
    Validator::new(Arc::new(
        TrustStore::new(vec![(family, vec![root.clone()])], true).unwrap(),
    ))
}

/// Validates `leaf` over `int` under `root`, for server-auth (an end entity) or plainly.
fn run(root: &Ca, int: &Ca, leaf: &Certificate, end_entity: bool) -> Result<ValidPath, Failure> {
    let profile = end_entity.then(|| builtin("server-auth").unwrap());
    validator(&root.cert).validate(
        leaf,
        std::slice::from_ref(&int.cert),
        profile.as_ref(),
        &Options::at(now()),
        &NoRevocation,
    )
}

fn refused(r: Result<ValidPath, Failure>, reason: Reason, index: usize) {
    match r {
        Ok(_) => panic!("expected {reason:?} at {index}, validated"),
        Err(f) => assert_eq!((f.reason, f.index), (reason, Some(index)), "{f}"),
    }
}

fn good() -> (Ca, Ca) {
    let root = Ca::root("Root", Alg::P256);
    let int = root.sub("Intermediate", Alg::P256);
    (root, int)
}

#[test]
fn the_reference_chain_validates_both_ways() {
    let (root, int) = good();
    let leaf = int.leaf("leaf", Alg::P256);
    run(&root, &int, &leaf, true).unwrap();
    run(&root, &int, &leaf, false).unwrap();
}

#[test]
fn serial_numbers_are_positive_and_at_most_20_octets() {
    let (root, int) = good();
    for (content, ok) in [
        (vec![0x00], false),
        (vec![0x00, 0x00], false),
        (vec![0xff, 0x01], false),
        (vec![0x01; 21], false),
        (vec![0x01; 20], true),
        // 20 octets of value whose high bit needs the sign octet: 21 encoded, allowed.
        ([vec![0x00], vec![0x80; 20]].concat(), true),
        ([vec![0x00], vec![0x80; 21]].concat(), false),
    ] {
        let mut spec = Spec::leaf(cn("leaf"));
        spec.raw_serial = Some(content.clone());
        let leaf = int.leaf_with(spec, Alg::P256);
        let r = run(&root, &int, &leaf, true);
        if ok {
            r.unwrap_or_else(|f| panic!("{content:02x?}: {f}"));
        } else {
            refused(r, Reason::InvalidSerialNumber, 0);
        }
    }
    let mut spec = Spec::ca(cn("Negative"), None);
    spec.raw_serial = Some(vec![0x80]);
    let int = root.sub_with(spec, Alg::P256);
    refused(
        run(&root, &int, &int.leaf("leaf", Alg::P256), true),
        Reason::InvalidSerialNumber,
        1,
    );
}

#[test]
fn key_identifiers_are_present_and_not_critical() {
    let (root, int) = good();
    // No AKI on a certificate that is not self-issued (its SKI kept).
    let key = Key::new(Alg::P256);
    let mut spec = Spec::leaf(cn("leaf")).with(ext::ski(&key));
    spec.no_key_ids = true;
    let leaf = spec.issue(&key, &int);
    refused(run(&root, &int, &leaf, true), Reason::KeyIdentifier, 0);
    // A CA without SKI.
    let int_key = Key::new(Alg::P256);
    let mut spec = Spec::ca(cn("No SKI"), None).with(ext::aki(&root.key));
    spec.no_key_ids = true;
    let no_ski = Ca {
        cert: spec.issue(&int_key, &root),
        name: spec.subject,
        key: int_key,
    };
    refused(
        run(&root, &no_ski, &no_ski.leaf("leaf", Alg::P256), true),
        Reason::KeyIdentifier,
        1,
    );
    // A critical AKI, a critical SKI.
    let mut aki = ext::aki(&int.key);
    aki.critical = true;
    let leaf = Spec::leaf(cn("leaf")).with(aki).issue(&key, &int);
    refused(run(&root, &int, &leaf, true), Reason::KeyIdentifier, 0);
    let mut ski = ext::ski(&key);
    ski.critical = true;
    let leaf = Spec::leaf(cn("leaf")).with(ski).issue(&key, &int);
    refused(run(&root, &int, &leaf, true), Reason::KeyIdentifier, 0);
    // A root whose AKI names an issuer serial, or differs from its SKI.
    for aki in [
        w::seq(&[w::ctx_prim(2, &[1])]),
        w::seq(&[w::ctx_prim(0, &[1; 20])]),
    ] {
        let spec = Spec::ca(cn("Odd root"), None).with(ext::raw("2.5.29.35", false, aki));
        let odd_root = Ca::root_with(spec, Alg::P256);
        let int = odd_root.sub("Intermediate", Alg::P256);
        refused(
            run(&odd_root, &int, &int.leaf("leaf", Alg::P256), true),
            Reason::KeyIdentifier,
            2,
        );
    }
}

#[test]
fn basic_constraints_of_cas_are_critical_and_leaves_are_not_cas() {
    let root = Ca::root("Root", Alg::P256);
    let mut bc = ext::bc(true, None);
    bc.critical = false;
    let int = root.sub_with(Spec::ca(cn("Soft BC"), None).with(bc), Alg::P256);
    refused(
        run(&root, &int, &int.leaf("leaf", Alg::P256), true),
        Reason::ExtensionCriticality,
        1,
    );
    // A CA certificate, or one with keyCertSign, as the leaf of a purpose.
    let int = root.sub("Intermediate", Alg::P256);
    let ca_leaf = int.leaf_with(Spec::leaf(cn("leaf")).with(ext::bc(true, None)), Alg::P256);
    refused(run(&root, &int, &ca_leaf, true), Reason::CaUsedAsLeaf, 0);
    let signer = int.leaf_with(
        Spec::leaf(cn("leaf")).with(ext::ku(KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN)),
        Alg::P256,
    );
    refused(run(&root, &int, &signer, true), Reason::CaUsedAsLeaf, 0);
    // Without a purpose (validating a CA certificate itself) it is no end entity.
    run(&root, &int, &ca_leaf, false).unwrap();
}

#[test]
fn an_empty_extended_key_usage_is_refused() {
    let (root, int) = good();
    let leaf = int.leaf_with(Spec::leaf(cn("leaf")).with(ext::eku(&[])), Alg::P256);
    refused(run(&root, &int, &leaf, false), Reason::ExtendedKeyUsage, 0);
    // anyExtendedKeyUsage, or no EKU, on a leaf for a purpose that names one.
    let any = int.leaf_with(
        Spec::leaf(cn("leaf")).with(ext::eku(&["2.5.29.37.0"])),
        Alg::P256,
    );
    refused(run(&root, &int, &any, true), Reason::ExtendedKeyUsage, 0);
    let none = int.leaf_with(Spec::leaf(cn("leaf")).without("2.5.29.37"), Alg::P256);
    refused(run(&root, &int, &none, true), Reason::ExtendedKeyUsage, 0);
}

#[test]
fn unknown_critical_extensions_are_refused_on_the_anchor_too() {
    let spec = Spec::ca(cn("Root"), None).with(ext::raw("1.2.3.4.5", true, w::null()));
    let root = Ca::root_with(spec, Alg::P256);
    let int = root.sub("Intermediate", Alg::P256);
    refused(
        run(&root, &int, &int.leaf("leaf", Alg::P256), true),
        Reason::UnsupportedCriticalExtension,
        2,
    );
}

#[test]
fn policy_and_name_constraints_are_critical_and_on_cas_only() {
    let root = Ca::root("Root", Alg::P256);
    let mut pc = ext::require_explicit_policy(0);
    pc.critical = false;
    let int = root.sub_with(Spec::ca(cn("Soft PC"), None).with(pc), Alg::P256);
    refused(
        run(&root, &int, &int.leaf("leaf", Alg::P256), false),
        Reason::ExtensionCriticality,
        1,
    );
    let mut nc = ext::nc(&[Gn::dns("example.test")], &[]);
    nc.critical = false;
    let int = root.sub_with(Spec::ca(cn("Soft NC"), None).with(nc), Alg::P256);
    refused(
        run(&root, &int, &int.leaf("leaf", Alg::P256), true),
        Reason::ExtensionCriticality,
        1,
    );
    let empty = root.sub_with(
        Spec::ca(cn("Empty NC"), None).with(ext::nc(&[], &[])),
        Alg::P256,
    );
    refused(
        run(&root, &empty, &empty.leaf("leaf", Alg::P256), true),
        Reason::NameConstraints,
        1,
    );
    let int = root.sub("Intermediate", Alg::P256);
    let leaf = int.leaf_with(
        Spec::leaf(cn("leaf")).with(ext::nc(&[Gn::dns("example.test")], &[])),
        Alg::P256,
    );
    refused(run(&root, &int, &leaf, true), Reason::NameConstraints, 0);
}

#[test]
fn names_follow_the_subject_and_san_rules() {
    let root = Ca::root("Root", Alg::P256);
    let nameless = root.sub_with(Spec::ca(w::seq(&[]), None), Alg::P256);
    refused(
        run(&root, &nameless, &nameless.leaf("leaf", Alg::P256), true),
        Reason::InvalidName,
        1,
    );
    let int = root.sub("Intermediate", Alg::P256);
    let bare = int.leaf_with(Spec::leaf(w::seq(&[])).without("2.5.29.17"), Alg::P256);
    refused(run(&root, &int, &bare, false), Reason::InvalidName, 0);
    // An empty subject needs a critical SAN; a subject makes a critical SAN wrong.
    let soft = int.leaf_with(Spec::leaf(w::seq(&[])), Alg::P256);
    refused(
        run(&root, &int, &soft, true),
        Reason::ExtensionCriticality,
        0,
    );
    let mut san = ext::san(&[Gn::dns("leaf.example.test")]);
    san.critical = true;
    let hard = int.leaf_with(Spec::leaf(w::seq(&[])).with(san.clone()), Alg::P256);
    run(&root, &int, &hard, true).unwrap();
    let both = int.leaf_with(Spec::leaf(cn("leaf")).with(san), Alg::P256);
    refused(
        run(&root, &int, &both, true),
        Reason::ExtensionCriticality,
        0,
    );
}

#[test]
fn san_entries_are_valid_dns_names_and_addresses() {
    let (root, int) = good();
    for bad in [
        Gn::dns("_sip.example.test"),
        Gn::dns(".example.test"),
        Gn::dns("*.test"),
        Gn::dns("xn--.example.test"),
        Gn::Ip(vec![10, 0, 0, 1, 0]),
    ] {
        let leaf = int.leaf_with(
            Spec::leaf(cn("leaf")).with(ext::san(std::slice::from_ref(&bad))),
            Alg::P256,
        );
        match run(&root, &int, &leaf, false) {
            Ok(_) => panic!("{bad:?} accepted"),
            Err(f) => assert_eq!(
                (f.reason, f.index),
                (Reason::InvalidName, Some(0)),
                "{bad:?}: {f}"
            ),
        }
    }
    let fine = int.leaf_with(
        Spec::leaf(cn("leaf")).with(ext::san(&[Gn::dns("*.example.test"), Gn::ip("10.0.0.1")])),
        Alg::P256,
    );
    run(&root, &int, &fine, false).unwrap();
}

/// An RSA SubjectPublicKeyInfo with a modulus of `bits` bits (the key verifies nothing).
fn rsa_spki(bits: usize) -> Vec<u8> {
    let mut modulus = vec![0xc5; bits.div_ceil(8)];
    let spare = modulus.len() * 8 - bits;
    modulus[0] = 0xff >> spare;
    let rsa = w::seq(&[w::tlv(0x02, &[vec![0], modulus].concat()), w::uint(65537)]);
    w::seq(&[
        w::seq(&[w::oid("1.2.840.113549.1.1.1"), w::null()]),
        w::bits(&rsa),
    ])
}

#[test]
fn weak_and_unsupported_leaf_keys_are_refused() {
    let (root, int) = good();
    let with_spki = |spki: Vec<u8>| {
        let mut key = Key::new(Alg::P256);
        key.spki = spki;
        Spec::leaf(cn("leaf")).issue(&key, &int)
    };
    for (bits, reason) in [
        (1024, Some(Reason::WeakKey)),
        (2047, Some(Reason::WeakKey)),
        (2052, Some(Reason::WeakKey)),
        (2048, None),
        (3072, None),
    ] {
        let r = run(&root, &int, &with_spki(rsa_spki(bits)), true);
        match reason {
            Some(reason) => refused(r, reason, 0),
            None => {
                r.unwrap_or_else(|f| panic!("RSA-{bits}: {f}"));
            }
        }
    }
    // P-192 (prime192v1) and DSA.
    let p192 = w::seq(&[
        w::seq(&[w::oid("1.2.840.10045.2.1"), w::oid("1.2.840.10045.3.1.1")]),
        w::bits(&[4; 49]),
    ]);
    refused(
        run(&root, &int, &with_spki(p192), true),
        Reason::UnsupportedAlgorithm,
        0,
    );
    let dsa = w::seq(&[w::seq(&[w::oid("1.2.840.10040.4.1")]), w::bits(&w::uint(7))]);
    refused(
        run(&root, &int, &with_spki(dsa), true),
        Reason::UnsupportedAlgorithm,
        0,
    );
}
