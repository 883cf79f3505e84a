//! The policy file and its validation.

use chrono::NaiveDate;
use serde::Deserialize;

pub use egide_token::Category;

/// An eIDAS assurance level, as the `acr` values of domain.md §3 name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Level {
    /// Low.
    #[serde(rename = "eidas1")]
    Low,
    /// Substantial.
    #[serde(rename = "eidas2")]
    Substantial,
    /// High.
    #[serde(rename = "eidas3")]
    High,
}

impl Level {
    /// The `acr` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "eidas1",
            Self::Substantial => "eidas2",
            Self::High => "eidas3",
        }
    }

    /// The level of an `acr` value.
    pub fn parse(acr: &str) -> Option<Self> {
        match acr {
            "eidas1" => Some(Self::Low),
            "eidas2" => Some(Self::Substantial),
            "eidas3" => Some(Self::High),
            _ => None,
        }
    }
}

/// How a person logged in, read from the session's `amr` ([`Means::of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Means {
    /// A phone app's device key (`hwk`): carte Vitale app, e-CPS.
    Device,
    /// A smart card (`sc`): CPS card.
    Card,
    /// A password and a one-time code (`pwd` and `otp`).
    PasswordTotp,
    /// A password alone (`pwd`): acceptable for local access only (domain.md §7).
    Password,
}

impl Means {
    /// The means an `amr` list says was used: `hwk` → device, `sc` → card, `pwd` with
    /// `otp` → password_totp, `pwd` alone → password.
    pub fn of(amr: &[impl AsRef<str>]) -> Option<Self> {
        let has = |v: &str| amr.iter().any(|a| a.as_ref() == v);
        if has("hwk") {
            Some(Self::Device)
        } else if has("sc") {
            Some(Self::Card)
        } else if has("pwd") && has("otp") {
            Some(Self::PasswordTotp)
        } else if has("pwd") {
            Some(Self::Password)
        } else {
            None
        }
    }

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Card => "card",
            Self::PasswordTotp => "password_totp",
            Self::Password => "password",
        }
    }
}

/// The RFC 8176 method values a rule may require.
const AMR_VALUES: [&str; 20] = [
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba",
    "retina", "sc", "sms", "swk", "tel", "user", "vbm",
];

/// Routes that need no person.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open {
    /// A gRPC method (`/pkg.Service/Method`) or a prefix ending in `/`.
    pub route: String,
    /// Why.
    pub why: String,
}

/// What a category needs on a route during a period.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A stable name, shown in decisions.
    pub id: String,
    /// gRPC methods or prefixes ending in `/` or `.` (`route = "…"` for one).
    #[serde(alias = "route", deserialize_with = "one_or_many")]
    pub routes: Vec<String>,
    /// Who the rule is for.
    pub categories: Vec<Category>,
    /// The least level.
    pub acr: Level,
    /// Methods the session must all have (e.g. `mfa`).
    #[serde(default)]
    pub amr: Vec<String>,
    /// The means accepted (any of them); empty means any.
    #[serde(default)]
    pub means: Vec<Means>,
    /// First day the rule applies (inclusive); absent: always did.
    #[serde(default, deserialize_with = "date")]
    pub from: Option<NaiveDate>,
    /// First day it no longer applies (exclusive); absent: no end.
    #[serde(default, deserialize_with = "date")]
    pub until: Option<NaiveDate>,
    /// Why: the text it implements.
    pub why: String,
}

impl Rule {
    /// Whether the rule applies on `day`.
    pub fn in_force(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= day) && self.until.is_none_or(|u| day < u)
    }

    fn overlaps(&self, other: &Rule) -> bool {
        let starts_before_other_ends = match (self.from, other.until) {
            (Some(f), Some(u)) => f < u,
            _ => true,
        };
        let other_starts_before_self_ends = match (other.from, self.until) {
            (Some(f), Some(u)) => f < u,
            _ => true,
        };
        starts_before_other_ends && other_starts_before_self_ends
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(r) => vec![r],
        OneOrMany::Many(rs) => rs,
    })
}

fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let value = toml::value::Datetime::deserialize(d)?;
    match (value.date, value.time, value.offset) {
        (Some(date), None, None) => NaiveDate::from_ymd_opt(
            i32::from(date.year),
            u32::from(date.month),
            u32::from(date.day),
        )
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("not a calendar date")),
        _ => Err(serde::de::Error::custom(
            "a date (YYYY-MM-DD), without a time",
        )),
    }
}

/// A loaded, validated policy.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Routes without a person.
    #[serde(default)]
    pub open: Vec<Open>,
    /// Rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// Why a policy file was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("policy: {0}")]
pub struct PolicyError(pub String);

impl PolicyError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

fn check_route(route: &str, what: &str) -> Result<(), PolicyError> {
    let method_or_prefix = route.starts_with('/')
        && route.len() > 1
        && route.bytes().all(|b| b.is_ascii_graphic())
        && route[1..].split('/').count() <= 2;
    if method_or_prefix {
        Ok(())
    } else {
        Err(PolicyError::new(format!(
            "{what}: route {route:?} is neither /pkg.Service/Method nor a prefix ending in / or ."
        )))
    }
}

impl Policy {
    /// Parses and validates a policy file.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let policy: Policy = toml::from_str(text).map_err(|e| PolicyError::new(e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), PolicyError> {
        for o in &self.open {
            check_route(&o.route, "[[open]]")?;
        }
        let mut ids = std::collections::HashSet::new();
        for r in &self.rules {
            let what = format!("rule {:?}", r.id);
            if r.id.is_empty() || !ids.insert(r.id.as_str()) {
                return Err(PolicyError::new(format!(
                    "{what}: ids must be present and unique"
                )));
            }
            if r.routes.is_empty() {
                return Err(PolicyError::new(format!("{what}: no routes")));
            }
            for route in &r.routes {
                check_route(route, &what)?;
            }
            if r.categories.is_empty() {
                return Err(PolicyError::new(format!("{what}: no categories")));
            }
            if let Some(bad) = r.amr.iter().find(|a| !AMR_VALUES.contains(&a.as_str())) {
                return Err(PolicyError::new(format!(
                    "{what}: {bad:?} is not an RFC 8176 amr value"
                )));
            }
            if let (Some(f), Some(u)) = (r.from, r.until)
                && f >= u
            {
                return Err(PolicyError::new(format!(
                    "{what}: from {f} is not before until {u}"
                )));
            }
            if let Some(route) = r
                .routes
                .iter()
                .find(|route| self.open.iter().any(|o| &o.route == *route))
            {
                return Err(PolicyError::new(format!(
                    "{what}: route {route} is also [[open]]"
                )));
            }
        }
        for (i, a) in self.rules.iter().enumerate() {
            for b in &self.rules[i + 1..] {
                let shared = a.categories.iter().find(|c| b.categories.contains(c));
                let route = a.routes.iter().find(|r| b.routes.contains(r));
                if let (Some(c), Some(route)) = (shared, route)
                    && a.overlaps(b)
                {
                    return Err(PolicyError::new(format!(
                        "rules {:?} and {:?} both apply to {c} on {route} at some date",
                        a.id, b.id
                    )));
                }
            }
        }
        Ok(())
    }
}
