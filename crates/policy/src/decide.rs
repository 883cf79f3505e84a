//! Decisions: what a route needs, and whether a session has it.

use std::fmt;

use chrono::NaiveDate;

use crate::{Category, Level, Means, Open, Policy, Rule};

/// What the gateway knows of a verified session.
#[derive(Clone, Copy, Debug)]
pub struct Session<'a> {
    /// The token's category.
    pub category: Category,
    /// The token's `acr`.
    pub acr: &'a str,
    /// The token's `amr`.
    pub amr: &'a [String],
}

/// A decision, with the entry of the file that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision<'p> {
    /// No person is needed on this route.
    Open(&'p Open),
    /// The rule applies and the session satisfies it (or, without a session, the rule
    /// that applies).
    Allowed(&'p Rule),
    /// The rule applies and the session falls short: the person must log in again with
    /// a stronger means (RFC 9470 step-up). `missing` says what lacks, e.g. `acr eidas2`.
    Insufficient {
        /// The rule.
        rule: &'p Rule,
        /// What the session lacks.
        missing: Vec<String>,
    },
    /// Rules exist for this route, but none lets this category call it on that day.
    CategoryNotAllowed,
    /// The route is neither open nor in any rule: refused (fail closed).
    Unlisted,
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open(o) => write!(f, "open ({}): {}", o.route, o.why),
            Self::Allowed(r) => write!(f, "{}: {}", r.id, requirement(r)),
            Self::Insufficient { rule, missing } => {
                write!(
                    f,
                    "insufficient, lacks {} (rule {}: {})",
                    missing.join(", "),
                    rule.id,
                    requirement(rule)
                )
            }
            Self::CategoryNotAllowed => {
                f.write_str("category not allowed on this route at that date")
            }
            Self::Unlisted => f.write_str("route not in the policy: refused"),
        }
    }
}

/// "acr ≥ eidas2, amr ⊇ {mfa}, means ∈ {device, card}".
fn requirement(r: &Rule) -> String {
    let mut parts = vec![format!("acr ≥ {}", r.acr.as_str())];
    if !r.amr.is_empty() {
        parts.push(format!("amr ⊇ {{{}}}", r.amr.join(", ")));
    }
    if !r.means.is_empty() {
        let means: Vec<_> = r.means.iter().map(|m| m.as_str()).collect();
        parts.push(format!("means ∈ {{{}}}", means.join(", ")));
    }
    parts.join(", ")
}

/// How specific `pattern` is for `route` (`None`: it does not match). A method beats any
/// prefix, a longer prefix a shorter one.
fn specificity(pattern: &str, route: &str) -> Option<usize> {
    if pattern == route {
        Some(usize::MAX)
    } else if is_prefix(pattern) && route.starts_with(pattern) {
        Some(pattern.len())
    } else {
        None
    }
}

impl Policy {
    /// The decision for `category` calling `route` on `day`, for `session` when given
    /// (without one: the rule that applies, as [`Decision::Allowed`]).
    pub fn decide<'p>(
        &'p self,
        route: &str,
        category: Category,
        day: NaiveDate,
        session: Option<&Session<'_>>,
    ) -> Decision<'p> {
        // The most specific entry that matches, whoever and whenever it is for: an open
        // route stays open, a route with rules is protected for everyone.
        let open = self
            .open
            .iter()
            .filter_map(|o| specificity(&o.route, route).map(|s| (s, o)))
            .max_by_key(|(s, _)| *s);
        let ruled = self.rules.iter().filter_map(|r| r.specificity(route)).max();
        match (open, ruled) {
            (Some((so, o)), ruled) if ruled.is_none_or(|sr| so > sr) => return Decision::Open(o),
            (None, None) => return Decision::Unlisted,
            _ => {}
        }
        let rule = self
            .rules
            .iter()
            .filter(|r| r.categories.contains(&category) && r.in_force(day))
            .filter_map(|r| r.specificity(route).map(|s| (s, r)))
            .max_by_key(|(s, _)| *s);
        match (rule, session) {
            (None, _) => Decision::CategoryNotAllowed,
            (Some((_, r)), None) => Decision::Allowed(r),
            (Some((_, r)), Some(s)) => judge(r, s),
        }
    }

    /// Whether `route` needs no person at all (open for every category).
    pub fn is_open(&self, route: &str, day: NaiveDate) -> bool {
        Category::ALL
            .iter()
            .all(|c| matches!(self.decide(route, *c, day, None), Decision::Open(_)))
    }
}

impl Rule {
    /// How specific the rule's best-matching route is for `route`.
    fn specificity(&self, route: &str) -> Option<usize> {
        self.routes
            .iter()
            .filter_map(|p| specificity(p, route))
            .max()
    }
}

/// Whether a route pattern is a prefix (ends in `/` or `.`) rather than a method.
pub(crate) fn is_prefix(pattern: &str) -> bool {
    pattern.ends_with('/') || pattern.ends_with('.')
}

fn judge<'p>(rule: &'p Rule, s: &Session<'_>) -> Decision<'p> {
    let mut missing = Vec::new();
    if Level::parse(s.acr).is_none_or(|l| l < rule.acr) {
        missing.push(format!("acr {}", rule.acr.as_str()));
    }
    for a in &rule.amr {
        if !s.amr.iter().any(|m| m == a) {
            missing.push(format!("amr {a}"));
        }
    }
    if !rule.means.is_empty() && Means::of(s.amr).is_none_or(|m| !rule.means.contains(&m)) {
        let means: Vec<_> = rule.means.iter().map(|m| m.as_str()).collect();
        missing.push(format!("means {}", means.join("|")));
    }
    if missing.is_empty() {
        Decision::Allowed(rule)
    } else {
        Decision::Insufficient { rule, missing }
    }
}

#[cfg(test)]
mod tests;
