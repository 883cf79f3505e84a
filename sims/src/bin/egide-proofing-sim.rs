//! `egide-proofing-sim`: the identity-proofing provider simulator (see
//! `egide_sims::proofing`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use egide_sims::proofing::{self, DEFAULT_ISSUER, DEFAULT_KID, ProofingConfig};

/// A simulator of a France Identité-like identity-proofing provider: signs
/// the attestations it is asked for. Not a real provider.
#[derive(Parser, Debug)]
#[command(name = "egide-proofing-sim", version)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Also write the bound address to this file.
    #[arg(long)]
    addr_file: Option<PathBuf>,
    /// The attestations' issuer (`iss`).
    #[arg(long, default_value = DEFAULT_ISSUER)]
    issuer: String,
    /// The signing key's id (`kid`).
    #[arg(long, default_value = DEFAULT_KID)]
    kid: String,
    /// PKCS#8 PEM signing key (P-256 or Ed25519); a P-256 key is generated
    /// and written here (mode 0600) if the file does not exist. Without it,
    /// a key lives in memory only.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Write the public key (SubjectPublicKeyInfo PEM) here at start.
    #[arg(long)]
    public_key_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(egide_sims::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    egide_sims::init_logging();
    let key = match &args.key {
        Some(path) => match proofing::load_or_generate_key(path) {
            Ok((key, generated)) => {
                if generated {
                    tracing::info!(path = %path.display(), "generated a P-256 signing key");
                }
                key
            }
            Err(e) => {
                eprintln!("egide-proofing-sim: {e:#}");
                return ExitCode::from(egide_sims::EXIT_USAGE);
            }
        },
        None => egide_attest::SigningKey::generate(egide_attest::Algorithm::Es256),
    };
    if args.issuer.is_empty() || args.kid.is_empty() {
        eprintln!("egide-proofing-sim: --issuer and --kid must not be empty");
        return ExitCode::from(egide_sims::EXIT_USAGE);
    }
    match run(args, key) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("egide-proofing-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run(args: Args, key: egide_attest::SigningKey) -> anyhow::Result<()> {
    if let Some(path) = &args.public_key_out {
        std::fs::write(path, key.verifying_key().to_public_key_pem())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    egide_sims::announce(addr, args.addr_file.as_deref())?;
    tracing::info!(%addr, issuer = %args.issuer, kid = %args.kid, alg = %key.algorithm(), "proofing simulator ready");
    let config = ProofingConfig {
        issuer: args.issuer,
        kid: args.kid,
        key,
    };
    proofing::serve(listener, config, egide_sims::shutdown_signal()).await?;
    tracing::info!("proofing simulator stopped");
    Ok(())
}
