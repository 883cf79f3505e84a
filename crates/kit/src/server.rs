//! The gRPC server every service runs: its own services plus health, reflection and
//! status, with graceful shutdown.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use egide_proto::common::v1::{
    DependencyStatus, GetStatusRequest, GetStatusResponse,
    status_service_server::{StatusService, StatusServiceServer},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, service::RoutesBuilder, transport::Server};

use crate::health::Readiness;

/// How often readiness checks run.
pub const READINESS_INTERVAL: Duration = Duration::from_secs(2);

/// Binds the gRPC listener. Port 0 picks a free port; read it back with `local_addr`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `routes` plus health, reflection and status on `listener` until `shutdown`.
///
/// Health reports NOT_SERVING for the readiness service `""` until every readiness check
/// passes, and again as soon as one fails.
pub async fn serve(
    service: &'static str,
    listener: TcpListener,
    mut routes: RoutesBuilder,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(egide_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    routes
        .add_service(health)
        .add_service(reflection)
        .add_service(StatusServiceServer::new(StatusEndpoint {
            service,
            readiness: readiness.clone(),
            started: Instant::now(),
        }));
    tokio::spawn(readiness.run(reporter, READINESS_INTERVAL, shutdown.clone()));

    let addr = listener.local_addr()?;
    tracing::info!(%addr, service, "gRPC server listening");
    Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(
            // Small gRPC responses must not wait for Nagle's algorithm (a 40 ms stall
            // against delayed ACKs); tonic's own `tcp_nodelay` only covers `serve(addr)`.
            tokio_stream::StreamExt::map(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                |accepted| accepted.and_then(|tcp| tcp.set_nodelay(true).map(|()| tcp)),
            ),
            shutdown.cancelled_owned(),
        )
        .await?;
    tracing::info!(service, "gRPC server stopped");
    Ok(())
}

struct StatusEndpoint {
    service: &'static str,
    readiness: Readiness,
    started: Instant,
}

#[tonic::async_trait]
impl StatusService for StatusEndpoint {
    async fn get_status(
        &self,
        _: Request<GetStatusRequest>,
    ) -> Result<Response<GetStatusResponse>, Status> {
        let dependencies = self
            .readiness
            .states()
            .into_iter()
            .map(|(name, s)| DependencyStatus {
                name,
                ok: s.ok,
                reason: s.reason,
                checked_at: Some(prost_types::Timestamp::from(s.checked_at)),
            })
            .collect();
        Ok(Response::new(GetStatusResponse {
            service: self.service.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ready: self.readiness.is_ready(),
            dependencies,
            uptime_seconds: self.started.elapsed().as_secs(),
        }))
    }
}
