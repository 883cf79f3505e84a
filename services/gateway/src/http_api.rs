//! Plain HTTP: `/healthz` (the process runs), `/readyz` (every backend serves), `/metrics`
//! (Prometheus text format), `/.well-known/jwks.json` (the keys that verify Égide's tokens,
//! RFC 7517, from the gateway's cache of auth's JWKS).

use std::{fmt::Write as _, sync::Arc, sync::atomic::Ordering, time::Duration};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::proxy::{Counters, Router};

/// Serves until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Arc<Router>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let (tcp, _) = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
        };
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let router = router.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&router, &req)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn answer(router: &Router, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "text/plain", "ok\n".into()),
        "/readyz" => {
            let states = router.readiness.states();
            let ready = router.readiness.is_ready();
            let body = serde_json::json!({
                "ready": ready,
                "dependencies": states.iter().map(|(name, s)| (name.clone(), serde_json::json!({"ok": s.ok, "reason": s.reason}))).collect::<serde_json::Map<_, _>>(),
            });
            let code = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            text(code, "application/json", body.to_string())
        }
        "/metrics" => text(StatusCode::OK, "text/plain; version=0.0.4", metrics(router)),
        "/.well-known/jwks.json" => match router.bearer.jwks.keys() {
            Some(keys) => {
                let body = serde_json::json!({ "keys": keys.1 }).to_string();
                let mut r = text(StatusCode::OK, "application/jwk-set+json", body);
                // Short: a rotation must reach verifiers well within a retired key's grace.
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("public, max-age=60"),
                );
                r
            }
            None => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "no keys fetched from auth yet\n".into(),
            ),
        },
        _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

fn metrics(router: &Router) -> String {
    type Value = fn(&Counters) -> String;
    let per_route: [(&str, &str, Value); 3] = [
        (
            "egide_gateway_requests_total",
            "gRPC calls routed, by route.",
            |c| c.requests.load(Ordering::Relaxed).to_string(),
        ),
        (
            "egide_gateway_failures_total",
            "Calls answered with an error status in headers (refused, timed out, unreachable or failed fast).",
            |c| c.failures.load(Ordering::Relaxed).to_string(),
        ),
        (
            "egide_gateway_request_seconds_total",
            "Time until response headers, summed.",
            |c| format!("{:.6}", c.micros.load(Ordering::Relaxed) as f64 / 1e6),
        ),
    ];
    let mut out = String::new();
    for (name, help, value) in per_route {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (route, c) in &router.counters {
            let _ = writeln!(out, "{name}{{route=\"{route}\"}} {}", value(c));
        }
    }
    router.auth.render_metrics(&mut out);
    router.bearer.render_metrics(&mut out);
    let _ = writeln!(
        out,
        "# HELP egide_gateway_rate_limited_total Calls refused by a rate limit.\n\
         # TYPE egide_gateway_rate_limited_total counter\n\
         egide_gateway_rate_limited_total {}",
        router.limiter.refused.load(Ordering::Relaxed)
    );
    let ready = u8::from(router.readiness.is_ready());
    let _ = writeln!(
        out,
        "# TYPE egide_gateway_ready gauge\negide_gateway_ready {ready}"
    );
    out
}

fn text(code: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r
}
