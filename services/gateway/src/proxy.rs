//! The gRPC proxy: TLS in, one HTTP/2 channel per backend out.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Buf as _;
use egide_kit::{ApiError, FieldViolation, health::Readiness};
use futures::StreamExt as _;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, BodyStream, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status, body::Body, service::Routes, transport::Channel};
use tower::ServiceExt as _;

use crate::{
    bearer::Bearer,
    client_auth::{ClientAuth, peer::PeerChain},
    config::GatewayConfig,
    ratelimit::{Key, RateLimiter},
};

/// Request counters of one route.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests routed.
    pub requests: AtomicU64,
    /// Requests that failed before reaching the backend or timed out.
    pub failures: AtomicU64,
    /// Total time spent, in microseconds.
    pub micros: AtomicU64,
}

/// Where a call goes.
enum Target<'a> {
    /// The gateway's own health and reflection.
    Local,
    /// A backend, by route name.
    Backend(&'a str, &'a Channel),
    /// No route: UNIMPLEMENTED.
    Unrouted,
}

/// Routes calls to backends or to the gateway's own services.
pub struct Router {
    backends: BTreeMap<String, Channel>,
    pub(crate) auth: Arc<ClientAuth>,
    pub(crate) bearer: Arc<Bearer>,
    pub(crate) limiter: RateLimiter,
    local: Routes,
    timeout: Duration,
    max_message: usize,
    pub(crate) readiness: Readiness,
    pub(crate) counters: BTreeMap<String, Counters>,
}

impl Router {
    pub async fn new(
        config: &GatewayConfig,
        backends: Vec<(String, Channel)>,
        auth: Arc<ClientAuth>,
        bearer: Arc<Bearer>,
        readiness: Readiness,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("liveness", tonic_health::ServingStatus::Serving)
            .await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(egide_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        // gRPC health "" follows the backends' readiness.
        tokio::spawn({
            let readiness = readiness.clone();
            async move {
                loop {
                    let status = if readiness.is_ready() {
                        tonic_health::ServingStatus::Serving
                    } else {
                        tonic_health::ServingStatus::NotServing
                    };
                    reporter.set_service_status("", status).await;
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        });
        let mut counters: BTreeMap<String, Counters> = backends
            .iter()
            .map(|(d, _)| (d.clone(), Counters::default()))
            .collect();
        counters.insert("local".into(), Counters::default());
        Ok(Self {
            backends: backends.into_iter().collect(),
            auth,
            bearer,
            limiter: RateLimiter::new(&config.rate_limits)?,
            local: Routes::new(health).add_service(reflection),
            timeout: Duration::from_millis(config.route_timeout_ms),
            max_message: config.max_message_bytes,
            readiness,
            counters,
        })
    }

    /// Spends the budgets of the verified structure and person (headers set by client
    /// authentication and the bearer check) on `route`.
    pub(crate) fn rate_limit(&self, route: &str, headers: &HeaderMap) -> Result<(), Status> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let structure = text(egide_kit::caller::STRUCTURE_ID);
        let subject = text(egide_kit::caller::PERSON_CATEGORY)
            .zip(text(egide_kit::caller::PERSON_SUBJECT))
            .map(|(category, subject)| format!("{category}:{subject}"));
        let keys: Vec<Key<'_>> = structure
            .map(Key::Structure)
            .into_iter()
            .chain(subject.as_deref().map(Key::Subject))
            .collect();
        self.limiter.check(route, &keys)
    }

    /// The channel of backend `name`.
    pub(crate) fn backend(&self, name: &str) -> Option<Channel> {
        self.backends.get(name).cloned()
    }

    async fn handle(
        &self,
        mut request: Request<Incoming>,
        peer: Option<&PeerChain>,
        remote: std::net::IpAddr,
    ) -> Response<Body> {
        let started = Instant::now();
        let service = request
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let target =
            if service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.") {
                Target::Local
            } else {
                let domain = service
                    .strip_prefix("egide.")
                    .and_then(|rest| rest.split('.').next())
                    .unwrap_or_default();
                match self.backends.get_key_value(domain) {
                    Some((name, channel)) => Target::Backend(name.as_str(), channel),
                    None => Target::Unrouted,
                }
            };
        let path = request.uri().path().to_owned();
        let mut admitted = self.auth.admit(&path, peer, request.headers_mut()).await;
        // After the strip: the only client address a backend sees is the one we saw.
        if let Ok(value) = HeaderValue::from_str(&remote.to_string()) {
            request
                .headers_mut()
                .insert(egide_kit::caller::CLIENT_IP, value);
        }
        if admitted.is_ok() && !matches!(target, Target::Local) {
            admitted = self
                .bearer
                .admit(
                    &path,
                    request.headers_mut(),
                    peer.map(|p| p.leaf_sha256_hex.as_str()),
                )
                .await;
        }
        if admitted.is_ok() && !matches!(target, Target::Local) {
            admitted = self.rate_limit(&path, request.headers());
        }
        let (route, response) = match (admitted, target) {
            (Err(status), Target::Backend(name, _)) => (name, status.into_http()),
            (Err(status), _) => ("local", status.into_http()),
            (Ok(()), Target::Local) => {
                let response = match self.local.clone().oneshot(request.map(Body::new)).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                ("local", response)
            }
            (Ok(()), Target::Backend(name, channel)) => {
                (name, self.forward(channel.clone(), request).await)
            }
            (Ok(()), Target::Unrouted) => (
                "local",
                Status::unimplemented(format!("no route for service '{service}'")).into_http(),
            ),
        };
        if let Some(c) = self.counters.get(route) {
            c.requests.fetch_add(1, Ordering::Relaxed);
            c.micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            if grpc_failed_early(&response) {
                c.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        response
    }

    async fn forward(&self, channel: Channel, request: Request<Incoming>) -> Response<Body> {
        let (mut parts, body) = request.into_parts();
        let body = match limit_first_message(body, self.max_message).await {
            Ok(body) => body,
            Err(status) => return status.into_http(),
        };
        let deadline = match parts.headers.get("grpc-timeout") {
            Some(_) => None,
            None => {
                let ms = self.timeout.as_millis().min(99_999_999);
                if let Ok(v) = HeaderValue::from_str(&format!("{ms}m")) {
                    parts.headers.insert("grpc-timeout", v);
                }
                Some(self.timeout + Duration::from_millis(500))
            }
        };
        let call = channel.oneshot(Request::from_parts(parts, body));
        let result = match deadline {
            Some(d) => match tokio::time::timeout(d, call).await {
                Ok(r) => r,
                Err(_) => {
                    return Status::deadline_exceeded("backend did not answer in time").into_http();
                }
            },
            None => call.await,
        };
        match result {
            Ok(response) => response.map(status_on_broken_body),
            Err(error) => {
                tracing::warn!(%error, "backend unreachable");
                Status::unavailable("backend unavailable, retry").into_http()
            }
        }
    }
}

/// A response body that ends with `grpc-status: 14` (UNAVAILABLE) trailers if the backend
/// connection breaks mid-response, instead of an HTTP/2 reset the client cannot tell from
/// a bug (a stream cut by a backend restart is worth retrying).
fn status_on_broken_body(body: Body) -> Body {
    let frames = BodyStream::new(body).scan(false, |failed, frame| {
        let next = if *failed {
            None
        } else {
            Some(match frame {
                Ok(frame) => Ok(frame),
                Err(error) => {
                    *failed = true;
                    tracing::warn!(%error, "backend stream broke");
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", HeaderValue::from_static("14"));
                    trailers.insert(
                        "grpc-message",
                        HeaderValue::from_static("backend%20connection%20lost%2C%20retry"),
                    );
                    Ok::<_, Status>(Frame::trailers(trailers))
                }
            })
        };
        futures::future::ready(next)
    });
    Body::new(StreamBody::new(frames).boxed_unsync())
}

/// Whether a request is a gRPC call (`content-type: application/grpc[+proto|…]`).
fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// Whether the response is a gateway-made error (trailers-only with a non-OK status).
fn grpc_failed_early(response: &Response<Body>) -> bool {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v != "0")
}

/// Reads the first gRPC message of `body` and refuses one larger than `max` with
/// INVALID_ARGUMENT before anything reaches a backend; otherwise returns the body with
/// its first message coalesced into one chunk. A unary request (nothing after its
/// message) is forwarded as a single DATA frame that ends the stream: relaying the
/// client's framing as-is (header, payload and an empty end frame, per call) spends the
/// backend's HTTP/2 budget for small DATA frames, and under load h2 then closes the
/// connection (GOAWAY `too_many_data_frames`).
async fn limit_first_message(body: Incoming, max: usize) -> Result<Body, Status> {
    let mut head = bytes::BytesMut::new();
    let mut stream = BodyStream::new(body);
    let mut ended = true;
    let mut trailers = None;
    loop {
        let wanted = if head.len() >= 5 {
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            if len > max {
                return Err(ApiError::invalid_argument(vec![FieldViolation::new(
                    "request",
                    format!("message of {len} bytes; at most {max}"),
                )])
                .into());
            }
            5 + len
        } else {
            5
        };
        if head.len() >= wanted && head.len() >= 5 {
            ended = false;
            break;
        }
        match stream.next().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => head.extend_from_slice(&data.copy_to_bytes(data.remaining())),
                Err(frame) => {
                    trailers = Some(frame);
                    break;
                }
            },
            Some(Err(error)) => return Err(Status::cancelled(format!("request body: {error}"))),
            None => break,
        }
    }
    if !ended {
        // The whole first message is here: is there anything after it? (Empty DATA
        // frames carry nothing and are dropped.) A unary call's end follows at once; a
        // stream whose client waits for an answer before sending more is not held up
        // longer than this.
        loop {
            let next = match tokio::time::timeout(Duration::from_millis(50), stream.next()).await {
                Ok(next) => next,
                Err(_) => break,
            };
            match next {
                None => {
                    ended = true;
                    break;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.has_remaining() => {}
                    Ok(mut data) => {
                        head.extend_from_slice(&data.copy_to_bytes(data.remaining()));
                        break;
                    }
                    Err(frame) => {
                        trailers = Some(frame);
                        break;
                    }
                },
                Some(Err(error)) => {
                    return Err(Status::cancelled(format!("request body: {error}")));
                }
            }
        }
    }
    let first = futures::stream::iter(
        std::iter::once(Frame::data(head.freeze()))
            .chain(trailers)
            .map(Ok),
    );
    if ended {
        return Ok(Body::new(StreamBody::new(first).boxed_unsync()));
    }
    let rest = stream.map(|r| r.map_err(|e| Status::new(Code::Internal, e.to_string())));
    Ok(Body::new(StreamBody::new(first.chain(rest)).boxed_unsync()))
}

/// Accepts TLS connections and serves them until `shutdown`: gRPC (HTTP/2,
/// `application/grpc`) to the router, anything else (HTTP/1.1 or 2) to the OAuth/OIDC
/// endpoints.
pub async fn serve(
    listener: TcpListener,
    tls: TlsAcceptor,
    router: Arc<Router>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let http = crate::oauth::router(router.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let router = router.clone();
        let http = http.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp)).await
            {
                Ok(Ok(s)) => s,
                Ok(Err(error)) => {
                    tracing::debug!(%error, %peer, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            // The chain is read once; certval judges it per call (it may be revoked
            // while the connection lasts).
            let chain = PeerChain::from_tls(stream.get_ref().1.peer_certificates()).map(Arc::new);
            let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                let router = router.clone();
                let http = http.clone();
                let chain = chain.clone();
                async move {
                    if is_grpc(&req) {
                        return Ok::<_, Infallible>(
                            router.handle(req, chain.as_deref(), peer.ip()).await,
                        );
                    }
                    req.extensions_mut().insert(crate::oauth::Peer {
                        chain,
                        ip: peer.ip(),
                    });
                    let response = match http.oneshot(req).await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    };
                    Ok(response.map(Body::new))
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(error) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("connections still open after 10 s; closing"),
    }
    Ok(())
}
