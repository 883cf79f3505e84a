//! `egide`: the command for people — the local dev stack, status, and clients of the
//! platform's APIs.
#![forbid(unsafe_code)]

mod account;
mod audit;
mod cert;
mod client;
mod dev;
mod directory;
mod endpoints;
mod ins;
mod login;
mod patient;
mod phone;
mod pki;
mod policy;
mod professional;
mod proofing;
mod session;
mod status;
mod structure;

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
        command: structure::StructureCommand,
    },
    /// Reference directories: RPPS, FINESS, INS, rights.
    Directory {
        #[command(subcommand)]
        command: directory::DirectoryCommand,
    },
    /// Health professionals and their e-CPS.
    Professional {
        #[command(subcommand)]
        command: professional::ProfessionalCommand,
    },
    /// The INS reference.
    Ins {
        #[command(subcommand)]
        command: ins::InsCommand,
    },
    /// Patients' wallets (carte Vitale app).
    Patient {
        #[command(subcommand)]
        command: patient::PatientCommand,
    },
    /// Certificates: offline validation, CRLs and trust anchors of the certval service.
    Cert {
        #[command(subcommand)]
        command: cert::CertCommand,
    },
    /// The dev IGC-Santé PKI: soft CPS cards, structure and server certificates,
    /// revocation.
    Pki {
        #[command(subcommand)]
        command: pki::PkiCommand,
    },
    /// The PGSSI-S identification policy the gateway applies.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// Logs in (the CLI keeps the tokens under the run directory, 0600).
    Login {
        #[command(subcommand)]
        command: login::LoginCommand,
    },
    /// Ends the current session.
    Logout,
    /// Local accounts (operators, structure staff).
    Account {
        #[command(subcommand)]
        command: account::AccountCommand,
    },
    /// TOTP second factor of the current local account.
    Totp {
        #[command(subcommand)]
        command: account::TotpCommand,
    },
    /// Who the current session is, from its verified access token.
    Whoami {
        #[command(flatten)]
        json: client::JsonArg,
    },
    /// Access tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Decodes an access token and verifies it against the platform's JWKS (exit 0 valid,
    /// 1 refused).
    Inspect {
        /// A file holding the token, or `-` for stdin.
        file: PathBuf,
        #[command(flatten)]
        json: client::JsonArg,
    },
}

#[derive(Subcommand)]
enum DevCommand {
    /// Starts NATS, PostgreSQL and OpenBao on loopback with data under the run directory,
    /// bootstraps Vault, starts the simulators, every service and the gateway, seeds a
    /// demo directory on the first run, and stops everything on Ctrl-C.
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
    let run_dir = cli.run_dir;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Dev {
                command: DevCommand::Up(args),
            } => dev::up(&run_dir, args).await,
            Command::Status => status::status(&run_dir).await,
            Command::Structure { command } => structure::run(&run_dir, command).await,
            Command::Directory { command } => directory::run(&run_dir, command).await,
            Command::Professional { command } => professional::run(&run_dir, command).await,
            Command::Ins { command } => ins::run(&run_dir, command).await,
            Command::Patient { command } => patient::run(&run_dir, command).await,
            Command::Audit { command } => audit::audit(&run_dir, command).await,
            Command::Login { command } => login::login(&run_dir, command).await,
            Command::Logout => login::logout(&run_dir).await,
            Command::Account { command } => account::run(&run_dir, command).await,
            Command::Totp { command } => account::totp(&run_dir, command).await,
            Command::Policy { command } => policy::run(command),
            Command::Whoami { json } => login::whoami(&run_dir, json).await,
            Command::Token {
                command: TokenCommand::Inspect { file, json },
            } => login::inspect(&run_dir, &file, json).await,
            Command::Cert { command } => cert::run(&run_dir, command).await,
            Command::Pki { command } => pki::run(&run_dir, command).await,
        }
    });
    match result {
        Ok(code) => code,
        // A refusal from the platform: its code, stable reason and field violations.
        Err(error) => match error.downcast_ref::<tonic::Status>() {
            Some(status) => {
                for cause in error.chain().take_while(|c| !c.is::<tonic::Status>()) {
                    eprintln!("while: {cause}");
                }
                client::refused(status)
            }
            None => {
                eprintln!("egide: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}
