//! Streaming parsers, writers and a synthetic generator for the reference
//! directories Égide imports.
//!
//! | module | file | encoding | separator |
//! |---|---|---|---|
//! | [`rpps`] | Annuaire Santé `PS_LibreAcces_Personne_activite_<YYYYMMDDhhmm>.txt` | UTF-8 | `\|`, trailing `\|` |
//! | [`finess`] | FINESS etalab `etalab-cs1100502-stock-<YYYYMMDD>.csv` | Latin-1 or UTF-8 | `;` |
//! | [`ins`] | Égide's `ins_reference.csv` and `rights_reference.csv` | UTF-8 | `;` |
//!
//! The importer feeds bytes of any size to a [`lines::LineSplitter`]
//! (bounded memory, BOM and CRLF handled, over-long lines skipped) and
//! hands each line to a row parser. Row parsers are zero-copy: the parsed
//! structs borrow their text from the line, identifiers are checked with
//! `egide-ids`, and a bad row gives a [`RowError`] with a stable
//! [`code`] and a message safe to log, so that the import goes on. A
//! problem with the whole file (header, metadata) is a [`FileError`].
//!
//! ```
//! use core::ops::ControlFlow;
//! use egide_directory::{lines, rpps};
//! use egide_ids::RppsPolicy;
//!
//! let file = format!("{}\n8|10001045367|810001045367{}\n", rpps::header_line(), "|".repeat(50));
//! let policy = RppsPolicy::strict();
//! let (mut good, mut bad) = (0, Vec::new());
//! let refused = lines::for_each_line(file.as_bytes(), lines::DEFAULT_MAX_LINE_LEN, |line| {
//!     if line.number() == 1 {
//!         // A bad header refuses the whole file.
//!         return match rpps::check_header(line.bytes().unwrap_or_default()) {
//!             Ok(()) => ControlFlow::Continue(()),
//!             Err(e) => ControlFlow::Break(e),
//!         };
//!     }
//!     match line.parse(|bytes| rpps::parse_activity(bytes, &policy)) {
//!         Ok(_activity) => good += 1,                       // → a COPY row
//!         Err(e) => bad.push((line.number(), e.code)), // → the reject report
//!     }
//!     ControlFlow::Continue(())
//! })?;
//! assert!(refused.is_none());
//! assert_eq!((good, bad), (0, vec![(2, "missing_field")])); // "Nom d'exercice" is empty
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`synth`] writes consistent synthetic files (valid check keys, French
//! names, deliberate broken rows listed in a manifest) for tests and
//! benchmarks. The formats and every reject code are described in
//! `docs/directories.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may unwrap; library code may not (workspace lints).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod fields;
pub mod finess;
pub mod ins;
pub mod lines;
pub mod rpps;
pub mod synth;

pub use error::{FileError, RowError, code};
