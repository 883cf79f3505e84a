//! `egide cert verify` as a user runs it: files in, exit code and JSON out (0 valid, 1
//! refused with a reason, 2 unusable input).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Command};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, SerialNumber,
};
use serde_json::Value;

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(vec!["leaf.example.test".to_owned()]).unwrap();
    p.use_authority_key_identifier_extension = true;
    p.distinguished_name.push(DnType::CommonName, cn);
    if ca {
        p.subject_alt_names.clear();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    p
}

fn root() -> Ca {
    let key = KeyPair::generate().unwrap();
    let p = params("Test root", true);
    let pem = p.self_signed(&key).unwrap().pem();
    Ca {
        pem,
        issuer: Issuer::new(p, key),
    }
}

fn sub(parent: &Ca, cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let p = params(cn, true);
    let pem = p.signed_by(&key, &parent.issuer).unwrap().pem();
    Ca {
        pem,
        issuer: Issuer::new(p, key),
    }
}

fn leaf(parent: &Ca) -> String {
    let key = KeyPair::generate().unwrap();
    params("leaf", false)
        .signed_by(&key, &parent.issuer)
        .unwrap()
        .pem()
}

fn crl(ca: &Ca) -> String {
    let now = time::OffsetDateTime::now_utc();
    CertificateRevocationListParams {
        this_update: now - time::Duration::hours(1),
        next_update: now + time::Duration::days(1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca.issuer)
    .unwrap()
    .pem()
    .unwrap()
}

/// Runs `egide cert verify --json` with `args` (file names relative to `dir`).
fn verify(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_egide"))
        .current_dir(dir)
        .args(["cert", "verify", "--json"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap(), json, stderr)
}

fn refused(result: (i32, Value, String), reason: &str) {
    let (code, json, stderr) = result;
    assert_eq!(code, 1, "{json} {stderr}");
    assert_eq!(json["valid"], false);
    assert_eq!(json["reason"], reason, "{json}");
}

#[test]
fn verify_answers_with_exit_codes_reasons_and_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, pem: &str| std::fs::write(dir.path().join(name), pem).unwrap();
    let root = root();
    let int = sub(&root, "Test intermediate");
    write("root.pem", &root.pem);
    write("int.pem", &int.pem);
    write("leaf.pem", &leaf(&int));
    // 20 unrelated CAs and the right one: a pool larger than a service takes.
    let mut pool: String = (0..20)
        .map(|i| sub(&root, &format!("Other {i}")).pem)
        .collect();
    pool.push_str(&int.pem);
    write("pool.pem", &pool);
    write("crls.pem", &(crl(&root) + &crl(&int)));
    write("int-crl.pem", &crl(&int));
    write(
        "broken-crl.pem",
        "-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n",
    );
    let base = ["--anchor", "root.pem", "--leaf", "leaf.pem"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&base[..], extra].concat() };

    let (code, json, _) = verify(dir.path(), &with(&["--intermediate", "pool.pem"]));
    assert_eq!((code, &json["valid"]), (0, &Value::Bool(true)), "{json}");
    assert_eq!(json["path"].as_array().unwrap().len(), 3);

    // Depth counts intermediates: 1 passes, 0 is exhausted.
    let (code, ..) = verify(
        dir.path(),
        &with(&["--intermediate", "int.pem", "--max-depth", "1"]),
    );
    assert_eq!(code, 0);
    refused(
        verify(
            dir.path(),
            &with(&["--intermediate", "int.pem", "--max-depth", "0"]),
        ),
        "path_budget_exceeded",
    );

    // CRLs: both issuers covered passes; the intermediate's alone leaves the
    // intermediate unknown; an unusable CRL is skipped with a warning.
    let (code, json, _) = verify(
        dir.path(),
        &with(&["--intermediate", "int.pem", "--crl", "crls.pem"]),
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["revocation"], "CRL");
    refused(
        verify(
            dir.path(),
            &with(&["--intermediate", "int.pem", "--crl", "int-crl.pem"]),
        ),
        "revocation_unknown",
    );
    let result = verify(
        dir.path(),
        &with(&["--intermediate", "int.pem", "--crl", "broken-crl.pem"]),
    );
    assert!(result.2.contains("warning: --crl"), "{}", result.2);
    refused(result, "revocation_unknown");

    // An anchor that is no CA refuses; a file that does not exist is a usage error.
    let (code, json, _) = verify(dir.path(), &["--anchor", "leaf.pem", "--leaf", "leaf.pem"]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["reason"], "not_a_ca");
    let (code, ..) = verify(dir.path(), &["--anchor", "nope.pem", "--leaf", "leaf.pem"]);
    assert_eq!(code, 2);
}
