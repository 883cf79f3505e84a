//! `egide`: the command for people — the local dev stack, status, and clients of the
//! platform's APIs.
#![forbid(unsafe_code)]

mod client;
mod dev;
mod endpoints;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "egide",
    version,
    about = "Égide: the trust platform for digital health identity"
)]
struct Cli {
    /// The project's run directory (written by `egide dev up`).
    #[arg(long, global = true, env = "EGIDE_RUN_DIR", default_value = ".run")]
    run_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The local development stack.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Health of every service, readable.
    Status,
    /// Structures (hospitals, practices) known to enrolment.
    Structure {
        #[command(subcommand)]
        command: client::StructureCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: client::AuditCommand,
    },
}

#[derive(Subcommand)]
enum DevCommand {
    /// Starts NATS, PostgreSQL and OpenBao on loopback with data under the run directory,
    /// bootstraps Vault, starts every service and the gateway, and stops them on Ctrl-C.
    Up(dev::UpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("egide: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Dev {
                command: DevCommand::Up(args),
            } => dev::up(&cli.run_dir, args).await,
            Command::Status => client::status(&cli.run_dir).await,
            Command::Structure { command } => client::structure(&cli.run_dir, command).await,
            Command::Audit { command } => client::audit(&cli.run_dir, command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("egide: {error:#}");
            ExitCode::FAILURE
        }
    }
}
