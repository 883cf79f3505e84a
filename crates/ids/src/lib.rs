//! French national health identifiers as parsed newtypes ("parse, don't
//! validate").
//!
//! Every type here can only be built through a parser (or a documented
//! generator) that checks length, characters and check key, so holding a
//! value is proof that it is well-formed. Parsers never panic, reject
//! oversized input before looking at it in detail, and return a single
//! error type, [`IdError`], whose messages say exactly what is wrong and
//! whose [`IdError::code`] is a stable machine code.
//!
//! # Identifiers
//!
//! | Type | What | Format | Check |
//! |---|---|---|---|
//! | [`Nir`] | social security number, INS matricule | 15 chars, `2A`/`2B` for Corsica | 97 − (body mod 97) |
//! | [`Ins`], [`InsOid`] | *Identité Nationale de Santé* = matricule + OID | OIDs `1.2.250.1.213.1.4.{8,9,10,11}` (`.2` legacy INS-C) | — |
//! | [`Rpps`] | health professional (RPPS) | 11 digits | Luhn (test ranges via [`RppsPolicy`]) |
//! | [`Adeli`] | health professional (legacy ADELI, transitional) | 9 digits | Luhn |
//! | [`Finess`] | health/social establishment | 9 chars, `2A`/`2B` allowed | Luhn (not checked for Corsica) |
//! | [`Siren`] / [`Siret`] | company / establishment (INSEE) | 9 / 14 digits | Luhn; La Poste SIRET: digit sum mod 5 |
//! | [`IdNatPs`] | `idNat_PS`, OID `1.2.250.1.71.4.2.1` | prefix `0`/`8`/`1,3,4,5,6` + number | of the inner number |
//! | [`IdNatStruct`] | `idNat_Struct`, OID `1.2.250.1.71.4.2.2` | prefix `0`–`4` + number | of the inner number |
//!
//! Sources: the *Référentiel Identifiant National de Santé* and the ANS
//! (Agence du Numérique en Santé, <https://esante.gouv.fr>) documentation
//! of the *Annuaire Santé*, CPS cards and Pro Santé Connect; INSEE for
//! SIREN/SIRET.
//!
//! # Privacy
//!
//! The NIR (and hence [`Ins`]) is an identity trait: its `Debug` output is
//! masked and errors never echo it. RPPS, ADELI, FINESS, SIREN/SIRET and
//! `idNat_*` values are public directory identifiers and are shown in full.
//!
//! # Traits
//!
//! All identifier types implement `Clone`, `PartialEq`, `Eq`, `Hash`,
//! `Display` (canonical form), `FromStr` (strict parser) and serde
//! `Serialize`/`Deserialize` as strings (deserialization goes through the
//! strict parser; [`Ins`] is a `{matricule, oid}` object). Fixed-length
//! types are `Copy` and implement `AsRef<str>`.
//!
//! # Generators
//!
//! [`Nir::from_body`], [`Rpps::from_body`], [`Adeli::from_body`],
//! [`Finess::from_body`], [`Siren::from_body`], [`Siret::from_parts`] and
//! [`Siret::from_body`] append the right key to a body, and [`luhn_check_digit`]
//! and [`nir_key`] compute keys, for producing synthetic test data.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may unwrap; library code may not (workspace lints).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod finess;
mod idnat;
mod ins;
mod luhn;
mod nir;
mod rpps;
mod scan;
mod siren;

pub use error::IdError;
pub use finess::Finess;
pub use idnat::{ID_NAT_MAX_LEN, IdNatPs, IdNatStruct, OpaqueId, StructurePsId};
pub use ins::{Ins, InsOid};
pub use luhn::{luhn_check_digit, luhn_valid};
pub use nir::{Nir, Sex, nir_key};
pub use rpps::{Adeli, Rpps, RppsPolicy};
pub use siren::{Siren, Siret};
