//! Certificate validation benchmarks: cold 3-certificate P-256 chains against
//! `openssl verify` on the same chains, repeated chains through certval's result cache,
//! and a 1,000,000-entry CRL.

use std::{
    path::Path,
    process::Command,
    sync::{Arc, RwLock},
    time::Instant,
};

use anyhow::{Context as _, bail};
use egide_certval::{
    config::{CacheSettings, CertvalConfig, FamilySettings, RevocationSettings, UnknownStatus},
    revocation::{Revocations, fetch::Fetcher},
    trust::Trust,
    validation::Validations,
};
use egide_pki::{
    Certificate,
    crl::Crl,
    path::{NoRevocation, Options, Validator},
    trust::{Family, TrustStore},
};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa,
    KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};

/// Chains sharing one root: `leaves[i]` is issued by `intermediates[i % k]`.
pub struct Chains {
    /// The root, DER.
    pub root: Vec<u8>,
    /// Intermediates, DER.
    pub intermediates: Vec<Vec<u8>>,
    /// Leaves, DER.
    pub leaves: Vec<Vec<u8>>,
    /// PEM of the root, of every intermediate, and of each leaf.
    pub root_pem: String,
    /// PEM of the intermediates.
    pub intermediates_pem: String,
    /// PEM of each leaf.
    pub leaves_pem: Vec<String>,
}

impl Chains {
    /// The intermediate of leaf `i`.
    pub fn intermediate_of(&self, i: usize) -> &[u8] {
        &self.intermediates[i % self.intermediates.len()]
    }
}

fn ca_params(cn: &str) -> anyhow::Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    // AKI, which RFC 5280 requires and the validator checks.
    p.use_authority_key_identifier_extension = true;
    p.distinguished_name.push(DnType::CountryName, "FR");
    p.distinguished_name
        .push(DnType::OrganizationName, "ASIP-SANTE");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(p)
}

/// `n` P-256 leaves under `k` intermediates under one root.
pub fn make_chains(n: usize, k: usize) -> anyhow::Result<Chains> {
    let root_key = KeyPair::generate()?;
    let root_params = ca_params("TEST AC RACINE BENCH")?;
    let root = root_params.self_signed(&root_key)?;
    let root_issuer = rcgen::Issuer::new(root_params, root_key);
    let mut issuers = Vec::new();
    let mut intermediates = Vec::new();
    let mut intermediates_pem = String::new();
    for j in 0..k {
        let key = KeyPair::generate()?;
        let params = ca_params(&format!("TEST AC BENCH ORGANISATIONS {j}"))?;
        let cert = params.signed_by(&key, &root_issuer)?;
        intermediates.push(cert.der().to_vec());
        intermediates_pem.push_str(&cert.pem());
        issuers.push(rcgen::Issuer::new(params, key));
    }
    let mut leaves = Vec::with_capacity(n);
    let mut leaves_pem = Vec::with_capacity(n);
    let leaf_key = KeyPair::generate()?;
    for i in 0..n {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        // AKI, which RFC 5280 requires and the validator checks.
        p.use_authority_key_identifier_extension = true;
        p.distinguished_name.push(DnType::CountryName, "FR");
        p.distinguished_name
            .push(DnType::CommonName, format!("bench leaf {i}"));
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.serial_number = Some(SerialNumber::from_slice(&(i as u64 + 1).to_be_bytes()));
        let cert = p.signed_by(&leaf_key, &issuers[i % k])?;
        leaves.push(cert.der().to_vec());
        leaves_pem.push(cert.pem());
    }
    Ok(Chains {
        root: root.der().to_vec(),
        root_pem: root.pem(),
        intermediates,
        intermediates_pem,
        leaves,
        leaves_pem,
    })
}

fn validator(chains: &Chains) -> anyhow::Result<Validator> {
    let root = Certificate::from_der(chains.root.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let family = Family {
        test: true,
        ..Family::new("BENCH")
    };
    let store =
        TrustStore::new(vec![(family, vec![root])], false).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Validator::new(Arc::new(store)))
}

/// Cold validations per second on one thread: each chain's leaf and intermediate are
/// parsed anew and both signatures verified (the root is the anchor, trusted as is, as
/// OpenSSL does).
pub fn engine_cold_rate(chains: &Chains) -> anyhow::Result<f64> {
    let validator = validator(chains)?;
    let options = Options::at(time::OffsetDateTime::now_utc());
    let start = Instant::now();
    for (i, leaf) in chains.leaves.iter().enumerate() {
        let leaf = Certificate::from_der(leaf.as_slice()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let inter =
            Certificate::from_der(chains.intermediate_of(i)).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Err(f) = validator.validate(&leaf, &[inter], None, &options, &NoRevocation) {
            bail!("chain {i} not valid: {} {}", f.reason.code(), f.detail);
        }
    }
    Ok(chains.leaves.len() as f64 / start.elapsed().as_secs_f64())
}

/// `openssl verify` over the same chains, all leaves in one process (its start-up, timed
/// with one leaf, is subtracted).
pub fn openssl_rate(chains: &Chains, dir: &Path) -> anyhow::Result<f64> {
    std::fs::create_dir_all(dir)?;
    let root = dir.join("root.pem");
    let inters = dir.join("intermediates.pem");
    std::fs::write(&root, &chains.root_pem)?;
    std::fs::write(&inters, &chains.intermediates_pem)?;
    let mut leaves = Vec::new();
    for (i, pem) in chains.leaves_pem.iter().enumerate() {
        let f = dir.join(format!("leaf{i}.pem"));
        std::fs::write(&f, pem)?;
        leaves.push(f);
    }
    let run = |files: &[std::path::PathBuf]| -> anyhow::Result<f64> {
        let start = Instant::now();
        let out = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(&root)
            .arg("-untrusted")
            .arg(&inters)
            .args(files)
            .output()
            .context("running openssl")?;
        let elapsed = start.elapsed().as_secs_f64();
        let ok = String::from_utf8_lossy(&out.stdout).matches(": OK").count();
        if !out.status.success() || ok != files.len() {
            bail!(
                "openssl verify: {} of {} OK: {}",
                ok,
                files.len(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(elapsed)
    };
    let one = (0..3)
        .map(|_| run(&leaves[..1]))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let one = one.into_iter().fold(f64::INFINITY, f64::min);
    let all = run(&leaves)?;
    Ok((leaves.len() - 1) as f64 / (all - one).max(1e-9))
}

/// OpenSSL's raw P-256 verification rate on one core (`openssl speed ecdsap256`): a
/// 3-certificate chain costs two verifications, so half of it is what signatures alone
/// allow with OpenSSL's P-256 code (aws-lc's may be faster).
pub fn openssl_p256_verify_rate() -> anyhow::Result<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "ecdsap256"])
        .output()
        .context("running openssl speed")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("ecdsa (nistp256)"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .context("no nistp256 line in openssl speed's output")
}

/// Repeated validations of the same chains through certval's validation (parse, cache
/// key, cache hit), on `threads` threads.
pub async fn cached_rate(chains: &Chains, dir: &Path, seconds: f64) -> anyhow::Result<f64> {
    std::fs::create_dir_all(dir)?;
    let root = dir.join("cache-root.pem");
    std::fs::write(&root, &chains.root_pem)?;
    let mut config = CertvalConfig::new(egide_kit::config::ServiceConfig::local_defaults(0));
    config.trust.production = false;
    config.trust.families = vec![FamilySettings {
        name: "BENCH".into(),
        anchors: vec![root.display().to_string()],
        intermediates: Vec::new(),
        test: true,
        cut_off: None,
        ..Default::default()
    }];
    let trust = Trust::load(&config)?;
    let revocations = Arc::new(Revocations::default());
    let settings = RevocationSettings {
        fetch_crls: false,
        ocsp: false,
        ..RevocationSettings::default()
    };
    let fetcher = Arc::new(Fetcher::new(
        sea_orm::DatabaseConnection::Disconnected,
        revocations.clone(),
        settings,
    )?);
    let validations = Arc::new(Validations::new(
        Arc::new(RwLock::new(Arc::new(trust))),
        revocations,
        fetcher,
        UnknownStatus::Allow,
        &CacheSettings::default(),
    ));
    let sample: Vec<(Vec<u8>, [Vec<u8>; 1])> = chains
        .leaves
        .iter()
        .take(256)
        .enumerate()
        .map(|(i, l)| (l.clone(), [chains.intermediate_of(i).to_vec()]))
        .collect();
    for (leaf, inter) in &sample {
        let o = validations.validate(leaf, inter, None, None).await?;
        if o.result.is_err() {
            bail!("bench chain not valid");
        }
    }
    let sample = Arc::new(sample);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let deadline = Instant::now() + std::time::Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..threads {
        let v = validations.clone();
        let s = sample.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut i = t;
            while Instant::now() < deadline {
                for _ in 0..64 {
                    let (leaf, inter) = &s[i % s.len()];
                    let _ = v.validate(leaf, inter, None, None).await;
                    i += 1;
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await?;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// A CRL of `n` entries signed by a P-256 CA: (CA DER, CRL DER).
pub fn make_crl(n: usize) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let key = KeyPair::generate()?;
    let params = ca_params("TEST AC BENCH CRL")?;
    let ca = params.self_signed(&key)?;
    let issuer = rcgen::Issuer::new(params, key);
    let now = time::OffsetDateTime::now_utc();
    let revoked = (0..n)
        .map(|i| RevokedCertParams {
            serial_number: SerialNumber::from_slice(&(i as u64 * 7 + 1_000_003).to_be_bytes()),
            revocation_time: now - time::Duration::hours(1),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        })
        .collect();
    let crl = CertificateRevocationListParams {
        this_update: now - time::Duration::hours(1),
        next_update: now + time::Duration::days(1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)?;
    Ok((ca.der().to_vec(), crl.der().to_vec()))
}

/// Loads a CRL (parse, signature, index): (seconds, entries, lookups per second).
pub fn crl_load(ca: &[u8], der: &[u8]) -> anyhow::Result<(f64, usize, f64)> {
    let ca = Certificate::from_der(ca.to_vec()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = Instant::now();
    let crl = Crl::parse_verified(der, &ca).map_err(|e| anyhow::anyhow!("{e}"))?;
    let load = start.elapsed().as_secs_f64();
    let n = crl.len();
    let lookups = 2_000_000u64;
    let start = Instant::now();
    let mut hits = 0u64;
    for i in 0..lookups {
        // Half present (i * 7 + 1_000_003 for i < n), half absent.
        let serial = if i % 2 == 0 {
            (i / 2) * 7 + 1_000_003
        } else {
            i * 7 + 2
        };
        let bytes = serial.to_be_bytes();
        let start_at = bytes.iter().position(|b| *b != 0).unwrap_or(7);
        let mut s = bytes[start_at..].to_vec();
        if s[0] & 0x80 != 0 {
            s.insert(0, 0);
        }
        hits += u64::from(crl.revoked(&s).is_some());
    }
    let rate = lookups as f64 / start.elapsed().as_secs_f64();
    if hits < lookups / 2 - 1 {
        bail!(
            "CRL lookups found {hits} of {} revoked serials",
            lookups / 2
        );
    }
    Ok((load, n, rate))
}
