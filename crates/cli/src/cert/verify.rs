//! `egide cert verify`: the validation engine over files, offline.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex},
};

use clap::Args;
use egide_pki::{
    Certificate,
    crl::Crl,
    identity::Identity,
    path::{Options, RevocationChecker, RevocationStatus, Validator},
    pem,
    purpose::{self, Profile},
    trust::{Family, TrustStore},
};
use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// `egide cert verify` arguments.
#[derive(Args)]
pub struct VerifyArgs {
    /// Trust anchors (PEM with one or more certificates, or DER).
    #[arg(long = "anchor", required = true, num_args = 1..)]
    anchors: Vec<PathBuf>,
    /// Candidate intermediates, in any order (PEM files may hold several).
    #[arg(long = "intermediate", num_args = 1..)]
    intermediates: Vec<PathBuf>,
    /// CRLs: when given, every certificate of the path must be covered by a current CRL
    /// of its issuer (one that does not parse is skipped with a warning).
    #[arg(long = "crl", num_args = 1..)]
    crls: Vec<PathBuf>,
    /// The certificate to validate.
    #[arg(long)]
    leaf: PathBuf,
    /// A named purpose.
    #[arg(long, conflicts_with = "ekus", value_parser = clap::builder::PossibleValuesParser::new(purpose::PURPOSES))]
    purpose: Option<String>,
    /// Extended key usage OIDs the leaf must carry (instead of a purpose).
    #[arg(long = "eku", num_args = 1..)]
    ekus: Vec<String>,
    /// Certificate policy OIDs the path must assert.
    #[arg(long = "policy", num_args = 1..)]
    policies: Vec<String>,
    /// A DNS name or IP address the leaf must be valid for, as TLS clients check.
    #[arg(long)]
    peer_name: Option<String>,
    /// Most intermediates between the leaf and the anchor, self-issued ones not counted
    /// (as `openssl verify -verify_depth`); 0: the leaf's issuer must be an anchor.
    #[arg(long)]
    max_depth: Option<usize>,
    /// Validation time (RFC 3339); now by default.
    #[arg(long)]
    at: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Runs `egide cert verify`.
pub fn run(args: &VerifyArgs) -> ExitCode {
    match verify(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("egide cert verify: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let at = match &args.at {
        Some(s) => {
            OffsetDateTime::parse(s, &Rfc3339).map_err(|e| anyhow::anyhow!("--at {s}: {e}"))?
        }
        None => OffsetDateTime::now_utc(),
    };
    let anchors = certs(&args.anchors, "--anchor")?;
    let pool = candidates(&args.intermediates)?;
    let mut crls = Vec::new();
    for f in &args.crls {
        for der in pem::decode_all(&read(f)?, "X509 CRL")
            .map_err(|e| anyhow::anyhow!("--crl {}: {e}", f.display()))?
        {
            // CRLs are candidates too: one that is unusable (no cRLNumber, a critical
            // one, a delta CRL…) is skipped with a warning, and a certificate it alone
            // would cover has no known status (revocation_unknown).
            match Crl::parse_unverified(&der) {
                Ok(_) => crls.push(der),
                Err(e) => eprintln!(
                    "warning: --crl {}: CRL skipped ({}): {}",
                    f.display(),
                    e.reason.code(),
                    e.detail
                ),
            }
        }
    }
    let profile = match (
        &args.purpose,
        args.ekus.is_empty(),
        args.policies.is_empty(),
    ) {
        (Some(p), _, _) => {
            let mut profile =
                purpose::builtin(p).ok_or_else(|| anyhow::anyhow!("--purpose {p}: unknown"))?;
            profile.policies.extend(args.policies.iter().cloned());
            Some(profile)
        }
        (None, true, true) => None,
        (None, _, _) => Some(Profile {
            name: "command-line".into(),
            extended_key_usages: args.ekus.clone(),
            key_usages: Vec::new(),
            policies: args.policies.clone(),
            families: Vec::new(),
            identity: None,
            check_revocation: true,
            web_pki: false,
        }),
    };
    let family = Family::new("command-line");
    // An anchor that parses but cannot anchor a path (not a CA…) refuses the
    // validation with its reason, exit 1; only unreadable input is a usage error.
    let store = match TrustStore::new(vec![(family, anchors)], false) {
        Ok(store) => store,
        Err(e) => {
            let detail = format!("--anchor: {}", e.detail);
            return Ok(refuse(args.json, e.reason.code(), &detail, None, &[]));
        }
    };
    let validator = Validator::new(Arc::new(store));
    let leaf_bytes = read(&args.leaf)?;
    let leaf = pem::decode_all(&leaf_bytes, "CERTIFICATE")
        .map_err(|e| egide_pki::Error::new(e.reason, e.detail))
        .and_then(|mut all| {
            if all.is_empty() {
                Err(egide_pki::Error::new(
                    egide_pki::Reason::MalformedCertificate,
                    "no certificate",
                ))
            } else {
                Certificate::from_der(all.swap_remove(0))
            }
        });
    let leaf = match leaf {
        Ok(leaf) => leaf,
        Err(e) => {
            return Ok(refuse(
                args.json,
                e.reason.code(),
                &format!("leaf: {}", e.detail),
                Some(0),
                &[],
            ));
        }
    };
    let mut options = Options::at(at);
    options.peer_name = args.peer_name.clone();
    // The caller's own files: the whole pool is searched (a service caps what a client
    // sends), the signature and step budgets still bound the work.
    options.max_intermediates = options.max_intermediates.max(pool.len());
    if let Some(depth) = args.max_depth {
        options.max_depth = depth;
    }
    let checker = CrlChecker {
        crls,
        verified: Mutex::default(),
    };
    // --crl given: revocation is checked, even if every CRL given was skipped.
    let result = if args.crls.is_empty() {
        validator.validate(
            &leaf,
            &pool,
            profile.as_ref(),
            &options,
            &egide_pki::path::NoRevocation,
        )
    } else {
        validator.validate(&leaf, &pool, profile.as_ref(), &options, &checker)
    };
    match result {
        Ok(valid) => {
            let revocation = if args.crls.is_empty() {
                "not checked"
            } else {
                "CRL"
            };
            if args.json {
                let out = json!({
                    "valid": true,
                    "path": valid.path.iter().map(summary).collect::<Vec<_>>(),
                    "identity": valid.identity.as_ref().map(identity),
                    "revocation": revocation,
                });
                println!("{out:#}");
            } else {
                println!("valid");
                for (i, c) in valid.path.iter().enumerate() {
                    println!("  {i}  {}", c.subject());
                }
                if let Some(id) = &valid.identity {
                    println!("  identity  {}", identity(id));
                }
                println!("  revocation  {revocation}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => Ok(refuse(
            args.json,
            f.reason.code(),
            &f.detail,
            f.index,
            &f.path,
        )),
    }
}

fn refuse(
    json: bool,
    code: &str,
    detail: &str,
    index: Option<usize>,
    path: &[Certificate],
) -> ExitCode {
    if json {
        let out = json!({
            "valid": false,
            "reason": code,
            "detail": detail,
            "failing_index": index,
            "path": path.iter().map(summary).collect::<Vec<_>>(),
        });
        println!("{out:#}");
    } else {
        println!("invalid: {code}");
        println!("  {detail}");
    }
    ExitCode::from(1)
}

fn summary(c: &Certificate) -> serde_json::Value {
    json!({
        "subject": c.subject(),
        "issuer": c.issuer(),
        "serial_hex": c.serial_hex(),
        "sha256_hex": c.sha256_hex(),
        "not_before": c.not_before().format(&Rfc3339).unwrap_or_default(),
        "not_after": c.not_after().format(&Rfc3339).unwrap_or_default(),
    })
}

fn identity(i: &Identity) -> serde_json::Value {
    match i {
        Identity::Professional(p) => json!({
            "professional": { "idnat_ps": p.idnat_ps.to_string(), "name": p.name, "given_name": p.given_name, "profession": p.profession }
        }),
        Identity::Structure(s) => json!({
            "structure": { "idnat_struct": s.idnat_struct.to_string(), "organisation": s.organisation, "application": s.application, "departement": s.departement }
        }),
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn certs(files: &[PathBuf], flag: &str) -> anyhow::Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for f in files {
        for der in pem::decode_all(&read(f)?, "CERTIFICATE")
            .map_err(|e| anyhow::anyhow!("{flag} {}: {e}", f.display()))?
        {
            out.push(
                Certificate::from_der(der)
                    .map_err(|e| anyhow::anyhow!("{flag} {}: {e}", f.display()))?,
            );
        }
    }
    Ok(out)
}

/// The `--intermediate` certificates: candidates, so one that does not parse is skipped
/// with a warning (as OpenSSL does with its untrusted stack), not a usage error.
fn candidates(files: &[PathBuf]) -> anyhow::Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for f in files {
        let ders = pem::decode_all(&read(f)?, "CERTIFICATE")
            .map_err(|e| anyhow::anyhow!("--intermediate {}: {e}", f.display()))?;
        let found = egide_pki::Candidates::parse(ders);
        for skipped in &found.skipped {
            eprintln!(
                "warning: --intermediate {}: certificate {} skipped ({}): {}",
                f.display(),
                skipped.index,
                skipped.reason.code(),
                skipped.detail
            );
        }
        out.extend(found.usable);
    }
    Ok(out)
}

/// (CRL index, issuer SHA-256) → that CRL verified with that issuer, or not.
type VerifiedCrls = HashMap<(usize, [u8; 32]), Option<Arc<Crl>>>;

/// Revocation from the CRLs given: a certificate with no current CRL of its issuer has an
/// unknown status (as `openssl verify -crl_check_all`).
struct CrlChecker {
    crls: Vec<Vec<u8>>,
    /// (CRL index, issuer SHA-256) → the CRL verified with that issuer, or not.
    verified: Mutex<VerifiedCrls>,
}

impl RevocationChecker for CrlChecker {
    fn check(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        at: OffsetDateTime,
    ) -> RevocationStatus {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (i, der) in self.crls.iter().enumerate() {
            let crl = verified
                .entry((i, issuer.sha256()))
                .or_insert_with(|| Crl::parse_verified(der, issuer).ok().map(Arc::new));
            let Some(crl) = crl else { continue };
            // The issuer's own subject, not the child's issuer field: the two may be
            // the same name spelt otherwise (RFC 5280 §7.1), and the CRL is verified
            // with this issuer's key above.
            if !egide_pki::names::same_name(crl.issuer_der(), issuer.subject_der())
                || !crl.is_current(at)
                || !crl.covers(cert)
            {
                continue;
            }
            return crl.status(cert.serial(), at);
        }
        RevocationStatus::Unknown
    }
}
