//! `egide-mail-sim`: the SMTP relay simulator (see `egide_sims::smtp`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use egide_sims::smtp::{self, SmtpConfig};

/// A simulator of an SMTP relay: accepts every message and writes it to
/// DIR as an .eml file instead of delivering it. Not a real relay.
#[derive(Parser, Debug)]
#[command(name = "egide-mail-sim", version)]
struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Also write the bound address to this file.
    #[arg(long)]
    addr_file: Option<PathBuf>,
    /// Directory the captured messages are written to (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Host name announced in the greeting.
    #[arg(long, default_value = "mail-sim.egide.test")]
    hostname: String,
    /// Largest accepted message, in bytes.
    #[arg(long, default_value_t = smtp::DEFAULT_MAX_MESSAGE_BYTES)]
    max_message_bytes: usize,
    /// Most recipients per message.
    #[arg(long, default_value_t = smtp::DEFAULT_MAX_RECIPIENTS)]
    max_recipients: usize,
    /// Seconds a session may stay silent before it is closed.
    #[arg(long, default_value_t = smtp::DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle_timeout_secs: u64,
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
    if args.max_message_bytes == 0 || args.max_recipients == 0 || args.idle_timeout_secs == 0 {
        eprintln!("egide-mail-sim: limits and the idle timeout must be positive");
        return ExitCode::from(egide_sims::EXIT_USAGE);
    }
    egide_sims::init_logging();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("egide-mail-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    egide_sims::announce(addr, args.addr_file.as_deref())?;
    tracing::info!(%addr, dir = %args.dir.display(), "mail relay simulator ready");
    let config = SmtpConfig {
        dir: args.dir,
        hostname: args.hostname,
        max_message_bytes: args.max_message_bytes,
        max_recipients: args.max_recipients,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
    };
    smtp::serve(listener, config, egide_sims::shutdown_signal()).await?;
    tracing::info!("mail relay simulator stopped");
    Ok(())
}
