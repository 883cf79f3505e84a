//! The authentication benchmarks of `make bench`, each beside the limit it is judged
//! against, measured in the same run: device-key logins through the gateway beside the raw
//! transit sign rate (single and batched), the gateway's token verifier beside raw ES256
//! verification (aws-lc-rs), password logins beside raw Argon2id, and the time from a
//! suspension to the gateway refusing the patient's token.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_nats::jetstream;
use egide_attest::{Algorithm, device::DeviceSigner, login::login_message};
use egide_kit::events::{EventEnvelope, Payload, actor, timestamp};
use egide_proto::{
    auth::v1::{self as pb, auth_service_client::AuthServiceClient},
    enrolment::v1::{self as enrolment, enrolment_service_client::EnrolmentServiceClient},
};
use futures::{StreamExt as _, stream::FuturesUnordered};
use prost::Message as _;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::{Platform, platform::TOKEN_SIGNING_KEY};

/// A patient auth knows from (published) enrolment events, with its phone.
pub struct BenchPatient {
    /// The wallet.
    pub wallet_id: Uuid,
    /// The device.
    pub device_id: Uuid,
    /// The phone's key.
    pub phone: DeviceSigner,
}

/// Publishes `n` active wallets with one device each on the platform's stream, as
/// enrolment's relay would, and waits until auth logs the last one in.
pub async fn patients(p: &Platform, n: usize) -> anyhow::Result<Vec<BenchPatient>> {
    let nats = async_nats::connect(p.nats().url()).await?;
    let js = jetstream::new(nats);
    egide_kit::nats::ensure_stream(&js, "EGIDE").await?;
    let mut seq = 1u64;
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let patient = BenchPatient {
            wallet_id: Uuid::now_v7(),
            device_id: Uuid::now_v7(),
            phone: DeviceSigner::generate(Algorithm::Es256),
        };
        let key = patient.phone.device_key();
        for (event_type, payload) in [
            (
                "egide.enrolment.wallet.activated",
                Payload::WalletChanged(enrolment::WalletChanged {
                    wallet_id: patient.wallet_id.to_string(),
                    state: enrolment::WalletState::Active as i32,
                    ..Default::default()
                }),
            ),
            (
                "egide.enrolment.device.registered",
                Payload::DeviceChanged(enrolment::DeviceChanged {
                    owner: Some(enrolment::device_changed::Owner::WalletId(
                        patient.wallet_id.to_string(),
                    )),
                    ins_digest: String::new(),
                    device: Some(enrolment::Device {
                        id: patient.device_id.to_string(),
                        algorithm: "ES256".into(),
                        public_key: key.to_spki_der(),
                        thumbprint: key.thumbprint(),
                        ..Default::default()
                    }),
                }),
            ),
        ] {
            publish(&js, event_type, payload, seq).await?;
            seq += 1;
        }
        all.push(patient);
    }
    let auth = p.gateway_channels(1)?.remove(0);
    let last = all.last().context("no patients")?;
    p.eventually(
        "auth knows the last patient",
        Duration::from_secs(60),
        || async {
            login(auth.clone(), last)
                .await
                .map_err(|e| format!("{e:#}"))
        },
    )
    .await?;
    Ok(all)
}

async fn publish(
    js: &jetstream::Context,
    event_type: &str,
    payload: Payload,
    seq: u64,
) -> anyhow::Result<()> {
    let event_id = Uuid::now_v7();
    let envelope = EventEnvelope {
        event_id: event_id.to_string(),
        producer: "enrolment-bench".into(),
        producer_seq: seq,
        occurred_at: Some(timestamp(chrono::Utc::now())),
        actor: Some(actor::service("enrolment")),
        subjects: Vec::new(),
        event_type: event_type.into(),
        trace_context: Default::default(),
        payload: Some(payload),
    };
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", event_id.to_string().as_str());
    js.publish_with_headers(
        event_type.to_owned(),
        headers,
        envelope.encode_to_vec().into(),
    )
    .await?
    .await?;
    Ok(())
}

/// One device-key login (StartLogin + CompleteLogin) through `channel`.
pub async fn login(channel: Channel, p: &BenchPatient) -> anyhow::Result<pb::TokenResponse> {
    let mut auth = AuthServiceClient::new(channel);
    let c = auth
        .start_login(pb::StartLoginRequest {
            client_id: "egide-cvapp".into(),
            scope: String::new(),
            means: Some(pb::start_login_request::Means::Device(pb::DeviceLogin {
                owner: Some(pb::LoginOwner {
                    owner: Some(pb::login_owner::Owner::WalletId(p.wallet_id.to_string())),
                }),
                device_id: p.device_id.to_string(),
            })),
        })
        .await?
        .into_inner();
    let message = login_message(
        "device",
        &format!("wallet:{}", p.wallet_id),
        &p.device_id.to_string(),
        "egide-cvapp",
        &c.challenge_id,
        &c.challenge,
    );
    Ok(auth
        .complete_login(pb::CompleteLoginRequest {
            challenge_id: c.challenge_id,
            proof: Some(pb::complete_login_request::Proof::DeviceSignature(
                p.phone.sign(&message),
            )),
            nonce: String::new(),
        })
        .await?
        .into_inner())
}

/// Runs `op` from `concurrency` tasks for `seconds`; returns successes per second and the
/// first error seen, if any.
pub async fn rate<F, Fut>(concurrency: usize, seconds: f64, op: F) -> (f64, Option<String>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let ok = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let first_error = Arc::new(std::sync::Mutex::new(None));
    let started = Instant::now();
    let mut tasks = FuturesUnordered::new();
    for worker in 0..concurrency {
        let (op, ok, stop, first_error) =
            (op.clone(), ok.clone(), stop.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) {
                match op(i).await {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let mut f = first_error.lock().unwrap_or_else(|e| e.into_inner());
                        f.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
                i += concurrency;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    while tasks.next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let error = first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    (ok.load(Ordering::Relaxed) as f64 / elapsed, error)
}

/// Transit signatures per second with the root token: `batch` inputs per call, with
/// `concurrency` calls in flight.
pub async fn transit_sign_rate(
    p: &Platform,
    batch: usize,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<f64> {
    let vault = egide_kit::vault::Vault::new(egide_kit::config::VaultConfig {
        addr: p.vault().addr(),
        auth: egide_kit::config::VaultAuth::Token {
            token: p.vault().root_token().to_owned().into(),
        },
        transit_mount: "transit".into(),
    })?;
    vault.login().await?;
    let (_, version) = vault.public_keys(TOKEN_SIGNING_KEY).await?;
    let input = vec![b'x'; 600];
    let (calls, error) = rate(concurrency, seconds, move |_| {
        let vault = vault.clone();
        let input = input.clone();
        async move {
            let inputs: Vec<&[u8]> = (0..batch).map(|_| input.as_slice()).collect();
            vault
                .sign_batch_jws(TOKEN_SIGNING_KEY, version, &inputs)
                .await?;
            Ok(())
        }
    })
    .await;
    if let Some(e) = error {
        anyhow::bail!("transit sign: {e}");
    }
    Ok(calls * batch as f64)
}

/// Raw ES256 verifications per second on one core (aws-lc-rs), and the gateway's token
/// verifier (`egide_token::verify_access`: parse, header checks, signature, claims) on the
/// same core, with `token` and the platform's published key.
pub async fn verify_rates(p: &Platform, token: &str) -> anyhow::Result<(f64, f64)> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut auth = AuthServiceClient::new(p.gateway_channels(1)?.remove(0));
    let jwks: Vec<egide_token::Jwk> = auth
        .get_jwks(pb::GetJwksRequest {})
        .await?
        .into_inner()
        .keys
        .into_iter()
        .map(egide_kit::jwks::from_proto)
        .collect();
    let keys = egide_token::KeySet::new(&jwks)?;
    let header = egide_token::decode_header(token)?;
    let jwk = jwks
        .iter()
        .find(|k| k.kid == header.kid)
        .context("the token's key")?;
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(&jwk.x)?);
    point.extend(URL_SAFE_NO_PAD.decode(&jwk.y)?);
    let (input, sig) = token.rsplit_once('.').context("a JWS")?;
    let sig = URL_SAFE_NO_PAD.decode(sig)?;
    let token = token.to_owned();
    let input = input.to_owned();
    tokio::task::spawn_blocking(move || {
        let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
        let time = |f: &dyn Fn() -> bool| {
            let n = 20_000;
            let started = Instant::now();
            for _ in 0..n {
                assert!(f());
            }
            n as f64 / started.elapsed().as_secs_f64()
        };
        let raw = time(&|| key.verify(input.as_bytes(), &sig).is_ok());
        // Issuer and audience are read from the token itself: the bench judges the
        // verifier's cost, not this deployment's names.
        let expect = egide_token::Expectations {
            issuer: read_claim(&token, "iss"),
            audience: read_claim(&token, "aud"),
            leeway_secs: 30,
        };
        let now = chrono::Utc::now().timestamp();
        let ours = time(&|| egide_token::verify_access(&token, &keys, &expect, now).is_ok());
        (raw, ours)
    })
    .await
    .map_err(anyhow::Error::from)
}

fn read_claim(token: &str, name: &str) -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v[name].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Raw Argon2id verifications per second with auth's default parameters, on every core.
pub async fn argon2_rate(seconds: f64) -> anyhow::Result<f64> {
    use argon2::{
        Algorithm, Argon2, Params, Version,
        password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString},
    };
    let settings = egide_auth::config::AccountSettings::default();
    let params = Params::new(
        settings.argon2_memory_kib,
        settings.argon2_iterations,
        settings.argon2_parallelism,
        None,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").map_err(|e| anyhow::anyhow!("{e}"))?;
    let phc = argon
        .hash_password(b"a keyed password", &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut threads = Vec::new();
    for _ in 0..cores {
        let (argon, phc) = (argon.clone(), phc.clone());
        threads.push(std::thread::spawn(move || {
            let hash = PasswordHash::new(&phc).map(|h| h.serialize());
            let mut n = 0u64;
            while Instant::now() < deadline {
                if let Ok(h) = &hash {
                    let _ = argon.verify_password(b"a keyed password", &h.password_hash());
                }
                n += 1;
            }
            n
        }));
    }
    let started = Instant::now();
    let mut total = 0;
    for t in threads {
        total += t
            .join()
            .map_err(|_| anyhow::anyhow!("argon2 thread panicked"))?;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64().max(seconds))
}

/// Password logins (password alone) of the first operator through the gateway.
pub async fn password_login_rate(
    p: &Platform,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<(f64, Option<String>)> {
    let channels = p.gateway_channels(4)?;
    Ok(rate(concurrency, seconds, move |i| {
        let mut auth = AuthServiceClient::new(channels[i % channels.len()].clone());
        async move {
            auth.password_login(pb::PasswordLoginRequest {
                client_id: "egide-cli".into(),
                scope: String::new(),
                login: crate::platform::FIRST_OPERATOR.into(),
                password: crate::platform::FIRST_OPERATOR_PASSWORD.into(),
                second_factor: String::new(),
            })
            .await?;
            Ok(())
        }
    })
    .await)
}

/// For each patient: log in, see the token accepted on GetWallet through the gateway,
/// publish the wallet's suspension, and time until the gateway refuses the token.
pub async fn revocation_to_refusal(
    p: &Platform,
    patients: &[BenchPatient],
) -> anyhow::Result<Vec<Duration>> {
    let nats = async_nats::connect(p.nats().url()).await?;
    let js = jetstream::new(nats);
    let channel = p.gateway_channels(1)?.remove(0);
    let mut times = Vec::new();
    for (i, patient) in patients.iter().enumerate() {
        let tokens = login(channel.clone(), patient).await?;
        let get = || {
            let mut client = EnrolmentServiceClient::new(channel.clone());
            let mut request = tonic::Request::new(enrolment::GetWalletRequest {
                wallet_id: patient.wallet_id.to_string(),
            });
            let bearer = format!("Bearer {}", tokens.access_token);
            async move {
                request
                    .metadata_mut()
                    .insert("authorization", bearer.parse()?);
                let status = match client.get_wallet(request).await {
                    Ok(_) => return Ok::<_, anyhow::Error>(None),
                    Err(s) => s,
                };
                Ok(egide_kit::error::decode(&status).0)
            }
        };
        // Accepted: enrolment looks the (bench-only) wallet up and does not find it.
        p.eventually("the token accepted", Duration::from_secs(10), || async {
            match get().await {
                Ok(Some(r)) if r == "wallet_not_found" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await?;
        let started = Instant::now();
        publish(
            &js,
            "egide.enrolment.wallet.suspended",
            Payload::WalletChanged(enrolment::WalletChanged {
                wallet_id: patient.wallet_id.to_string(),
                state: enrolment::WalletState::Suspended as i32,
                ..Default::default()
            }),
            1_000_000 + i as u64,
        )
        .await?;
        loop {
            if get().await?.as_deref() == Some("token_revoked") {
                times.push(started.elapsed());
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(10),
                "the token was still accepted 10 s after the suspension"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    times.sort();
    Ok(times)
}
