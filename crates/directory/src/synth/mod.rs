//! Synthetic directory files for tests, demos and benchmarks.
//!
//! [`write_all`] writes, under the published file names, a consistent set
//! of files:
//!
//! - the RPPS extract ([`rpps::file_name`]), UTF-8: one professional has 1
//!   to 4 activities (1.5 on average), RPPS numbers `10` + 8 digits + Luhn
//!   key (ADELI numbers, about 7 %, for the professions given one), French
//!   names with accents, real profession codes, activities at the generated
//!   FINESS establishments (where the profession plausibly works) or in
//!   private practices, addresses, phones, some e-mail addresses;
//! - the FINESS extract ([`finess::file_name`]), **Latin-1**, metadata line
//!   first, one `structureet` and one `geolocalisation` row per establishment
//!   (the geolocation of about 15 % of them comes just before their
//!   establishment, the others at the end of the file, as in the real file),
//!   including Corsican (`2A`/`2B`) and overseas establishments;
//! - `ins_reference.csv`: identities under the **test** OID
//!   `1.2.250.1.213.1.4.10`, with NIRs consistent with their traits (some
//!   born in Corsica, overseas or abroad, a few with a conventional NIR
//!   month);
//! - `rights_reference.csv`: the insured's own line for every identity, plus
//!   dependants (spouses, children identified by birth rank).
//!
//! `broken` extra rows are deliberately wrong, spread evenly over the four
//! files (a wrong check key, a wrong column count, invalid UTF-8, a truncated
//! last line, an exact duplicate, an unknown FINESS record kind, an
//! over-long line, traits contradicting the NIR, …; every row reject code
//! appears once `broken` ≥ 72). The returned [`SynthManifest`] lists each
//! with its file, line number and expected reject code, and counts the
//! valid rows. The over-long line assumes the importer's maximum line length
//! is at most [`DEFAULT_MAX_LINE_LEN`](crate::lines::DEFAULT_MAX_LINE_LEN).
//!
//! Output is deterministic for a given [`SynthSpec`] (own SplitMix64
//! generator, independent streams per item) and streamed through buffered
//! writers: memory stays flat whatever the sizes. Uniqueness holds for up to
//! 100 million professionals (RPPS), 950,000 professionals (ADELI),
//! 1.7 million establishments and 3 million identities.

mod data;
mod identities;
mod professionals;
mod rng;
mod structures;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};

use crate::code;
use crate::{finess, ins, rpps};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSpec {
    /// Number of professionals (≈ 1.5 activity lines each).
    pub professionals: usize,
    /// Number of FINESS establishments.
    pub structures: usize,
    /// Number of INS identities.
    pub identities: usize,
    /// Number of deliberately broken rows, in addition to the valid ones.
    pub broken: usize,
    /// Seed: the same spec always gives the same files.
    pub seed: u64,
    /// Extract time: RPPS file name; the FINESS file name and metadata use
    /// its date.
    pub extract_time: NaiveDateTime,
}

impl Default for SynthSpec {
    /// A small set: 1,000 professionals, 100 establishments, 1,000
    /// identities, 20 broken rows, seed 1, extract of 2024-05-13 14:30.
    fn default() -> Self {
        Self {
            professionals: 1_000,
            structures: 100,
            identities: 1_000,
            broken: 20,
            seed: 1,
            extract_time: NaiveDate::from_ymd_opt(2024, 5, 13)
                .and_then(|d| d.and_hms_opt(14, 30, 0))
                .unwrap_or_default(),
        }
    }
}

/// One deliberately broken row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRow {
    /// File name (no directory).
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// Expected reject code (see [`crate::code`]); [`code::DUPLICATE_LINE`]
    /// rows parse fine and are for the importer to catch.
    pub code: &'static str,
}

/// What [`write_all`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthManifest {
    /// Path of the RPPS extract.
    pub rpps_file: PathBuf,
    /// Path of the FINESS extract.
    pub finess_file: PathBuf,
    /// Path of `ins_reference.csv`.
    pub identities_file: PathBuf,
    /// Path of `rights_reference.csv`.
    pub rights_file: PathBuf,
    /// Number of professionals.
    pub professionals: usize,
    /// Number of valid activity lines of the RPPS file (header and broken
    /// rows excluded).
    pub activity_lines: usize,
    /// Number of valid `structureet` rows.
    pub establishments: usize,
    /// Number of valid `geolocalisation` rows (one per establishment).
    pub geolocations: usize,
    /// Number of valid identity lines.
    pub identities: usize,
    /// Number of valid rights lines.
    pub rights_lines: usize,
    /// The broken rows, by file then line.
    pub broken: Vec<BrokenRow>,
}

impl SynthManifest {
    /// The broken rows of one file (by file name).
    pub fn broken_in<'a>(&'a self, file: &'a str) -> impl Iterator<Item = &'a BrokenRow> + 'a {
        self.broken.iter().filter(move |b| b.file == file)
    }
}

/// The kinds of broken rows, each for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Broken {
    RppsBadRpps,
    RppsBadAdeli,
    RppsNotUtf8,
    RppsColumnCount,
    RppsMissingTrailing,
    RppsBadType,
    RppsIdNatMismatch,
    RppsMissingName,
    RppsBadFiness,
    RppsBadSiret,
    RppsBadSiren,
    RppsDuplicate,
    RppsTruncated,
    RppsTooLong,
    FinessUnknownRecord,
    FinessBadFiness,
    FinessBadNumber,
    FinessBadDate,
    FinessColumnCount,
    FinessBadSiret,
    InsBadNir,
    InsBadOid,
    InsTraitMismatch,
    InsBadSex,
    InsBadDate,
    InsBadBirthplace,
    InsBadGivenNames,
    InsColumnCount,
    InsDuplicate,
    RightsBadNir,
    RightsBadQuality,
    RightsMissingRank,
    RightsBadRank,
    RightsBadNumber,
    RightsBadPeriod,
    RightsQualityMismatch,
}

/// Order in which broken rows are handed out: the files alternate, so that
/// even a few broken rows reach every file.
#[rustfmt::skip]
const CYCLE: [Broken; 36] = {
    use Broken::*;
    [
        RppsBadRpps, FinessUnknownRecord, InsBadNir, RightsBadQuality,
        RppsNotUtf8, FinessBadFiness, InsTraitMismatch, RightsMissingRank,
        RppsColumnCount, FinessBadNumber, InsBadOid, RightsBadPeriod,
        RppsDuplicate, FinessBadDate, InsBadSex, RightsBadNir,
        RppsTruncated, FinessColumnCount, InsColumnCount, RightsBadNumber,
        RppsIdNatMismatch, FinessBadSiret, InsBadDate, RightsQualityMismatch,
        RppsMissingTrailing, InsDuplicate, RppsBadFiness, InsBadBirthplace,
        RightsBadRank, RppsBadType, InsBadGivenNames, RppsMissingName,
        RppsBadSiret, RppsBadAdeli, RppsTooLong, RppsBadSiren,
    ]
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Rpps,
    Finess,
    Identities,
    Rights,
}

impl Broken {
    fn target(self) -> Target {
        use Broken::*;
        match self {
            RppsBadRpps | RppsBadAdeli | RppsNotUtf8 | RppsColumnCount | RppsMissingTrailing
            | RppsBadType | RppsIdNatMismatch | RppsMissingName | RppsBadFiness | RppsBadSiret
            | RppsBadSiren | RppsDuplicate | RppsTruncated | RppsTooLong => Target::Rpps,
            FinessUnknownRecord | FinessBadFiness | FinessBadNumber | FinessBadDate
            | FinessColumnCount | FinessBadSiret => Target::Finess,
            InsBadNir | InsBadOid | InsTraitMismatch | InsBadSex | InsBadDate
            | InsBadBirthplace | InsBadGivenNames | InsColumnCount | InsDuplicate => {
                Target::Identities
            }
            RightsBadNir
            | RightsBadQuality
            | RightsMissingRank
            | RightsBadRank
            | RightsBadNumber
            | RightsBadPeriod
            | RightsQualityMismatch => Target::Rights,
        }
    }

    /// The reject code the importer must report.
    fn code(self) -> &'static str {
        use Broken::*;
        match self {
            RppsBadRpps => code::BAD_RPPS,
            RppsBadAdeli => code::BAD_ADELI,
            RppsNotUtf8 => code::NOT_UTF8,
            RppsColumnCount | FinessColumnCount | InsColumnCount => code::COLUMN_COUNT,
            RppsMissingTrailing => code::MISSING_TRAILING_SEPARATOR,
            RppsBadType => code::BAD_IDENTIFIER_TYPE,
            RppsIdNatMismatch => code::ID_NAT_MISMATCH,
            RppsMissingName | RightsMissingRank => code::MISSING_FIELD,
            RppsBadFiness | FinessBadFiness => code::BAD_FINESS,
            RppsBadSiret | FinessBadSiret => code::BAD_SIRET,
            RppsBadSiren => code::BAD_SIREN,
            RppsDuplicate | InsDuplicate => code::DUPLICATE_LINE,
            RppsTruncated => code::TRUNCATED,
            RppsTooLong => code::LINE_TOO_LONG,
            FinessUnknownRecord => code::UNKNOWN_RECORD,
            FinessBadNumber | RightsBadNumber => code::BAD_NUMBER,
            FinessBadDate | InsBadDate => code::BAD_DATE,
            InsBadNir | RightsBadNir => code::BAD_NIR,
            InsBadOid => code::BAD_OID,
            InsTraitMismatch => code::TRAIT_MISMATCH,
            InsBadSex => code::BAD_SEX,
            InsBadBirthplace => code::BAD_BIRTHPLACE,
            InsBadGivenNames => code::BAD_GIVEN_NAMES,
            RightsBadQuality => code::BAD_QUALITY,
            RightsBadRank => code::BAD_RANK,
            RightsBadPeriod => code::BAD_PERIOD,
            RightsQualityMismatch => code::QUALITY_MISMATCH,
        }
    }

    /// Kinds that can occur once per file only.
    fn singleton(self) -> bool {
        matches!(self, Self::RppsTruncated | Self::RppsTooLong)
    }
}

/// A broken row to insert before item `before` of its file (`before` =
/// item count: after the last item), numbered `index` among all broken rows.
#[derive(Debug, Clone, Copy)]
struct Planned {
    before: usize,
    index: u64,
    kind: Broken,
}

/// Distributes `count` broken rows over the files, evenly spaced within
/// each file.
fn plan(count: usize, items: impl Fn(Target) -> usize) -> Vec<(Target, Vec<Planned>)> {
    let mut kinds: Vec<Broken> = Vec::with_capacity(count);
    for i in 0..count {
        let kind = CYCLE[i % CYCLE.len()];
        let repeat = kind.singleton() && kinds.contains(&kind);
        kinds.push(if repeat { Broken::RppsBadRpps } else { kind });
    }
    [
        Target::Rpps,
        Target::Finess,
        Target::Identities,
        Target::Rights,
    ]
    .into_iter()
    .map(|target| {
        let mine: Vec<(usize, Broken)> = kinds
            .iter()
            .enumerate()
            .filter(|(_, k)| k.target() == target)
            .map(|(i, k)| (i, *k))
            .collect();
        let n = items(target);
        let slots = mine.len() + 1;
        let planned = mine
            .iter()
            .enumerate()
            .map(|(j, &(index, kind))| Planned {
                before: (j + 1) * n / slots,
                index: index as u64,
                kind,
            })
            .collect();
        (target, planned)
    })
    .collect()
}

/// A buffered output file that counts its lines.
struct Out {
    w: BufWriter<File>,
    name: String,
    lines: u64,
    broken: Vec<BrokenRow>,
}

impl Out {
    fn create(dir: &Path, name: String) -> io::Result<(Self, PathBuf)> {
        let path = dir.join(&name);
        let w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        Ok((
            Self {
                w,
                name,
                lines: 0,
                broken: Vec::new(),
            },
            path,
        ))
    }

    /// Writes one `\n`-terminated line (or the unterminated last line).
    fn line(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.w.write_all(bytes)?;
        self.lines += 1;
        Ok(())
    }

    /// Writes a broken line and records it.
    fn broken(&mut self, bytes: &[u8], code: &'static str) -> io::Result<()> {
        self.line(bytes)?;
        self.broken.push(BrokenRow {
            file: self.name.clone(),
            line: self.lines,
            code,
        });
        Ok(())
    }

    fn finish(mut self) -> io::Result<Vec<BrokenRow>> {
        self.w.flush()?;
        Ok(self.broken)
    }
}

/// Writes the four files into `dir` (which must exist) and returns what
/// was written.
///
/// # Errors
///
/// Any I/O error while creating or writing the files.
pub fn write_all(dir: &Path, spec: &SynthSpec) -> io::Result<SynthManifest> {
    let plans = plan(spec.broken, |target| match target {
        Target::Rpps => spec.professionals,
        Target::Finess => spec.structures,
        Target::Identities | Target::Rights => spec.identities,
    });
    let planned = |target: Target| {
        plans
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, p)| p.as_slice())
            .unwrap_or_default()
    };
    let date = spec.extract_time.date();

    let (out, rpps_file) = Out::create(dir, rpps::file_name(spec.extract_time))?;
    let (activity_lines, mut broken) = professionals::write(out, spec, planned(Target::Rpps))?;

    let (out, finess_file) = Out::create(dir, finess::file_name(date))?;
    broken.extend(structures::write(out, spec, planned(Target::Finess))?);

    let (out, identities_file) = Out::create(dir, ins::IDENTITY_FILE_NAME.to_owned())?;
    broken.extend(identities::write_identities(
        out,
        spec,
        planned(Target::Identities),
    )?);

    let (out, rights_file) = Out::create(dir, ins::RIGHTS_FILE_NAME.to_owned())?;
    let (rights_lines, rights_broken) =
        identities::write_rights(out, spec, planned(Target::Rights))?;
    broken.extend(rights_broken);

    Ok(SynthManifest {
        rpps_file,
        finess_file,
        identities_file,
        rights_file,
        professionals: spec.professionals,
        activity_lines,
        establishments: spec.structures,
        geolocations: spec.structures,
        identities: spec.identities,
        rights_lines,
        broken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_spreads_rows_and_keeps_singletons_single() {
        let plans = plan(80, |t| if t == Target::Finess { 10 } else { 1000 });
        let all: Vec<Planned> = plans.iter().flat_map(|(_, p)| p.clone()).collect();
        assert_eq!(all.len(), 80);
        for kind in [Broken::RppsTruncated, Broken::RppsTooLong] {
            assert_eq!(all.iter().filter(|p| p.kind == kind).count(), 1);
        }
        for (target, planned) in &plans {
            assert!(!planned.is_empty());
            assert!(planned.windows(2).all(|w| w[0].before <= w[1].before));
            assert!(planned.iter().all(|p| p.kind.target() == *target));
        }
        // Every kind is reachable.
        let kinds: std::collections::HashSet<_> = CYCLE.iter().collect();
        assert_eq!(kinds.len(), CYCLE.len());
        // Four broken rows reach four files.
        let plans = plan(4, |_| 10);
        assert!(plans.iter().all(|(_, p)| p.len() == 1));
        assert!(plan(0, |_| 10).iter().all(|(_, p)| p.is_empty()));
    }
}
