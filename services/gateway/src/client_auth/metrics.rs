//! Client authentication counters, rendered by `/metrics`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// ValidateChain calls made to certval.
    pub validations: AtomicU64,
    /// Calls admitted from the cache.
    pub cache_hits: AtomicU64,
    /// Revocation events received.
    pub revocation_events: AtomicU64,
    refusals: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// Counts a refusal by cause (`missing`, `validator_unavailable` or certval's reason).
    pub fn refused(&self, cause: &str) {
        let mut refusals = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
        *refusals.entry(label(cause)).or_default() += 1;
    }

    /// Appends the counters in Prometheus text format; `cache_used` tells whether cached
    /// answers are used (not while revocation events may be missed).
    pub fn render(&self, out: &mut String, cache_used: bool) {
        let _ = writeln!(
            out,
            "# HELP egide_gateway_client_cert_cache_used 1 when valid chains are remembered; 0 while revocation events may be missed (NATS away): every call asks certval.\n# TYPE egide_gateway_client_cert_cache_used gauge\negide_gateway_client_cert_cache_used {}",
            u8::from(cache_used)
        );
        for (name, help, value) in [
            (
                "egide_gateway_client_cert_validations_total",
                "Client certificate chains sent to certval.",
                &self.validations,
            ),
            (
                "egide_gateway_client_cert_cache_hits_total",
                "Calls admitted with a chain certval validated recently.",
                &self.cache_hits,
            ),
            (
                "egide_gateway_revocation_events_total",
                "Certificate revocation events received.",
                &self.revocation_events,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let name = "egide_gateway_client_cert_refusals_total";
        let _ = writeln!(
            out,
            "# HELP {name} Calls refused for their client certificate, by cause.\n# TYPE {name} counter"
        );
        let refusals = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
        for (cause, n) in refusals.iter() {
            let _ = writeln!(out, "{name}{{cause=\"{cause}\"}} {n}");
        }
    }
}

/// A cause as a safe, short label value: certval's reasons are `[a-z_]` codes already;
/// anything else is cut down to that alphabet.
pub fn label(cause: &str) -> String {
    let cleaned: String = cause
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .take(48)
        .collect();
    if cleaned.is_empty() {
        "invalid".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_refusals_by_cause() {
        let m = Metrics::default();
        m.refused("expired");
        m.refused("expired");
        m.refused("weird\"}\n cause");
        m.validations.fetch_add(3, Ordering::Relaxed);
        let mut out = String::new();
        m.render(&mut out, true);
        assert!(
            out.contains("egide_gateway_client_cert_validations_total 3"),
            "{out}"
        );
        assert!(
            out.contains("egide_gateway_client_cert_cache_used 1"),
            "{out}"
        );
        assert!(
            out.contains("egide_gateway_client_cert_refusals_total{cause=\"expired\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("egide_gateway_client_cert_refusals_total{cause=\"weirdcause\"} 1"),
            "{out}"
        );
    }
}
