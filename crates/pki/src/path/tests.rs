//! Path building and validation scenarios over generated PKIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `&[cert.clone()]` reads better than `slice::from_ref(&cert)` in scenarios.
#![allow(clippy::cloned_ref_to_slice_refs)]

use std::cell::Cell;
use std::sync::Arc;

use time::OffsetDateTime;

use super::*;
use crate::identity::IdentityKind;
use crate::purpose::builtin;
use crate::testpki::*;

fn family(name: &str) -> Family {
    Family::new(name)
}

fn store(roots: &[&Certificate]) -> Validator {
    let roots = roots.iter().map(|c| (*c).clone()).collect();
    Validator::new(Arc::new(
        TrustStore::new(vec![(family("igc-test"), roots)], true).unwrap(),
    ))
}

fn opts() -> Options {
    Options::at(now())
}

fn check(
    v: &Validator,
    leaf: &Certificate,
    chain: &[Certificate],
    profile: Option<&Profile>,
) -> Result<ValidPath, Failure> {
    v.validate(leaf, chain, profile, &opts(), &NoRevocation)
}

fn fails(r: Result<ValidPath, Failure>, reason: Reason, index: Option<usize>) -> Failure {
    match r {
        Ok(p) => panic!(
            "expected {reason:?}, validated {} certificates",
            p.path.len()
        ),
        Err(f) => {
            assert_eq!((f.reason, f.index), (reason, index), "{f}");
            f
        }
    }
}

/// root -> intermediate -> leaf, all of `alg`.
fn chain(alg: Alg) -> (Ca, Ca, Certificate) {
    let root = Ca::root("Root", alg);
    let int = root.sub("Intermediate", alg);
    let leaf = int.leaf("leaf", alg);
    (root, int, leaf)
}

#[test]
fn good_chains_of_every_algorithm() {
    for alg in [Alg::P256, Alg::P384, Alg::Ed25519, Alg::Rsa, Alg::RsaPss] {
        let (root, int, leaf) = chain(alg);
        let v = store(&[&root.cert]);
        let p =
            check(&v, &leaf, &[int.cert.clone()], None).unwrap_or_else(|f| panic!("{alg:?}: {f}"));
        assert_eq!(
            p.path,
            vec![leaf.clone(), int.cert.clone(), root.cert.clone()]
        );
        assert_eq!(p.family.name, "igc-test");
    }
}

#[test]
fn mixed_algorithms_and_server_profile() {
    let root = Ca::root("Root", Alg::Rsa);
    let int = root.sub("Intermediate", Alg::P384);
    let leaf = int.leaf("leaf", Alg::P256);
    let v = store(&[&root.cert]);
    let mut o = opts();
    o.peer_name = Some("leaf.example.test".into());
    v.validate(
        &leaf,
        &[int.cert.clone()],
        builtin("server-auth").as_ref(),
        &o,
        &NoRevocation,
    )
    .unwrap();
}

#[test]
fn rcgen_chain_interoperates() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let root_key = KeyPair::generate().unwrap();
    let mut rp = CertificateParams::new(Vec::<String>::new()).unwrap();
    rp.distinguished_name.push(DnType::CommonName, "rcgen root");
    rp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    rp.not_before = date(2020, 1, 1);
    rp.not_after = date(2035, 1, 1);
    let root = rp.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(rp, root_key);

    let int_key = KeyPair::generate().unwrap();
    let mut ip = CertificateParams::new(Vec::<String>::new()).unwrap();
    ip.distinguished_name.push(DnType::CommonName, "rcgen int");
    ip.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ip.use_authority_key_identifier_extension = true;
    ip.not_before = date(2020, 1, 1);
    ip.not_after = date(2035, 1, 1);
    let int = ip.signed_by(&int_key, &root_issuer).unwrap();
    let int_issuer = Issuer::new(ip, int_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut lp = CertificateParams::new(vec!["svc.example.test".to_owned()]).unwrap();
    lp.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    lp.use_authority_key_identifier_extension = true;
    lp.not_before = date(2024, 1, 1);
    lp.not_after = date(2026, 1, 1);
    let leaf = lp.signed_by(&leaf_key, &int_issuer).unwrap();

    let root = Certificate::from_der(root.der().to_vec()).unwrap();
    let int = Certificate::from_der(int.der().to_vec()).unwrap();
    let leaf = Certificate::from_der(leaf.der().to_vec()).unwrap();
    let v = store(&[&root]);
    let mut o = opts();
    o.peer_name = Some("SVC.example.test".into());
    let p = v
        .validate(
            &leaf,
            &[int],
            builtin("server-auth").as_ref(),
            &o,
            &NoRevocation,
        )
        .unwrap();
    assert_eq!(p.path.len(), 3);
    assert_eq!(
        leaf.extended_key_usages(),
        vec![crate::purpose::EKU_SERVER_AUTH.to_owned()]
    );
}

#[test]
fn unordered_and_redundant_intermediates() {
    let root = Ca::root("Root", Alg::P256);
    let a = root.sub("A", Alg::P256);
    let b = a.sub("B", Alg::P256);
    let other = Ca::root("Other", Alg::P256).sub("Unrelated", Alg::P256);
    let leaf = b.leaf("leaf", Alg::P256);
    let v = store(&[&root.cert]);
    let given = [
        other.cert.clone(),
        a.cert.clone(),
        b.cert.clone(),
        a.cert.clone(),
        leaf.clone(),
    ];
    let p = check(&v, &leaf, &given, None).unwrap();
    assert_eq!(p.path.len(), 4);
}

#[test]
fn backtracks_past_an_expired_intermediate() {
    let root = Ca::root("Root", Alg::P256);
    let int = root.sub("Intermediate", Alg::P256);
    // Same name and key, reissued: the first copy has expired.
    let expired = int.cross(
        Spec::ca(int.name.clone(), None).valid(date(2015, 1, 1), date(2020, 1, 1)),
        &root,
    );
    let leaf = int.leaf("leaf", Alg::P256);
    let v = store(&[&root.cert]);
    let p = check(&v, &leaf, &[expired.clone(), int.cert.clone()], None).unwrap();
    assert_eq!(p.path[1], int.cert);
    // Alone, the expired copy is what is reported.
    let f = fails(
        check(&v, &leaf, &[expired.clone()], None),
        Reason::Expired,
        Some(1),
    );
    assert_eq!(f.path.len(), 2);
    // Even when another copy leads further, to an untrusted root.
    let stranger = Ca::root("Stranger", Alg::P256);
    let mid = stranger.sub("Mid", Alg::P256);
    let via_mid = int.cross(Spec::ca(int.name.clone(), None), &mid);
    let given = [via_mid, mid.cert.clone(), stranger.cert.clone(), expired];
    fails(check(&v, &leaf, &given, None), Reason::Expired, Some(1));
}

#[test]
fn cross_signed_alternative_path() {
    // Old root (trusted) and new root (trusted only through a cross certificate).
    let old = Ca::root("Old Root", Alg::P256);
    let new = Ca::root("New Root", Alg::P256);
    let cross = new.cross(Spec::ca(new.name.clone(), None), &old);
    let int = new.sub("Intermediate", Alg::P256);
    let leaf = int.leaf("leaf", Alg::P256);
    let v = store(&[&old.cert]);
    // The self-signed new root is given too: a dead end to back out of.
    let p = check(
        &v,
        &leaf,
        &[new.cert.clone(), int.cert.clone(), cross.clone()],
        None,
    )
    .unwrap();
    assert_eq!(
        p.path,
        vec![leaf.clone(), int.cert.clone(), cross, old.cert.clone()]
    );
}

#[test]
fn revoked_intermediate_falls_back_to_another_path() {
    let root = Ca::root("Root", Alg::P256);
    let int = root.sub("Intermediate", Alg::P256);
    let reissued = int.cross(Spec::ca(int.name.clone(), None), &root);
    let leaf = int.leaf("leaf", Alg::P256);
    let v = store(&[&root.cert]);
    let revoked_serial = int.cert.serial().to_vec();
    let checker = Revoking(revoked_serial, Cell::new(0));
    let p = v
        .validate(
            &leaf,
            &[int.cert.clone(), reissued.clone()],
            None,
            &opts(),
            &checker,
        )
        .unwrap();
    assert_eq!(p.path[1], reissued);
}

struct Revoking(Vec<u8>, Cell<usize>);

impl RevocationChecker for Revoking {
    fn check(&self, cert: &Certificate, _: &Certificate, _: OffsetDateTime) -> RevocationStatus {
        self.1.set(self.1.get() + 1);
        if cert.serial() == self.0.as_slice() {
            RevocationStatus::Revoked {
                reason: "key_compromise".into(),
                at: Some(date(2025, 1, 1)),
            }
        } else {
            RevocationStatus::Good
        }
    }
}

struct Unknowing;

impl RevocationChecker for Unknowing {
    fn check(&self, _: &Certificate, _: &Certificate, _: OffsetDateTime) -> RevocationStatus {
        RevocationStatus::Unknown
    }
}

#[test]
fn revocation_outcomes() {
    let (root, int, leaf) = chain(Alg::P256);
    let v = store(&[&root.cert]);
    let chain = [int.cert.clone()];
    let checker = Revoking(leaf.serial().to_vec(), Cell::new(0));
    let f = fails(
        v.validate(&leaf, &chain, None, &opts(), &checker),
        Reason::Revoked,
        Some(0),
    );
    assert!(f.detail.contains("key_compromise"));
    let checker = Revoking(int.cert.serial().to_vec(), Cell::new(0));
    fails(
        v.validate(&leaf, &chain, None, &opts(), &checker),
        Reason::Revoked,
        Some(1),
    );
    // Leaf and intermediate asked, never the anchor.
    assert_eq!(checker.1.get(), 2);

    fails(
        v.validate(&leaf, &chain, None, &opts(), &Unknowing),
        Reason::RevocationUnknown,
        Some(0),
    );
    let mut o = opts();
    o.unknown_revocation_allowed = true;
    v.validate(&leaf, &chain, None, &o, &Unknowing).unwrap();

    // A profile that does not check revocation never asks.
    let mut profile = builtin("server-auth").unwrap();
    profile.check_revocation = false;
    v.validate(&leaf, &chain, Some(&profile), &opts(), &Unknowing)
        .unwrap();
}

#[test]
fn loops_end() {
    let key_a = Key::new(Alg::P256);
    let key_b = Key::new(Alg::P256);
    let ca_a = Ca {
        cert: Spec::ca(cn("A"), None)
            .issue_der(&key_a, &cn("B"), &key_b)
            .pipe(Certificate::from_der)
            .unwrap(),
        key: key_a,
        name: cn("A"),
    };
    let b = Spec::ca(cn("B"), None)
        .issue_der(&key_b, &cn("A"), &ca_a.key)
        .pipe(Certificate::from_der)
        .unwrap();
    let leaf = ca_a.leaf("leaf", Alg::P256);
    let unrelated = Ca::root("Root", Alg::P256);
    let v = store(&[&unrelated.cert]);
    let f = fails(
        check(&v, &leaf, &[ca_a.cert.clone(), b], None),
        Reason::UntrustedRoot,
        Some(2),
    );
    assert_eq!(f.path.len(), 3);
}

trait Pipe: Sized {
    fn pipe<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }
}
impl<T> Pipe for T {}

fn deep(n: usize) -> (Ca, Vec<Certificate>, Certificate) {
    let root = Ca::root("Root", Alg::P256);
    let mut cas = vec![root.sub("CA 1", Alg::P256)];
    for i in 2..=n {
        let next = cas[cas.len() - 1].sub(&format!("CA {i}"), Alg::P256);
        cas.push(next);
    }
    let leaf = cas[n - 1].leaf("leaf", Alg::P256);
    let certs = cas.into_iter().map(|c| c.cert).rev().collect();
    (root, certs, leaf)
}

#[test]
fn deep_chains_exhaust_budgets() {
    let (root, certs, leaf) = deep(19);
    let v = store(&[&root.cert]);
    // 19 inputs > 16 intermediates.
    fails(
        check(&v, &leaf, &certs, None),
        Reason::PathBudgetExceeded,
        None,
    );
    // Accepting them, the depth limit (6 intermediates) stops the walk.
    let mut o = opts();
    o.max_intermediates = 32;
    let f = fails(
        v.validate(&leaf, &certs, None, &o, &NoRevocation),
        Reason::PathBudgetExceeded,
        None,
    );
    assert_eq!(f.path.len(), 7);
    // With room for all, it validates (leaf, 19 CAs, root: 20 signatures).
    o.max_depth = 32;
    assert_eq!(
        v.validate(&leaf, &certs, None, &o, &NoRevocation)
            .unwrap()
            .path
            .len(),
        21
    );
    // Unless signatures run out.
    o.signature_budget = 10;
    let f = fails(
        v.validate(&leaf, &certs, None, &o, &NoRevocation),
        Reason::PathBudgetExceeded,
        None,
    );
    assert!(f.detail.contains("signature"), "{f}");
    o.signature_budget = 32;
    // And a tiny step budget aborts.
    o.step_budget = 3;
    fails(
        v.validate(&leaf, &certs, None, &o, &NoRevocation),
        Reason::PathBudgetExceeded,
        None,
    );
}

#[test]
fn validity_at_every_position() {
    let past = (date(2015, 1, 1), date(2020, 1, 1));
    let future = (date(2030, 1, 1), date(2035, 1, 1));
    for (window, reason) in [(past, Reason::Expired), (future, Reason::NotYetValid)] {
        // Root.
        let root = Ca::root_with(
            Spec::ca(cn("Root"), None).valid(window.0, window.1),
            Alg::P256,
        );
        let int = root.sub("Int", Alg::P256);
        let leaf = int.leaf("leaf", Alg::P256);
        fails(
            check(&store(&[&root.cert]), &leaf, &[int.cert.clone()], None),
            reason,
            Some(2),
        );
        // Intermediate.
        let root = Ca::root("Root", Alg::P256);
        let int = root.sub_with(
            Spec::ca(cn("Int"), None).valid(window.0, window.1),
            Alg::P256,
        );
        let leaf = int.leaf("leaf", Alg::P256);
        fails(
            check(&store(&[&root.cert]), &leaf, &[int.cert.clone()], None),
            reason,
            Some(1),
        );
        // Leaf.
        let int = root.sub("Int", Alg::P256);
        let leaf = int.leaf_with(Spec::leaf(cn("leaf")).valid(window.0, window.1), Alg::P256);
        fails(
            check(&store(&[&root.cert]), &leaf, &[int.cert.clone()], None),
            reason,
            Some(0),
        );
    }
    // Bounds are inclusive.
    let root = Ca::root("Root", Alg::P256);
    let leaf = root.leaf_with(Spec::leaf(cn("leaf")).valid(now(), now()), Alg::P256);
    check(&store(&[&root.cert]), &leaf, &[], None).unwrap();
}

#[test]
fn bad_signatures() {
    let root = Ca::root("Root", Alg::P256);
    let int = root.sub("Int", Alg::P256);
    let mut spec = Spec::leaf(cn("leaf"));
    spec.corrupt_signature = true;
    let leaf = int.leaf_with(spec, Alg::P256);
    let v = store(&[&root.cert]);
    let f = fails(
        check(&v, &leaf, &[int.cert.clone()], None),
        Reason::BadSignature,
        Some(0),
    );
    assert_eq!(f.path.len(), 1);
    // An intermediate signed by an impostor with the root's name.
    let impostor = Ca::root("Root", Alg::P256);
    let int = impostor.sub("Int", Alg::P256);
    let leaf = int.leaf("leaf", Alg::P256);
    fails(
        check(&v, &leaf, &[int.cert.clone()], None),
        Reason::BadSignature,
        Some(1),
    );
    // An RSA issuer key for an ECDSA-signed certificate: the algorithm does not fit.
    let rsa_root = Ca::root("Root", Alg::Rsa);
    let v = store(&[&rsa_root.cert]);
    fails(
        check(&v, &leaf, &[int.cert.clone()], None),
        Reason::UnsupportedAlgorithm,
        Some(1),
    );
}

#[test]
fn untrusted_root() {
    let (root, int, leaf) = chain(Alg::P256);
    let v = store(&[&Ca::root("Somebody else", Alg::P256).cert]);
    let f = fails(
        check(&v, &leaf, &[int.cert.clone(), root.cert.clone()], None),
        Reason::UntrustedRoot,
        Some(2),
    );
    assert_eq!(f.path.len(), 3);
    fails(check(&v, &leaf, &[], None), Reason::UntrustedRoot, Some(0));
}

#[test]
fn issuers_must_be_cas() {
    let root = Ca::root("Root", Alg::P256);
    let v = store(&[&root.cert]);
    for spec in [
        Spec::new(cn("Int")).with(ext::bc(false, None)),
        Spec::new(cn("Int")),
        Spec::ca(cn("Int"), None).with(ext::ku(KU_DIGITAL_SIGNATURE)),
    ] {
        let expect = if spec.extensions.iter().any(|e| e.oid == "2.5.29.15") {
            Reason::KeyUsage
        } else {
            Reason::NotACa
        };
        let int = root.sub_with(spec, Alg::P256);
        let leaf = int.leaf("leaf", Alg::P256);
        fails(check(&v, &leaf, &[int.cert.clone()], None), expect, Some(1));
    }
    // A trust anchor must be a CA.
    let not_ca = Spec::new(cn("leafy root")).self_sign(&Key::new(Alg::P256));
    let e = TrustStore::new(vec![(family("x"), vec![not_ca])], false).unwrap_err();
    assert_eq!(e.reason, Reason::NotACa);
}

#[test]
fn path_length_constraints() {
    // Root allows no intermediate.
    let root = Ca::root_with(Spec::ca(cn("Root"), Some(0)), Alg::P256);
    let int = root.sub("Int", Alg::P256);
    let leaf = int.leaf("leaf", Alg::P256);
    fails(
        check(&store(&[&root.cert]), &leaf, &[int.cert.clone()], None),
        Reason::PathLengthExceeded,
        Some(2),
    );
    // ... but can issue leaves directly.
    let direct = root.leaf("leaf", Alg::P256);
    check(&store(&[&root.cert]), &direct, &[], None).unwrap();
    // Intermediate with pathLen 0 under which another CA sits.
    let root = Ca::root("Root", Alg::P256);
    let a = root.sub_with(Spec::ca(cn("A"), Some(0)), Alg::P256);
    let b = a.sub("B", Alg::P256);
    let leaf = b.leaf("leaf", Alg::P256);
    fails(
        check(
            &store(&[&root.cert]),
            &leaf,
            &[a.cert.clone(), b.cert.clone()],
            None,
        ),
        Reason::PathLengthExceeded,
        Some(2),
    );
    // A self-issued intermediate (key rollover) does not count.
    let root = Ca::root_with(Spec::ca(cn("Root"), Some(1)), Alg::P256);
    let a = root.sub("A", Alg::P256);
    let a2 = a.sub_with(Spec::ca(a.name.clone(), None), Alg::P256);
    let leaf = a2.leaf("leaf", Alg::P256);
    check(
        &store(&[&root.cert]),
        &leaf,
        &[a.cert.clone(), a2.cert.clone()],
        None,
    )
    .unwrap();
}

fn pro_subject(idnat: &str) -> Vec<u8> {
    name_multi(&[
        &[("C", "FR")],
        &[("title", "Médecin")],
        &[("SN", "DUPONT"), ("GN", "JEAN"), ("CN", idnat)],
    ])
}

fn pro_leaf(ca: &Ca, idnat: &str, tweak: impl FnOnce(Spec) -> Spec) -> Certificate {
    let spec = Spec::new(pro_subject(idnat))
        .with(ext::ku(KU_DIGITAL_SIGNATURE))
        .with(ext::eku(&[EKU_CLIENT]));
    ca.leaf_with(tweak(spec), Alg::Rsa)
}

#[test]
fn key_usage_and_extended_key_usage() {
    let (root, int, _) = chain(Alg::P256);
    let v = store(&[&root.cert]);
    let chain = [int.cert.clone()];
    let auth = builtin("ps-authentication").unwrap();
    let good = pro_leaf(&int, "810001045367", |s| s);
    check(&v, &good, &chain, Some(&auth)).unwrap();

    let no_ds = pro_leaf(&int, "810001045367", |s| {
        s.with(ext::ku(KU_NON_REPUDIATION))
    });
    fails(
        check(&v, &no_ds, &chain, Some(&auth)),
        Reason::KeyUsage,
        Some(0),
    );
    let no_ku = pro_leaf(&int, "810001045367", |s| s.without("2.5.29.15"));
    fails(
        check(&v, &no_ku, &chain, Some(&auth)),
        Reason::KeyUsage,
        Some(0),
    );
    let server = pro_leaf(&int, "810001045367", |s| s.with(ext::eku(&[EKU_SERVER])));
    fails(
        check(&v, &server, &chain, Some(&auth)),
        Reason::ExtendedKeyUsage,
        Some(0),
    );
    let any = pro_leaf(&int, "810001045367", |s| s.with(ext::eku(&["2.5.29.37.0"])));
    fails(
        check(&v, &any, &chain, Some(&auth)),
        Reason::ExtendedKeyUsage,
        Some(0),
    );
    let none = pro_leaf(&int, "810001045367", |s| s.without("2.5.29.37"));
    fails(
        check(&v, &none, &chain, Some(&auth)),
        Reason::ExtendedKeyUsage,
        Some(0),
    );
    // Without a profile none of this is asked.
    check(&v, &none, &chain, None).unwrap();

    // ps-signature wants nonRepudiation.
    let sign = builtin("ps-signature").unwrap();
    fails(
        check(&v, &good, &chain, Some(&sign)),
        Reason::KeyUsage,
        Some(0),
    );
    let signing = pro_leaf(&int, "810001045367", |s| {
        s.with(ext::ku(KU_NON_REPUDIATION)).without("2.5.29.37")
    });
    check(&v, &signing, &chain, Some(&sign)).unwrap();
}

#[test]
fn nested_extended_key_usage() {
    let root = Ca::root("Root", Alg::P256);
    let v = store(&[&root.cert]);
    let auth = builtin("structure-client-auth").unwrap();
    let leaf_spec = || {
        Spec::new(name(&[
            ("C", "FR"),
            ("ST", "Paris (75)"),
            ("O", "HOPITAL TEST"),
            ("OU", "1010003374"),
            ("CN", "app"),
        ]))
        .with(ext::ku(KU_DIGITAL_SIGNATURE))
        .with(ext::eku(&[EKU_CLIENT]))
    };
    // Intermediate restricted to serverAuth: clientAuth leaves refused.
    let int = root.sub_with(
        Spec::ca(cn("Int"), None).with(ext::eku(&[EKU_SERVER])),
        Alg::P256,
    );
    let leaf = int.leaf_with(leaf_spec(), Alg::P256);
    fails(
        check(&v, &leaf, &[int.cert.clone()], Some(&auth)),
        Reason::ExtendedKeyUsage,
        Some(1),
    );
    // Intermediate allowing clientAuth, or anyExtendedKeyUsage.
    for ekus in [&[EKU_SERVER, EKU_CLIENT][..], &["2.5.29.37.0"][..]] {
        let int = root.sub_with(Spec::ca(cn("Int"), None).with(ext::eku(ekus)), Alg::P256);
        let leaf = int.leaf_with(leaf_spec(), Alg::P256);
        let p = check(&v, &leaf, &[int.cert.clone()], Some(&auth)).unwrap();
        let Some(Identity::Structure(id)) = p.identity else {
            panic!("no structure identity")
        };
        assert_eq!(id.idnat_struct.to_string(), "1010003374");
        assert_eq!(id.organisation, "HOPITAL TEST");
        assert_eq!(id.application, "app");
        assert_eq!(id.departement.as_deref(), Some("Paris (75)"));
    }
}

#[test]
fn unknown_critical_extensions() {
    let root = Ca::root("Root", Alg::P256);
    let v = store(&[&root.cert]);
    let odd = |critical| ext::raw("1.3.6.1.4.1.99999.1", critical, w::null());
    let int = root.sub("Int", Alg::P256);
    let leaf = int.leaf_with(Spec::leaf(cn("leaf")).with(odd(true)), Alg::P256);
    fails(
        check(&v, &leaf, &[int.cert.clone()], None),
        Reason::UnsupportedCriticalExtension,
        Some(0),
    );
    let leaf = int.leaf_with(Spec::leaf(cn("leaf")).with(odd(false)), Alg::P256);
    check(&v, &leaf, &[int.cert.clone()], None).unwrap();
    let int = root.sub_with(Spec::ca(cn("Int"), None).with(odd(true)), Alg::P256);
    let leaf = int.leaf("leaf", Alg::P256);
    fails(
        check(&v, &leaf, &[int.cert.clone()], None),
        Reason::UnsupportedCriticalExtension,
        Some(1),
    );
    // Policy mapping is not processed, so a critical policyMappings is refused.
    let mapping = w::seq(&[w::seq(&[w::oid("1.2.3.4"), w::oid("1.2.3.5")])]);
    let int = root.sub_with(
        Spec::ca(cn("Int"), None).with(ext::raw("2.5.29.33", true, mapping)),
        Alg::P256,
    );
    let leaf = int.leaf("leaf", Alg::P256);
    fails(
        check(&v, &leaf, &[int.cert.clone()], None),
        Reason::UnsupportedCriticalExtension,
        Some(1),
    );
}

#[test]
fn name_constraints() {
    let root = Ca::root("Root", Alg::P256);
    let v = store(&[&root.cert]);
    let constrained = |permitted: &[Gn], excluded: &[Gn]| {
        root.sub_with(
            Spec::ca(cn("Int"), None).with(ext::nc(permitted, excluded)),
            Alg::P256,
        )
    };
    let leaf_for = |int: &Ca, dns: &str, subject: Vec<u8>| {
        int.leaf_with(
            Spec::leaf(subject).with(ext::san(&[Gn::dns(dns)])),
            Alg::P256,
        )
    };
    let int = constrained(&[Gn::dns("example.test")], &[Gn::dns("bad.example.test")]);
    let ok = leaf_for(&int, "a.example.test", cn("leaf"));
    check(&v, &ok, &[int.cert.clone()], None).unwrap();
    let outside = leaf_for(&int, "evil.test", cn("leaf"));
    fails(
        check(&v, &outside, &[int.cert.clone()], None),
        Reason::NameConstraints,
        Some(0),
    );
    let excluded = leaf_for(&int, "x.bad.example.test", cn("leaf"));
    fails(
        check(&v, &excluded, &[int.cert.clone()], None),
        Reason::NameConstraints,
        Some(0),
    );

    // directoryName: subjects must sit under C=FR, O=Egide Test.
    let base = name(&[("C", "FR"), ("O", "Egide Test")]);
    let int = constrained(&[Gn::Dir(base)], &[]);
    let ok = leaf_for(&int, "a.example.test", cn("leaf"));
    check(&v, &ok, &[int.cert.clone()], None).unwrap();
    let elsewhere = leaf_for(
        &int,
        "a.example.test",
        name(&[("C", "FR"), ("O", "Other"), ("CN", "leaf")]),
    );
    fails(
        check(&v, &elsewhere, &[int.cert.clone()], None),
        Reason::NameConstraints,
        Some(0),
    );

    // IP ranges, and constraints on the anchor itself.
    let root = Ca::root_with(
        Spec::ca(cn("Root"), None).with(ext::nc(&[Gn::Ip(vec![10, 0, 0, 0, 255, 0, 0, 0])], &[])),
        Alg::P256,
    );
    let v = store(&[&root.cert]);
    let inside = root.leaf_with(
        Spec::leaf(cn("leaf")).with(ext::san(&[Gn::ip("10.1.2.3")])),
        Alg::P256,
    );
    check(&v, &inside, &[], None).unwrap();
    let outside = root.leaf_with(
        Spec::leaf(cn("leaf")).with(ext::san(&[Gn::ip("192.168.1.1")])),
        Alg::P256,
    );
    fails(
        check(&v, &outside, &[], None),
        Reason::NameConstraints,
        Some(0),
    );
}

#[test]
fn required_policies() {
    const POLICY: &str = "1.2.250.1.71.1.2.5";
    let mut profile = builtin("server-auth").unwrap();
    profile.policies = vec![POLICY.to_owned()];
    let leaf_spec = |policies: &[&str]| Spec::leaf(cn("leaf")).with(ext::policies(policies));
    let root = Ca::root("Root", Alg::P256);
    let v = store(&[&root.cert]);

    let int = root.sub_with(
        Spec::ca(cn("Int"), None).with(ext::policies(&[POLICY])),
        Alg::P256,
    );
    let leaf = int.leaf_with(leaf_spec(&[POLICY]), Alg::P256);
    check(&v, &leaf, &[int.cert.clone()], Some(&profile)).unwrap();
    let other = int.leaf_with(leaf_spec(&["1.2.3.4"]), Alg::P256);
    fails(
        check(&v, &other, &[int.cert.clone()], Some(&profile)),
        Reason::PolicyRequired,
        Some(0),
    );
    // anyPolicy in the leaf is not enough.
    let any_leaf = int.leaf_with(leaf_spec(&["2.5.29.32.0"]), Alg::P256);
    fails(
        check(&v, &any_leaf, &[int.cert.clone()], Some(&profile)),
        Reason::PolicyRequired,
        Some(0),
    );

    // Intermediate without the policy, then with anyPolicy.
    let bare = root.sub("Int", Alg::P256);
    let leaf = bare.leaf_with(leaf_spec(&[POLICY]), Alg::P256);
    fails(
        check(&v, &leaf, &[bare.cert.clone()], Some(&profile)),
        Reason::PolicyRequired,
        Some(1),
    );
    let any = root.sub_with(
        Spec::ca(cn("Int"), None).with(ext::policies(&["2.5.29.32.0"])),
        Alg::P256,
    );
    let leaf = any.leaf_with(leaf_spec(&[POLICY]), Alg::P256);
    check(&v, &leaf, &[any.cert.clone()], Some(&profile)).unwrap();

    // inhibitAnyPolicy(0) on the anchor: anyPolicy below no longer counts.
    let strict_root = Ca::root_with(
        Spec::ca(cn("Root"), None).with(ext::inhibit_any_policy(0)),
        Alg::P256,
    );
    let any = strict_root.sub_with(
        Spec::ca(cn("Int"), None).with(ext::policies(&["2.5.29.32.0"])),
        Alg::P256,
    );
    let leaf = any.leaf_with(leaf_spec(&[POLICY]), Alg::P256);
    let v2 = store(&[&strict_root.cert]);
    fails(
        check(&v2, &leaf, &[any.cert.clone()], Some(&profile)),
        Reason::PolicyRequired,
        Some(1),
    );

    // requireExplicitPolicy(0) on the anchor with no profile policy: some policy must
    // run through the whole path.
    let explicit_root = Ca::root_with(
        Spec::ca(cn("Root"), None).with(ext::require_explicit_policy(0)),
        Alg::P256,
    );
    let v3 = store(&[&explicit_root.cert]);
    let int = explicit_root.sub_with(
        Spec::ca(cn("Int"), None).with(ext::policies(&[POLICY])),
        Alg::P256,
    );
    let with = int.leaf_with(leaf_spec(&[POLICY]), Alg::P256);
    check(&v3, &with, &[int.cert.clone()], None).unwrap();
    let without = int.leaf("leaf", Alg::P256);
    fails(
        check(&v3, &without, &[int.cert.clone()], None),
        Reason::PolicyRequired,
        None,
    );
}

#[test]
fn families() {
    let root = Ca::root("Root", Alg::P256);
    let leaf = root.leaf_with(
        Spec::leaf(cn("leaf")).valid(date(2024, 1, 1), date(2027, 1, 1)),
        Alg::P256,
    );
    let legacy = Family {
        cut_off: Some(date(2021, 1, 1)),
        ..Family::new("igc-cps")
    };
    let v = Validator::new(Arc::new(
        TrustStore::new(vec![(legacy, vec![root.cert.clone()])], true).unwrap(),
    ));
    fails(check(&v, &leaf, &[], None), Reason::FamilyCutOff, Some(0));
    let old = root.leaf_with(
        Spec::leaf(cn("leaf")).valid(date(2020, 6, 1), date(2027, 1, 1)),
        Alg::P256,
    );
    assert_eq!(check(&v, &old, &[], None).unwrap().family.name, "igc-cps");

    let mut profile = builtin("server-auth").unwrap();
    profile.families = vec!["igc-sante".into()];
    fails(
        check(&v, &old, &[], Some(&profile)),
        Reason::FamilyNotAllowed,
        Some(1),
    );
    profile.families.push("igc-cps".into());
    check(&v, &old, &[], Some(&profile)).unwrap();

    // The same root in two families: the allowed one is found.
    let both = TrustStore::new(
        vec![
            (family("a"), vec![root.cert.clone()]),
            (family("b"), vec![root.cert.clone()]),
        ],
        true,
    )
    .unwrap();
    assert_eq!(both.len(), 2);
    let v = Validator::new(Arc::new(both));
    profile.families = vec!["b".into()];
    assert_eq!(
        check(&v, &leaf, &[], Some(&profile)).unwrap().family.name,
        "b"
    );

    // A test family is refused in production, accepted otherwise.
    let test = Family {
        test: true,
        ..Family::new("test")
    };
    let e = TrustStore::new(vec![(test.clone(), vec![root.cert.clone()])], true).unwrap_err();
    assert_eq!(e.reason, Reason::FamilyNotAllowed);
    assert!(TrustStore::new(vec![(test, vec![root.cert.clone()])], false).is_ok());
}

#[test]
fn identities() {
    let (root, int, _) = chain(Alg::P256);
    let v = store(&[&root.cert]);
    let auth = builtin("ps-authentication").unwrap();
    let leaf = pro_leaf(&int, "810001045367", |s| s);
    let p = check(&v, &leaf, &[int.cert.clone()], Some(&auth)).unwrap();
    let Some(Identity::Professional(id)) = &p.identity else {
        panic!("no professional identity")
    };
    assert_eq!(id.idnat_ps.to_string(), "810001045367");
    assert_eq!(
        (
            id.name.as_str(),
            id.given_name.as_str(),
            id.profession.as_str()
        ),
        ("DUPONT", "JEAN", "Médecin")
    );
    assert_eq!(
        crate::identity::extract(&leaf).unwrap(),
        Identity::Professional(id.clone())
    );
    // Test card (8997…) identifiers are read even when their RPPS key is off.
    let test_card = pro_leaf(&int, "899700218896", |s| s);
    assert!(crate::identity::extract(&test_card).is_ok());

    let broken = pro_leaf(&int, "81000104536X", |s| s);
    fails(
        check(&v, &broken, &[int.cert.clone()], Some(&auth)),
        Reason::IdentityMissing,
        Some(0),
    );
    // A structure certificate is not a professional one.
    let structure = builtin("structure-client-auth").unwrap();
    fails(
        check(&v, &leaf, &[int.cert.clone()], Some(&structure)),
        Reason::IdentityMissing,
        Some(0),
    );
    // Without a required identity, a missing one is no failure.
    let plain = int.leaf("leaf", Alg::P256);
    assert!(
        check(&v, &plain, &[int.cert.clone()], None)
            .unwrap()
            .identity
            .is_none()
    );
    let e = crate::identity::extract(&plain).unwrap_err();
    assert_eq!(e.reason, Reason::IdentityMissing);
    assert_eq!(
        crate::identity::extract_as(&leaf, IdentityKind::Structure)
            .unwrap_err()
            .reason,
        Reason::IdentityMissing
    );
}

#[test]
fn peer_names() {
    let root = Ca::root("Root", Alg::P256);
    let v = store(&[&root.cert]);
    let leaf = root.leaf_with(
        Spec::leaf(cn("not-a-name.example.test")).with(ext::san(&[
            Gn::dns("*.svc.example.test"),
            Gn::dns("exact.example.test"),
            Gn::dns("10.0.0.9"),
            Gn::ip("192.0.2.7"),
            Gn::ip("2001:db8::1"),
        ])),
        Alg::P256,
    );
    let try_name = |n: &str| {
        let mut o = opts();
        o.peer_name = Some(n.into());
        v.validate(&leaf, &[], None, &o, &NoRevocation).map(|_| ())
    };
    for ok in [
        "a.svc.example.test",
        "A.SVC.example.test.",
        "exact.example.test",
        "192.0.2.7",
        "2001:db8::1",
        "[2001:db8::1]",
    ] {
        try_name(ok).unwrap_or_else(|f| panic!("{ok}: {f}"));
    }
    for bad in [
        "svc.example.test",
        "a.b.svc.example.test",
        "not-a-name.example.test",
        "10.0.0.9",
        "192.0.2.8",
        "other.test",
        "",
        "exa mple.test",
    ] {
        let f = try_name(bad).unwrap_err();
        assert_eq!(f.reason, Reason::NameMismatch, "{bad}");
        assert_eq!(f.index, Some(0));
    }
}

#[test]
fn leaf_that_is_an_anchor_and_self_signed_leaves() {
    let root = Ca::root("Root", Alg::P256);
    let v = store(&[&root.cert]);
    assert_eq!(check(&v, &root.cert, &[], None).unwrap().path.len(), 1);
    let lonely = Spec::leaf(cn("self")).self_sign(&Key::new(Alg::P256));
    let f = fails(
        check(&v, &lonely, &[], None),
        Reason::UntrustedRoot,
        Some(0),
    );
    assert!(f.detail.contains("self-issued"), "{f}");
}

#[test]
fn failure_display_and_codes() {
    let (_, int, leaf) = chain(Alg::P256);
    let v = store(&[&Ca::root("Else", Alg::P256).cert]);
    let f = check(&v, &leaf, &[int.cert.clone()], None).unwrap_err();
    assert!(f.to_string().starts_with("untrusted_root"), "{f}");
}
