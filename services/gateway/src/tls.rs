//! The TLS server configuration.

use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
use tokio_rustls::TlsAcceptor;

use crate::{client_auth::verifier::OfferClientCert, config::TlsConfig};

/// An acceptor offering HTTP/2 (gRPC, and HTTP) and HTTP/1.1 (HTTP only). With `ask_client_cert`, the handshake asks
/// for a client certificate without requiring one (see [`OfferClientCert`]).
pub fn acceptor(config: &TlsConfig, ask_client_cert: bool) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(&config.cert_file)
        .with_context(|| format!("tls.cert_file {}", config.cert_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("tls.cert_file {}", config.cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(&config.key_file)
        .with_context(|| format!("tls.key_file {}", config.key_file.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if ask_client_cert {
        builder.with_client_cert_verifier(Arc::new(OfferClientCert::new(&provider)))
    } else {
        builder.with_no_client_auth()
    };
    let mut server = builder.with_single_cert(certs, key)?;
    // h2 for gRPC; HTTP/1.1 too, for the OAuth/OIDC endpoints' standard clients.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}
