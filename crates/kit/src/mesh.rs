//! The internal mesh: mutual TLS between Égide's own processes.
//!
//! Every process holds a certificate of the platform's internal CA (never an IGC-Santé
//! one) naming it `<service>.egide.internal` (the `.internal` TLD is reserved for private
//! use). Backends serve gRPC over TLS and ask for, without requiring, a client certificate
//! of that CA; clients check that the server is the *service* they meant (by name, not by
//! address) and present their own certificate.
//!
//! The point is the caller: the `x-egide-` headers of [`crate::caller`] say who called,
//! and only the gateway may say it. [`CallerGuard`] removes them from every request whose
//! TLS peer is not the gateway (no TLS, no certificate, or another service's), so a
//! backend reached directly by anyone else sees no caller at all and refuses what needs
//! one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tonic::transport::{
    Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig, server::TcpConnectInfo,
    server::TlsConnectInfo,
};

/// The DNS suffix of the mesh names.
pub const DOMAIN: &str = "egide.internal";

/// The one peer whose `x-egide-` headers are believed.
pub const GATEWAY: &str = "gateway";

/// The processes `egide dev up` and the test harnesses make certificates for.
pub const DEV_NAMES: [&str; 7] = [
    "gateway",
    "enrolment",
    "auth",
    "certval",
    "billing",
    "audit",
    "cli",
];

/// The mesh name of `service`: `enrolment` → `enrolment.egide.internal`.
pub fn name_of(service: &str) -> String {
    format!("{service}.{DOMAIN}")
}

/// PEM files of this process's mesh identity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MeshConfig {
    /// The internal CA certificate: the only issuer peers are accepted from.
    pub ca_file: PathBuf,
    /// This process's certificate (chain, leaf first).
    pub cert_file: PathBuf,
    /// Its private key (PKCS#8 PEM).
    pub key_file: PathBuf,
}

impl MeshConfig {
    /// The files `dev::ensure` writes for `name` in `dir`.
    pub fn in_dir(dir: &Path, name: &str) -> Self {
        Self {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join(format!("{name}.pem")),
            key_file: dir.join(format!("{name}.key")),
        }
    }
}

/// A loaded mesh identity.
#[derive(Clone, Debug)]
pub struct Mesh {
    ca: Certificate,
    identity: Identity,
}

impl Mesh {
    /// Reads the three files.
    pub fn load(config: &MeshConfig) -> anyhow::Result<Self> {
        // tonic's TLS takes the process's rustls provider; two are linked (ring, and
        // aws-lc-rs through other crates), so name one. The gateway's own TLS uses ring too.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| anyhow::anyhow!("mesh: {}: {e}", path.display()))
        };
        Ok(Self {
            ca: Certificate::from_pem(read(&config.ca_file)?),
            identity: Identity::from_pem(read(&config.cert_file)?, read(&config.key_file)?),
        })
    }

    /// The server side: this identity, client certificates of the internal CA asked for
    /// and verified when shown (optional: peers without one are served, as nobody).
    pub fn server_tls(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .client_auth_optional(true)
    }

    /// A client endpoint for `service` at `url` (`https://host:port`): the server must
    /// prove it is `service` of the mesh, and this process shows its own certificate.
    pub fn endpoint(&self, url: &str, service: &str) -> anyhow::Result<Endpoint> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .identity(self.identity.clone())
            .domain_name(name_of(service));
        Ok(Endpoint::from_shared(url.to_owned())?.tls_config(tls)?)
    }
}

/// An endpoint for `service` at `url`, as its scheme says: `https://` over the mesh (this
/// process must have an identity), `http://` in plain HTTP/2 (a server without the mesh,
/// which sees no caller).
pub fn endpoint(mesh: Option<&Mesh>, url: &str, service: &str) -> anyhow::Result<Endpoint> {
    match (url.starts_with("https://"), mesh) {
        (true, Some(mesh)) => mesh.endpoint(url, service),
        (true, None) => {
            anyhow::bail!("{service} at {url}: an https:// peer needs a [mesh] identity")
        }
        (false, _) => Ok(Endpoint::from_shared(url.to_owned())?),
    }
}

/// A lazily connected channel to a peer service, with one deadline for connecting and
/// for each call: what a service uses to call another.
pub fn peer_channel(
    mesh: Option<&Mesh>,
    url: &str,
    service: &str,
    timeout: std::time::Duration,
) -> anyhow::Result<tonic::transport::Channel> {
    Ok(endpoint(mesh, url, service)
        .map_err(|e| anyhow::anyhow!("{service} endpoint {url:?}: {e}"))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy())
}

/// The mesh identity of a service's configuration, loaded (none: no mesh).
pub fn load(config: Option<&MeshConfig>) -> anyhow::Result<Option<Mesh>> {
    config.map(Mesh::load).transpose()
}

/// Whether `request` came over TLS from the gateway's mesh certificate (its chain was
/// verified against the internal CA during the handshake).
pub fn from_gateway<B>(request: &http::Request<B>) -> bool {
    request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(TlsConnectInfo::peer_certs)
        .and_then(|chain| chain.first().map(|leaf| names(leaf.as_ref())))
        .is_some_and(|names| names.iter().any(|n| *n == name_of(GATEWAY)))
}

/// The DNS names of a certificate's subjectAltName (none if it does not parse).
fn names(der: &[u8]) -> Vec<String> {
    use x509_parser::{extensions::GeneralName, prelude::FromDer as _};
    let Ok((_, cert)) = x509_parser::certificate::X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(name) => Some(name.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The tower layer every backend's server runs first: the caller headers of a request
/// survive only if its peer is the gateway.
#[derive(Clone, Copy, Debug, Default)]
pub struct CallerGuard;

impl<S> tower::Layer<S> for CallerGuard {
    type Service = Guarded<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Guarded(inner)
    }
}

/// See [`CallerGuard`].
#[derive(Clone, Debug)]
pub struct Guarded<S>(S);

impl<S, B> tower::Service<http::Request<B>> for Guarded<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if !from_gateway(&request) {
            crate::caller::strip(request.headers_mut());
        }
        self.0.call(request)
    }
}

/// Development and test identities. Production certificates come from the cluster's
/// issuer (the Helm chart makes them); this never runs there.
pub mod dev {
    use std::path::Path;

    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };

    use super::{DEV_NAMES, MeshConfig, name_of};

    /// Creates, unless they exist, `dir/ca.pem` and `dir/<name>.{pem,key}` for every name of
    /// [`DEV_NAMES`] (keys mode 0600); the CA key is not kept, so the set never grows.
    pub fn ensure(dir: &Path) -> anyhow::Result<()> {
        let complete = dir.join("ca.pem").exists()
            && DEV_NAMES
                .iter()
                .all(|n| dir.join(format!("{n}.key")).exists());
        if complete {
            return Ok(());
        }
        std::fs::create_dir_all(dir)?;
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::default();
        ca.distinguished_name
            .push(DnType::CommonName, "Egide internal mesh CA (dev)");
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca, ca_key);
        for name in DEV_NAMES {
            let key = KeyPair::generate()?;
            let mut leaf = CertificateParams::new(vec![name_of(name)])?;
            leaf.distinguished_name.push(DnType::CommonName, name);
            leaf.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let cert = leaf.signed_by(&key, &issuer)?;
            let files = MeshConfig::in_dir(dir, name);
            std::fs::write(&files.cert_file, cert.pem())?;
            write_private(&files.key_file, key.serialize_pem().as_bytes())?;
        }
        // Last: its presence (with the keys) says the set is complete.
        std::fs::write(dir.join("ca.pem"), ca_cert.pem())?;
        Ok(())
    }

    fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
        use std::{io::Write, os::unix::fs::OpenOptionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?
            .write_all(data)
    }

    /// The test identity of `name` ([`for_tests`]).
    pub fn test_config(name: &str) -> MeshConfig {
        MeshConfig::in_dir(for_tests(), name)
    }

    /// A channel to `service` at `addr`, shown the test certificate of `as_name`: the
    /// gateway's, for the calls of a test that plays it (its caller headers are believed);
    /// another's, to see that they are not.
    pub async fn channel_as(
        addr: std::net::SocketAddr,
        service: &str,
        as_name: &str,
    ) -> anyhow::Result<tonic::transport::Channel> {
        let mesh = super::Mesh::load(&test_config(as_name))?;
        Ok(mesh
            .endpoint(&format!("https://{addr}"), service)?
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await?)
    }

    /// One set per test process, in the system's temporary directory: what the services'
    /// integration tests give their servers and their gateway-playing clients.
    pub fn for_tests() -> &'static Path {
        static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("egide-mesh-{}", std::process::id()));
            #[allow(clippy::expect_used)]
            ensure(&dir).expect("test mesh certificates");
            dir
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dev_certificates_carry_their_mesh_name() {
        let dir = dev::for_tests();
        for name in DEV_NAMES {
            let pem = std::fs::read_to_string(MeshConfig::in_dir(dir, name).cert_file).unwrap();
            let der = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                pem.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
            assert_eq!(names(&der), vec![name_of(name)]);
        }
        assert!(names(b"not a certificate").is_empty());
    }
}
