//! Trust anchors, grouped by family (IGC-Santé ranges, legacy IGC-CPS, test PKIs).

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::reason::{Error, Reason};
use crate::sig::{self, KeyAlgorithm};

/// A named group of trust anchors with the rules that come with it.
#[derive(Clone, Debug)]
pub struct Family {
    /// Stable name, matched against [`crate::purpose::Profile::families`].
    pub name: String,
    /// A test PKI: refused by a production trust store.
    pub test: bool,
    /// Leaves whose notBefore is after this instant are refused with
    /// [`Reason::FamilyCutOff`] (a legacy PKI that stopped issuing).
    pub cut_off: Option<OffsetDateTime>,
    /// The keys the family's certificates may carry.
    pub keys: KeyPolicy,
}

impl Family {
    /// A production family with no cut-off, accepting every supported key.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            test: false,
            cut_off: None,
            keys: KeyPolicy::default(),
        }
    }
}

/// The public keys a trust family's certificates may carry, at every place of a path
/// (anchor, intermediates, leaf): IGC-Santé's real families are RSA-2048 and up
/// (domain.md §3), a test PKI may be P-256. Beyond the engine's own floor
/// ([`sig::MIN_RSA_BITS`], supported algorithms only), which no policy lowers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Algorithms allowed; empty: every supported one.
    pub algorithms: Vec<KeyAlgorithm>,
    /// Smallest RSA modulus, in bits (never below [`sig::MIN_RSA_BITS`]).
    pub min_rsa_bits: usize,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self {
            algorithms: Vec::new(),
            min_rsa_bits: sig::MIN_RSA_BITS,
        }
    }
}

impl KeyPolicy {
    /// Whether `cert`'s key is allowed ([`Reason::UnsupportedAlgorithm`] for an algorithm
    /// not listed, [`Reason::WeakKey`] for a short RSA key).
    pub fn check(&self, cert: &Certificate, family: &str) -> Result<(), Error> {
        if self.algorithms.is_empty() && self.min_rsa_bits <= sig::MIN_RSA_BITS {
            return Ok(()); // the engine's own floor, checked at every place already
        }
        let (alg, rsa_bits) = sig::key_algorithm(cert.spki_der())?;
        if !self.algorithms.is_empty() && !self.algorithms.contains(&alg) {
            return Err(Error::new(
                Reason::UnsupportedAlgorithm,
                format!(
                    "{} has a {} key, which trust family {family:?} does not allow",
                    cert.label(),
                    alg.name()
                ),
            ));
        }
        if let Some(bits) = rsa_bits
            && bits < self.min_rsa_bits.max(sig::MIN_RSA_BITS)
        {
            return Err(Error::new(
                Reason::WeakKey,
                format!(
                    "{} has an RSA key of {bits} bits; trust family {family:?} wants {}",
                    cert.label(),
                    self.min_rsa_bits
                ),
            ));
        }
        Ok(())
    }
}

/// The trust anchors, indexed by subject for path building.
///
/// Anchors are trusted as they are: their own signature is never checked. Their
/// validity period is checked at validation time, and their basicConstraints
/// (pathLenConstraint), keyUsage, extendedKeyUsage, nameConstraints,
/// inhibitAnyPolicy and policyConstraints constrain the paths below them, like
/// RFC 5937 trust-anchor constraints. An anchor must be a CA (basicConstraints
/// cA = true): anything else is refused when the store is built.
pub struct TrustStore {
    families: Vec<Family>,
    /// (family index, certificate)
    anchors: Vec<(usize, Certificate)>,
    /// subject DER -> indexes into `anchors` (several anchors may share a subject,
    /// e.g. a renewed root with a new key).
    by_subject: HashMap<Box<[u8]>, Vec<usize>>,
    /// The same by the subject's RFC 5280 §7.1 form ([`crate::names::canonical_name`]),
    /// for issuer names encoded otherwise than the anchor's subject.
    by_canonical_subject: HashMap<Box<[u8]>, Vec<usize>>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("families", &self.families)
            .field("anchors", &self.anchors.len())
            .finish()
    }
}

impl TrustStore {
    /// Builds the store. With `production`, a family marked `test` is an error
    /// ([`Reason::FamilyNotAllowed`]); an anchor that is not a CA is an error
    /// ([`Reason::NotACa`]); so are two families with the same name.
    pub fn new(families: Vec<(Family, Vec<Certificate>)>, production: bool) -> Result<Self, Error> {
        let mut store = Self {
            families: Vec::with_capacity(families.len()),
            anchors: Vec::new(),
            by_subject: HashMap::new(),
            by_canonical_subject: HashMap::new(),
        };
        for (family, certs) in families {
            if production && family.test {
                return Err(Error::new(
                    Reason::FamilyNotAllowed,
                    format!("test family {:?} in a production trust store", family.name),
                ));
            }
            if store.families.iter().any(|f| f.name == family.name) {
                return Err(Error::new(
                    Reason::FamilyNotAllowed,
                    format!("family {:?} declared twice", family.name),
                ));
            }
            let family_index = store.families.len();
            for cert in certs {
                if !cert.is_ca() {
                    return Err(Error::new(
                        Reason::NotACa,
                        format!(
                            "trust anchor {} of family {:?} is not a CA",
                            cert.subject(),
                            family.name
                        ),
                    ));
                }
                let index = store.anchors.len();
                store
                    .by_subject
                    .entry(cert.subject_der().into())
                    .or_default()
                    .push(index);
                if let Some(canonical) = crate::names::canonical_name(cert.subject_der()) {
                    store
                        .by_canonical_subject
                        .entry(canonical.into())
                        .or_default()
                        .push(index);
                }
                store.anchors.push((family_index, cert));
            }
            store.families.push(family);
        }
        Ok(store)
    }

    /// Every anchor with its family.
    pub fn anchors(&self) -> impl Iterator<Item = (&Family, &Certificate)> {
        self.anchors
            .iter()
            .filter_map(|(f, c)| self.families.get(*f).map(|family| (family, c)))
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there is no anchor at all.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The families, in declaration order.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// Indexes of the anchors whose subject is `subject_der`.
    pub(crate) fn by_subject(&self, subject_der: &[u8]) -> &[usize] {
        self.by_subject
            .get(subject_der)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Indexes of the anchors whose subject's RFC 5280 §7.1 form is `canonical`.
    pub(crate) fn by_canonical_subject(&self, canonical: &[u8]) -> &[usize] {
        self.by_canonical_subject
            .get(canonical)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The anchor at `index` with its family.
    pub(crate) fn anchor(&self, index: usize) -> Option<(&Family, &Certificate)> {
        let (f, c) = self.anchors.get(index)?;
        Some((self.families.get(*f)?, c))
    }

    /// The index of an anchor with exactly this DER, if any.
    pub(crate) fn find_der(&self, cert: &Certificate) -> Option<usize> {
        self.by_subject(cert.subject_der())
            .iter()
            .copied()
            .find(|&i| self.anchors.get(i).is_some_and(|(_, a)| a == cert))
    }
}
