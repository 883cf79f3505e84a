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

/// The environment variable naming the file a service writes the addresses it listens on
/// to, once every listener is bound (see [`announce`]).
pub const ADDR_FILE_ENV: &str = "EGIDE_ADDR_FILE";

/// Binds a listener. Port 0 picks a free port; read it back with `local_addr`, and tell the
/// supervisor with [`announce`]. The error names the address (a taken port says which).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// Tells whoever started this process where it listens, when `EGIDE_ADDR_FILE` names a
/// file: one `NAME ADDRESS` line per listener (`grpc 127.0.0.1:41234`), written to a
/// temporary file renamed into place, so the file appears complete or not at all.
/// Supervisors start a service on port 0 and wait for that file ([`read_addr_file`]).
pub fn announce(listeners: &[(&str, SocketAddr)]) -> std::io::Result<()> {
    let Some(path) = std::env::var_os(ADDR_FILE_ENV).map(std::path::PathBuf::from) else {
        return Ok(());
    };
    let text: String = listeners
        .iter()
        .map(|(name, addr)| format!("{name} {addr}\n"))
        .collect();
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)
}

/// The listeners in an [`announce`]d file, or `None` while it does not exist.
pub fn read_addr_file(
    path: &std::path::Path,
) -> std::io::Result<Option<std::collections::BTreeMap<String, SocketAddr>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    text.lines()
        .map(|line| {
            line.split_once(' ')
                .and_then(|(name, addr)| Some((name.to_owned(), addr.parse().ok()?)))
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: not `NAME ADDRESS`: {line:?}", path.display()),
                    )
                })
        })
        .collect::<std::io::Result<_>>()
        .map(Some)
}

/// Serves `routes` plus health, reflection and status on `listener` until `shutdown`:
/// over the internal mesh's TLS when `mesh` is given, in plain HTTP/2 otherwise; either
/// way a request keeps its caller headers only if it came from the gateway
/// ([`crate::mesh::CallerGuard`]). `probe`, when given, serves gRPC health alone in plain
/// text (for probes that cannot do the mesh's TLS).
///
/// Health reports NOT_SERVING for the readiness service `""` until every readiness check
/// passes, and again as soon as one fails.
pub async fn serve(
    service: &'static str,
    listener: TcpListener,
    mesh: Option<crate::mesh::Mesh>,
    probe: Option<TcpListener>,
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
    if let Some(probe) = probe {
        let health = health.clone();
        let shutdown = shutdown.clone();
        tracing::info!(addr = %probe.local_addr()?, service, "health probe listening");
        tokio::spawn(async move {
            let served = Server::builder()
                .add_service(health)
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(probe),
                    shutdown.cancelled_owned(),
                )
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "health probe listener failed");
            }
        });
    }
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
    let mut builder = Server::builder().http2_keepalive_interval(Some(Duration::from_secs(30)));
    if let Some(mesh) = &mesh {
        builder = builder.tls_config(mesh.server_tls())?;
    }
    tracing::info!(%addr, service, mesh = mesh.is_some(), "gRPC server listening");
    builder
        .layer(crate::mesh::CallerGuard)
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_port_is_named_in_the_error() {
        let held = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = held.local_addr().unwrap();
        let err = bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }

    #[test]
    fn addr_files_read_back() {
        let dir = std::env::temp_dir().join(format!("egide-kit-addr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("svc.addr");
        assert_eq!(read_addr_file(&path).unwrap(), None);
        std::fs::write(&path, "grpc 127.0.0.1:41234\nhttp [::1]:8080\n").unwrap();
        let read = read_addr_file(&path).unwrap().unwrap();
        assert_eq!(read["grpc"], "127.0.0.1:41234".parse().unwrap());
        assert_eq!(read["http"], "[::1]:8080".parse().unwrap());
        std::fs::write(&path, "grpc nowhere\n").unwrap();
        assert!(read_addr_file(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
