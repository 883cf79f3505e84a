//! Raw calls to Vault/OpenBao's HTTP API through a vaultrs client (its HTTP client, address,
//! token and namespace). Used for the PKI endpoints vaultrs has no typed request for, or
//! whose typed request lacks parameters this crate needs.

use http::{Method, Request};
use rustify::client::Client as _;
use serde_json::Value;
use vaultrs::client::Client;

use crate::Error;

/// `method /v1/<path>` with a JSON body; the answer's JSON body (`None` for 204).
pub(crate) async fn call(
    vault: &impl Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Option<Value>, Error> {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let (status, answer) = send(vault, method.clone(), path, bytes).await?;
    if !(200..300).contains(&status) {
        return Err(Error::Vault {
            method: method.to_string(),
            path: path.to_owned(),
            status,
            message: vault_message(&answer),
        });
    }
    if answer.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&answer)
        .map(Some)
        .map_err(|_| Error::Malformed(format!("Vault's answer to {path} is not JSON")))
}

/// `GET /v1/<path>` of a raw (non-JSON) endpoint such as `<mount>/crl` or `<mount>/ca`:
/// the status and body.
pub(crate) async fn get_raw(vault: &impl Client, path: &str) -> Result<(u16, Vec<u8>), Error> {
    send(vault, Method::GET, path, Vec::new()).await
}

/// The `data` object of a successful JSON answer.
pub(crate) async fn data(
    vault: &impl Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, Error> {
    call(vault, method, path, body)
        .await?
        .and_then(|mut v| v.get_mut("data").map(Value::take))
        .ok_or_else(|| Error::Malformed(format!("Vault's answer to {path} has no data")))
}

/// A string field of a `data` object.
pub(crate) fn field<'a>(data: &'a Value, name: &str, path: &str) -> Result<&'a str, Error> {
    data.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Malformed(format!("Vault's answer to {path} has no {name}")))
}

async fn send(
    vault: &impl Client,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), Error> {
    let settings = vault.settings();
    let url = format!(
        "{}/v1/{}",
        settings.address.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let mut request = Request::builder()
        .method(method)
        .uri(&url)
        .header("Content-Type", "application/json");
    if !settings.token.is_empty() {
        request = request.header("X-Vault-Token", &settings.token);
    }
    if let Some(namespace) = &settings.namespace {
        request = request.header("X-Vault-Namespace", namespace);
    }
    let request = request
        .body(body)
        .map_err(|e| Error::Transport(format!("{url}: {e}")))?;
    let response = vault
        .http()
        .send(request)
        .await
        .map_err(|e| Error::Transport(format!("{url}: {}", chain(&e))))?;
    Ok((response.status().as_u16(), response.into_body()))
}

/// Vault's `errors` array, joined; never the request (it may hold a CSR, not a secret, but
/// there is no reason to echo it).
fn vault_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errors").and_then(Value::as_array).map(|errors| {
                errors
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_errors_are_joined() {
        assert_eq!(vault_message(br#"{"errors":["a","b"]}"#), "a; b".to_owned());
        assert_eq!(vault_message(b"plain"), "plain".to_owned());
    }
}
