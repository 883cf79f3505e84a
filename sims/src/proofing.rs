//! `egide-proofing-sim`: a simulator of a France Identité-like
//! identity-proofing provider. It signs whatever attestation it is asked
//! for — the real provider would first read the identity card or run the
//! video check; the simulator lets a test or a demo say what the outcome
//! was.
//!
//! # HTTP API
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/attestations` with an [`AttestationRequest`] | `200 {"attestation": "<jws>", "txn": "<id>"}` |
//! | `GET /v1/public-key` | `200`, the SubjectPublicKeyInfo PEM of the signing key |
//! | `GET /healthz` | `200 {"status": "ok", "simulator": true}` |
//!
//! Errors are JSON `{"error": code, "message": text}`: `400 bad_request`
//! (bad JSON, unknown field, invalid identity, bad `ttl_secs`), `404
//! not_found`, `405 method_not_allowed`, `413 too_large` (body over
//! 64 KiB), `415 unsupported_media_type` (a `Content-Type` other than
//! JSON).
//!
//! The attestation is signed with [`egide_attest::attestation::sign`]: its
//! format is documented there and in `docs/proofing.md`. `issued_at`
//! (default: now) and `ttl_secs` (default 300, at most one day) exist so
//! that tests and demos can produce stale, expired or not-yet-valid
//! attestations on purpose.
//!
//! The simulator never logs identity traits (nor subjects or nonces): one
//! line per attestation with its transaction id, level and method.

use std::sync::Arc;

use chrono::Utc;
use egide_attest::SigningKey;
use egide_attest::attestation::{self, Claims, Identity, Level, Method};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Method as HttpMethod, Request, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::http::{self, Reply};

/// Default issuer (`iss`).
pub const DEFAULT_ISSUER: &str = "https://proofing-sim.egide.test";
/// Default key id (`kid`).
pub const DEFAULT_KID: &str = "sim-1";
/// Default lifetime of an attestation, in seconds.
pub const DEFAULT_TTL_SECS: i64 = 300;
/// Longest accepted `ttl_secs`: one day.
pub const MAX_TTL_SECS: i64 = 86_400;
/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the simulator signs with.
#[derive(Clone, Debug)]
pub struct ProofingConfig {
    /// The `iss` of every attestation.
    pub issuer: String,
    /// The `kid` in every header.
    pub kid: String,
    /// The signing key (P-256 gives `ES256`, Ed25519 gives `EdDSA`).
    pub key: SigningKey,
}

impl ProofingConfig {
    /// The default issuer and key id, with `key`.
    pub fn new(key: SigningKey) -> ProofingConfig {
        ProofingConfig {
            issuer: DEFAULT_ISSUER.into(),
            kid: DEFAULT_KID.into(),
            key,
        }
    }
}

/// Body of `POST /v1/attestations`: the proofing outcome to attest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// `sub`: the Égide enrolment id.
    pub subject: String,
    /// `nonce`: the nonce Égide issued for this proofing step.
    pub nonce: String,
    /// `aud`: the audience Égide expects (e.g. `egide-enrolment`).
    pub audience: String,
    /// `level` (default `substantial`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// `method` (default `france_identite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// The identity read from the (simulated) document.
    pub identity: Identity,
    /// Overrides `iat` (unix seconds; default now): to make stale or future
    /// attestations in tests and demos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
    /// Lifetime, `exp − iat`, in seconds (default 300, 1 to 86 400): a short
    /// one plus a past `issued_at` makes an expired attestation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<i64>,
}

/// Answer of `POST /v1/attestations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttestationResponse {
    /// The JWS.
    pub attestation: String,
    /// The transaction id (`txn`) inside it.
    pub txn: String,
}

/// Serves the simulator's HTTP API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: ProofingConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let state = Arc::new(State {
        public_pem: config.key.verifying_key().to_public_key_pem(),
        config,
    });
    http::serve(
        listener,
        move |req| {
            let state = Arc::clone(&state);
            async move { route(&state, req).await }
        },
        shutdown,
    )
    .await
}

/// Builds the claims for `request` at `now` with transaction id `txn`.
pub fn claims_for(
    issuer: &str,
    request: &AttestationRequest,
    now: i64,
    txn: String,
) -> Result<Claims, String> {
    let ttl = request.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
    if !(1..=MAX_TTL_SECS).contains(&ttl) {
        return Err(format!("ttl_secs must be between 1 and {MAX_TTL_SECS}"));
    }
    let iat = request.issued_at.unwrap_or(now);
    let exp = iat
        .checked_add(ttl)
        .ok_or_else(|| "issued_at + ttl_secs overflows".to_string())?;
    let claims = Claims {
        iss: issuer.to_owned(),
        aud: request.audience.clone(),
        sub: request.subject.clone(),
        nonce: request.nonce.clone(),
        iat,
        exp,
        txn,
        level: request.level.unwrap_or(Level::Substantial),
        method: request.method.unwrap_or(Method::FranceIdentite),
        identity: request.identity.clone(),
    };
    claims.validate()?;
    Ok(claims)
}

/// A serde message without the values it quotes between backticks (they may
/// be identity traits), except field names in unknown/missing field errors.
fn scrub(message: &str) -> String {
    if message.starts_with("unknown field") || message.starts_with("missing field") {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    for (i, piece) in message.split('`').enumerate() {
        out.push_str(if i % 2 == 1 { "…" } else { piece });
    }
    out
}

/// Loads the PKCS#8 PEM key at `path`, or generates a P-256 key and writes
/// it there (mode 0600, never over an existing file). Returns the key and
/// whether it was generated.
pub fn load_or_generate_key(path: &std::path::Path) -> anyhow::Result<(SigningKey, bool)> {
    use anyhow::Context as _;
    use secrecy::ExposeSecret as _;
    use std::io::Write as _;
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            let key = SigningKey::from_pkcs8_pem(&pem)
                .with_context(|| format!("reading the key {}", path.display()))?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(egide_attest::Algorithm::Es256);
            let pem = key.to_pkcs8_pem()?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .with_context(|| format!("creating the key file {}", path.display()))?;
            file.write_all(pem.expose_secret().as_bytes())?;
            file.sync_all()?;
            Ok((key, true))
        }
        Err(e) => Err(e).with_context(|| format!("reading the key {}", path.display())),
    }
}

struct State {
    config: ProofingConfig,
    public_pem: String,
}

async fn route(state: &State, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&HttpMethod::POST, "/v1/attestations") => attest(state, req).await,
        (&HttpMethod::GET, "/v1/public-key") => http::reply(
            StatusCode::OK,
            "application/x-pem-file",
            state.public_pem.clone(),
        ),
        (&HttpMethod::GET, "/healthz") => http::json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "simulator": true}),
        ),
        (_, "/v1/attestations" | "/v1/public-key" | "/healthz") => http::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {path}", req.method()),
        ),
        _ => http::error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route {path}"),
        ),
    }
}

async fn attest(state: &State, req: Request<Incoming>) -> Reply {
    if let Some(ct) = req.headers().get(CONTENT_TYPE) {
        let json = ct
            .to_str()
            .map(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            })
            .unwrap_or(false);
        if !json {
            return http::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json",
            );
        }
    }
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return http::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("body over {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(e) => return http::error(StatusCode::BAD_REQUEST, "bad_request", e),
    };
    let request: AttestationRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return http::error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("invalid attestation request: {}", scrub(&e.to_string())),
            );
        }
    };
    let txn = format!("sim-{}", uuid::Uuid::now_v7().simple());
    let claims = match claims_for(&state.config.issuer, &request, Utc::now().timestamp(), txn) {
        Ok(c) => c,
        Err(why) => return http::error(StatusCode::BAD_REQUEST, "bad_request", why),
    };
    match attestation::sign(&claims, &state.config.key, &state.config.kid) {
        Ok(token) => {
            tracing::info!(txn = %claims.txn, level = ?claims.level, method = ?claims.method, "attestation issued");
            http::json(
                StatusCode::OK,
                &serde_json::json!({"attestation": token, "txn": claims.txn}),
            )
        }
        Err(e) => http::error(StatusCode::BAD_REQUEST, "bad_request", e),
    }
}
