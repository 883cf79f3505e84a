//! JSON over plain HTTP/1.1 to loopback servers (Vault's API, the proofing simulator), with
//! hyper-util's client: already built for tonic, no second HTTP stack.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, StatusCode, header::CONTENT_TYPE};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

/// Longest wait for an answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `POST`s `body` as JSON to `url` with `headers`; returns the status and the body (lossy
/// UTF-8), whatever the status.
pub async fn post_json(
    url: &str,
    headers: &[(&str, &str)],
    body: &impl serde::Serialize,
) -> anyhow::Result<(StatusCode, String)> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::post(url).header(CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?;
    let response = tokio::time::timeout(TIMEOUT, client.request(request))
        .await
        .with_context(|| format!("POST {url}: no answer within {TIMEOUT:?}"))?
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let body = tokio::time::timeout(TIMEOUT, response.into_body().collect())
        .await
        .with_context(|| format!("POST {url}: body not read within {TIMEOUT:?}"))??
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
