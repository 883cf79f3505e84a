//! The PGSSI-S identification policy (domain.md §7): a declarative file that says, per
//! route (a gRPC method, or a prefix ending in `/` or `.`), per user category and per
//! date, which eIDAS level (`acr`), which RFC 8176 methods (`amr`) and which means a
//! session needs to call it. The gateway asks it on every protected call;
//! `egide policy explain` prints its decision and the rule behind it.
//!
//! The file ([`Policy::parse`]) is validated as a whole: unknown keys, unknown values,
//! reversed or overlapping periods are errors naming the rule, so a bad edit never loads.
//! A route the file does not mention is refused (fail closed): every route is either
//! `[[open]]` (no person needed; the structure certificate rules still apply) or covered
//! by `[[rule]]`s. [`DEFAULT`] is the policy Égide ships: the rules of domain.md §7.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod decide;
mod file;

pub use crate::decide::{Decision, Session};
pub use crate::file::{Category, Level, Means, Open, Policy, PolicyError, Rule};

/// The shipped policy (`crates/policy/default.toml`).
pub const DEFAULT: &str = include_str!("../default.toml");
