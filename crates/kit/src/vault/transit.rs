//! Transit calls vaultrs lacks or reads too strictly: signing a batch of inputs in one
//! request (`batch_input`, JWS marshaling) and reading a key's public versions.

use std::collections::BTreeMap;

use rustify::{
    Endpoint,
    enums::{RequestMethod, RequestType, ResponseType},
    errors::ClientError as RustifyError,
};
use serde::{Deserialize, Serialize};

use super::{Vault, VaultError, base64};

/// One public version of an asymmetric transit key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyVersion {
    /// The key version (1, 2, …).
    pub version: u64,
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
    /// When Vault created this version (RFC 3339), as Vault reports it.
    pub creation_time: String,
}

/// `POST {mount}/sign/{name}` with `batch_input`.
struct BatchSign<'a> {
    mount: &'a str,
    name: &'a str,
    body: Vec<u8>,
}

#[derive(Serialize)]
struct BatchSignBody {
    key_version: u64,
    marshaling_algorithm: &'static str,
    batch_input: Vec<BatchItem>,
}

#[derive(Serialize)]
struct BatchItem {
    input: String,
}

#[derive(Deserialize)]
struct BatchSignResponse {
    batch_results: Vec<BatchResult>,
}

#[derive(Deserialize)]
struct BatchResult {
    #[serde(default)]
    signature: String,
    #[serde(default)]
    error: String,
}

impl Endpoint for BatchSign<'_> {
    type Response = BatchSignResponse;
    const REQUEST_BODY_TYPE: RequestType = RequestType::JSON;
    const RESPONSE_BODY_TYPE: ResponseType = ResponseType::JSON;

    fn path(&self) -> String {
        format!("{}/sign/{}", self.mount, self.name)
    }

    fn method(&self) -> RequestMethod {
        RequestMethod::POST
    }

    fn body(&self) -> Result<Option<Vec<u8>>, RustifyError> {
        Ok(Some(self.body.clone()))
    }
}

/// `GET {mount}/keys/{name}`, keeping only what a verifier needs.
struct ReadKey<'a> {
    mount: &'a str,
    name: &'a str,
}

#[derive(Deserialize)]
struct ReadKeyResponse {
    keys: BTreeMap<String, KeyEntry>,
    #[serde(default)]
    latest_version: u64,
}

#[derive(Deserialize)]
struct KeyEntry {
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    creation_time: String,
}

impl Endpoint for ReadKey<'_> {
    type Response = ReadKeyResponse;
    const REQUEST_BODY_TYPE: RequestType = RequestType::JSON;
    const RESPONSE_BODY_TYPE: ResponseType = ResponseType::JSON;

    fn path(&self) -> String {
        format!("{}/keys/{}", self.mount, self.name)
    }

    fn method(&self) -> RequestMethod {
        RequestMethod::GET
    }
}

impl Vault {
    /// Signs every input with version `version` of the ECDSA transit key `key` in one
    /// request, JWS-marshaled (raw `r‖s`); returns each signature as base64url, in order.
    pub async fn sign_batch_jws(
        &self,
        key: &str,
        version: u64,
        inputs: &[&[u8]],
    ) -> Result<Vec<String>, VaultError> {
        let body = serde_json::to_vec(&BatchSignBody {
            key_version: version,
            marshaling_algorithm: "jws",
            batch_input: inputs
                .iter()
                .map(|i| BatchItem { input: base64(i) })
                .collect(),
        })
        .map_err(|_| VaultError::Malformed("transit batch sign request"))?;
        let endpoint = BatchSign {
            mount: &self.config.transit_mount,
            name: key,
            body,
        };
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        let out = vaultrs::api::exec_with_result(c, endpoint).await?;
        drop(guard);
        if out.batch_results.len() != inputs.len() {
            return Err(VaultError::Malformed("transit batch sign response"));
        }
        out.batch_results
            .into_iter()
            .map(|r| {
                if !r.error.is_empty() {
                    return Err(VaultError::Config(format!("transit sign: {}", r.error)));
                }
                // `vault:v<N>:<base64url>`.
                r.signature
                    .rsplit(':')
                    .next()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .ok_or(VaultError::Malformed("transit signature"))
            })
            .collect()
    }

    /// The public versions of the asymmetric transit key `key`, oldest first, and its
    /// latest version.
    pub async fn public_keys(&self, key: &str) -> Result<(Vec<PublicKeyVersion>, u64), VaultError> {
        let endpoint = ReadKey {
            mount: &self.config.transit_mount,
            name: key,
        };
        let guard = self.client.read().await;
        let c = guard.as_ref().ok_or(VaultError::NotLoggedIn)?;
        let out = vaultrs::api::exec_with_result(c, endpoint).await?;
        drop(guard);
        let mut versions = out
            .keys
            .into_iter()
            .map(|(v, entry)| {
                let version = v
                    .parse()
                    .map_err(|_| VaultError::Malformed("transit key version"))?;
                Ok(PublicKeyVersion {
                    version,
                    public_key_pem: entry.public_key,
                    creation_time: entry.creation_time,
                })
            })
            .collect::<Result<Vec<_>, VaultError>>()?;
        versions.sort_by_key(|v| v.version);
        let latest = versions
            .last()
            .map_or(out.latest_version, |v| v.version.max(out.latest_version));
        Ok((versions, latest))
    }
}
