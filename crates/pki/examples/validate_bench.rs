//! Cold validation throughput of 3-certificate P-256 chains (root -> intermediate ->
//! leaf), one core: each round parses the leaf and the intermediate from DER and
//! validates against a trust store holding the root (2 ECDSA verifications), with
//! the server-auth profile and a peer name. Then, when `openssl` is on the PATH,
//! `openssl verify` on the same chains for comparison.
//!
//! `cargo run --release -p egide-pki --example validate_bench [leaves] [rounds]`

use std::error::Error;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use egide_pki::purpose::builtin;
use egide_pki::{Certificate, Family, NoRevocation, Options, TrustStore, Validator};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

fn ca_params(cn: &str) -> Result<CertificateParams, Box<dyn Error>> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    // AKI, which RFC 5280 requires and the validator checks.
    p.use_authority_key_identifier_extension = true;
    p.distinguished_name.push(DnType::CountryName, "FR");
    p.distinguished_name
        .push(DnType::OrganizationName, "Egide bench");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    p.not_after = OffsetDateTime::now_utc() + Duration::days(365);
    Ok(p)
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let leaves: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);

    let root_key = KeyPair::generate()?;
    let root_params = ca_params("Bench Root")?;
    let root = root_params.self_signed(&root_key)?;
    let root_issuer = Issuer::new(root_params, root_key);
    let int_key = KeyPair::generate()?;
    let int_params = ca_params("Bench Intermediate")?;
    let int = int_params.signed_by(&int_key, &root_issuer)?;
    let int_issuer = Issuer::new(int_params, int_key);

    let mut leaf_ders = Vec::with_capacity(leaves);
    let mut leaf_pems = String::new();
    for i in 0..leaves {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(vec![format!("host{i}.example.test")])?;
        // AKI, which RFC 5280 requires and the validator checks.
        p.use_authority_key_identifier_extension = true;
        p.distinguished_name
            .push(DnType::CommonName, format!("host{i}.example.test"));
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        p.not_after = OffsetDateTime::now_utc() + Duration::days(90);
        let leaf = p.signed_by(&key, &int_issuer)?;
        leaf_pems.push_str(&leaf.pem());
        leaf_ders.push(leaf.der().to_vec());
    }
    let int_der = int.der().to_vec();

    let family = Family::new("bench");
    let store = TrustStore::new(
        vec![(family, vec![Certificate::from_der(root.der().to_vec())?])],
        true,
    )?;
    let validator = Validator::new(Arc::new(store));
    let profile = builtin("server-auth");
    let mut options = Options::now();

    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for (i, der) in leaf_ders.iter().enumerate() {
            let leaf = Certificate::from_der(der.as_slice())?;
            let int = Certificate::from_der(int_der.as_slice())?;
            options.peer_name = Some(format!("host{i}.example.test"));
            validator
                .validate(&leaf, &[int], profile.as_ref(), &options, &NoRevocation)
                .map_err(|f| f.to_string())?;
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "egide-pki: {leaves} chains in {:.1} ms (best of {rounds}): {:.0} chains/s, {:.1} µs/chain",
        best * 1e3,
        leaves as f64 / best,
        best * 1e6 / leaves as f64
    );

    // The same chains through `openssl verify` (one process for all leaves, so
    // its start-up is amortised; it too checks 2 signatures per chain).
    let dir = std::env::temp_dir().join(format!("egide-pki-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("root.pem"), root.pem())?;
    std::fs::write(dir.join("int.pem"), int.pem())?;
    let mut names = Vec::with_capacity(leaves);
    for (i, pem) in leaf_pems
        .split_inclusive("-----END CERTIFICATE-----\n")
        .enumerate()
    {
        let path = dir.join(format!("leaf{i}.pem"));
        std::fs::File::create(&path)?.write_all(pem.as_bytes())?;
        names.push(path);
    }
    let run = || {
        std::process::Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(dir.join("root.pem"))
            .arg("-untrusted")
            .arg(dir.join("int.pem"))
            .arg("-purpose")
            .arg("sslserver")
            .args(&names)
            .output()
    };
    let mut best_openssl = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        match run() {
            Ok(out) if out.status.success() => {
                best_openssl = best_openssl.min(start.elapsed().as_secs_f64());
            }
            Ok(out) => {
                println!(
                    "openssl verify failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                break;
            }
            Err(e) => {
                println!("openssl not run: {e}");
                break;
            }
        }
    }
    if best_openssl < f64::MAX {
        println!(
            "openssl verify: {leaves} chains in {:.1} ms (best of {rounds}, one process, file reading included): {:.0} chains/s",
            best_openssl * 1e3,
            leaves as f64 / best_openssl
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
