//! The command line of `egide dev up` for a test or a bench running beside anything else.

use std::ffi::OsString;

use egide_testkit::PortLease;

/// Ports for `egide dev up`: leased for the third-party servers it starts on the port it
/// is given (NATS, PostgreSQL, OpenBao and its cluster port), 0 for our own processes
/// (services, simulators, gateway), which bind a free port themselves and report it in
/// `.run/endpoints.json`. Holding this keeps the leased ports out of everyone else's hands,
/// across several `dev up` runs (OpenBao's raft storage remembers its address).
#[derive(Debug)]
pub struct DevUpPorts {
    nats: PortLease,
    postgres: PortLease,
    vault: PortLease,
}

impl DevUpPorts {
    /// Leases the ports.
    pub fn lease() -> anyhow::Result<Self> {
        Ok(Self {
            nats: PortLease::one()?,
            postgres: PortLease::one()?,
            vault: PortLease::acquire(2)?,
        })
    }

    /// The NATS client port.
    pub fn nats(&self) -> u16 {
        self.nats.port()
    }

    /// The `egide dev up` arguments.
    pub fn args(&self) -> Vec<OsString> {
        [
            ("--nats-port", self.nats.port()),
            ("--postgres-port", self.postgres.port()),
            ("--vault-port", self.vault.port()),
            ("--service-port-base", 0),
            ("--gateway-port", 0),
            ("--gateway-http-port", 0),
        ]
        .into_iter()
        .flat_map(|(flag, port)| [OsString::from(flag), OsString::from(port.to_string())])
        .collect()
    }
}
