//! One tracing setup for every service: JSON lines in production, readable lines in
//! development. Handlers must never put payloads, tokens, keys, PINs or identity traits
//! in fields.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogFormat, TelemetryConfig};

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the configured filter.
/// Calling it twice is harmless (the second call does nothing), so tests may call it.
pub fn init(service: &str, config: &TelemetryConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match config.format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
    if result.is_ok() {
        tracing::debug!(service, "telemetry initialised");
    }
}

/// For tests: logs only when `TEST_LOG` is set, readable format.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init(
            "test",
            &TelemetryConfig {
                format: LogFormat::Pretty,
                filter: std::env::var("TEST_LOG")
                    .ok()
                    .filter(|f| !f.is_empty() && f != "1")
                    .unwrap_or_else(|| "info".into()),
            },
        );
    }
}
