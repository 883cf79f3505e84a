//! `egide login password`, `egide account create|unlock`, `egide totp enrol|code`: local
//! accounts (operators, structure staff).
//!
//! Passwords are read from a file or stdin, never from the command line (where `ps` and
//! shell histories would show them), and never printed.

use std::{
    io::BufRead as _,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use egide_proto::auth::v1 as pb;

use crate::{client::JsonArg, session};

/// Where a password comes from.
#[derive(Args)]
pub struct PasswordSource {
    /// Read the password from this file (first line), e.g. .run/operator-password.
    #[arg(long, conflicts_with = "password_stdin")]
    password_file: Option<PathBuf>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    password_stdin: bool,
}

impl PasswordSource {
    fn read(&self) -> anyhow::Result<String> {
        let line = match (&self.password_file, self.password_stdin) {
            (Some(f), _) => std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, true) => {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            }
            (None, false) => anyhow::bail!("give --password-file FILE or --password-stdin"),
        };
        anyhow::ensure!(!line.is_empty(), "empty password");
        Ok(line)
    }
}

/// `egide login password`
#[derive(Args)]
pub struct PasswordArgs {
    /// The account's login.
    #[arg(long)]
    login: String,
    #[command(flatten)]
    password: PasswordSource,
    /// The authenticator's current code (or a recovery code); without it the session is
    /// password-only, good for enrolling TOTP and for local access only.
    #[arg(long)]
    totp: Option<String>,
    /// Scopes.
    #[arg(long, default_value = "openid")]
    scope: String,
    #[command(flatten)]
    json: JsonArg,
}

/// `egide login password`
pub async fn login(run_dir: &Path, args: PasswordArgs) -> anyhow::Result<ExitCode> {
    let password = args.password.read()?;
    let tokens = session::auth(run_dir)
        .await?
        .password_login(pb::PasswordLoginRequest {
            client_id: session::CLIENT_ID.into(),
            scope: args.scope.clone(),
            login: args.login.clone(),
            password,
            second_factor: args.totp.clone().unwrap_or_default(),
        })
        .await?
        .into_inner();
    let owner = format!("account:{}", args.login.to_ascii_lowercase());
    let stored = session::store(run_dir, &owner, tokens.clone())?;
    crate::login::report(run_dir, &stored, &tokens, args.json)
}

/// `egide account …`
#[derive(Subcommand)]
pub enum AccountCommand {
    /// Creates a local account (needs an operator session with TOTP).
    Create {
        /// The login.
        #[arg(long)]
        login: String,
        /// operator or staff.
        #[arg(long, default_value = "staff")]
        kind: String,
        /// For staff: the structure's idNat_Struct.
        #[arg(long, default_value = "")]
        structure: String,
        /// The name shown.
        #[arg(long)]
        display_name: String,
        #[command(flatten)]
        password: PasswordSource,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Lifts a login's lockout (needs an operator session with TOTP).
    Unlock {
        /// The login.
        login: String,
    },
}

/// The current session's access token, which must be a local account's.
pub(crate) async fn account_token(run_dir: &Path) -> anyhow::Result<String> {
    let owner = session::current(run_dir)
        .map(|s| s.owner)
        .filter(|owner| owner.starts_with("account:"))
        .or_else(|| session::latest_of(run_dir, "account:"))
        .context("log in first: egide login password --login … --totp …")?;
    session::access_token(run_dir, &owner).await
}

/// `egide account …`
pub async fn run(run_dir: &Path, command: AccountCommand) -> anyhow::Result<ExitCode> {
    let token = account_token(run_dir).await?;
    let mut auth = session::auth(run_dir).await?;
    match command {
        AccountCommand::Create {
            login,
            kind,
            structure,
            display_name,
            password,
            json,
        } => {
            let kind = match kind.as_str() {
                "operator" => pb::AccountKind::Operator,
                "staff" => pb::AccountKind::Staff,
                other => anyhow::bail!("--kind operator or staff, not {other:?}"),
            };
            let request = pb::CreateAccountRequest {
                login,
                kind: kind as i32,
                structure_id: structure,
                display_name,
                password: password.read()?,
            };
            let account = auth
                .create_account(session::bearer(&token, request)?)
                .await?
                .into_inner()
                .account
                .context("no account")?;
            crate::client::show(&account, json)?;
        }
        AccountCommand::Unlock { login } => {
            let r = auth
                .unlock_account(session::bearer(
                    &token,
                    pb::UnlockAccountRequest {
                        login: login.clone(),
                    },
                )?)
                .await?
                .into_inner();
            println!(
                "{login}: {}",
                if r.was_locked {
                    "unlocked"
                } else {
                    "was not locked (failures forgotten)"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl crate::client::Show for pb::Account {
    const NAME: &'static str = "egide.auth.v1.Account";
    fn print(&self) {
        println!("account     {}", self.id);
        println!("  login     {}", self.login);
        println!(
            "  kind      {}",
            crate::client::short_enum(self.kind().as_str_name(), "ACCOUNT_KIND_")
        );
        if !self.structure_id.is_empty() {
            println!("  structure {}", self.structure_id);
        }
        println!("  name      {}", self.display_name);
        println!(
            "  totp      {}",
            if self.totp_enabled {
                "enabled"
            } else {
                "not enrolled"
            }
        );
    }
}

/// `egide totp …`
#[derive(Subcommand)]
pub enum TotpCommand {
    /// Enrols an authenticator for the current account session: shows the otpauth URI as
    /// a QR code, then asks for the code the app shows.
    Enrol {
        /// The current code (else asked on stdin).
        #[arg(long)]
        code: Option<String>,
        /// Also keep the secret in this file (0600), to play the authenticator with
        /// `egide totp code` (development only).
        #[arg(long)]
        save_secret: Option<PathBuf>,
    },
    /// Prints the current code of a saved secret (plays the authenticator app).
    Code {
        /// A file written by `egide totp enrol --save-secret`.
        #[arg(long)]
        secret_file: PathBuf,
    },
}

/// `egide totp …`
pub async fn totp(run_dir: &Path, command: TotpCommand) -> anyhow::Result<ExitCode> {
    match command {
        TotpCommand::Code { secret_file } => {
            let b32 = std::fs::read_to_string(&secret_file)
                .with_context(|| format!("reading {}", secret_file.display()))?;
            let secret = egide_auth::accounts::totp::base32_decode(b32.trim())
                .context("not a base32 secret")?;
            let now = session::unix_now().max(0) as u64;
            println!(
                "{}",
                egide_auth::accounts::totp::code_at(&secret, now / 30, 6)
            );
            Ok(ExitCode::SUCCESS)
        }
        TotpCommand::Enrol { code, save_secret } => {
            let token = account_token(run_dir).await?;
            let mut auth = session::auth(run_dir).await?;
            let started = auth
                .start_totp_enrolment(session::bearer(&token, pb::StartTotpEnrolmentRequest {})?)
                .await?
                .into_inner();
            println!("Scan with an authenticator app (or enter the secret by hand):\n");
            match qrcode::QrCode::new(started.otpauth_uri.as_bytes()) {
                Ok(qr) => println!(
                    "{}",
                    qr.render::<qrcode::render::unicode::Dense1x2>()
                        .quiet_zone(true)
                        .build()
                ),
                Err(error) => eprintln!("(no QR code: {error})"),
            }
            println!("  {}\n", started.otpauth_uri);
            if let Some(path) = &save_secret {
                egide_gateway::dev_tls::write_private(path, started.secret_base32.as_bytes())?;
            }
            let code = match code {
                Some(c) => c,
                None => {
                    eprint!("code shown by the app: ");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim().to_owned()
                }
            };
            let confirmed = auth
                .confirm_totp_enrolment(session::bearer(
                    &token,
                    pb::ConfirmTotpEnrolmentRequest { code },
                )?)
                .await?
                .into_inner();
            println!(
                "TOTP enabled. Recovery codes (each works once; keep them offline, they are not shown again):"
            );
            for c in confirmed.recovery_codes {
                println!("  {c}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
