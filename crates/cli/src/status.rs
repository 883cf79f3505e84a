//! `egide status`: every service's readiness, asked directly, and the gateway's.

use std::{path::Path, process::ExitCode, time::Duration};

use anyhow::Context as _;
use egide_proto::common::v1::{GetStatusRequest, status_service_client::StatusServiceClient};

use crate::{client::gateway, endpoints::Endpoints};

/// `egide status`: every service's readiness with reasons, and the gateway's.
pub async fn status(run_dir: &Path) -> anyhow::Result<ExitCode> {
    let endpoints = Endpoints::read(run_dir)?;
    let mut all_ready = true;
    // The services are asked over the mesh, as the CLI (a peer that may read status,
    // never a caller).
    let mesh = egide_kit::mesh::Mesh::load(&egide_kit::mesh::MeshConfig::in_dir(
        &run_dir.join("mesh"),
        "cli",
    ))?;
    for (name, addr) in &endpoints.services {
        let line = match service_status(&mesh, addr, name).await {
            Ok(s) => {
                all_ready &= s.ready;
                let deps: Vec<String> = s
                    .dependencies
                    .iter()
                    .map(|d| {
                        if d.ok {
                            format!("{} ok", d.name)
                        } else {
                            format!("{} DOWN ({})", d.name, d.reason)
                        }
                    })
                    .collect();
                format!(
                    "{:<10} {:<10} {}  up {}s  {}",
                    name,
                    if s.ready { "ready" } else { "NOT READY" },
                    addr,
                    s.uptime_seconds,
                    deps.join(", ")
                )
            }
            Err(error) => {
                all_ready = false;
                format!("{name:<10} {:<10} {addr}  {error:#}", "DOWN")
            }
        };
        println!("{line}");
    }
    let gateway = match gateway(run_dir).await {
        Ok(channel) => {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            match health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
            {
                Ok(r)
                    if r.get_ref().status()
                        == tonic_health::pb::health_check_response::ServingStatus::Serving =>
                {
                    "ready".to_owned()
                }
                Ok(r) => format!("NOT READY ({:?})", r.get_ref().status()),
                Err(s) => format!("DOWN ({})", s.message()),
            }
        }
        Err(error) => format!("DOWN ({error:#})"),
    };
    all_ready &= gateway == "ready";
    println!(
        "{:<10} {:<10} {}  http {}",
        "gateway", gateway, endpoints.gateway.grpc, endpoints.gateway.http
    );
    Ok(if all_ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn service_status(
    mesh: &egide_kit::mesh::Mesh,
    addr: &str,
    service: &str,
) -> anyhow::Result<egide_proto::common::v1::GetStatusResponse> {
    let channel = mesh
        .endpoint(addr, service)?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .context("unreachable")?;
    Ok(StatusServiceClient::new(channel)
        .get_status(GetStatusRequest {})
        .await?
        .into_inner())
}
