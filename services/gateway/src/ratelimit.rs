//! Rate limits: GCRA (the generic cell rate algorithm, as in ATM networks and most API
//! gateways) per structure certificate and per logged-in person, with limits per class of
//! routes.
//!
//! A limit is a sustained rate and a burst. For each key the limiter keeps one instant, the
//! theoretical arrival time (TAT) of the next request at the sustained rate: a request at
//! `now` passes if `TAT − (burst − 1)·T ≤ now` (T = 1 / rate), and moves the TAT to
//! `max(TAT, now) + T`; otherwise it is refused with `TAT − (burst − 1)·T − now` as the
//! retry delay. One instant per key, O(1) per request, no timer. The state lives in
//! sharded maps; a key whose TAT has passed is the same as an absent one, so shards drop
//! such keys when they grow. (The algorithm is a dozen lines; a crate such as governor
//! would bring its own clock and concurrent map for no more.)
//!
//! Limits are per gateway replica: N replicas admit up to N times the configured rate.

use std::{
    collections::HashMap,
    hash::BuildHasher,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use egide_kit::ApiError;
use tonic::Status;

pub use crate::config::{Rate, RateClass, RateLimitConfig};

/// Whose budget a request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// A structure certificate (idNat_Struct).
    Structure(&'a str),
    /// A person: `category:subject`.
    Subject(&'a str),
}

const SHARDS: usize = 16;

/// The limiter.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    shards: Vec<Mutex<HashMap<String, Instant>>>,
    hasher: std::collections::hash_map::RandomState,
    /// Refusals, for `/metrics`.
    pub refused: AtomicU64,
}

/// A shard prunes expired keys once it holds this many.
const PRUNE_AT: usize = 50_000;

impl RateLimiter {
    /// A limiter with `config` (validated).
    pub fn new(config: &RateLimitConfig) -> anyhow::Result<Self> {
        config.validate()?;
        Ok(Self {
            config: config.clone(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            refused: AtomicU64::new(0),
        })
    }

    /// The class of `route`: the longest matching prefix.
    fn class(&self, route: &str) -> Option<&RateClass> {
        self.config
            .classes
            .iter()
            .flat_map(|c| c.routes.iter().map(move |r| (r, c)))
            .filter(|(prefix, _)| route.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, c)| c)
    }

    /// Spends one request of each of `keys` on `route`; RESOURCE_EXHAUSTED
    /// `rate_limited` with the retry delay when one budget is empty (nothing is spent
    /// then from the budgets after it).
    pub fn check(&self, route: &str, keys: &[Key<'_>]) -> Result<(), Status> {
        if !self.config.enabled {
            return Ok(());
        }
        let Some(class) = self.class(route) else {
            return Ok(());
        };
        let now = Instant::now();
        for key in keys {
            let (rate, kind, id) = match key {
                Key::Structure(id) => (class.per_structure, "structure", *id),
                Key::Subject(id) => (class.per_subject, "subject", *id),
            };
            let Some(rate) = rate else { continue };
            if let Err(wait) = self.spend(&format!("{}|{kind}|{id}", class.name), rate, now) {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError::resource_exhausted(
                    "rate_limited",
                    "too many requests; retry after the delay given",
                )
                .with_retry_after(wait)
                .with_metadata("limit", kind)
                .with_metadata("class", class.name.clone())
                .into());
            }
        }
        Ok(())
    }

    /// GCRA for one key.
    fn spend(&self, key: &str, rate: Rate, now: Instant) -> Result<(), Duration> {
        let period = Duration::from_secs_f64(1.0 / rate.per_second);
        let tolerance = period.saturating_mul(rate.burst.saturating_sub(1));
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        let tat = map.get(key).copied().map_or(now, |t| t.max(now));
        if let Some(allowed_from) = tat.checked_sub(tolerance)
            && allowed_from > now
        {
            return Err(allowed_from - now);
        }
        if map.len() >= PRUNE_AT {
            map.retain(|_, t| *t > now);
        }
        map.insert(key.to_owned(), tat + period);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig {
            enabled: true,
            classes: vec![RateClass {
                name: "c".into(),
                routes: vec![String::new()],
                per_structure: Some(Rate { per_second, burst }),
                per_subject: None,
            }],
        })
        .unwrap()
    }

    #[test]
    fn a_burst_passes_then_the_sustained_rate_with_exact_delays() {
        let l = limiter(10.0, 3);
        let rate = Rate {
            per_second: 10.0,
            burst: 3,
        };
        let t0 = Instant::now();
        for _ in 0..3 {
            l.spend("k", rate, t0).unwrap();
        }
        let wait = l.spend("k", rate, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        // Refused requests spend nothing: the same delay later is still exact.
        assert_eq!(
            l.spend("k", rate, t0 + Duration::from_millis(40))
                .unwrap_err(),
            Duration::from_millis(60)
        );
        l.spend("k", rate, t0 + Duration::from_millis(100)).unwrap();
        assert!(l.spend("k", rate, t0 + Duration::from_millis(100)).is_err());
        // Another key has its own budget.
        l.spend("other", rate, t0).unwrap();
        // After a long pause the whole burst is back, no more.
        let later = t0 + Duration::from_secs(10);
        for _ in 0..3 {
            l.spend("k", rate, later).unwrap();
        }
        assert!(l.spend("k", rate, later).is_err());
    }

    #[test]
    fn refusals_carry_the_code_the_delay_and_which_budget() {
        let l = limiter(1.0, 1);
        l.check("/x", &[Key::Structure("s")]).unwrap();
        let status = l.check("/x", &[Key::Structure("s")]).unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            egide_kit::error::decode(&status).0.as_deref(),
            Some("rate_limited")
        );
        let wait = egide_kit::error::retry_after(&status).unwrap();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        // No subject budget in this class: subjects are not limited.
        for _ in 0..10 {
            l.check("/x", &[Key::Subject("patient:w")]).unwrap();
        }
    }

    #[test]
    fn the_longest_prefix_picks_the_class_and_defaults_are_tighter_for_logins() {
        let l = RateLimiter::new(&RateLimitConfig::default()).unwrap();
        assert_eq!(
            l.class("/egide.auth.v1.AuthService/PasswordLogin")
                .unwrap()
                .name,
            "login"
        );
        assert_eq!(l.class("/oauth2/token").unwrap().name, "login");
        assert_eq!(
            l.class("/egide.auth.v1.AuthService/ConfirmTotpEnrolment")
                .unwrap()
                .name,
            "totp"
        );
        let default = l
            .class("/egide.enrolment.v1.EnrolmentService/GetWallet")
            .unwrap();
        assert_eq!(default.name, "default");
        let login = l.class("/oauth2/token").unwrap();
        assert!(
            login.per_structure.unwrap().per_second < default.per_structure.unwrap().per_second
        );
    }

    #[test]
    fn bad_limits_are_refused_and_off_means_off() {
        for (per_second, burst) in [(0.0, 1), (f64::NAN, 1), (-1.0, 1), (1.0, 0)] {
            let config = RateLimitConfig {
                enabled: true,
                classes: vec![RateClass {
                    name: "bad".into(),
                    routes: vec![String::new()],
                    per_structure: Some(Rate { per_second, burst }),
                    per_subject: None,
                }],
            };
            assert!(RateLimiter::new(&config).is_err(), "{per_second} {burst}");
        }
        let off = RateLimiter::new(&RateLimitConfig {
            enabled: false,
            ..limiter(1.0, 1).config
        })
        .unwrap();
        for _ in 0..10 {
            off.check("/x", &[Key::Structure("s")]).unwrap();
        }
    }
}
