//! Authentication end to end: real `egide-*` processes, clients through the TLS gateway
//! with the platform's structure certificate, the dev PKI in the platform's Vault.
//!
//! Needs the binaries: `cargo build --bins` first (`make test` does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead as _;

use anyhow::{Context as _, ensure};
use egide_devpki::{CardAlgorithm, SoftCard};
use egide_directory::synth::{SynthSpec, write_all};
use egide_e2e::{Options, Platform, Service, TempDir, directory::import_file};
use egide_proto::{
    auth::v1::{self as pb, auth_service_client::AuthServiceClient},
    certval::v1::SignatureAlgorithm,
    enrolment::v1::{DirectorySource, ImportHeader},
};
use secrecy::SecretString;

/// One test at a time: each starts its own platform, and the machine may have 2 cores.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PIN: &str = "1234";

/// A card login of `id_nat_ps` with `card`, through the gateway.
async fn card_login(
    p: &Platform,
    id_nat_ps: &str,
    card: &mut SoftCard,
) -> Result<pb::TokenResponse, tonic::Status> {
    let mut auth = AuthServiceClient::new(p.api_channel(Service::Auth).unwrap());
    let c = auth
        .start_login(pb::StartLoginRequest {
            client_id: "egide-cli".into(),
            scope: "openid".into(),
            means: Some(pb::start_login_request::Means::Card(pb::CardLogin {
                id_nat_ps: id_nat_ps.into(),
            })),
        })
        .await?
        .into_inner();
    let message = egide_attest::login::login_message(
        "card",
        &format!("ps:{id_nat_ps}"),
        "cps",
        "egide-cli",
        &c.challenge_id,
        &c.challenge,
    );
    let signature = card
        .authenticate(&SecretString::from(PIN), &message)
        .expect("the card signs");
    let algorithm = match card.algorithm() {
        CardAlgorithm::RsaPkcs1Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
        CardAlgorithm::EcdsaP256Sha256 => SignatureAlgorithm::EcdsaP256Sha256,
    };
    Ok(auth
        .complete_login(pb::CompleteLoginRequest {
            challenge_id: c.challenge_id,
            proof: Some(pb::complete_login_request::Proof::Card(pb::CardProof {
                certificate: card.auth_certificate().to_vec(),
                intermediates: card.chain(),
                signature,
                algorithm: algorithm as i32,
            })),
            nonce: String::new(),
        })
        .await?
        .into_inner())
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_professional_logs_in_with_the_cps_card_and_only_their_own() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    let files = TempDir::new("card-login")?;
    let dir = files.path().to_path_buf();
    let m = tokio::task::spawn_blocking(move || {
        write_all(
            &dir,
            &SynthSpec {
                professionals: 3,
                structures: 3,
                identities: 3,
                broken: 0,
                ..SynthSpec::default()
            },
        )
    })
    .await??;
    let p = Platform::start(Options {
        services: vec![Service::Enrolment, Service::Auth, Service::Certval],
        gateway: true,
        ..Options::default()
    })
    .await?;
    let mut enrolment = p.enrolment()?;
    import_file(
        &mut enrolment,
        p.operator_metadata().await?,
        DirectorySource::Rpps,
        &m.rpps_file,
        ImportHeader::default(),
        |_| {},
    )
    .await?;
    // Two professionals of the directory, the third column of the extract.
    let ids: Vec<String> = std::io::BufReader::new(std::fs::File::open(&m.rpps_file)?)
        .lines()
        .skip(1)
        .map(|l| l.map(|l| l.split('|').nth(2).unwrap_or_default().to_owned()))
        .collect::<Result<std::collections::BTreeSet<_>, _>>()?
        .into_iter()
        .take(2)
        .collect();
    ensure!(ids.len() == 2, "two professionals in {:?}", m.rpps_file);
    let pki = p.pki().context("the platform's dev PKI")?;
    let mut card = pki
        .issue_card(&files.path().join("card"), &ids[0], PIN)
        .await?;

    // The card's holder logs in: a professional session at eIDAS high.
    let tokens = card_login(&p, &ids[0], &mut card).await?;
    ensure!(
        tokens.acr == "eidas3" && tokens.amr == ["sc", "pin", "mfa"],
        "{:?} {:?}",
        tokens.acr,
        tokens.amr
    );
    let c = claims(&tokens.access_token);
    ensure!(
        c["sub"] == ids[0].as_str() && c["egide_category"] == "professional",
        "{c}"
    );
    // Bound to the client certificate the platform's channel presents (RFC 8705).
    ensure!(
        c["cnf"]["x5t#S256"].as_str().is_some_and(|t| t.len() == 43),
        "{c}"
    );
    ensure!(!tokens.id_token.is_empty(), "openid asked: an ID token");

    // The same card for another professional: refused, with the one answer for any proof.
    let other = card_login(&p, &ids[1], &mut card).await;
    let reason = other
        .as_ref()
        .err()
        .and_then(|s| egide_kit::error::decode(s).0);
    ensure!(reason.as_deref() == Some("login_failed"), "{other:?}");
    // A card of someone the directory does not list.
    let mut stranger = pki
        .issue_card(&files.path().join("stranger"), "899700218896", PIN)
        .await?;
    let refused = card_login(&p, "899700218896", &mut stranger).await;
    let reason = refused
        .as_ref()
        .err()
        .and_then(|s| egide_kit::error::decode(s).0);
    ensure!(reason.as_deref() == Some("login_failed"), "{refused:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_killed_mid_login_load_loses_and_duplicates_no_acknowledged_session()
-> anyhow::Result<()> {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use egide_e2e::authbench;
    use sea_orm::{ConnectionTrait as _, Database, Statement};

    let _one_at_a_time = LOCK.lock().await;
    let p = Platform::start(Options {
        services: vec![Service::Auth],
        gateway: true,
        ..Options::default()
    })
    .await?;
    let patients = Arc::new(authbench::patients(&p, 20).await?);
    let channels = p.gateway_channels(4)?;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let load = {
        let (patients, channels, acknowledged) =
            (patients.clone(), channels.clone(), acknowledged.clone());
        tokio::spawn(authbench::rate(16, 6.0, move |i| {
            let channel = channels[i % channels.len()].clone();
            let (patients, acknowledged) = (patients.clone(), acknowledged.clone());
            async move {
                let tokens = authbench::login(channel, &patients[i % patients.len()]).await?;
                acknowledged.lock().unwrap().push(tokens.session_id);
                Ok(())
            }
        }))
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = acknowledged.lock().unwrap().len();
    p.kill9(Service::Auth)?;
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    p.restart(Service::Auth)?;
    p.wait_serving(Service::Auth, Duration::from_secs(60))
        .await?;
    let (_, _) = load.await?;
    let sessions = acknowledged.lock().unwrap().clone();
    let after_restart = sessions.len() - before;
    println!(
        "{} sessions acknowledged ({before} before the kill, {after_restart} after; auth back in {:.1} s)",
        sessions.len(),
        killed_at.elapsed().as_secs_f64()
    );
    ensure!(
        before > 0 && after_restart > 0,
        "logins before and after the kill: {before}, {after_restart}"
    );
    let unique: std::collections::BTreeSet<&String> = sessions.iter().collect();
    ensure!(
        unique.len() == sessions.len(),
        "a session id acknowledged twice"
    );
    let db = Database::connect(p.database_url(Service::Auth)?).await?;
    let ids: Vec<uuid::Uuid> = sessions
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let row = db
        .query_one(Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT count(*) AS n, count(DISTINCT id) AS d FROM sessions WHERE id = ANY($1)",
            [sea_orm::Value::from(ids)],
        ))
        .await?
        .context("a count")?;
    let (n, d): (i64, i64) = (row.try_get("", "n")?, row.try_get("", "d")?);
    ensure!(
        n == sessions.len() as i64 && d == n,
        "{} acknowledged sessions, {n} stored ({d} distinct)",
        sessions.len()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_vault_sealed_logins_wait_and_tokens_keep_being_verified() -> anyhow::Result<()> {
    use egide_e2e::authbench;
    use egide_proto::enrolment::v1::{
        GetWalletRequest, enrolment_service_client::EnrolmentServiceClient,
    };

    let _one_at_a_time = LOCK.lock().await;
    let p = Platform::start(Options {
        services: vec![Service::Enrolment, Service::Auth],
        gateway: true,
        own_vault: true,
        ..Options::default()
    })
    .await?;
    let patients = authbench::patients(&p, 1).await?;
    let channel = p.gateway_channels(1)?.remove(0);
    let tokens = authbench::login(channel.clone(), &patients[0]).await?;
    let read = || {
        let mut client = EnrolmentServiceClient::new(channel.clone());
        let mut request = tonic::Request::new(GetWalletRequest {
            wallet_id: patients[0].wallet_id.to_string(),
        });
        let bearer = format!("Bearer {}", tokens.access_token);
        async move {
            request
                .metadata_mut()
                .insert("authorization", bearer.parse().unwrap());
            match client.get_wallet(request).await {
                Ok(_) => None,
                Err(s) => egide_kit::error::decode(&s).0,
            }
        }
    };
    // Accepted (enrolment looks the bench-only wallet up and does not find it).
    ensure!(read().await.as_deref() == Some("wallet_not_found"));
    let vault = p.vault();
    egide_e2e::blocking(|| vault.seal())?;
    // No token can be signed: the login answers UNAVAILABLE and opens nothing.
    let refused = authbench::login(channel.clone(), &patients[0]).await;
    let status = refused
        .as_ref()
        .err()
        .and_then(|e| e.downcast_ref::<tonic::Status>())
        .map(tonic::Status::code);
    ensure!(
        status == Some(tonic::Code::Unavailable),
        "a login with Vault sealed: {refused:?}"
    );
    // The gateway verifies the existing token from its cached keys.
    ensure!(
        read().await.as_deref() == Some("wallet_not_found"),
        "the token refused with Vault sealed"
    );
    egide_e2e::blocking(|| vault.unseal())?;
    Ok(())
}
