//! `egide login`, `egide logout`, `egide whoami`.

use std::{path::Path, process::ExitCode};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use egide_proto::auth::v1::{self as pb, GetJwksRequest};

use crate::{client::JsonArg, session};

/// `egide login …`
#[derive(Subcommand)]
pub enum LoginCommand {
    /// Plays the carte Vitale app or e-CPS: signs a login challenge with the device key
    /// `egide patient enrol` (or `professional ecps`) saved under the run directory.
    Device(DeviceArgs),
    /// A local account (operator, structure staff): password, and a TOTP code.
    Password(crate::account::PasswordArgs),
    /// Plays a CPS card (a soft card of `egide pki issue-card`): the card checks its PIN
    /// and signs the login challenge with its authentication key.
    Card(CardArgs),
}

/// `egide login card`
#[derive(Args)]
pub struct CardArgs {
    /// The professional's idNat_PS (the card's holder).
    #[arg(long)]
    ps: String,
    /// The soft card's directory.
    #[arg(long)]
    card: std::path::PathBuf,
    /// Scopes; `openid` adds an ID token.
    #[arg(long, default_value = "openid")]
    scope: String,
    #[command(flatten)]
    json: JsonArg,
}

async fn login_card(run_dir: &Path, args: CardArgs) -> anyhow::Result<ExitCode> {
    let mut card = egide_devpki::SoftCard::open(&args.card)
        .with_context(|| format!("opening the soft card in {}", args.card.display()))?;
    anyhow::ensure!(!card.is_blocked(), "the card is blocked (three wrong PINs)");
    let pin = crate::pki::pin::read(None)?;
    let owner = format!("ps:{}", args.ps);
    let mut auth = session::auth(run_dir).await?;
    let challenge = auth
        .start_login(pb::StartLoginRequest {
            client_id: session::CLIENT_ID.into(),
            scope: args.scope.clone(),
            means: Some(pb::start_login_request::Means::Card(pb::CardLogin {
                id_nat_ps: args.ps.clone(),
            })),
        })
        .await?
        .into_inner();
    let message = egide_attest::login::login_message(
        "card",
        &owner,
        "cps",
        session::CLIENT_ID,
        &challenge.challenge_id,
        &challenge.challenge,
    );
    let signature = card
        .authenticate(&pin, &message)
        .map_err(|e| anyhow::anyhow!("the card refused to sign: {e}"))?;
    let algorithm = match card.algorithm() {
        egide_devpki::CardAlgorithm::RsaPkcs1Sha256 => {
            egide_proto::certval::v1::SignatureAlgorithm::RsaPkcs1Sha256
        }
        egide_devpki::CardAlgorithm::EcdsaP256Sha256 => {
            egide_proto::certval::v1::SignatureAlgorithm::EcdsaP256Sha256
        }
    };
    let tokens = auth
        .complete_login(pb::CompleteLoginRequest {
            challenge_id: challenge.challenge_id,
            proof: Some(pb::complete_login_request::Proof::Card(pb::CardProof {
                certificate: card.auth_certificate().to_vec(),
                intermediates: card.chain(),
                signature,
                algorithm: algorithm as i32,
            })),
            nonce: String::new(),
        })
        .await?
        .into_inner();
    let stored = session::store(run_dir, &owner, tokens.clone())?;
    report(run_dir, &stored, &tokens, args.json)
}

/// `egide login device`
#[derive(Args)]
pub struct DeviceArgs {
    /// The patient's wallet id.
    #[arg(long, conflicts_with = "ps", required_unless_present = "ps")]
    wallet: Option<String>,
    /// The professional's idNat_PS (e-CPS).
    #[arg(long)]
    ps: Option<String>,
    /// The device key (PKCS#8 PEM); default: the newest the CLI saved for the owner.
    #[arg(long, requires = "device")]
    key: Option<std::path::PathBuf>,
    /// The device id of `--key`.
    #[arg(long)]
    device: Option<String>,
    /// Scopes; `openid` adds an ID token.
    #[arg(long, default_value = "openid")]
    scope: String,
    #[command(flatten)]
    json: JsonArg,
}

/// `egide login …`
pub async fn login(run_dir: &Path, command: LoginCommand) -> anyhow::Result<ExitCode> {
    let args = match command {
        LoginCommand::Device(args) => args,
        LoginCommand::Password(args) => return crate::account::login(run_dir, args).await,
        LoginCommand::Card(args) => return login_card(run_dir, args).await,
    };
    let owner = match (&args.wallet, &args.ps) {
        (Some(w), _) => format!("wallet:{w}"),
        (None, Some(p)) => format!("ps:{p}"),
        (None, None) => anyhow::bail!("--wallet or --ps"),
    };
    let (signer, device_id) = match &args.key {
        Some(key) => session::read_key(key, args.device.as_deref())?,
        None => session::device_key(run_dir, &owner)?,
    };
    let (stored, tokens) =
        session::login_device(run_dir, &owner, &signer, &device_id, &args.scope).await?;
    report(run_dir, &stored, &tokens, args.json)
}

/// Prints a login's outcome: the token response with `--json`, a summary otherwise.
pub fn report(
    run_dir: &Path,
    stored: &session::Stored,
    tokens: &pb::TokenResponse,
    json: JsonArg,
) -> anyhow::Result<ExitCode> {
    if json.json {
        print_token_response(tokens)?;
    } else {
        println!("logged in as {}", stored.owner);
        println!("  session   {}", stored.session_id);
        println!("  acr       {}  amr {}", stored.acr, stored.amr.join(" "));
        println!(
            "  expires   in {} s (refreshed as needed)",
            tokens.expires_in
        );
        println!("  tokens    {}", run_dir.join("sessions").display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The OAuth 2.0 token response (RFC 6749 §5.1) as JSON.
fn print_token_response(t: &pb::TokenResponse) -> anyhow::Result<()> {
    let mut body = serde_json::json!({
        "access_token": t.access_token,
        "token_type": t.token_type,
        "expires_in": t.expires_in,
        "refresh_token": t.refresh_token,
        "scope": t.scope,
    });
    if !t.id_token.is_empty() {
        body["id_token"] = t.id_token.clone().into();
    }
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}

/// `egide logout`: ends the current session at auth and forgets its tokens.
pub async fn logout(run_dir: &Path) -> anyhow::Result<ExitCode> {
    let Some(s) = session::current(run_dir) else {
        println!("not logged in");
        return Ok(ExitCode::SUCCESS);
    };
    session::auth(run_dir)
        .await?
        .end_session(pb::EndSessionRequest {
            refresh_token: s.refresh_token.clone(),
            ..Default::default()
        })
        .await?;
    session::forget(run_dir, &s.owner);
    println!("logged out {} (session {})", s.owner, s.session_id);
    Ok(ExitCode::SUCCESS)
}

/// `egide whoami`: the current session's access token, verified against the JWKS.
pub async fn whoami(run_dir: &Path, json: JsonArg) -> anyhow::Result<ExitCode> {
    let Some(s) = session::current(run_dir) else {
        println!("not logged in (egide login device --wallet …)");
        return Ok(ExitCode::FAILURE);
    };
    let token = session::access_token(run_dir, &s.owner).await?;
    let (header, claims) = verified(run_dir, &token).await?;
    print_claims(&header, &claims, json)?;
    Ok(ExitCode::SUCCESS)
}

/// `egide token inspect FILE`: a token (a file holding it, or `-` for stdin) decoded and
/// verified against the platform's JWKS. Exit 0 valid, 1 refused (with the reason).
pub async fn inspect(run_dir: &Path, file: &Path, json: JsonArg) -> anyhow::Result<ExitCode> {
    let text = if file == Path::new("-") {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)?;
        t
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    match verified(run_dir, text.trim()).await {
        Ok((header, claims)) => {
            print_claims(&header, &claims, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!("refused: {error:#}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Verifies `token` (signature, algorithm, type, time; `iss` and `aud` are the token's own:
/// whatever this deployment's auth names) against the JWKS auth publishes.
async fn verified(
    run_dir: &Path,
    token: &str,
) -> anyhow::Result<(egide_token::Header, egide_token::AccessClaims)> {
    let jwks = session::auth(run_dir)
        .await?
        .get_jwks(GetJwksRequest {})
        .await?
        .into_inner();
    let keys: Vec<egide_token::Jwk> = jwks
        .keys
        .into_iter()
        .map(egide_kit::jwks::from_proto)
        .collect();
    let set = egide_token::KeySet::new(&keys).context("the published JWKS")?;
    let header = egide_token::decode_header(token)?;
    let unverified = claims(token)?;
    let claims = egide_token::verify_access(
        token,
        &set,
        &egide_token::Expectations {
            issuer: unverified.iss.clone(),
            audience: unverified.aud.clone(),
            leeway_secs: 30,
        },
        session::unix_now(),
    )?;
    Ok((header, claims))
}

fn print_claims(
    header: &egide_token::Header,
    claims: &egide_token::AccessClaims,
    json: JsonArg,
) -> anyhow::Result<()> {
    if json.json {
        println!("{}", serde_json::to_string_pretty(claims)?);
    } else {
        println!("{} {}", claims.egide_category, claims.sub);
        println!("  session   {}", claims.sid);
        println!("  acr       {}  amr {}", claims.acr, claims.amr.join(" "));
        println!("  client    {}", claims.client_id);
        println!("  issuer    {}  (key {})", claims.iss, header.kid);
        if let Some(cnf) = &claims.cnf {
            println!("  bound to  client certificate x5t#S256 {}", cnf.x5t_s256);
        }
        println!("  expires   in {} s", claims.exp - session::unix_now());
    }
    Ok(())
}

fn claims(token: &str) -> anyhow::Result<egide_token::AccessClaims> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).context("not a JWT")?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?;
    Ok(serde_json::from_slice(&raw)?)
}
