//! Path building and validation (RFC 5280 §6, the way OpenSSL and Go do it).
//!
//! From the leaf, issuers are searched depth-first among the given intermediates
//! and the trust anchors whose subject equals the issuer name (byte for byte, else as
//! RFC 5280 §7.1 compares names); AKI/SKI only order the candidates. A branch is
//! abandoned at the first problem (bad signature, expired or non-CA intermediate,
//! path length…) and the next candidate is tried,
//! so redundant, unordered and cross-signed intermediates work. Every attempt is
//! budgeted. When no path validates, the most relevant failure is reported: one
//! from a path that reached an anchor beats one that did not, a defect (expired,
//! bad signature…) beats "no issuer" (untrusted root), then the longer partial
//! path wins, then the first found.
//!
//! Choices worth knowing:
//! * The leaf's own defects (unknown critical extension, validity) are reported
//!   at once, before any path is searched.
//! * Trust anchors are trusted as they are (no signature check) but their validity
//!   and constraints apply (see [`crate::trust::TrustStore`]).
//! * Policies: the profile's required OIDs must be asserted by the leaf and by
//!   every intermediate (or anyPolicy, honouring inhibitAnyPolicy);
//!   requireExplicitPolicy is enforced; policy mapping is not processed (a critical
//!   policyMappings extension is refused as an unsupported critical extension).
//! * Revocation is asked last, for every certificate below the anchor, and a
//!   revoked intermediate sends the search on to other paths.
//! * `max_depth` counts intermediates as RFC 5280's pathLenConstraint does
//!   (self-issued ones are free), as `openssl verify -verify_depth` and pyca's
//!   `max_chain_depth` do: 0 means the leaf's issuer must be an anchor. Whatever it
//!   says, no path is longer than 64 certificates.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cert::{Certificate, ku};
use crate::der;
use crate::identity::{self, Identity};
use crate::names;
use crate::purpose::{ANY_POLICY, EKU_ANY, Profile};
use crate::reason::{Error, Reason};
use crate::sig;
use crate::trust::{Family, TrustStore};

/// What a revocation source says about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not revoked, per fresh data.
    Good,
    /// Revoked.
    Revoked {
        /// RFC 5280 reason name (`key_compromise`…) or `unspecified`.
        reason: String,
        /// When, if known.
        at: Option<OffsetDateTime>,
    },
    /// No fresh data to tell.
    Unknown,
}

/// A source of revocation status (CRL cache, OCSP…), consulted synchronously.
pub trait RevocationChecker {
    /// The status of `cert`, issued by `issuer`, at `at`.
    fn check(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        at: OffsetDateTime,
    ) -> RevocationStatus;
}

/// A checker that says [`RevocationStatus::Good`] to everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRevocation;

impl RevocationChecker for NoRevocation {
    fn check(&self, _: &Certificate, _: &Certificate, _: OffsetDateTime) -> RevocationStatus {
        RevocationStatus::Good
    }
}

/// The longest path, leaf and anchor included, whatever [`Options::max_depth`] says.
pub const MAX_PATH_CERTIFICATES: usize = 64;

/// Validation parameters.
#[derive(Clone, Debug)]
pub struct Options {
    /// The instant the path must be valid at.
    pub at: OffsetDateTime,
    /// DNS name or IP address the leaf must be valid for (TLS-client style).
    pub peer_name: Option<String>,
    /// Most intermediates accepted as input (more: [`Reason::PathBudgetExceeded`]).
    pub max_intermediates: usize,
    /// Most intermediates between the leaf and the anchor, self-issued ones not
    /// counted (a path never exceeds [`MAX_PATH_CERTIFICATES`] all the same).
    pub max_depth: usize,
    /// Most signature verifications for one validation.
    pub signature_budget: usize,
    /// Most issuer candidates considered for one validation.
    pub step_budget: usize,
    /// Accept [`RevocationStatus::Unknown`] instead of failing.
    pub unknown_revocation_allowed: bool,
}

impl Options {
    /// Defaults (16 intermediates given, 6 on a path, 32 signatures, 1024 steps, unknown
    /// revocation refused, no peer name) at instant `at`.
    pub fn at(at: OffsetDateTime) -> Self {
        Self {
            at,
            peer_name: None,
            max_intermediates: 16,
            max_depth: 6,
            signature_budget: 32,
            step_budget: 1024,
            unknown_revocation_allowed: false,
        }
    }

    /// [`Options::at`] the current time.
    pub fn now() -> Self {
        Self::at(OffsetDateTime::now_utc())
    }
}

/// A validated path.
#[derive(Clone, Debug)]
pub struct ValidPath {
    /// Leaf first, trust anchor last.
    pub path: Vec<Certificate>,
    /// The family of the anchor.
    pub family: Family,
    /// The identity of the leaf subject: the one the profile requires, or any found.
    pub identity: Option<Identity>,
}

/// Why validation failed.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Stable reason.
    pub reason: Reason,
    /// Human-readable detail.
    pub detail: String,
    /// Position in `path` of the certificate at fault, when one is.
    pub index: Option<usize>,
    /// The best partial path (leaf first).
    pub path: Vec<Certificate>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(
                f,
                "{} (certificate {i}): {}",
                self.reason.code(),
                self.detail
            ),
            None => write!(f, "{}: {}", self.reason.code(), self.detail),
        }
    }
}

impl std::error::Error for Failure {}

/// Validates certificates against a trust store.
#[derive(Clone, Debug)]
pub struct Validator {
    trust: Arc<TrustStore>,
}

impl Validator {
    /// A validator over `trust`.
    pub fn new(trust: Arc<TrustStore>) -> Self {
        Self { trust }
    }

    /// The trust store.
    pub fn trust(&self) -> &Arc<TrustStore> {
        &self.trust
    }

    /// Builds and validates a path from `leaf` to a trust anchor, using
    /// `intermediates` in any order, for `profile` (or only RFC 5280 rules without
    /// one), then asks `revocation` about each certificate below the anchor.
    pub fn validate(
        &self,
        leaf: &Certificate,
        intermediates: &[Certificate],
        profile: Option<&Profile>,
        options: &Options,
        revocation: &dyn RevocationChecker,
    ) -> Result<ValidPath, Failure> {
        let fail = |reason, detail: String, index| Failure {
            reason,
            detail,
            index,
            path: vec![leaf.clone()],
        };
        if intermediates.len() > options.max_intermediates {
            return Err(fail(
                Reason::PathBudgetExceeded,
                format!(
                    "{} intermediates given, at most {} accepted",
                    intermediates.len(),
                    options.max_intermediates
                ),
                None,
            ));
        }
        let at = options.at.unix_timestamp();
        if let Some(oid) = leaf.unsupported_critical_extension() {
            return Err(fail(
                Reason::UnsupportedCriticalExtension,
                format!("unsupported critical extension {oid}"),
                Some(0),
            ));
        }
        if let Err(e) = check_validity(leaf, at) {
            return Err(fail(e.reason, e.detail, Some(0)));
        }
        let end_entity = profile.is_some() || options.peer_name.is_some();
        if let Err(e) = rfc5280::check(leaf, rfc5280::Role::Leaf { end_entity }) {
            return Err(fail(e.reason, e.detail, Some(0)));
        }
        let rules = Rules::new(profile).map_err(|e| fail(e.reason, e.detail, None))?;

        let mut pool: Vec<&Certificate> = Vec::with_capacity(intermediates.len());
        for c in intermediates {
            if c != leaf && !pool.contains(&c) {
                pool.push(c);
            }
        }
        let mut search = Search {
            trust: &self.trust,
            leaf,
            pool_checks: vec![None; pool.len()],
            pool_canonical: vec![std::cell::OnceCell::new(); pool.len()],
            pool,
            at,
            options,
            rules: &rules,
            revocation,
            signatures: 0,
            steps: 0,
            sig_cache: Vec::new(),
            best: None,
            path: Vec::with_capacity(8),
            success: None,
        };
        search.path.push(Node::Leaf);
        let outcome = match self.trust.find_der(leaf) {
            // The leaf is itself a trust anchor.
            Some(a) => {
                search.path.pop();
                search.path.push(Node::Anchor(a));
                search.finish(a).map(|_| ())
            }
            None => search.extend().map(|_| ()),
        };
        if let Err(Abort(detail)) = outcome {
            let path = search.certs();
            return Err(Failure {
                reason: Reason::PathBudgetExceeded,
                detail,
                index: None,
                path,
            });
        }
        if let Some(valid) = search.success {
            return Ok(valid);
        }
        Err(search.best.map(|b| b.failure).unwrap_or_else(|| {
            fail(
                Reason::UntrustedRoot,
                format!("no path to a trust anchor for issuer {}", leaf.issuer()),
                Some(0),
            )
        }))
    }
}

/// The profile, turned into DER OIDs once per validation.
struct Rules<'a> {
    profile: Option<&'a Profile>,
    ekus: Vec<Vec<u8>>,
    policies: Vec<Vec<u8>>,
    any_eku: Vec<u8>,
    any_policy: Vec<u8>,
}

impl<'a> Rules<'a> {
    fn new(profile: Option<&'a Profile>) -> Result<Self, Error> {
        let oids = |list: &[String], reason| {
            list.iter()
                .map(|s| {
                    der::oid_from_string(s).ok_or_else(|| {
                        Error::new(reason, format!("profile has an invalid OID {s:?}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let (ekus, policies) = match profile {
            Some(p) => (
                oids(&p.extended_key_usages, Reason::ExtendedKeyUsage)?,
                oids(&p.policies, Reason::PolicyRequired)?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Self {
            profile,
            ekus,
            policies,
            any_eku: der::oid_from_string(EKU_ANY).unwrap_or_default(),
            any_policy: der::oid_from_string(ANY_POLICY).unwrap_or_default(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Leaf,
    Pool(usize),
    Anchor(usize),
}

/// The search ran out of budget.
struct Abort(String);

struct Best {
    rank: (bool, bool, usize, u8),
    failure: Failure,
}

struct Search<'a> {
    trust: &'a TrustStore,
    leaf: &'a Certificate,
    pool: Vec<&'a Certificate>,
    /// Position-independent checks of each intermediate, computed once.
    pool_checks: Vec<Option<Result<(), Error>>>,
    /// Each intermediate's subject in RFC 5280 §7.1 form, computed when first needed.
    pool_canonical: Vec<std::cell::OnceCell<Option<Vec<u8>>>>,
    at: i64,
    options: &'a Options,
    rules: &'a Rules<'a>,
    revocation: &'a dyn RevocationChecker,
    signatures: usize,
    steps: usize,
    sig_cache: Vec<((Node, Node), Result<(), Error>)>,
    best: Option<Best>,
    path: Vec<Node>,
    success: Option<ValidPath>,
}

fn check_validity(cert: &Certificate, at: i64) -> Result<(), Error> {
    if at < cert.not_before_ts() {
        return Err(Error::new(
            Reason::NotYetValid,
            format!("{} is not valid before {}", cert.label(), cert.not_before()),
        ));
    }
    if at > cert.not_after_ts() {
        return Err(Error::new(
            Reason::Expired,
            format!("{} expired at {}", cert.label(), cert.not_after()),
        ));
    }
    Ok(())
}

/// A CA certificate's critical extensions are all understood.
fn understood(cert: &Certificate) -> Result<(), Error> {
    match cert.unsupported_critical_extension() {
        Some(oid) => Err(Error::new(
            Reason::UnsupportedCriticalExtension,
            format!(
                "{} has an unsupported critical extension {oid}",
                cert.label()
            ),
        )),
        None => Ok(()),
    }
}

/// What must hold for any CA certificate wherever it sits in a path.
fn ca_checks(cert: &Certificate, at: i64) -> Result<(), Error> {
    understood(cert)?;
    check_validity(cert, at)?;
    ca_usage(cert)?;
    rfc5280::check(cert, rfc5280::Role::Intermediate)
}

fn ca_usage(cert: &Certificate) -> Result<(), Error> {
    if !cert.is_ca() {
        return Err(Error::new(
            Reason::NotACa,
            format!("{} issues certificates but is not a CA", cert.label()),
        ));
    }
    if cert.key_usage().is_some_and(|k| k & ku::KEY_CERT_SIGN == 0) {
        return Err(Error::new(
            Reason::KeyUsage,
            format!("{} lacks keyCertSign in keyUsage", cert.label()),
        ));
    }
    Ok(())
}

fn reason_rank(reason: Reason) -> u8 {
    match reason {
        Reason::UntrustedRoot => 0,
        Reason::PathBudgetExceeded => 1,
        _ => 2,
    }
}

impl<'a> Search<'a> {
    fn cert(&self, node: Node) -> &'a Certificate {
        match node {
            Node::Leaf => self.leaf,
            Node::Pool(i) => self.pool[i],
            Node::Anchor(i) => self.trust.anchor(i).map_or(self.leaf, |(_, c)| c),
        }
    }

    fn certs(&self) -> Vec<Certificate> {
        self.path.iter().map(|&n| self.cert(n).clone()).collect()
    }

    /// Keeps `error` (about the certificate at `index` of the current path) if it
    /// beats the failures seen so far.
    fn record(&mut self, error: Error, index: Option<usize>, complete: bool) {
        let kind = reason_rank(error.reason);
        let rank = (complete, kind > 0, self.path.len(), kind);
        if self.best.as_ref().is_some_and(|b| b.rank >= rank) {
            return;
        }
        let failure = Failure {
            reason: error.reason,
            detail: error.detail,
            index,
            path: self.certs(),
        };
        self.best = Some(Best { rank, failure });
    }

    /// Issuer candidates of `child`, most likely first: anchors, then intermediates,
    /// those whose subjectKeyIdentifier matches the child's authorityKeyIdentifier
    /// first, self-issued intermediates (untrusted roots, most likely) last.
    fn candidates(&self, child: &Certificate) -> Vec<(u8, Node)> {
        let issuer = child.issuer_der();
        let aki = child.authority_key_id();
        let score = |c: &Certificate, base: u8| match (aki, c.subject_key_id()) {
            (Some(a), Some(s)) if a == s => base,
            (None, _) => base,
            _ => base + 2,
        };
        let pool_score = |c: &Certificate| score(c, 1) + if c.is_self_issued() { 4 } else { 0 };
        let mut out = self.anchor_candidates(self.trust.by_subject(issuer), &score);
        out.extend(
            self.pool
                .iter()
                .enumerate()
                .filter(|(_, c)| c.subject_der() == issuer)
                .map(|(i, c)| (pool_score(c), Node::Pool(i))),
        );
        // The issuers whose subject is the child's issuer name by RFC 5280 §7.1 (case,
        // whitespace, string type) though not byte for byte: asked only when no subject
        // is byte-identical, so the usual path costs nothing more.
        if out.is_empty()
            && let Some(canonical) = names::canonical_name(issuer)
        {
            out = self.anchor_candidates(self.trust.by_canonical_subject(&canonical), &score);
            for (i, c) in self.pool.iter().enumerate() {
                let subject =
                    self.pool_canonical[i].get_or_init(|| names::canonical_name(c.subject_der()));
                if subject.as_ref() == Some(&canonical) {
                    out.push((pool_score(c), Node::Pool(i)));
                }
            }
        }
        out.sort_by_key(|(s, _)| *s); // stable: input order breaks ties
        out
    }

    /// The anchors at `indexes`, scored.
    fn anchor_candidates(
        &self,
        indexes: &[usize],
        score: &impl Fn(&Certificate, u8) -> u8,
    ) -> Vec<(u8, Node)> {
        indexes
            .iter()
            .filter_map(|&i| {
                self.trust
                    .anchor(i)
                    .map(|(_, c)| (score(c, 0), Node::Anchor(i)))
            })
            .collect()
    }

    /// Whether the path already holds `cert`, or another certificate for the same
    /// subject and key (as Go does: going through both is a detour, and cross
    /// certificates could otherwise make the search wander).
    fn on_path(&self, cert: &Certificate) -> bool {
        self.path.iter().any(|&n| {
            let c = self.cert(n);
            c == cert || (c.subject_der() == cert.subject_der() && c.spki_der() == cert.spki_der())
        })
    }

    fn verify(&mut self, child: Node, issuer: Node) -> Result<Result<(), Error>, Abort> {
        if let Some((_, r)) = self.sig_cache.iter().find(|(k, _)| *k == (child, issuer)) {
            return Ok(r.clone());
        }
        self.signatures += 1;
        if self.signatures > self.options.signature_budget {
            return Err(Abort(format!(
                "more than {} signature verifications",
                self.options.signature_budget
            )));
        }
        let c = self.cert(child);
        let i = self.cert(issuer);
        // A key below the floor is named as such, not as a signature that failed.
        let result = sig::verify_signed_data(
            i.spki_der(),
            c.signature_algorithm_der(),
            c.tbs_der(),
            c.signature_value(),
        )
        .map_err(|e| match sig::check_public_key(i.spki_der()) {
            Err(weak) => Error::new(weak.reason, format!("{}: {}", i.label(), weak.detail)),
            Ok(()) => e,
        })
        .map_err(|e| {
            Error::new(
                e.reason,
                format!("signature of {} by {}: {}", c.label(), i.label(), e.detail),
            )
        });
        self.sig_cache.push(((child, issuer), result.clone()));
        Ok(result)
    }

    /// Non-self-issued intermediates strictly between the leaf and position `k`.
    fn non_self_issued_below(&self, k: usize) -> usize {
        (1..k)
            .filter(|&i| !self.cert(self.path[i]).is_self_issued())
            .count()
    }

    fn path_len_ok(&self, k: usize) -> Result<(), Error> {
        let cert = self.cert(self.path[k]);
        if let Some(max) = cert.basic_constraints().and_then(|bc| bc.path_len) {
            let below = self.non_self_issued_below(k);
            if below > max as usize {
                return Err(Error::new(
                    Reason::PathLengthExceeded,
                    format!(
                        "{} allows {max} intermediate(s) below it, the path has {below}",
                        cert.label()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether putting `cert` (node `cand`) on the path makes it too long.
    fn too_deep(&self, cand: Node, cert: &Certificate) -> Option<Error> {
        if self.path.len() >= MAX_PATH_CERTIFICATES {
            return Some(Error::new(
                Reason::PathBudgetExceeded,
                format!("path longer than {MAX_PATH_CERTIFICATES} certificates"),
            ));
        }
        if !matches!(cand, Node::Pool(_)) || cert.is_self_issued() {
            return None;
        }
        let counted = self.path[1..]
            .iter()
            .filter(|&&n| !self.cert(n).is_self_issued())
            .count();
        (counted >= self.options.max_depth).then(|| {
            Error::new(
                Reason::PathBudgetExceeded,
                format!(
                    "more than {} intermediates (self-issued ones not counted)",
                    self.options.max_depth
                ),
            )
        })
    }

    /// Extends the path from its last certificate; `Ok(true)` once a path validated.
    fn extend(&mut self) -> Result<bool, Abort> {
        let Some(&top) = self.path.last() else {
            return Ok(false);
        };
        let child = self.cert(top);
        let child_index = self.path.len() - 1;
        let mut tried = false;
        for (_, cand) in self.candidates(child) {
            self.steps += 1;
            if self.steps > self.options.step_budget {
                return Err(Abort(format!(
                    "more than {} path-building steps",
                    self.options.step_budget
                )));
            }
            let cert = self.cert(cand);
            if self.on_path(cert) {
                continue; // a loop
            }
            tried = true;
            if let Some(e) = self.too_deep(cand, cert) {
                self.record(e, None, false);
                continue;
            }
            if let Err(e) = self.verify(top, cand)? {
                self.record(e, Some(child_index), false);
                continue;
            }
            self.path.push(cand);
            let k = self.path.len() - 1;
            let done = match cand {
                Node::Anchor(a) => self.finish(a)?,
                Node::Pool(p) => {
                    let checks = match &self.pool_checks[p] {
                        Some(r) => r.clone(),
                        None => {
                            let r = ca_checks(cert, self.at);
                            self.pool_checks[p] = Some(r.clone());
                            r
                        }
                    };
                    match checks.and_then(|()| self.path_len_ok(k)) {
                        Err(e) => {
                            self.record(e, Some(k), false);
                            false
                        }
                        Ok(()) => self.extend()?,
                    }
                }
                Node::Leaf => false,
            };
            if done {
                return Ok(true);
            }
            self.path.pop();
        }
        if !tried {
            let detail = if child.is_self_issued() {
                format!("{} is self-issued and not a trust anchor", child.label())
            } else {
                format!("no issuer found for {}", child.issuer())
            };
            self.record(
                Error::new(Reason::UntrustedRoot, detail),
                Some(child_index),
                false,
            );
        }
        Ok(false)
    }

    /// Checks the complete path ending at anchor `a`; `Ok(true)` and `self.success` if valid.
    fn finish(&mut self, a: usize) -> Result<bool, Abort> {
        match self.complete_checks(a) {
            Ok(valid) => {
                self.success = Some(valid);
                Ok(true)
            }
            Err((e, index)) => {
                self.record(e, index, true);
                Ok(false)
            }
        }
    }

    fn complete_checks(&self, a: usize) -> Result<ValidPath, (Error, Option<usize>)> {
        let certs: Vec<&Certificate> = self.path.iter().map(|&n| self.cert(n)).collect();
        let n = certs.len();
        let last = n - 1;
        let leaf = certs[0];
        let Some((family, anchor)) = self.trust.anchor(a) else {
            return Err((Error::new(Reason::UntrustedRoot, "anchor vanished"), None));
        };
        let at = |i: usize| move |e: Error| (e, Some(i));

        check_validity(anchor, self.at).map_err(at(last))?;
        if n > 1 {
            // The anchor is used as a certificate: what it says must be understood.
            understood(anchor).map_err(at(last))?;
            ca_usage(anchor).map_err(at(last))?;
            rfc5280::check(anchor, rfc5280::Role::Anchor).map_err(at(last))?;
            self.path_len_ok(last).map_err(at(last))?;
        }

        // The family's key policy, at every place (the anchor when it is used).
        for (i, c) in certs.iter().enumerate() {
            family.keys.check(c, &family.name).map_err(at(i))?;
        }

        // Name constraints of every CA (anchor included) on the certificates below
        // it; self-issued intermediates are exempt (RFC 5280 §6.1.3 b).
        for k in 1..n {
            if certs[k].name_constraints_der().is_none() {
                continue;
            }
            for (i, c) in certs.iter().enumerate().take(k) {
                if i == 0 || !c.is_self_issued() {
                    names::check_name_constraints(certs[k], c).map_err(at(i))?;
                }
            }
        }

        self.check_eku(&certs)?;
        self.check_policies(&certs)?;

        if let Some(profile) = self.rules.profile {
            if profile.web_pki {
                let end_entity = rfc5280::Role::Leaf { end_entity: true };
                rfc5280::web_pki(leaf, end_entity).map_err(at(0))?;
                if n > 1 {
                    rfc5280::web_pki(anchor, rfc5280::Role::Anchor).map_err(at(last))?;
                }
            }
            if let Some(bits) = profile
                .key_usages
                .iter()
                .find(|u| leaf.key_usage().is_none_or(|k| k & u.bit() == 0))
            {
                return Err((
                    Error::new(
                        Reason::KeyUsage,
                        format!("leaf keyUsage does not assert {}", bits.name()),
                    ),
                    Some(0),
                ));
            }
            if !profile.families.is_empty() && !profile.families.contains(&family.name) {
                return Err((
                    Error::new(
                        Reason::FamilyNotAllowed,
                        format!(
                            "trust family {:?} is not allowed for {}",
                            family.name, profile.name
                        ),
                    ),
                    Some(last),
                ));
            }
        }
        if let Some(cut_off) = family.cut_off
            && leaf.not_before() > cut_off
        {
            return Err((
                Error::new(
                    Reason::FamilyCutOff,
                    format!(
                        "leaf issued {} after the cut-off {} of family {:?}",
                        leaf.not_before(),
                        cut_off,
                        family.name
                    ),
                ),
                Some(0),
            ));
        }
        let identity = match self.rules.profile.and_then(|p| p.identity) {
            Some(kind) => Some(identity::extract_as(leaf, kind).map_err(at(0))?),
            None => identity::extract(leaf).ok(),
        };
        if let Some(peer) = &self.options.peer_name {
            names::verify_peer_name(leaf, peer).map_err(at(0))?;
        }

        if self.rules.profile.is_none_or(|p| p.check_revocation) {
            for i in 0..last {
                match self
                    .revocation
                    .check(certs[i], certs[i + 1], self.options.at)
                {
                    RevocationStatus::Good => {}
                    RevocationStatus::Revoked { reason, at: when } => {
                        let when = when.map(|w| format!(" at {w}")).unwrap_or_default();
                        return Err((
                            Error::new(
                                Reason::Revoked,
                                format!("{} revoked{when} ({reason})", certs[i].label()),
                            ),
                            Some(i),
                        ));
                    }
                    RevocationStatus::Unknown => {
                        if !self.options.unknown_revocation_allowed {
                            return Err((
                                Error::new(
                                    Reason::RevocationUnknown,
                                    format!("revocation status of {} unknown", certs[i].label()),
                                ),
                                Some(i),
                            ));
                        }
                    }
                }
            }
        }

        Ok(ValidPath {
            path: certs.iter().map(|c| (*c).clone()).collect(),
            family: family.clone(),
            identity,
        })
    }

    /// The leaf lists every required EKU, and not anyExtendedKeyUsage (a purpose that
    /// names its EKU wants a certificate issued for it); CAs with an EKU extension
    /// allow each.
    fn check_eku(&self, certs: &[&Certificate]) -> Result<(), (Error, Option<usize>)> {
        if !self.rules.ekus.is_empty()
            && certs[0]
                .eku_oids()
                .is_some_and(|mut it| it.any(|o| o == self.rules.any_eku.as_slice()))
        {
            return Err((
                Error::new(
                    Reason::ExtendedKeyUsage,
                    "leaf extendedKeyUsage lists anyExtendedKeyUsage, the purpose wants its own",
                ),
                Some(0),
            ));
        }
        for want in &self.rules.ekus {
            let name = der::oid_to_string(want).unwrap_or_default();
            let leaf_has = certs[0]
                .eku_oids()
                .is_some_and(|mut it| it.any(|o| o == want.as_slice()));
            if !leaf_has {
                return Err((
                    Error::new(
                        Reason::ExtendedKeyUsage,
                        format!("leaf extendedKeyUsage does not list {name}"),
                    ),
                    Some(0),
                ));
            }
            for (i, c) in certs.iter().enumerate().skip(1) {
                if let Some(mut it) = c.eku_oids()
                    && !it.any(|o| o == want.as_slice() || o == self.rules.any_eku.as_slice())
                {
                    return Err((
                        Error::new(
                            Reason::ExtendedKeyUsage,
                            format!("{} does not allow extended key usage {name}", c.label()),
                        ),
                        Some(i),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether anyPolicy counts in certificate `j` (inhibitAnyPolicy above it).
    fn any_policy_allowed(&self, certs: &[&Certificate], j: usize) -> bool {
        if j > 0 && certs[j].is_self_issued() {
            return true;
        }
        (j + 1..certs.len()).all(|k| match certs[k].inhibit_any_policy() {
            None => true,
            Some(skip) => {
                let between = (j + 1..k).filter(|&i| !certs[i].is_self_issued()).count();
                usize::try_from(skip).unwrap_or(usize::MAX) > between
            }
        })
    }

    fn asserts(&self, certs: &[&Certificate], i: usize, policy: &[u8], any_ok: bool) -> bool {
        certs[i].policy_oids().is_some_and(|mut it| {
            it.any(|o| {
                o == policy
                    || (any_ok
                        && o == self.rules.any_policy.as_slice()
                        && self.any_policy_allowed(certs, i))
            })
        })
    }

    fn check_policies(&self, certs: &[&Certificate]) -> Result<(), (Error, Option<usize>)> {
        let below_anchor = certs.len().saturating_sub(1).max(1);
        for want in &self.rules.policies {
            let name = der::oid_to_string(want).unwrap_or_default();
            if !self.asserts(certs, 0, want, false) {
                return Err((
                    Error::new(
                        Reason::PolicyRequired,
                        format!("leaf does not assert policy {name}"),
                    ),
                    Some(0),
                ));
            }
            for i in 1..below_anchor {
                if !self.asserts(certs, i, want, true) {
                    return Err((
                        Error::new(
                            Reason::PolicyRequired,
                            format!(
                                "{} does not assert policy {name} nor anyPolicy",
                                certs[i].label()
                            ),
                        ),
                        Some(i),
                    ));
                }
            }
        }
        // requireExplicitPolicy: some policy must be valid along the whole path.
        let explicit = certs
            .iter()
            .enumerate()
            .any(|(k, c)| match c.require_explicit_policy() {
                None => false,
                Some(r) if k == 0 => r == 0,
                Some(r) => {
                    let nsi = (1..k).filter(|&i| !certs[i].is_self_issued()).count();
                    (r as usize) <= nsi + 1
                }
            });
        if explicit && self.rules.policies.is_empty() {
            let mut candidates: Vec<&[u8]> = Vec::new();
            for c in &certs[..below_anchor] {
                candidates.extend(c.policy_oids().into_iter().flatten());
            }
            let any = self.rules.any_policy.as_slice();
            let valid = candidates
                .iter()
                .any(|p| (0..below_anchor).all(|i| self.asserts(certs, i, p, true)))
                || (0..below_anchor).all(|i| self.asserts(certs, i, any, true));
            if !valid {
                return Err((
                    Error::new(
                        Reason::PolicyRequired,
                        "requireExplicitPolicy is set and no policy is valid along the path",
                    ),
                    None,
                ));
            }
        }
        Ok(())
    }
}

mod rfc5280;
#[cfg(test)]
mod strict_tests;
#[cfg(test)]
mod tests;
