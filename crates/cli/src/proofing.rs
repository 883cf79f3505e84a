//! The identity-proofing simulator's HTTP API (`POST /v1/attestations`), as the patient
//! app would reach the real provider after the identity-card check.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use egide_sims::proofing::{AttestationRequest, AttestationResponse};
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, header::CONTENT_TYPE};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

/// Longest wait for the simulator's answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the simulator at `base` (`http://127.0.0.1:port`) for an attestation and returns
/// the JWS. Neither the request (identity traits) nor the answer is ever printed.
pub async fn attest(base: &str, request: &AttestationRequest) -> anyhow::Result<String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let http_request = Request::post(format!("{}/v1/attestations", base.trim_end_matches('/')))
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(request)?)))?;
    let response = tokio::time::timeout(TIMEOUT, client.request(http_request))
        .await
        .with_context(|| format!("the proofing simulator at {base} did not answer in {TIMEOUT:?}"))?
        .with_context(|| format!("proofing simulator at {base}"))?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        // The simulator's errors are `{"error": code, "message": text}`, free of traits.
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        anyhow::bail!(
            "the proofing simulator refused: {status} {} {}",
            error["error"].as_str().unwrap_or_default(),
            error["message"].as_str().unwrap_or_default()
        );
    }
    let answer: AttestationResponse =
        serde_json::from_slice(&body).context("the proofing simulator's answer")?;
    Ok(answer.attestation)
}
