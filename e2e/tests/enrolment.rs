//! Enrolment end to end: real `egide-*` processes over real NATS, PostgreSQL and OpenBao,
//! clients through the TLS gateway, the simulators of the outside world (SMTP relay,
//! proofing provider) as real processes, and the audit log checked for what it received.
//!
//! Needs the binaries: `cargo build --bins` first (`make test` does). The tests run one at
//! a time (each starts a platform, one kills enrolment mid-import; the machine may have 2
//! cores).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeSet,
    io::BufRead as _,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use egide_directory::synth::{SynthManifest, SynthSpec, write_all};
use egide_e2e::{
    Options, Platform, Service, TempDir,
    directory::{Imported, import_file},
    patient::{Patient, expect_state, operator_session, reference_identities, with_bearer},
};
use egide_proto::{
    audit::v1::{AuditedEvent, ListEventsRequest},
    common::v1::{actor, event_envelope::Payload},
    enrolment::v1::{
        DirectoryImport, DirectorySource, GetProfessionalRequest, GetWalletRequest, ImportCounts,
        ImportHeader, ImportState, ListDirectoryImportsRequest, ListDirectoryImportsResponse,
        ReactivateWalletRequest, SuspendWalletRequest, WalletState,
    },
};
use prost::Message as _;
use tonic::Code;

/// One test at a time: each starts its own platform, and the machine may have 2 cores.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Professionals of the killed import: enough for its reading to last several seconds in a
/// debug build (≈ 1.5 activity lines each). `EGIDE_E2E_PROFESSIONALS` overrides.
const PROFESSIONALS: usize = 150_000;
/// How long the audit log may take to hold an event once it is committed.
const CONVERGE: Duration = Duration::from_secs(30);

fn professionals() -> usize {
    std::env::var("EGIDE_E2E_PROFESSIONALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PROFESSIONALS)
}

/// Writes the synthetic directory (blocking work, off the runtime's workers).
async fn synthesise(dir: &Path, spec: SynthSpec) -> anyhow::Result<SynthManifest> {
    let dir = dir.to_path_buf();
    Ok(tokio::task::spawn_blocking(move || write_all(&dir, &spec)).await??)
}

/// The idNat_PS of data lines `wanted` (1-based, header excluded) of an RPPS extract: its
/// third column, "Identification nationale PP".
fn rpps_ids(path: &Path, wanted: &BTreeSet<usize>) -> anyhow::Result<Vec<String>> {
    let file = std::fs::File::open(path)?;
    let mut ids = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate().skip(1) {
        if wanted.contains(&i) {
            let line = line?;
            let id = line.split('|').nth(2).context("an idNat_PS column")?;
            ids.push(id.to_owned());
        }
    }
    ensure!(ids.len() == wanted.len(), "lines {wanted:?} not all found");
    Ok(ids)
}

async fn list_imports(
    p: &Platform,
    source: DirectorySource,
) -> anyhow::Result<ListDirectoryImportsResponse> {
    Ok(p.enrolment()?
        .list_directory_imports(tonic::Request::from_parts(
            p.operator_metadata().await?,
            tonic::Extensions::default(),
            ListDirectoryImportsRequest {
                source: source as i32,
                page_size: 20,
            },
        ))
        .await?
        .into_inner())
}

fn counts(import: &DirectoryImport) -> ImportCounts {
    import.counts.unwrap_or_default()
}

/// Imports `path` through the platform's enrolment client, expecting it to complete.
async fn import(p: &Platform, source: DirectorySource, path: &Path) -> anyhow::Result<Imported> {
    let imported = import_file(
        &mut p.enrolment()?,
        p.operator_metadata().await?,
        source,
        path,
        ImportHeader::default(),
        |_| {},
    )
    .await
    .map_err(|e| p.failure(format!("import of {}: {e:#}", path.display())))?;
    if imported.done.state() != ImportState::Completed {
        return Err(p.failure(format!(
            "import of {} ended {:?}: {}",
            path.display(),
            imported.done.state(),
            imported.done.failure
        )));
    }
    Ok(imported)
}

/// Every event of the log whose type matches `event_type` (exact, or a `.>` prefix).
async fn events_of(p: &Platform, event_type: &str) -> anyhow::Result<Vec<AuditedEvent>> {
    let mut audit = p.audit()?;
    let mut events = Vec::new();
    let mut token = String::new();
    loop {
        let page = audit
            .list_events(ListEventsRequest {
                producer: "enrolment".into(),
                event_type: event_type.to_owned(),
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await?
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return Ok(events);
        }
        token = page.next_page_token;
    }
}

fn event_type(e: &AuditedEvent) -> &str {
    e.envelope.as_ref().map_or("", |v| v.event_type.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_enrolment_mid_import_loses_nothing() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    let started = Instant::now();
    let files = TempDir::new("import-kill")?;
    let m = synthesise(
        files.path(),
        SynthSpec {
            professionals: professionals(),
            structures: 10,
            identities: 0,
            broken: 0,
            ..SynthSpec::default()
        },
    )
    .await?;
    let size = std::fs::metadata(&m.rpps_file)?.len();
    println!(
        "synthesised {} professionals, {} activity lines ({} MiB) in {:.1} s",
        m.professionals,
        m.activity_lines,
        size >> 20,
        started.elapsed().as_secs_f64()
    );
    let p = Platform::start(Options {
        // auth: imports are an operator's, through the gateway.
        services: vec![Service::Enrolment, Service::Auth, Service::Audit],
        gateway: true,
        ..Options::default()
    })
    .await?;

    // 1. Stream the file through the gateway; kill -9 enrolment once half of it was read.
    let read = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let operator = p.operator_metadata().await?;
    let killed_import = tokio::spawn({
        let mut client = p.enrolment()?;
        let (path, read) = (m.rpps_file.clone(), read.clone());
        async move {
            import_file(
                &mut client,
                operator,
                DirectorySource::Rpps,
                &path,
                ImportHeader::default(),
                move |bytes| read.store(bytes, Ordering::Relaxed),
            )
            .await
        }
    });
    while read.load(Ordering::Relaxed) < size / 2 {
        if killed_import.is_finished() {
            let outcome = killed_import.await?;
            return Err(p.failure(format!(
                "the import ended before half of the file was read ({} of {size} bytes, {:.1} s): {:?}; \
                 make the file bigger (EGIDE_E2E_PROFESSIONALS)",
                read.load(Ordering::Relaxed),
                t.elapsed().as_secs_f64(),
                outcome.map(|i| i.done)
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at = read.load(Ordering::Relaxed);
    p.kill9(Service::Enrolment)?;
    println!(
        "enrolment killed after {:.1} s, {at} of {size} bytes read",
        t.elapsed().as_secs_f64()
    );
    match tokio::time::timeout(Duration::from_secs(30), killed_import).await?? {
        Ok(i) => bail!("the killed import returned a result: {:?}", i.done),
        Err(e) => println!("the client saw: {e:#}"),
    }

    // 2. Back up: the import shows it was interrupted, and nothing of it was applied.
    p.restart(Service::Enrolment)?;
    let back = p
        .wait_serving(Service::Enrolment, Duration::from_secs(60))
        .await?;
    println!("enrolment SERVING again after {:.1} s", back.as_secs_f64());
    let listed = list_imports(&p, DirectorySource::Rpps).await?;
    let killed = listed
        .imports
        .first()
        .context("the killed import is not listed")?;
    if !matches!(
        killed.state(),
        ImportState::Interrupted | ImportState::Failed
    ) {
        return Err(p.failure(format!(
            "the killed import shows {:?} after the restart, INTERRUPTED expected: {killed:?}",
            killed.state()
        )));
    }
    ensure!(
        listed.active_entities.get("rpps").copied().unwrap_or(0) == 0,
        "professionals active after the killed import: {:?}",
        listed.active_entities
    );
    let n = m.activity_lines;
    let sample = rpps_ids(&m.rpps_file, &BTreeSet::from([1, 2, n / 2, n]))?;
    let mut client = p.enrolment()?;
    for id in &sample {
        match client
            .get_professional(GetProfessionalRequest {
                id_nat_ps: id.clone(),
            })
            .await
        {
            Err(s) if s.code() == Code::NotFound => {}
            other => bail!("professional {id} after the killed import: {other:?}"),
        }
    }

    // 3. The same file again: applied, every count as synthesised.
    let completed = import(&p, DirectorySource::Rpps, &m.rpps_file).await?;
    let c = counts(&completed.done);
    let professionals = m.professionals as u64;
    ensure!(
        c.lines == n as u64 + 1
            && c.rows == n as u64
            && c.rejected == 0
            && c.entities == professionals
            && c.added == professionals
            && c.updated + c.deactivated + c.reactivated + c.unchanged == 0,
        "the import after the restart counted {c:?}: {n} rows and {professionals} professionals, all added, expected"
    );
    println!(
        "re-import: {:.1} s ({:.0} rows/s)",
        completed.elapsed.as_secs_f64(),
        n as f64 / completed.elapsed.as_secs_f64()
    );
    for id in &sample {
        let found = client
            .get_professional(GetProfessionalRequest {
                id_nat_ps: id.clone(),
            })
            .await
            .with_context(|| format!("professional {id} after the import"))?;
        ensure!(
            found.into_inner().professional.is_some(),
            "{id}: empty answer"
        );
    }

    // 4. And again: nothing changes.
    let again = import(&p, DirectorySource::Rpps, &m.rpps_file).await?;
    let c = counts(&again.done);
    ensure!(
        c.rows == n as u64
            && c.rejected == 0
            && c.entities == professionals
            && c.unchanged == professionals
            && c.added + c.updated + c.deactivated + c.reactivated == 0,
        "the third import counted {c:?}: all {professionals} unchanged expected"
    );
    let listed = list_imports(&p, DirectorySource::Rpps).await?;
    let states: Vec<(String, ImportState)> = listed
        .imports
        .iter()
        .map(|i| (i.id.clone(), i.state()))
        .collect();
    ensure!(
        states
            == [
                (again.done.id.clone(), ImportState::Completed),
                (completed.done.id.clone(), ImportState::Completed),
                (killed.id.clone(), killed.state()),
            ],
        "imports listed: {states:?}"
    );
    ensure!(
        listed.active_entities.get("rpps") == Some(&professionals),
        "active entities: {:?}",
        listed.active_entities
    );

    // 5. The audit log: one `directory.imported` per applied import, none for the killed one.
    let wanted = [completed.done.id.clone(), again.done.id.clone()];
    let logged = p
        .eventually(
            "audit holds both directory.imported events",
            CONVERGE,
            || async {
                let events = events_of(&p, "egide.enrolment.directory.imported")
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                let ids: Vec<String> = events
                    .iter()
                    .filter_map(|e| match e.envelope.as_ref()?.payload.as_ref()? {
                        Payload::DirectoryImported(d) => d.import.as_ref().map(|i| i.id.clone()),
                        _ => None,
                    })
                    .collect();
                if ids.len() >= wanted.len() {
                    Ok(ids)
                } else {
                    Err(format!("{} logged: {ids:?}", ids.len()))
                }
            },
        )
        .await?;
    ensure!(
        logged == wanted,
        "directory.imported events for imports {logged:?}; exactly {wanted:?} (killed: {}) expected",
        killed.id
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_enrols_through_the_gateway_and_suspension_is_seen_by_audit() -> anyhow::Result<()>
{
    let _one_at_a_time = LOCK.lock().await;
    let started = Instant::now();
    let files = TempDir::new("patient")?;
    let m = synthesise(
        files.path(),
        SynthSpec {
            professionals: 10,
            structures: 10,
            identities: 50,
            broken: 0,
            ..SynthSpec::default()
        },
    )
    .await?;
    let p = Platform::start(Options {
        services: vec![Service::Enrolment, Service::Auth, Service::Audit],
        gateway: true,
        ..Options::default()
    })
    .await?;

    // The INS and rights references, through the gateway.
    let identities = import(&p, DirectorySource::Ins, &m.identities_file).await?;
    let c = counts(&identities.done);
    ensure!(
        c.entities == m.identities as u64 && c.rejected == 0,
        "INS reference import counted {c:?}"
    );
    let rights = import(&p, DirectorySource::Rights, &m.rights_file).await?;
    ensure!(
        counts(&rights.done).rows == m.rights_lines as u64 && counts(&rights.done).rejected == 0,
        "rights reference import counted {:?}",
        counts(&rights.done)
    );

    // The patient enrols: start, e-mail code, identity proof, first device.
    let person = reference_identities(&m.identities_file, 1)?.remove(0);
    let nir = person.nir.clone();
    let birth_name = person.traits.birth_name.clone();
    let patient = Patient::new(&p, person)?;
    let enrolled = patient
        .enrol()
        .await
        .map_err(|e| p.failure(format!("enrolment: {e:#}")))?;
    let wallet_id = enrolled.wallet.id.clone();
    let identity = enrolled.wallet.identity.clone().unwrap_or_default();
    ensure!(
        identity.nir == nir && identity.identity_status == "QUAL",
        "the active wallet's identity: status {:?}, NIR as declared: {}",
        identity.identity_status,
        identity.nir == nir
    );
    ensure!(
        enrolled.wallet.rights.is_some(),
        "the wallet carries no rights"
    );

    // The app logs in with its device key (auth learnt the key from enrolment's events)
    // and reads the wallet with the access token.
    let tokens = p
        .eventually("a device-key login", CONVERGE, || async {
            enrolled.login(&p).await.map_err(|e| format!("{e:#}"))
        })
        .await?;
    let mut client = patient.client();
    let read = {
        let (token, wallet_id, client) = (
            tokens.access_token.clone(),
            wallet_id.clone(),
            client.clone(),
        );
        move || {
            let mut client = client.clone();
            let request = with_bearer(
                &token,
                GetWalletRequest {
                    wallet_id: wallet_id.clone(),
                },
            );
            async move {
                client
                    .get_wallet(request?)
                    .await
                    .map_err(anyhow::Error::from)
            }
        }
    };
    let wallet = p
        .eventually("the wallet read with the token", CONVERGE, || async {
            read().await.map_err(|e| format!("{e:#}"))
        })
        .await?
        .into_inner()
        .wallet
        .context("GetWallet: no wallet")?;
    ensure!(wallet.id == wallet_id, "read wallet {}", wallet.id);
    let anonymous = client
        .get_wallet(GetWalletRequest {
            wallet_id: wallet_id.clone(),
        })
        .await;
    ensure!(
        matches!(&anonymous, Err(s) if s.code() == Code::Unauthenticated),
        "a wallet read without a token: {anonymous:?}"
    );

    // Suspended by the patient (lost phone), who may not lift it; an operator does.
    let suspended = client
        .suspend_wallet(with_bearer(
            &tokens.access_token,
            SuspendWalletRequest {
                wallet_id: wallet_id.clone(),
                reason: "lost_phone".into(),
            },
        )?)
        .await?
        .into_inner()
        .wallet
        .context("SuspendWallet: no wallet")?;
    expect_state(&suspended, WalletState::Suspended, "after the suspension")?;
    // The suspension kills the app's session: the gateway refuses its token within 1 s.
    let suspended_at = Instant::now();
    let refused_after = loop {
        match read().await {
            Err(e)
                if e.downcast_ref::<tonic::Status>().is_some_and(|s| {
                    egide_kit::error::decode(s).0.as_deref() == Some("token_revoked")
                }) =>
            {
                break suspended_at.elapsed();
            }
            Ok(_) => {}
            Err(e) => bail!("reading the suspended wallet: {e:#}"),
        }
        ensure!(
            suspended_at.elapsed() < Duration::from_secs(1),
            "the token was still accepted 1 s after the suspension"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    println!("suspension → token refused at the gateway: {refused_after:?}");
    ensure!(
        suspended.suspension_reason == "lost_phone",
        "{:?}",
        suspended.suspension_reason
    );
    // The patient's session died with the suspension, and no new one opens.
    let refused = client
        .reactivate_wallet(with_bearer(
            &tokens.access_token,
            ReactivateWalletRequest {
                wallet_id: wallet_id.clone(),
            },
        )?)
        .await;
    ensure!(
        matches!(&refused, Err(s) if s.code() == Code::Unauthenticated),
        "the patient lifted their own suspension: {refused:?}"
    );
    ensure!(
        enrolled.login(&p).await.is_err(),
        "a suspended wallet's device logged in"
    );
    // An operator logs in with password + TOTP through the gateway and lifts it.
    let operator = operator_session(&p).await?;
    ensure!(
        operator.amr == ["pwd", "otp", "mfa"],
        "operator amr {:?}",
        operator.amr
    );
    let operator_id = {
        use base64::Engine as _;
        let payload = operator.access_token.split('.').nth(1).context("a JWT")?;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?,
        )?;
        claims["sub"].as_str().context("sub")?.to_owned()
    };
    let reactivated = client
        .reactivate_wallet(with_bearer(
            &operator.access_token,
            ReactivateWalletRequest {
                wallet_id: wallet_id.clone(),
            },
        )?)
        .await?
        .into_inner()
        .wallet
        .context("ReactivateWallet: no wallet")?;
    expect_state(&reactivated, WalletState::Active, "after the reactivation")?;

    // The audit log received every step, in order, about this wallet.
    let expected = [
        "egide.enrolment.wallet.started",
        "egide.enrolment.wallet.email_confirmed",
        "egide.enrolment.wallet.proofed",
        "egide.enrolment.device.registered",
        "egide.enrolment.wallet.activated",
        "egide.enrolment.wallet.suspended",
        "egide.enrolment.wallet.reactivated",
    ];
    let events = p
        .eventually("audit holds the wallet's events", CONVERGE, || async {
            let events: Vec<AuditedEvent> = events_of(&p, "egide.enrolment.>")
                .await
                .map_err(|e| format!("{e:#}"))?
                .into_iter()
                .filter(|e| {
                    let t = event_type(e);
                    t.starts_with("egide.enrolment.wallet.")
                        || t.starts_with("egide.enrolment.device.")
                })
                .collect();
            if events.len() >= expected.len() {
                Ok(events)
            } else {
                Err(format!(
                    "{:?}",
                    events.iter().map(event_type).collect::<Vec<_>>()
                ))
            }
        })
        .await?;
    let types: Vec<&str> = events.iter().map(event_type).collect();
    ensure!(
        types == expected,
        "wallet events in the audit log: {types:?}"
    );

    // Each names the patient by one INS digest only: as actor (an operator for the
    // reactivation) and in the payload; never the NIR, the birth name or the e-mail.
    let mut digests = BTreeSet::new();
    for e in &events {
        let envelope = e.envelope.as_ref().context("an envelope")?;
        let digest = match &envelope.payload {
            Some(Payload::WalletChanged(w)) => {
                ensure!(
                    w.wallet_id == wallet_id,
                    "{}: wallet {}",
                    envelope.event_type,
                    w.wallet_id
                );
                w.ins_digest.clone()
            }
            Some(Payload::DeviceChanged(d)) => {
                ensure!(
                    d.device.as_ref().map(|d| d.id.as_str()) == Some(enrolled.device.id.as_str()),
                    "{}: another device",
                    envelope.event_type
                );
                d.ins_digest.clone()
            }
            other => bail!("{}: payload {other:?}", envelope.event_type),
        };
        digests.insert(digest.clone());
        let actor = envelope.actor.as_ref().and_then(|a| a.kind.clone());
        let expected_actor = if envelope.event_type == "egide.enrolment.wallet.reactivated" {
            actor::Kind::Operator(operator_id.clone())
        } else {
            actor::Kind::PatientInsDigest(digest)
        };
        ensure!(
            actor.as_ref() == Some(&expected_actor),
            "{}: actor {actor:?}, {expected_actor:?} expected",
            envelope.event_type
        );
    }
    let digests: Vec<String> = digests.into_iter().collect();
    ensure!(
        digests.len() == 1
            && digests[0].len() == 64
            && digests[0].bytes().all(|b| b.is_ascii_hexdigit()),
        "one hex HMAC-SHA-256 digest for one patient expected: {digests:?}"
    );
    let everything = events_of(&p, "").await?;
    for e in &everything {
        let bytes = e.encode_to_vec();
        for (what, secret) in [
            ("the NIR", nir.as_str()),
            ("the birth name", birth_name.as_str()),
            ("the e-mail", patient.email.as_str()),
        ] {
            // (A very short name could turn up by chance in binary fields.)
            if secret.len() < 4 {
                continue;
            }
            ensure!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the audited event {} ({}) contains {what}",
                e.log_index,
                event_type(e)
            );
        }
    }
    println!(
        "{} events audited, none naming the patient; {:.1} s",
        everything.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
