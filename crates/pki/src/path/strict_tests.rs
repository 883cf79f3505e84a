//! What RFC 5280 and the strict validators refuse (`rfc5280`): one case per class, each
//! refused with its reason at its position, beside the same chain without the defect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::*;
use crate::purpose::builtin;
use crate::sig::KeyAlgorithm;
use crate::testpki::*;
use crate::trust::KeyPolicy;

fn validator(root: &Certificate) -> Validator {
    let family = Family::new("strict");
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
    // A root whose AKI has no keyIdentifier, names an issuer serial, or differs from
    // its SKI.
    for aki in [
        w::seq(&[]),
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
    // anyExtendedKeyUsage beside the purpose's own EKU is refused too.
    let both = int.leaf_with(
        Spec::leaf(cn("leaf")).with(ext::eku(&[EKU_SERVER, "2.5.29.37.0"])),
        Alg::P256,
    );
    refused(run(&root, &int, &both, true), Reason::ExtendedKeyUsage, 0);
    run(&root, &int, &both, false).unwrap();
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

#[test]
fn the_maximum_depth_counts_intermediates_not_self_issued_ones() {
    let (root, int) = good();
    let second = int.sub("Second", Alg::P256);
    // A key rollover: the intermediate's new key certified by its old one, same name.
    let rolled = int.sub_with(Spec::ca(int.name.clone(), None), Alg::P256);
    let depth = |leaf: &Certificate, pool: &[Certificate], max_depth| {
        let mut options = Options::at(now());
        options.max_depth = max_depth;
        let profile = builtin("server-auth").unwrap();
        validator(&root.cert).validate(leaf, pool, Some(&profile), &options, &NoRevocation)
    };
    let exhausted = |r: Result<ValidPath, Failure>| match r {
        Ok(v) => panic!("validated a path of {}", v.path.len()),
        Err(f) => assert_eq!(f.reason, Reason::PathBudgetExceeded, "{f}"),
    };
    let direct = root.leaf("leaf", Alg::P256);
    depth(&direct, &[], 0).unwrap();
    let one = int.leaf("leaf", Alg::P256);
    exhausted(depth(&one, std::slice::from_ref(&int.cert), 0));
    depth(&one, std::slice::from_ref(&int.cert), 1).unwrap();
    let two = second.leaf("leaf", Alg::P256);
    let pool = [int.cert.clone(), second.cert.clone()];
    exhausted(depth(&two, &pool, 1));
    depth(&two, &pool, 2).unwrap();
    let under_rolled = rolled.leaf("leaf", Alg::P256);
    let pool = [int.cert.clone(), rolled.cert.clone()];
    let v = depth(&under_rolled, &pool, 1).unwrap();
    assert_eq!(v.path.len(), 4, "leaf, rolled, intermediate, root");
}

#[test]
fn an_anchor_is_a_trusted_key_whose_own_issuer_is_not_checked() {
    // A cross-certified CA trusted directly: not self-issued, no AKI. Its issuer is not
    // on any path, so nothing requires an identifier for it (RFC 5280 §6.1: the anchor
    // is a name and a key).
    let root = Ca::root("Root", Alg::P256);
    let key = Key::new(Alg::P256);
    let mut spec = Spec::ca(cn("Cross"), None).with(ext::ski(&key));
    spec.no_key_ids = true;
    let cross = Ca {
        cert: spec.issue(&key, &root),
        name: spec.subject,
        key,
    };
    let int = cross.sub("Intermediate", Alg::P256);
    run(&cross, &int, &int.leaf("leaf", Alg::P256), true).unwrap();
}

#[test]
fn authority_info_access_is_never_critical() {
    let (root, int) = good();
    let mut aia = ext::ocsp_aia("http://ocsp.example.test");
    aia.critical = true;
    let leaf = int.leaf_with(Spec::leaf(cn("leaf")).with(aia), Alg::P256);
    refused(
        run(&root, &int, &leaf, false),
        Reason::ExtensionCriticality,
        0,
    );
}

#[test]
fn rfc822_names_are_mailboxes() {
    let (root, int) = good();
    for (mailbox, ok) in [
        ("alice@example.test", true),
        ("alice.o'neil+tag@example.test", true),
        ("\"a@b\"@example.test", true),
        ("invalid@address@example.test", false),
        ("@example.test", false),
        ("alice@", false),
        ("alice..bob@example.test", false),
        ("alice@exa_mple.test", false),
    ] {
        let leaf = int.leaf_with(
            Spec::leaf(cn("leaf")).with(ext::san(&[Gn::Email(mailbox.into())])),
            Alg::P256,
        );
        let r = run(&root, &int, &leaf, false);
        if ok {
            r.unwrap_or_else(|f| panic!("{mailbox}: {f}"));
        } else {
            refused(r, Reason::InvalidName, 0);
        }
    }
}

fn constrained(root: &Ca, nc: Ext) -> Ca {
    root.sub_with(Spec::ca(cn("Constrained"), None).with(nc), Alg::P256)
}

fn leaf_named(int: &Ca, names: &[Gn]) -> Certificate {
    int.leaf_with(Spec::leaf(cn("leaf")).with(ext::san(names)), Alg::P256)
}

#[test]
fn name_constraints_must_constrain_valid_names() {
    let root = Ca::root("Root", Alg::P256);
    for bad in [
        // A DNS constraint is a host name: no leading period (that is URI syntax), no
        // wildcard, no underscore.
        ext::nc(&[Gn::dns(".example.test")], &[]),
        ext::nc(&[Gn::dns("*.example.test")], &[]),
        ext::nc(&[], &[Gn::dns("a_b.example.test")]),
        ext::nc(&[Gn::Email("invalid@invalid@example.test".into())], &[]),
        // An IP range's mask is CIDR (ones then zeros), of the address's family.
        ext::nc(&[Gn::Ip(vec![10, 0, 0, 0, 255, 0, 255, 0])], &[]),
        ext::nc(&[Gn::Ip(vec![10, 0, 0, 1])], &[]),
        // Subtrees present but empty (GeneralSubtrees is SIZE (1..MAX)).
        ext::raw("2.5.29.30", true, w::seq(&[w::ctx(0, &[]), w::ctx(1, &[])])),
    ] {
        let int = constrained(&root, bad.clone());
        let leaf = leaf_named(&int, &[Gn::dns("www.example.test")]);
        match run(&root, &int, &leaf, true) {
            Ok(_) => panic!("{bad:?} accepted"),
            Err(f) => assert_eq!(f.reason, Reason::NameConstraints, "{bad:?}: {f}"),
        }
    }
    for good in [
        ext::nc(&[Gn::dns("example.test")], &[]),
        ext::nc(&[Gn::Email(".example.test".into())], &[]),
        ext::nc(&[Gn::Email("alice@example.test".into())], &[]),
        ext::nc(&[Gn::Ip(vec![10, 0, 0, 0, 255, 255, 0, 0])], &[]),
    ] {
        let int = constrained(&root, good.clone());
        let leaf = leaf_named(&int, &[Gn::dns("www.example.test")]);
        run(&root, &int, &leaf, true).unwrap_or_else(|f| panic!("{good:?}: {f}"));
    }
}

#[test]
fn a_wildcard_is_excluded_when_a_name_it_matches_is() {
    let root = Ca::root("Root", Alg::P256);
    let int = constrained(&root, ext::nc(&[], &[Gn::dns("bar.example.test")]));
    let wild = leaf_named(&int, &[Gn::dns("*.example.test")]);
    refused(run(&root, &int, &wild, false), Reason::NameConstraints, 0);
    // Two labels under the wildcard's base are out of its reach.
    let int = constrained(&root, ext::nc(&[], &[Gn::dns("a.bar.example.test")]));
    let wild = leaf_named(&int, &[Gn::dns("*.example.test")]);
    run(&root, &int, &wild, false).unwrap();
    // A wildcard is permitted only if all it matches is.
    let int = constrained(&root, ext::nc(&[Gn::dns("bar.example.test")], &[]));
    let wild = leaf_named(&int, &[Gn::dns("*.example.test")]);
    refused(run(&root, &int, &wild, false), Reason::NameConstraints, 0);
}

#[test]
fn name_constraint_checking_has_a_budget() {
    let root = Ca::root("Root", Alg::P256);
    let constraints = |n: usize| -> Vec<Gn> {
        (0..n)
            .map(|i| Gn::dns(&format!("x{i}.other.test")))
            .collect()
    };
    let names = |n: usize| -> Vec<Gn> {
        (0..n)
            .map(|i| Gn::dns(&format!("h{i}.example.test")))
            .collect()
    };
    // 600 names under 500 constraints: 300,000 comparisons, over the budget.
    let int = constrained(&root, ext::nc(&[], &constraints(500)));
    let leaf = leaf_named(&int, &names(600));
    let started = std::time::Instant::now();
    refused(
        run(&root, &int, &leaf, false),
        Reason::PathBudgetExceeded,
        0,
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // 100 by 100 is checked in full.
    let int = constrained(&root, ext::nc(&[], &constraints(100)));
    run(&root, &int, &leaf_named(&int, &names(100)), false).unwrap();
}

#[test]
fn a_weak_ca_key_is_named_as_such() {
    let root = Ca::root("Root", Alg::P256);
    let mut key = Key::new(Alg::P256);
    key.spki = rsa_spki(1024);
    let spec = Spec::ca(cn("Weak"), None);
    let weak = Ca {
        cert: spec.issue(&key, &root),
        name: spec.subject,
        key: Key::new(Alg::P256),
    };
    match run(&root, &weak, &weak.leaf("leaf", Alg::P256), true) {
        Ok(_) => panic!("a 1024-bit CA validated"),
        Err(f) => assert_eq!(f.reason, Reason::WeakKey, "{f}"),
    }
}

/// Validates for server-auth (web PKI rules) and plainly (none of them).
fn web(root: &Ca, int: &Ca, leaf: &Certificate) -> (Result<ValidPath, Failure>, bool) {
    let web = run(root, int, leaf, true);
    let plain = run(root, int, leaf, false).is_ok();
    (web, plain)
}

fn web_refused(root: &Ca, int: &Ca, leaf: &Certificate, reason: Reason, index: usize) {
    let (web, plain) = web(root, int, leaf);
    refused(web, reason, index);
    assert!(plain, "refused without the web PKI rules too");
}

#[test]
fn the_web_pki_refuses_a_critical_eku_and_a_root_with_an_eku() {
    let (root, int) = good();
    let mut eku = ext::eku(&[EKU_SERVER]);
    eku.critical = true;
    let leaf = int.leaf_with(Spec::leaf(cn("leaf")).with(eku), Alg::P256);
    web_refused(&root, &int, &leaf, Reason::ExtensionCriticality, 0);
    let spec = Spec::ca(cn("Root"), None).with(ext::eku(&[EKU_SERVER]));
    let root = Ca::root_with(spec, Alg::P256);
    let int = root.sub("Intermediate", Alg::P256);
    web_refused(
        &root,
        &int,
        &int.leaf("leaf", Alg::P256),
        Reason::ExtendedKeyUsage,
        2,
    );
}

#[test]
fn the_web_pki_refuses_wildcards_on_public_suffixes() {
    let (root, int) = good();
    for suffix in ["*.co.uk", "*.s3.amazonaws.com", "*.github.io"] {
        let leaf = leaf_named(&int, &[Gn::dns(suffix)]);
        web_refused(&root, &int, &leaf, Reason::InvalidName, 0);
    }
    for fine in [
        "*.example.co.uk",
        "*.bucket.s3.amazonaws.com",
        "*.example.test",
    ] {
        let leaf = leaf_named(&int, &[Gn::dns(fine)]);
        run(&root, &int, &leaf, true).unwrap_or_else(|f| panic!("{fine}: {f}"));
    }
}

#[test]
fn the_web_pki_refuses_a_cn_that_spells_a_san_otherwise() {
    let (root, int) = good();
    let leaf = |cn_: &str, names: &[Gn]| {
        int.leaf_with(Spec::leaf(cn(cn_)).with(ext::san(names)), Alg::P256)
    };
    let v4 = Gn::ip("192.168.1.1");
    let v6 = Gn::ip("2001:db8::1:0:0:1");
    let dns = Gn::dns("www.example.test");
    for (cn_, san) in [
        ("0xC0A80101", &v4),
        ("192.168.001.001", &v4),
        ("3232235777", &v4),
        ("10.0.0.1", &v4),
        ("2001:DB8::1:0:0:1", &v6),
        ("2001:db8:0:0:1:0:0:1", &v6),
        ("2001:0db8:0000:0000:0001:0000:0000:0001", &v6),
        ("WWW.example.test", &dns),
        ("www.exämple.test", &dns),
    ] {
        let cert = leaf(cn_, std::slice::from_ref(san));
        web_refused(&root, &int, &cert, Reason::InvalidName, 0);
    }
    for (cn_, san) in [
        ("192.168.1.1", &v4),
        ("2001:db8::1:0:0:1", &v6),
        ("www.example.test", &dns),
        // Names the SANs do not name are left alone (the CN is never read).
        ("Egide test server", &dns),
        ("example.test", &Gn::dns("*.example.test")),
    ] {
        let cert = leaf(cn_, std::slice::from_ref(san));
        run(&root, &int, &cert, true).unwrap_or_else(|f| panic!("{cn_}: {f}"));
    }
    // At most one CN.
    let two = int.leaf_with(
        Spec::leaf(name(&[
            ("CN", "www.example.test"),
            ("CN", "www.example.test"),
        ]))
        .with(ext::san(std::slice::from_ref(&dns))),
        Alg::P256,
    );
    web_refused(&root, &int, &two, Reason::InvalidName, 0);
}

#[test]
fn a_family_may_restrict_key_algorithms_and_raise_the_rsa_floor() {
    let validate = |keys: KeyPolicy, root: &Ca, int: &Ca, leaf: &Certificate| {
        let family = Family {
            keys,
            ..Family::new("restricted")
        };
        let store = TrustStore::new(vec![(family, vec![root.cert.clone()])], true).unwrap();
        Validator::new(Arc::new(store)).validate(
            leaf,
            std::slice::from_ref(&int.cert),
            None,
            &Options::at(now()),
            &NoRevocation,
        )
    };
    let rsa_only = KeyPolicy {
        algorithms: vec![KeyAlgorithm::Rsa],
        ..KeyPolicy::default()
    };
    let root = Ca::root("Root", Alg::Rsa);
    let int = root.sub("Intermediate", Alg::Rsa);
    let rsa_leaf = int.leaf("leaf", Alg::Rsa);
    validate(rsa_only.clone(), &root, &int, &rsa_leaf).unwrap();
    // An RSA path with a P-256 leaf: the leaf is refused, by its place.
    let p256_leaf = int.leaf("leaf", Alg::P256);
    refused(
        validate(rsa_only.clone(), &root, &int, &p256_leaf),
        Reason::UnsupportedAlgorithm,
        0,
    );
    validate(KeyPolicy::default(), &root, &int, &p256_leaf).unwrap();
    // A P-256 anchor under an RSA-only policy.
    let (ec_root, ec_int) = good();
    let leaf = ec_int.leaf("leaf", Alg::Rsa);
    refused(
        validate(rsa_only, &ec_root, &ec_int, &leaf),
        Reason::UnsupportedAlgorithm,
        1,
    );
    // RSA-3072 and up: the 2048-bit test keys fall short.
    let strong = KeyPolicy {
        min_rsa_bits: 3072,
        ..KeyPolicy::default()
    };
    refused(validate(strong, &root, &int, &rsa_leaf), Reason::WeakKey, 0);
}

#[test]
fn names_chain_as_rfc_5280_compares_them() {
    // The intermediate's subject in PrintableString; its leaf names it in UTF8String, in
    // other case and spacing (PKITS 4.3.3–4.3.5, 4.3.10, 4.3.11).
    let root = Ca::root("Root", Alg::P256);
    let cn_as = |value: Vec<u8>| w::seq(&[w::set(&[w::seq(&[w::oid("2.5.4.3"), value])])]);
    let int = root.sub_with(Spec::ca(cn_as(w::printable("Good CA")), None), Alg::P256);
    let leaf_naming = |issuer: &str| {
        let der = Spec::leaf(cn("leaf")).issue_der(
            &Key::new(Alg::P256),
            &cn_as(w::utf8(issuer)),
            &int.key,
        );
        Certificate::from_der(der).unwrap()
    };
    for spelt in ["Good CA", "  good   ca ", "GOOD CA"] {
        run(&root, &int, &leaf_naming(spelt), true).unwrap_or_else(|f| panic!("{spelt:?}: {f}"));
    }
    // Another name is no issuer.
    refused(
        run(&root, &int, &leaf_naming("Good CA 2"), true),
        Reason::UntrustedRoot,
        0,
    );
}

#[test]
fn rfc822_constraints_reach_the_subject_email_without_a_san() {
    let root = Ca::root("Root", Alg::P256);
    let int = constrained(&root, ext::nc(&[Gn::Email("example.test".into())], &[]));
    let with_email = |mailbox: &str| {
        let email = w::seq(&[
            w::oid("1.2.840.113549.1.9.1"),
            w::tlv(0x16, mailbox.as_bytes()),
        ]);
        let subject = w::seq(&[
            w::set(&[w::seq(&[w::oid("2.5.4.3"), w::utf8("leaf")])]),
            w::set(&[email]),
        ]);
        int.leaf_with(Spec::leaf(subject).without("2.5.29.17"), Alg::P256)
    };
    run(&root, &int, &with_email("alice@example.test"), false).unwrap();
    refused(
        run(&root, &int, &with_email("alice@other.test"), false),
        Reason::NameConstraints,
        0,
    );
}

#[test]
fn uri_constraints_apply_to_the_uri_host() {
    let root = Ca::root("Root", Alg::P256);
    let int = constrained(&root, ext::nc(&[Gn::Uri(".example.test".into())], &[]));
    for (uri, ok) in [
        ("https://www.example.test/path", true),
        ("ldap://user@dir.example.test:389/o=x", true),
        ("https://example.test/", false),
        ("https://www.other.test/", false),
        ("urn:example:test", false),
    ] {
        let leaf = leaf_named(&int, &[Gn::Uri(uri.into())]);
        let r = run(&root, &int, &leaf, false);
        if ok {
            r.unwrap_or_else(|f| panic!("{uri}: {f}"));
        } else {
            refused(r, Reason::NameConstraints, 0);
        }
    }
    let exact = constrained(&root, ext::nc(&[], &[Gn::Uri("host.example.test".into())]));
    let leaf = leaf_named(&exact, &[Gn::Uri("https://host.example.test/".into())]);
    refused(run(&root, &exact, &leaf, false), Reason::NameConstraints, 0);
    let leaf = leaf_named(&exact, &[Gn::Uri("https://other.example.test/".into())]);
    run(&root, &exact, &leaf, false).unwrap();
}
