//! Builds a signed CRL of 1,000,000 entries (P-256 CA), then measures what the
//! issue's target is about: load time (parse + signature check + index) and
//! lookups per second.
//!
//! `cargo run --release -p egide-pki --example crl_1m [entries]`

use std::error::Error;
use std::time::Instant;

use egide_pki::Certificate;
use egide_pki::crl::Crl;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, SigningKey,
};

#[path = "../src/crl/der_write.rs"]
mod der_write;
use der_write::{self as w, seq};

/// Deterministic serials: 16 bytes, like the random serials CAs issue.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn serial(&mut self) -> [u8; 16] {
        let mut s = [0u8; 16];
        s[..8].copy_from_slice(&self.next().to_be_bytes());
        s[8..].copy_from_slice(&self.next().to_be_bytes());
        s[0] = (s[0] & 0x7f) | 0x01; // positive, minimal
        s
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() -> Result<(), Box<dyn Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(Ok(1_000_000), |a| a.parse())?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CountryName, "FR");
    params.distinguished_name.push(
        DnType::CommonName,
        "TEST AC IGC-SANTE ELEMENTAIRE PERSONNES",
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = Certificate::from_der(params.self_signed(&key)?.der().to_vec())?;

    let started = Instant::now();
    let now = 1_750_000_000i64;
    let mut rng = SplitMix(42);
    let mut entries = Vec::with_capacity(n * 48);
    for i in 0..n {
        let serial = rng.serial();
        let revoked_at = now - (i as i64 % 1_000) * 86_400;
        // A third of the entries carry a reasonCode, as real CRLs often do.
        let exts = if i % 3 == 0 {
            let reason = w::tlv(0x0a, &[(i % 6) as u8]);
            seq(&[&w::extension(&[0x55, 0x1d, 0x15], false, &reason)])
        } else {
            Vec::new()
        };
        der_write::push_tlv(
            &mut entries,
            0x30,
            &[w::int_bytes(&serial), w::time(revoked_at), exts].concat(),
        );
    }
    let alg = seq(&[&w::oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])]);
    let number = w::extension(&[0x55, 0x1d, 0x14], false, &w::uint(7));
    let tbs = seq(&[
        &w::uint(1),
        &alg,
        ca.subject_der(),
        &w::time(now - 3_600),
        &w::time(now + 86_400),
        &w::tlv(0x30, &entries),
        &w::cons(0xa0, &[&seq(&[&number])]),
    ]);
    drop(entries);
    let signature = key.sign(&tbs)?;
    let der = seq(&[&tbs, &alg, &w::bits(&signature)]);
    drop(tbs);
    println!(
        "built a {n}-entry CRL: {:.1} MiB in {:.2?}",
        der.len() as f64 / 1_048_576.0,
        started.elapsed()
    );

    let rss_before = rss_mib();
    let started = Instant::now();
    let crl = Crl::parse_verified(&der, &ca)?;
    let load = started.elapsed();
    let rss_after = rss_mib();
    println!(
        "parse_verified (parse + signature + index): {load:.2?} for {} serials (target < 2 s); RSS +{:.0} MiB",
        crl.len(),
        rss_after - rss_before
    );
    let started = Instant::now();
    let unverified = Crl::parse_unverified(&der)?;
    println!("parse_unverified: {:.2?}", started.elapsed());
    drop(unverified);

    // Lookups: every listed serial (hits), then as many unlisted ones (misses).
    let mut rng = SplitMix(42);
    let hits: Vec<[u8; 16]> = (0..n).map(|_| rng.serial()).collect();
    let mut other = SplitMix(4242);
    let misses: Vec<[u8; 16]> = (0..n).map(|_| other.serial()).collect();
    let started = Instant::now();
    let found = hits
        .iter()
        .filter(|s| crl.revoked(&s[..]).is_some())
        .count();
    let hit_time = started.elapsed();
    let started = Instant::now();
    let false_hits = misses
        .iter()
        .filter(|s| crl.revoked(&s[..]).is_some())
        .count();
    let miss_time = started.elapsed();
    if found != n || false_hits != 0 {
        return Err(
            format!("lookup mismatch: {found} hits of {n}, {false_hits} false hits").into(),
        );
    }
    println!(
        "lookups: {:.1} M/s on revoked serials, {:.1} M/s on others",
        n as f64 / hit_time.as_secs_f64() / 1e6,
        n as f64 / miss_time.as_secs_f64() / 1e6
    );
    Ok(())
}
