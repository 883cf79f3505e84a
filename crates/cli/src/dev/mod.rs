//! `egide dev up`: the whole platform on one machine, no Kubernetes.
//!
//! NATS (JetStream), PostgreSQL and OpenBao run as child processes on loopback with their
//! data under the run directory, so a second `up` finds everything as it was left. Vault is
//! initialised once (one unseal key, kept in `vault/init.json`, mode 0600 — a dev stack
//! only) and unsealed at every start; each service logs in with its own AppRole. The
//! simulators of the outside world (mail relay, identity proofing) start before the
//! services; the first `up` also seeds a demo directory.

mod operator;
mod postgres;
mod seed;
mod sims;
mod tools;
pub(crate) mod vault;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use clap::Args;
use tokio::process::{Child, Command};

use self::{postgres::Postgres, tools::Tools, vault::bootstrap_vault};
use crate::endpoints::{self, Endpoints};

/// The backend services, with their gRPC port offsets from `--service-port-base`.
const SERVICES: [(&str, u16); 5] = [
    ("enrolment", 0),
    ("auth", 1),
    ("certval", 2),
    ("billing", 3),
    ("audit", 4),
];

/// `egide dev up` options.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// NATS client port.
    #[arg(long, default_value_t = 14222, value_parser = clap::value_parser!(u16).range(1..))]
    nats_port: u16,
    /// PostgreSQL port.
    #[arg(long, default_value_t = 15432, value_parser = clap::value_parser!(u16).range(1..))]
    postgres_port: u16,
    /// OpenBao port (its cluster listener takes the next one).
    #[arg(long, default_value_t = 18200, value_parser = clap::value_parser!(u16).range(1..65535))]
    vault_port: u16,
    /// First backend gRPC port (enrolment; then auth, certval, billing, audit; the mail
    /// and proofing simulators at +10 and +11). 0: each picks a free port, and
    /// `.run/endpoints.json` tells which.
    #[arg(long, default_value_t = 50061)]
    service_port_base: u16,
    /// Gateway gRPC (TLS) port; 0 picks a free one.
    #[arg(long, default_value_t = 8443)]
    gateway_port: u16,
    /// Gateway HTTP port; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    gateway_http_port: u16,
    /// Start everything, print the summary, then stop everything and exit 0: a smoke test
    /// of the whole stack (used by `make test`).
    #[arg(long)]
    check: bool,
}

/// The children, stopped in reverse order.
struct Children(Vec<(String, Child)>);

impl Children {
    async fn stop_all(&mut self) {
        while let Some((name, mut child)) = self.0.pop() {
            if let Some(pid) = child.id() {
                let signal = if name == "postgres" { "-INT" } else { "-TERM" };
                let _ = Command::new("kill")
                    .arg(signal)
                    .arg(pid.to_string())
                    .status()
                    .await;
                match tokio::time::timeout(Duration::from_secs(15), child.wait()).await {
                    Ok(_) => println!("  stopped {name}"),
                    Err(_) => {
                        let _ = child.kill().await;
                        println!("  killed {name} (did not stop in 15 s)");
                    }
                }
            }
        }
    }
}

/// `egide dev up`.
pub async fn up(run_dir: &Path, args: UpArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let run_dir = absolute(run_dir)?;
    let logs = run_dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let bin_dir = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .context("no directory for the egide binary")?;
    let tools = Tools::find()?;
    for (what, port) in fixed_ports(&args) {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "port {port} ({what}) is in use: is another `make run` still running? (stop it, or pick other ports: egide dev up --help)"
            );
        }
    }
    let mut children = Children(Vec::new());
    let result = start_all(&run_dir, &logs, &bin_dir, &tools, &args, &mut children).await;
    let endpoints = match result {
        Ok(e) => e,
        Err(error) => {
            eprintln!(
                "egide dev up failed: {error:#}\nlogs are in {}",
                logs.display()
            );
            children.stop_all().await;
            return Ok(ExitCode::FAILURE);
        }
    };
    endpoints.write(&run_dir)?;
    let demo = match seed::ensure(&run_dir).await {
        Ok(demo) => demo,
        Err(error) if args.check => {
            eprintln!("egide dev up: seeding the demo directory failed: {error:#}");
            children.stop_all().await;
            let _ = std::fs::remove_file(run_dir.join("endpoints.json"));
            return Ok(ExitCode::FAILURE);
        }
        Err(error) => {
            eprintln!(
                "  directory seeding the demo directory FAILED: {error:#} (the stack runs on; the next `up` tries again)"
            );
            seed::Demo::default()
        }
    };
    let elapsed = started.elapsed();
    print_summary(&endpoints, &run_dir, elapsed, &demo);
    if args.check {
        println!("--check: the stack came up; stopping it.");
    } else {
        println!("Ctrl-C stops everything.");
        wait_for_stop(&mut children).await;
    }
    println!("stopping…");
    children.stop_all().await;
    let _ = std::fs::remove_file(run_dir.join("endpoints.json"));
    Ok(ExitCode::SUCCESS)
}

/// The login of the operator account `dev up` creates.
pub const FIRST_OPERATOR: &str = "operator";

/// Points `cmd` at the mesh identity of `name` in `dir` (`<prefix>MESH__*`).
fn mesh_env(cmd: &mut Command, prefix: &str, dir: &Path, name: &str) {
    let files = egide_kit::mesh::MeshConfig::in_dir(dir, name);
    cmd.env(format!("{prefix}MESH__CA_FILE"), &files.ca_file)
        .env(format!("{prefix}MESH__CERT_FILE"), &files.cert_file)
        .env(format!("{prefix}MESH__KEY_FILE"), &files.key_file);
}

/// The first operator's password file (`<run_dir>/operator-password`, 0600): from
/// `$EGIDE_OPERATOR_PASSWORD`, else drawn at random on the first run and printed once.
fn first_operator_password(run_dir: &Path) -> anyhow::Result<PathBuf> {
    let path = run_dir.join("operator-password");
    if let Ok(given) = std::env::var("EGIDE_OPERATOR_PASSWORD") {
        egide_gateway::dev_tls::write_private(&path, given.as_bytes())?;
    } else if !path.exists() {
        use base64::Engine as _;
        let mut raw = [0u8; 18];
        getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
        let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        egide_gateway::dev_tls::write_private(&path, password.as_bytes())?;
        println!(
            "  operator  first operator account: login `{FIRST_OPERATOR}`, password {password} (shown once; kept in {})",
            path.display()
        );
    }
    Ok(path)
}

/// The ports `args` fixes, with what listens there (port 0 lets a process pick).
fn fixed_ports(args: &UpArgs) -> Vec<(String, u16)> {
    let mut ports = vec![
        ("nats".to_owned(), args.nats_port),
        ("postgres".to_owned(), args.postgres_port),
        ("openbao".to_owned(), args.vault_port),
        (
            "openbao cluster".to_owned(),
            args.vault_port.saturating_add(1),
        ),
        ("gateway gRPC".to_owned(), args.gateway_port),
        ("gateway HTTP".to_owned(), args.gateway_http_port),
    ];
    ports.extend(
        SERVICES
            .into_iter()
            .chain([
                ("mail-sim", sims::MAIL_SIM_OFFSET),
                ("proofing-sim", sims::PROOFING_SIM_OFFSET),
            ])
            .map(|(name, offset)| (name.to_owned(), service_port(args, offset))),
    );
    ports.retain(|&(_, port)| port != 0);
    ports
}

/// The listen port of the process at `offset` from `--service-port-base` (0: any).
fn service_port(args: &UpArgs, offset: u16) -> u16 {
    if args.service_port_base == 0 {
        0
    } else {
        args.service_port_base.saturating_add(offset)
    }
}

async fn wait_for_stop(children: &mut Children) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                for (name, child) in &mut children.0 {
                    if let Ok(Some(status)) = child.try_wait() {
                        eprintln!("{name} exited ({status}); stopping the stack. See .run/logs/{name}.log");
                        return;
                    }
                }
            }
        }
    }
}

async fn start_all(
    run_dir: &Path,
    logs: &Path,
    bin_dir: &Path,
    tools: &Tools,
    args: &UpArgs,
    children: &mut Children,
) -> anyhow::Result<Endpoints> {
    // NATS.
    let nats_url = format!("nats://127.0.0.1:{}", args.nats_port);
    let mut cmd = Command::new(&tools.nats);
    cmd.args([
        "-a",
        "127.0.0.1",
        "-p",
        &args.nats_port.to_string(),
        "-js",
        "-sd",
    ])
    .arg(run_dir.join("nats"));
    children.0.push(("nats".into(), spawn(cmd, logs, "nats")?));
    wait_tcp(children, "nats", args.nats_port, logs).await?;
    println!("  nats      up on {nats_url}");

    // PostgreSQL.
    let pg = Postgres::new(tools, run_dir, args.postgres_port);
    pg.init().await?;
    children
        .0
        .push(("postgres".into(), spawn(pg.command(), logs, "postgres")?));
    pg.wait_ready().await?;
    for (service, _) in SERVICES {
        pg.ensure_database(&format!("egide_{service}")).await?;
    }
    println!("  postgres  up on 127.0.0.1:{}", args.postgres_port);

    // OpenBao.
    let vault_addr = format!("http://127.0.0.1:{}", args.vault_port);
    let vault_dir = run_dir.join("vault");
    std::fs::create_dir_all(vault_dir.join("data"))?;
    let config = vault_dir.join("config.hcl");
    std::fs::write(
        &config,
        format!(
            "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"egide-dev\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{}\"\n  cluster_address = \"127.0.0.1:{}\"\n  tls_disable = true\n}}\napi_addr = \"{vault_addr}\"\ncluster_addr = \"http://127.0.0.1:{}\"\nui = false\n",
            vault_dir.join("data").display(),
            args.vault_port,
            args.vault_port + 1,
            args.vault_port + 1,
        ),
    )?;
    let mut cmd = Command::new(&tools.bao);
    cmd.arg("server")
        .arg(format!("-config={}", config.display()));
    children
        .0
        .push(("openbao".into(), spawn(cmd, logs, "openbao")?));
    wait_tcp(children, "openbao", args.vault_port, logs).await?;
    let approles = bootstrap_vault(&vault_addr, &vault_dir).await?;
    println!("  openbao   up on {vault_addr} (unsealed, transit keys and AppRoles ready)");
    // The dev PKI (idempotent: built on the first `up`, found afterwards), before the
    // services: certval starts with the configuration that trusts it.
    let certval_config = crate::pki::init_for_dev_up(run_dir, &vault_addr).await?;
    println!(
        "  pki       dev IGC-Santé PKI ready (roots in {})",
        run_dir.join("pki/anchors").display()
    );

    // Simulators, then services.
    let sims = sims::start(run_dir, logs, bin_dir, args, children).await?;
    println!(
        "  sims      mail relay on {}, proofing provider on {}",
        sims.mail_smtp, sims.proofing_url
    );
    let tls = egide_gateway::dev_tls::ensure(&run_dir.join("tls"))?;
    // The internal mesh: one certificate per process, the gateway's the only one whose
    // caller headers the services believe.
    let mesh_dir = run_dir.join("mesh");
    egide_kit::mesh::dev::ensure(&mesh_dir)?;
    let operator_password = first_operator_password(run_dir)?;
    let addr_dir = run_dir.join("addr");
    std::fs::create_dir_all(&addr_dir)?;
    let start_service = |service: &str,
                         offset: u16,
                         peers: &BTreeMap<&str, SocketAddr>,
                         children: &mut Children|
     -> anyhow::Result<PathBuf> {
        let port = service_port(args, offset);
        let prefix = format!("EGIDE_{}__", service.to_ascii_uppercase());
        let (role_id, secret_id) = approles
            .get(service)
            .with_context(|| format!("no AppRole for {service}"))?;
        let addr_file = fresh_addr_file(&addr_dir, service)?;
        let mut cmd = Command::new(bin_dir.join(format!("egide-{service}")));
        cmd.env(egide_kit::server::ADDR_FILE_ENV, &addr_file)
            .env(format!("{prefix}GRPC__LISTEN"), format!("127.0.0.1:{port}"))
            .env(
                format!("{prefix}DATABASE__URL"),
                pg.url(&format!("egide_{service}")),
            )
            .env(format!("{prefix}NATS__URL"), &nats_url)
            .env(format!("{prefix}VAULT__ADDR"), &vault_addr)
            .env(format!("{prefix}VAULT__AUTH__METHOD"), "approle")
            .env(format!("{prefix}VAULT__AUTH__ROLE_ID"), role_id)
            .env(format!("{prefix}VAULT__AUTH__SECRET_ID"), secret_id)
            .env(format!("{prefix}TELEMETRY__FORMAT"), "pretty");
        mesh_env(&mut cmd, &prefix, &mesh_dir, service);
        if service == "enrolment" {
            cmd.env("EGIDE_CONFIG", &sims.enrolment_config);
            if let Some(certval) = peers.get("certval") {
                cmd.env(
                    format!("{prefix}CERTVAL__ENDPOINT"),
                    format!("https://{certval}"),
                );
            }
        }
        if service == "certval" {
            cmd.env("EGIDE_CONFIG", &certval_config);
        }
        if service == "auth" {
            for (peer, key) in [("certval", "CERTVAL"), ("enrolment", "ENROLMENT")] {
                if let Some(addr) = peers.get(peer) {
                    cmd.env(format!("{prefix}PEERS__{key}"), format!("https://{addr}"));
                }
            }
            // The gateway's public URL: where its OIDC discovery and token endpoint are.
            cmd.env(
                format!("{prefix}TOKENS__ISSUER"),
                format!("https://localhost:{}", args.gateway_port),
            );
            cmd.env(
                format!("{prefix}ACCOUNTS__BOOTSTRAP_OPERATOR"),
                FIRST_OPERATOR,
            )
            .env(
                format!("{prefix}ACCOUNTS__BOOTSTRAP_PASSWORD_FILE"),
                &operator_password,
            );
        }
        children
            .0
            .push((service.into(), spawn(cmd, logs, service)?));
        Ok(addr_file)
    };
    // The services nobody needs the address of at once; then enrolment once certval
    // listens, and auth once both do (each is configured with their addresses).
    let mut addr_files = BTreeMap::new();
    let mut peers = BTreeMap::new();
    let offset_of = |name: &str| {
        SERVICES
            .iter()
            .find(|(s, _)| *s == name)
            .map_or(0, |(_, offset)| *offset)
    };
    for &(service, offset) in SERVICES
        .iter()
        .filter(|(s, _)| !matches!(*s, "enrolment" | "auth"))
    {
        addr_files.insert(service, start_service(service, offset, &peers, children)?);
    }
    for (waited, next) in [("certval", "enrolment"), ("enrolment", "auth")] {
        let file = addr_files
            .get(waited)
            .cloned()
            .with_context(|| format!("{waited} is not among the services"))?;
        let addr = grpc_addr(waited, wait_listening(children, waited, &file, logs).await?)?;
        peers.insert(waited, addr);
        addr_files.insert(
            next,
            start_service(next, offset_of(next), &peers, children)?,
        );
    }
    let mut services = BTreeMap::new();
    for (service, addr_file) in &addr_files {
        let addrs = wait_listening(children, service, addr_file, logs).await?;
        services.insert(
            (*service).to_owned(),
            format!("https://{}", grpc_addr(service, addrs)?),
        );
    }

    let gateway_addr_file = fresh_addr_file(&addr_dir, "gateway")?;
    let mut cmd = Command::new(bin_dir.join("egide-gateway"));
    cmd.env(egide_kit::server::ADDR_FILE_ENV, &gateway_addr_file)
        .env(
            "EGIDE_GATEWAY__GRPC__LISTEN",
            format!("127.0.0.1:{}", args.gateway_port),
        )
        .env(
            "EGIDE_GATEWAY__HTTP__LISTEN",
            format!("127.0.0.1:{}", args.gateway_http_port),
        )
        .env("EGIDE_GATEWAY__TLS__CERT_FILE", &tls.cert_file)
        .env("EGIDE_GATEWAY__TLS__KEY_FILE", &tls.key_file)
        .env("EGIDE_GATEWAY__NATS__URL", &nats_url)
        .env(
            "EGIDE_GATEWAY__BEARER__ISSUER",
            format!("https://localhost:{}", args.gateway_port),
        )
        .env("EGIDE_GATEWAY__TELEMETRY__FORMAT", "pretty");
    mesh_env(&mut cmd, "EGIDE_GATEWAY__", &mesh_dir, "gateway");
    for (service, addr) in &services {
        cmd.env(
            format!("EGIDE_GATEWAY__ROUTES__{}", service.to_ascii_uppercase()),
            addr,
        );
    }
    children
        .0
        .push(("gateway".into(), spawn(cmd, logs, "gateway")?));
    let gateway = wait_listening(children, "gateway", &gateway_addr_file, logs).await?;
    let (Some(grpc), Some(http)) = (gateway.get("grpc"), gateway.get("http")) else {
        bail!("the gateway announced {gateway:?}, not its gRPC and HTTP addresses");
    };

    let endpoints = Endpoints {
        gateway: endpoints::Gateway {
            grpc: format!("https://localhost:{}", grpc.port()),
            http: format!("http://{http}"),
            ca_file: tls.ca_file.display().to_string(),
        },
        services,
        nats: nats_url,
        postgres: format!("postgres://127.0.0.1:{}", args.postgres_port),
        vault: vault_addr,
        mail_dir: sims.mail_dir.display().to_string(),
        mail_smtp: sims.mail_smtp,
        proofing_sim: sims.proofing_url,
    };
    wait_all_ready(&endpoints, children).await?;
    Ok(endpoints)
}

fn print_summary(e: &Endpoints, run_dir: &Path, elapsed: Duration, demo: &seed::Demo) {
    println!();
    println!("Égide is up in {:.1} s.", elapsed.as_secs_f64());
    println!(
        "  gateway   {}  (gRPC over TLS; trust {})",
        e.gateway.grpc, e.gateway.ca_file
    );
    println!("            {}/readyz  /metrics", e.gateway.http);
    for (name, addr) in &e.services {
        println!("  {name:<9} {addr}");
    }
    println!("  mail sim  {}  (captured in {})", e.mail_smtp, e.mail_dir);
    println!("  proofing  {}", e.proofing_sim);
    println!("  endpoints {}", run_dir.join("endpoints.json").display());
    println!("  logs      {}", run_dir.join("logs").display());
    println!();
    println!("Try:");
    println!("  target/debug/egide patient enrol");
    if let Some(id) = &demo.id_nat_ps {
        println!("  target/debug/egide professional get {id}");
        println!("  target/debug/egide professional activate {id}");
    }
    if let Some(finess) = &demo.finess {
        println!("  target/debug/egide structure register --finess {finess}");
    }
    println!("  target/debug/egide directory status");
    println!("  target/debug/egide audit events");
    println!("  target/debug/egide status");
}

async fn wait_all_ready(endpoints: &Endpoints, children: &mut Children) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for (name, child) in &mut children.0 {
            if let Ok(Some(status)) = child.try_wait() {
                bail!("{name} exited during start-up ({status}); see its log");
            }
        }
        if gateway_ready(&endpoints.gateway.http).await {
            println!("  services  enrolment, auth, certval, billing, audit and gateway ready");
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("not every service became ready within 60 s; `egide status` tells which and why");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET /readyz` on the gateway (which is ready once every backend is).
async fn gateway_ready(http: &str) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Some(addr) = http.strip_prefix("http://") else {
        return false;
    };
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    if s.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await;
    buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200")
}

fn spawn(mut cmd: Command, logs: &Path, name: &str) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join(format!("{name}.log")))?;
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        // Ctrl-C goes to `egide` only; it stops the children in order.
        .process_group(0);
    cmd.spawn().with_context(|| format!("starting {name}"))
}

/// `<addr_dir>/<name>.addr`, removed if an earlier run left it: the process writes it
/// once it listens.
fn fresh_addr_file(addr_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = addr_dir.join(format!("{name}.addr"));
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Waits until the child `name` announces its listeners in `addr_file` (see
/// `egide_kit::server::announce`).
async fn wait_listening(
    children: &mut Children,
    name: &str,
    addr_file: &Path,
    logs: &Path,
) -> anyhow::Result<BTreeMap<String, SocketAddr>> {
    wait_started(children, name, logs, || {
        egide_kit::server::read_addr_file(addr_file)
            .with_context(|| format!("reading {}", addr_file.display()))
    })
    .await
}

/// The `grpc` listener a service announced.
fn grpc_addr(service: &str, addrs: BTreeMap<String, SocketAddr>) -> anyhow::Result<SocketAddr> {
    addrs
        .get("grpc")
        .copied()
        .with_context(|| format!("{service} announced {addrs:?}, no gRPC address"))
}

/// Polls `started` until it gives a value; fails at once, with the last error of its log,
/// if the child `name` exits first (a fixed port already taken, for one).
async fn wait_started<T>(
    children: &mut Children,
    name: &str,
    logs: &Path,
    mut started: impl FnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let limit = Duration::from_secs(60);
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = started()? {
            return Ok(value);
        }
        if let Some((_, child)) = children.0.iter_mut().find(|(n, _)| n == name)
            && let Ok(Some(status)) = child.try_wait()
        {
            let log = logs.join(format!("{name}.log"));
            bail!(
                "{name} exited during start-up ({status}): {}\n(its log: {})",
                last_error(&log),
                log.display()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{name} did not start within {limit:?}; see its log in {}",
                logs.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The last line of `log` that reports an error, else its last line.
fn last_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.contains("ERROR") || l.to_ascii_lowercase().contains("error"))
        .or(lines.last())
        .map_or_else(|| "(empty log)".to_owned(), |l| (*l).to_owned())
}

/// Waits until the child `name` accepts connections on loopback `port`, failing with its
/// log's last error if it exits first (its port taken since the check at the start).
async fn wait_tcp(
    children: &mut Children,
    name: &str,
    port: u16,
    logs: &Path,
) -> anyhow::Result<()> {
    wait_started(children, name, logs, || {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        Ok(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                .is_ok()
                .then_some(()),
        )
    })
    .await
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}
