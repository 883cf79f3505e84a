//! Fault tests of the whole platform: real `egide-*` processes over real NATS, PostgreSQL
//! and OpenBao, with crashes and outages injected while events flow.
//!
//! Needs the binaries: `cargo build --bins` first (`make test` does). The tests run one at
//! a time (they each start a platform and load the machine).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use egide_e2e::{
    Options, Platform, Service, TempDir, binary,
    dev_up::DevUpPorts,
    load::{self, Registered},
    platform::{dependency_reason, describe_status},
};
use tonic_health::pb::health_check_response::ServingStatus;

/// One test at a time: each starts its own platform, and the machine may have 2 cores.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Events produced by each mid-run fault test.
const EVENTS: u32 = 20_000;
/// Concurrent RegisterStructure callers.
const CALLERS: usize = 32;
/// How long the log may take to hold everything once the producers are done.
const CONVERGE: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// `kill -9` of the audit process, restarted after 1 s.
    KillAudit,
    /// NATS stopped (`SIGTERM`) and started again after 1 s.
    StopNats,
    /// NATS crashed (`SIGKILL`) and started again after 1 s.
    KillNats,
}

/// Waits until the audit log holds exactly events `1..=n` of enrolment.
async fn wait_complete(p: &Platform, n: u64, timeout: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let audit = p.audit()?;
    p.eventually(&format!("audit holds enrolment 1..={n}"), timeout, || {
        let mut audit = audit.clone();
        async move {
            match load::producer_state(&mut audit, "enrolment").await {
                Ok(Some(s)) if load::complete(&s, n) => Ok(()),
                Ok(s) => Err(load::describe_producer(s.as_ref())),
                Err(e) => Err(format!("ListProducers: {e:#}")),
            }
        }
    })
    .await?;
    Ok(started.elapsed())
}

/// Pages the whole log and checks it holds each registration exactly once.
async fn verify_log(p: &Platform, registered: &Registered) -> anyhow::Result<()> {
    let expected: BTreeSet<String> = registered.ok.iter().cloned().collect();
    ensure!(
        expected.len() == registered.ok.len(),
        "the API returned duplicate idNat_Struct values"
    );
    let mut audit = p.audit()?;
    let events = load::list_all(&mut audit, "enrolment", 1000).await?;
    let state = load::producer_state(&mut audit, "enrolment").await?;
    if let Err(problems) = load::verify_exactly_once(&events, &expected) {
        return Err(p.failure(format!(
            "the audit log is not exactly the registrations:\n  {problems}\nproducer state: {}",
            load::describe_producer(state.as_ref())
        )));
    }
    Ok(())
}

async fn mid_run_fault(fault: Fault) -> anyhow::Result<()> {
    let p = Platform::start(Options::default()).await?;
    let done = Arc::new(AtomicU64::new(0));
    let run = tokio::spawn(load::register_structures(
        p.enrolment_pool(4)?,
        p.operator_metadata().await?,
        1..EVENTS + 1,
        CALLERS,
        None,
        done.clone(),
    ));
    // Inject the fault a third of the way in.
    let third = u64::from(EVENTS / 3);
    while done.load(Ordering::Relaxed) < third {
        ensure!(!run.is_finished(), "the registration run ended early");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at = done.load(Ordering::Relaxed);
    let t = Instant::now();
    match fault {
        Fault::KillAudit => p.kill9(Service::Audit)?,
        Fault::StopNats => p.blocking(|p| p.nats().stop())?,
        Fault::KillNats => p.blocking(|p| p.nats().kill())?,
    }
    let down_at = done.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    match fault {
        Fault::KillAudit => p.restart(Service::Audit)?,
        Fault::StopNats | Fault::KillNats => p.blocking(|p| p.nats().start())?,
    }
    let up_at = done.load(Ordering::Relaxed);
    println!(
        "{fault:?}: injected after {at} registrations (down at {down_at}, back at {up_at}, {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    ensure!(
        up_at < u64::from(EVENTS),
        "the run was over before the fault ended ({up_at} registrations): not a mid-run fault"
    );
    let registered = run.await?;
    println!(
        "{EVENTS} registrations in {:.1} s ({:.0}/s), p99 {:?}",
        registered.elapsed.as_secs_f64(),
        f64::from(EVENTS) / registered.elapsed.as_secs_f64(),
        registered.quantile(0.99)
    );
    if !registered.errors.is_empty() {
        return Err(p.failure(format!(
            "{} registrations failed, e.g. {:?}",
            registered.errors.len(),
            &registered.errors[..registered.errors.len().min(5)]
        )));
    }
    p.wait_serving(Service::Audit, Duration::from_secs(30))
        .await?;
    let took = wait_complete(&p, u64::from(EVENTS), CONVERGE).await?;
    println!(
        "the log was complete {:.1} s after the last registration",
        took.as_secs_f64()
    );
    println!("{}", replay_summary(&p).await);
    verify_log(&p, &registered).await?;
    outbox_pruned(&p, u64::from(EVENTS)).await
}

/// How many messages JetStream holds and how many replays enrolment answered (for the
/// record: replays published within JetStream's duplicate window are dropped by it).
async fn replay_summary(p: &Platform) -> String {
    let messages = async {
        let js = async_nats::jetstream::new(async_nats::connect(p.nats().url()).await?);
        let mut stream = js.get_stream("EGIDE").await?;
        anyhow::Ok(stream.info().await?.state.messages)
    }
    .await;
    let log = p
        .log_path(Service::Enrolment)
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let replays = log
        .lines()
        .filter(|l| l.contains("replay requested"))
        .count();
    match messages {
        Ok(m) => format!(
            "JetStream stream EGIDE holds {m} messages; enrolment answered {replays} replay requests"
        ),
        Err(e) => {
            format!("JetStream stream EGIDE: {e:#}; enrolment answered {replays} replay requests")
        }
    }
}

/// Waits until enrolment's outbox learnt the audit watermark `n` and deleted every row.
async fn outbox_pruned(p: &Platform, n: u64) -> anyhow::Result<()> {
    let url = p.database_url(Service::Enrolment)?;
    let want = format!("0|{n}");
    p.eventually(
        &format!("enrolment's outbox pruned up to the audit watermark {n}"),
        Duration::from_secs(20),
        || {
            let got = p.blocking(|p| {
                p.postgres().psql(
                    &url,
                    "SELECT (SELECT count(*) FROM egide_outbox) AS rows, \
                            (SELECT audited_seq FROM egide_outbox_state WHERE producer = 'enrolment')",
                )
            });
            let want = want.clone();
            async move {
                match got {
                    Ok(got) if got == want => Ok(()),
                    Ok(got) => Err(format!("outbox rows|audited_seq = {got}")),
                    Err(e) => Err(format!("{e:#}")),
                }
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_killed_mid_run_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    mid_run_fault(Fault::KillAudit).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarted_mid_run_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    mid_run_fault(Fault::StopNats).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_killed_mid_run_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    mid_run_fault(Fault::KillNats).await
}

/// Registers FINESS bodies `bodies` one by one as an operator, through the platform's
/// usual path (the gateway when it runs); every call must succeed.
async fn register_each(
    p: &Platform,
    bodies: std::ops::Range<u32>,
    into: &mut Registered,
) -> anyhow::Result<()> {
    let operator = p.operator_metadata().await?;
    register_each_on(p, p.enrolment()?, operator, bodies, into).await
}

/// [`register_each`] on `client`, authorised by `operator`.
async fn register_each_on(
    p: &Platform,
    mut client: egide_proto::enrolment::v1::enrolment_service_client::EnrolmentServiceClient<
        tonic::transport::Channel,
    >,
    operator: tonic::metadata::MetadataMap,
    bodies: std::ops::Range<u32>,
    into: &mut Registered,
) -> anyhow::Result<()> {
    for n in bodies {
        let request = tonic::Request::from_parts(
            operator.clone(),
            tonic::Extensions::default(),
            load::structure_request(n),
        );
        let answer = client.register_structure(request).await.map_err(|s| {
            p.failure(format!(
                "RegisterStructure {n}: {:?}: {}",
                s.code(),
                s.message()
            ))
        })?;
        into.ok.push(
            answer
                .into_inner()
                .structure
                .context("no structure in the answer")?
                .id_nat_struct,
        );
    }
    Ok(())
}

/// Fails unless `service` reports itself not ready because of `dependency`, with a reason
/// containing `needle`, and gRPC health NOT_SERVING.
async fn expect_down(
    p: &Platform,
    service: Service,
    dependency: &str,
    needle: &str,
) -> Result<String, String> {
    let status = p
        .status(service)
        .await
        .map_err(|e| format!("{service}: GetStatus: {e:#}"))?;
    let health = p
        .health(service)
        .await
        .map_err(|e| format!("{service}: health: {e:#}"))?;
    match dependency_reason(&status, dependency) {
        Some(reason)
            if !status.ready && reason.contains(needle) && health == ServingStatus::NotServing =>
        {
            Ok(reason)
        }
        _ => Err(format!(
            "{service}: health {health:?}, {}",
            describe_status(&status)
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_for_a_minute() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    // Through the gateway before and after; during the outage the gateway refuses what
    // needs a person (it cannot follow session revocations: it fails closed) and serves
    // the public path, while enrolment itself keeps taking writes.
    let p = Platform::start(Options {
        // auth: the registrations are an operator's, through the gateway.
        services: vec![Service::Enrolment, Service::Auth, Service::Audit],
        gateway: true,
        ..Options::default()
    })
    .await?;
    let mut registered = Registered::default();
    register_each(&p, 1..21, &mut registered).await?;
    wait_complete(&p, 20, Duration::from_secs(30)).await?;

    p.blocking(|p| p.nats().kill())?;
    let down = Instant::now();
    for service in [Service::Enrolment, Service::Audit] {
        let reason = p
            .eventually(
                &format!("{service} NOT_SERVING because of nats"),
                Duration::from_secs(10),
                || expect_down(&p, service, "nats", "nats: "),
            )
            .await?;
        println!("{service} while NATS is down: {reason}");
    }
    let refused = p
        .enrolment()?
        .register_structure(tonic::Request::from_parts(
            p.operator_metadata().await?,
            tonic::Extensions::default(),
            load::structure_request(1_000),
        ))
        .await
        .expect_err("person-authenticated calls fail closed without NATS");
    ensure!(
        refused.code() == tonic::Code::Unavailable
            && egide_kit::error::decode(&refused).0.as_deref()
                == Some("token_verification_unavailable"),
        "while NATS is down the gateway answered {refused:?}"
    );
    let public = p
        .enrolment()?
        .get_structure(egide_proto::enrolment::v1::GetStructureRequest {
            id_nat_struct: registered.ok[0].clone(),
        })
        .await;
    ensure!(public.is_ok(), "the public path failed: {public:?}");
    // 50 registrations spread over the outage, straight to enrolment (as the gateway
    // would forward an operator's); they only need Postgres.
    let direct = p.enrolment_pool_direct(1)?.remove(0);
    for i in 0..50 {
        register_each_on(
            &p,
            direct.clone(),
            Platform::operator_metadata_direct(),
            21 + i..22 + i,
            &mut registered,
        )
        .await?;
        if i % 10 == 9 {
            for service in [Service::Enrolment, Service::Audit] {
                if let Err(state) = expect_down(&p, service, "nats", "nats: ").await {
                    return Err(p.failure(format!("while NATS is down: {state}")));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let rest = Duration::from_secs(60).saturating_sub(down.elapsed());
    tokio::time::sleep(rest).await;
    println!(
        "NATS was down {:.1} s; starting it",
        down.elapsed().as_secs_f64()
    );

    p.blocking(|p| p.nats().start())?;
    let took = wait_complete(&p, 70, Duration::from_secs(30)).await?;
    println!(
        "all 70 events logged {:.1} s after NATS came back",
        took.as_secs_f64()
    );
    println!("{}", replay_summary(&p).await);
    verify_log(&p, &registered).await?;
    outbox_pruned(&p, 70).await?;
    for service in [Service::Enrolment, Service::Audit, Service::Gateway] {
        p.wait_serving(service, Duration::from_secs(15)).await?;
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum VaultFault {
    Seal,
    Kill,
}

async fn vault_outage(fault: VaultFault) -> anyhow::Result<()> {
    let p = Platform::start(Options {
        own_vault: true,
        ..Options::default()
    })
    .await?;
    let needle = match fault {
        VaultFault::Seal => {
            p.blocking(|p| p.vault().seal())?;
            "sealed"
        }
        VaultFault::Kill => {
            p.blocking(|p| p.vault().kill())?;
            "unreachable"
        }
    };
    for service in [Service::Enrolment, Service::Audit] {
        let reason = p
            .eventually(
                &format!("{service} NOT_SERVING: vault {needle}"),
                Duration::from_secs(15),
                || expect_down(&p, service, "vault", needle),
            )
            .await?;
        println!("{service} with Vault {fault:?}: {reason}");
    }
    let back = Instant::now();
    match fault {
        VaultFault::Seal => p.blocking(|p| p.vault().unseal())?,
        VaultFault::Kill => p.blocking(|p| p.vault().start())?,
    }
    for service in [Service::Enrolment, Service::Audit] {
        p.wait_serving(service, Duration::from_secs(15)).await?;
        let status = p.status(service).await?;
        ensure!(status.ready, "{service}: {}", describe_status(&status));
    }
    println!(
        "SERVING again {:.1} s after Vault came back",
        back.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_sealed_then_unsealed() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    vault_outage(VaultFault::Seal).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_down_then_back() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    vault_outage(VaultFault::Kill).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_run_smoke() -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    let egide = binary(&egide_e2e::bin_dir(), "egide")?;
    let run_dir = TempDir::new("smoke")?;
    // Our own processes on port 0, reporting what they got; the third-party servers on
    // leased ports.
    let ports = DevUpPorts::lease()?;
    let mut cmd = tokio::process::Command::new(&egide);
    cmd.arg("--run-dir")
        .arg(run_dir.path())
        .args(["dev", "up", "--check"])
        .args(ports.args());
    if std::env::var_os("EGIDE_BAO_BIN").is_none() {
        println!("EGIDE_BAO_BIN is not set: the CLI looks for .tools/venv/bin/bao");
    }
    cmd.kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn()?;

    // endpoints.json exists only while the stack is up: `--check` removes it on the way
    // out. Watch for it meanwhile.
    let endpoints = run_dir.path().join("endpoints.json");
    let watcher = tokio::spawn({
        let endpoints = endpoints.clone();
        async move {
            loop {
                if let Ok(text) = std::fs::read_to_string(&endpoints)
                    && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
                {
                    return json;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .context("egide dev up --check did not finish within 180 s")??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "egide dev up --check: {} in {:.1} s\n{stdout}",
        output.status,
        started.elapsed().as_secs_f64()
    );
    let logs = || {
        let mut s = String::new();
        for name in [
            "nats",
            "postgres",
            "openbao",
            "enrolment",
            "audit",
            "gateway",
        ] {
            let path = run_dir.path().join("logs").join(format!("{name}.log"));
            s.push_str(&format!(
                "\n----- {name} -----\n{}",
                egide_e2e::supervise::tail(&path, 2000)
            ));
        }
        s
    };
    if !output.status.success() {
        run_dir.keep();
        bail!(
            "exit {}\nstdout:\n{stdout}\nstderr:\n{stderr}{}",
            output.status,
            logs()
        );
    }
    ensure!(
        stdout.contains("Égide is up in"),
        "no summary in:\n{stdout}\n{stderr}"
    );
    ensure!(
        stdout.contains("--check: the stack came up; stopping it."),
        "--check did not stop the stack:\n{stdout}"
    );
    let seen = if watcher.is_finished() {
        Some(watcher.await?)
    } else {
        watcher.abort();
        None
    };
    let json = seen.context("endpoints.json was never written while the stack was up")?;
    // endpoints.json names the addresses the processes bound, as each logged them.
    // Whether `log` has a "listening" line naming 127.0.0.1:port.
    let logs_listening_on = |log: &str, port: u16| -> anyhow::Result<bool> {
        let path = run_dir.path().join("logs").join(format!("{log}.log"));
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let addr = format!("127.0.0.1:{port}");
        Ok(text.lines().filter(|l| l.contains("listening")).any(|l| {
            l.match_indices(&addr)
                .any(|(i, _)| !l[i + addr.len()..].starts_with(|c: char| c.is_ascii_digit()))
        }))
    };
    let port_of = |url: &serde_json::Value| -> anyhow::Result<u16> {
        let url = url.as_str().with_context(|| format!("not a URL: {url}"))?;
        let port = url.rsplit(':').next().unwrap_or_default().parse::<u16>()?;
        ensure!(port != 0, "{url}: port 0 in endpoints.json");
        Ok(port)
    };
    let mut seen_ports = std::collections::BTreeSet::new();
    for service in Service::BACKENDS {
        let port = port_of(&json["services"][service.name()])?;
        ensure!(
            logs_listening_on(service.name(), port)?,
            "{service} did not log that it listens on port {port} (endpoints.json: {json})"
        );
        seen_ports.insert(port);
    }
    let gateway_port = port_of(&json["gateway"]["grpc"])?;
    ensure!(
        logs_listening_on("gateway", gateway_port)?,
        "the gateway did not log that it listens on port {gateway_port} (endpoints.json: {json})"
    );
    seen_ports.insert(gateway_port);
    ensure!(
        seen_ports.len() == Service::BACKENDS.len() + 1,
        "two processes on one port? {json}"
    );
    ensure!(
        json["nats"] == format!("nats://127.0.0.1:{}", ports.nats()),
        "endpoints.json: {json}"
    );
    ensure!(
        !endpoints.exists(),
        "endpoints.json is left behind after the stack stopped"
    );
    Ok(())
}

/// A fixed port that is taken stops `egide dev up` before it starts anything, saying which
/// port and what it was for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_up_names_a_taken_port() -> anyhow::Result<()> {
    let egide = binary(&egide_e2e::bin_dir(), "egide")?;
    let run_dir = TempDir::new("taken")?;
    let ports = DevUpPorts::lease()?;
    // A stranger on the NATS port.
    let stranger = std::net::TcpListener::bind(("127.0.0.1", ports.nats()))?;
    let output = tokio::process::Command::new(&egide)
        .arg("--run-dir")
        .arg(run_dir.path())
        .args(["dev", "up", "--check"])
        .args(ports.args())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    drop(stranger);
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(!output.status.success(), "dev up started on a taken port");
    ensure!(
        stderr.contains(&format!("port {} (nats) is in use", ports.nats())),
        "stderr does not name the port: {stderr}"
    );
    ensure!(
        !run_dir.path().join("logs/nats.log").exists(),
        "something was started"
    );
    Ok(())
}

/// Messages JetStream lost (simulated by deleting them from the stream while audit is
/// stopped) must come back through gap detection and replay, well inside JetStream's
/// duplicate window: a replayed event carries its own `Nats-Msg-Id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_loss_within_duplicate_window_is_replayed() -> anyhow::Result<()> {
    lost_from_the_stream(40..=50).await
}

/// Events lost at the very end of the stream: no later event reveals the gap, the
/// producer's head announcements do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_loss_at_the_tail_is_replayed() -> anyhow::Result<()> {
    lost_from_the_stream(91..=100).await
}

async fn lost_from_the_stream(lost: std::ops::RangeInclusive<u64>) -> anyhow::Result<()> {
    let _one_at_a_time = LOCK.lock().await;
    let p = Platform::start(Options::default()).await?;
    p.stop(Service::Audit)?;
    let mut registered = Registered::default();
    register_each(&p, 1..101, &mut registered).await?;
    let js = async_nats::jetstream::new(async_nats::connect(p.nats().url()).await?);
    let stream = js.get_stream("EGIDE").await?;
    p.eventually("100 events in JetStream", Duration::from_secs(15), || {
        let mut stream = stream.clone();
        async move {
            match stream.info().await {
                Ok(i) if i.state.messages == 100 => Ok(()),
                Ok(i) => Err(format!("{} messages", i.state.messages)),
                Err(e) => Err(format!("{e:#}")),
            }
        }
    })
    .await?;
    for seq in lost {
        stream.delete_message(seq).await?;
    }
    p.restart(Service::Audit)?;
    p.wait_serving(Service::Audit, Duration::from_secs(30))
        .await?;
    wait_complete(&p, 100, Duration::from_secs(30)).await?;
    verify_log(&p, &registered).await
}
