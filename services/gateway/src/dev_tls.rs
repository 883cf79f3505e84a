//! A development certificate authority and gateway certificate, for `make run` and tests.
//! Production gateways get their certificate from the IGC-Santé (SSL_SERV) or the cluster's
//! issuer; this never runs there.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// Where [`ensure`] put the files.
#[derive(Clone, Debug)]
pub struct DevTls {
    /// The CA certificate clients trust.
    pub ca_file: PathBuf,
    /// The gateway certificate chain.
    pub cert_file: PathBuf,
    /// The gateway key.
    pub key_file: PathBuf,
}

/// Creates `dir/ca.pem`, `dir/gateway.pem` and `dir/gateway.key` unless they exist, for the
/// names `localhost` and `127.0.0.1`. The key file is written with mode 0600.
pub fn ensure(dir: &Path) -> anyhow::Result<DevTls> {
    let tls = DevTls {
        ca_file: dir.join("ca.pem"),
        cert_file: dir.join("gateway.pem"),
        key_file: dir.join("gateway.key"),
    };
    if tls.ca_file.exists() && tls.cert_file.exists() && tls.key_file.exists() {
        return Ok(tls);
    }
    std::fs::create_dir_all(dir)?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Egide DEV CA (not for production)");
    ca.distinguished_name
        .push(DnType::OrganizationName, "Egide dev");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let ca_issuer = rcgen::Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "egide-gateway");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = leaf.signed_by(&key, &ca_issuer)?;

    std::fs::write(&tls.ca_file, ca_cert.pem())?;
    std::fs::write(&tls.cert_file, cert.pem() + &ca_cert.pem())?;
    write_private(&tls.key_file, key.serialize_pem().as_bytes())?;
    Ok(tls)
}

/// Writes `data` to `path`, readable by its owner only (mode 0600).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

/// A client endpoint for a gateway at `url` (`https://localhost:port`) that trusts only the
/// CA in `ca_file`, with the deadlines the CLI and the test harnesses use.
pub fn client_endpoint(url: &str, ca_file: &Path) -> anyhow::Result<tonic::transport::Endpoint> {
    client_endpoint_as(url, ca_file, None)
}

/// [`client_endpoint`] presenting the client certificate in `identity_dir` (hospital
/// software: `cert.pem`, its CA chain in `chain.pem`, `key.pem`, as `egide pki
/// issue-structure` writes them).
pub fn client_endpoint_as(
    url: &str,
    ca_file: &Path,
    identity_dir: Option<&Path>,
) -> anyhow::Result<tonic::transport::Endpoint> {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    let ca = std::fs::read_to_string(ca_file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", ca_file.display()))?;
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(dir) = identity_dir {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        };
        let chain = read("cert.pem")? + &read("chain.pem").unwrap_or_default();
        tls = tls.identity(Identity::from_pem(chain, read("key.pem")?));
    }
    Ok(Endpoint::from_shared(url.to_owned())?
        .tls_config(tls)?
        .connect_timeout(std::time::Duration::from_secs(3))
        .timeout(std::time::Duration::from_secs(30)))
}
