//! The chain a client presented at the handshake, read once per connection.

use std::time::{Duration, SystemTime};

use egide_pki::Certificate;
use ring::digest;
use rustls::pki_types::CertificateDer;

/// A presented chain: what certval is asked about and what the gateway keys its cache
/// and revocation checks on.
#[derive(Debug)]
pub struct PeerChain {
    /// The leaf, DER.
    pub leaf: CertificateDer<'static>,
    /// The other certificates the client sent, DER, in its order.
    pub intermediates: Vec<CertificateDer<'static>>,
    /// SHA-256 over the whole chain (each certificate length-prefixed): the cache key.
    pub chain_sha256: [u8; 32],
    /// SHA-256 of the leaf, lowercase hex.
    pub leaf_sha256_hex: String,
    /// The leaf's revocation key and end of validity, or `None` when it does not parse.
    pub facts: Option<LeafFacts>,
}

/// What the gateway reads from the leaf itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafFacts {
    /// SHA-256 of the issuer Name DER, lowercase hex.
    pub issuer_name_sha256: String,
    /// The serial, lowercase hex of its DER INTEGER content.
    pub serial_hex: String,
    /// End of validity.
    pub not_after: SystemTime,
}

impl PeerChain {
    /// From `peer_certificates()`, leaf first; `None` when the client sent none.
    pub fn from_tls(certs: Option<&[CertificateDer<'static>]>) -> Option<Self> {
        let (leaf, intermediates) = certs?.split_first()?;
        let mut ctx = digest::Context::new(&digest::SHA256);
        for cert in std::iter::once(leaf).chain(intermediates) {
            ctx.update(&u32::try_from(cert.len()).unwrap_or(u32::MAX).to_be_bytes());
            ctx.update(cert.as_ref());
        }
        let mut chain_sha256 = [0u8; 32];
        chain_sha256.copy_from_slice(ctx.finish().as_ref());
        let facts = Certificate::from_der(leaf.as_ref())
            .ok()
            .map(|c| LeafFacts {
                issuer_name_sha256: egide_pki::name_sha256_hex(c.issuer_der()),
                serial_hex: c.serial_hex(),
                not_after: unix_to_system(c.not_after().unix_timestamp()),
            });
        Some(Self {
            leaf_sha256_hex: egide_pki::hex(digest::digest(&digest::SHA256, leaf).as_ref()),
            leaf: leaf.clone(),
            intermediates: intermediates.to_vec(),
            chain_sha256,
            facts,
        })
    }
}

fn unix_to_system(seconds: i64) -> SystemTime {
    match u64::try_from(seconds) {
        Ok(s) => SystemTime::UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}
