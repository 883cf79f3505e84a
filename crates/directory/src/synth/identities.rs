//! Synthetic INS identities and rights (`ins_reference.csv`,
//! `rights_reference.csv`).

use std::io;

use chrono::NaiveDate;
use egide_ids::{Ins, InsOid, Nir};

use super::data::{ABROAD, COMMUNES, FEMALE_NAMES, MALE_NAMES, SURNAMES, push_digits, push_ins};
use super::rng::{Rng, Stream};
use super::{Broken, BrokenRow, Out, Planned, SynthSpec};
use crate::ins::{self, Identity, Quality, Rights, Sex};
use crate::{code, fields};

/// Number of birthplaces: communes, then countries abroad.
const PLACES: usize = COMMUNES.len() + ABROAD.len();
/// Birth years span 1930-2019.
const YEARS: usize = 90;

fn place(index: usize) -> &'static str {
    match COMMUNES.get(index) {
        Some(c) => c.insee,
        None => ABROAD[(index - COMMUNES.len()) % ABROAD.len()],
    }
}

/// Identity `i`, in reused buffers.
struct Person {
    nir: Nir,
    birth_name: String,
    given_names: String,
    sex: Sex,
    birth_date: NaiveDate,
    place: &'static str,
    body: String,
}

impl Person {
    fn new() -> io::Result<Self> {
        Ok(Self {
            nir: Nir::from_body("1000000000000").map_err(invalid)?,
            birth_name: String::new(),
            given_names: String::new(),
            sex: Sex::Male,
            birth_date: NaiveDate::default(),
            place: "",
            body: String::new(),
        })
    }

    /// Generates identity `i`. Matricules are distinct for
    /// `i < PLACES × 90 × 999`: place = `i mod PLACES`, then the birth year
    /// and the order number are bijections of the rest.
    fn generate(&mut self, spec: &SynthSpec, i: usize) -> io::Result<()> {
        let place_index = i % PLACES;
        let t = i / PLACES;
        let mut salt = Rng::for_item(spec.seed, Stream::Salt, place_index as u64);
        let year_salt = salt.below(YEARS);
        let order_salt = salt.below(999);
        let year = 1930 + (t + year_salt) % YEARS;
        let order = 1 + ((t / YEARS) * 373 + order_salt) % 999;

        let mut rng = Rng::for_item(spec.seed, Stream::Identity, i as u64);
        self.sex = if rng.chance(51) {
            Sex::Female
        } else {
            Sex::Male
        };
        let month = rng.between(1, 12);
        let day = rng.between(1, 28);
        // A few NIRs carry a conventional month (unknown month of birth).
        let nir_month = if rng.chance(3) {
            rng.between(30, 42)
        } else {
            month
        };
        self.place = place(place_index);
        self.birth_date = NaiveDate::from_ymd_opt(year as i32, month, day).unwrap_or_default();

        self.body.clear();
        self.body
            .push(if self.sex == Sex::Male { '1' } else { '2' });
        push_digits(&mut self.body, year as u64 % 100, 2);
        push_digits(&mut self.body, u64::from(nir_month), 2);
        self.body.push_str(self.place);
        push_digits(&mut self.body, order as u64, 3);
        self.nir = Nir::from_body(&self.body).map_err(invalid)?;

        self.birth_name.clear();
        let surname = *rng.pick(SURNAMES);
        push_ins(&mut self.birth_name, surname);
        self.given_names.clear();
        let names = if self.sex == Sex::Female {
            FEMALE_NAMES
        } else {
            MALE_NAMES
        };
        let count = *rng.weighted(&[(50, 1), (35, 2), (15, 3)]);
        for n in 0..count {
            if n > 0 {
                self.given_names.push(' ');
            }
            let name = *rng.pick(names);
            push_ins(&mut self.given_names, name);
        }
        Ok(())
    }

    fn identity(&self) -> io::Result<Identity<'_>> {
        Ok(Identity {
            ins: Ins::new(self.nir, InsOid::InsNirTest).map_err(invalid)?,
            birth_name: &self.birth_name,
            given_names: &self.given_names,
            sex: self.sex,
            birth_date: self.birth_date,
            birth_place: self.place,
        })
    }
}

fn invalid(e: egide_ids::IdError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Splits a written `;`-separated line (with its `\n`) into owned fields.
fn owned_fields(line: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line))
        .split(';')
        .map(str::to_owned)
        .collect()
}

fn write_fields(line: &mut Vec<u8>, fields: &[String]) -> io::Result<()> {
    let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    line.clear();
    fields::write_joined(line, &refs, b';', false)
}

/// The NIR with a wrong key (the right key plus one, modulo 97).
fn wrong_nir(nir: &Nir) -> String {
    format!("{}{:02}", nir.body(), nir.key() % 97 + 1)
}

/// Writes `ins_reference.csv`; returns the broken rows.
pub(super) fn write_identities(
    mut out: Out,
    spec: &SynthSpec,
    planned: &[Planned],
) -> io::Result<Vec<BrokenRow>> {
    let mut line = ins::identity_header_line().into_bytes();
    line.push(b'\n');
    out.line(&line)?;
    let mut person = Person::new()?;
    let mut previous = Vec::new();
    let mut next = planned.iter().peekable();
    for i in 0..spec.identities {
        while let Some(b) = next.next_if(|b| b.before == i) {
            broken_identity(&mut out, spec, b, &mut line, &previous)?;
        }
        person.generate(spec, i)?;
        line.clear();
        ins::write_identity_line(&mut line, &person.identity()?)?;
        out.line(&line)?;
        core::mem::swap(&mut line, &mut previous);
    }
    for b in next {
        broken_identity(&mut out, spec, b, &mut line, &previous)?;
    }
    out.finish()
}

fn broken_identity(
    out: &mut Out,
    spec: &SynthSpec,
    b: &Planned,
    line: &mut Vec<u8>,
    previous: &[u8],
) -> io::Result<()> {
    if b.kind == Broken::InsDuplicate && !previous.is_empty() {
        return out.broken(previous, code::DUPLICATE_LINE);
    }
    let mut person = Person::new()?;
    person.generate(spec, spec.identities + 1_000 + b.index as usize)?;
    line.clear();
    ins::write_identity_line(line, &person.identity()?)?;
    let mut f = owned_fields(line);
    let kind = match b.kind {
        Broken::InsDuplicate => Broken::InsBadNir,
        other => other,
    };
    match kind {
        Broken::InsBadNir => f[0] = wrong_nir(&person.nir),
        Broken::InsBadOid => f[1] = InsOid::InsC.as_oid().to_owned(),
        Broken::InsTraitMismatch => {
            f[4] = if person.sex == Sex::Male { "F" } else { "M" }.to_owned();
        }
        Broken::InsBadSex => f[4] = "X".to_owned(),
        Broken::InsBadDate => f[5] = format!("{}-02-30", f[5].get(..4).unwrap_or("1970")),
        Broken::InsBadBirthplace => f[6] = "2C004".to_owned(),
        Broken::InsBadGivenNames => {
            let first = f[3].split(' ').next().unwrap_or("JEAN").to_owned();
            f[3] = format!("{first}  {first}");
        }
        Broken::InsColumnCount => {
            f.pop();
        }
        _ => {}
    }
    write_fields(line, &f)?;
    out.broken(line, kind.code())
}

/// Rights of identity `i`, in reused buffers.
struct Cover {
    regime: &'static str,
    caisse: String,
    centre: String,
    start: NaiveDate,
    end: Option<NaiveDate>,
}

impl Cover {
    fn generate(rng: &mut Rng) -> Self {
        let commune = rng.pick(COMMUNES);
        let mut caisse = String::with_capacity(3);
        match fields::digits(commune.dept.get(..2).unwrap_or("75").as_bytes()) {
            Some(d) => push_digits(&mut caisse, u64::from(d), 2),
            None => caisse.push_str("20"),
        }
        caisse.push('1');
        let mut centre = String::with_capacity(4);
        push_digits(&mut centre, u64::from(rng.between(1, 9_999)), 4);
        let start_year = rng.between(2010, 2023) as i32;
        let start = NaiveDate::from_ymd_opt(start_year, rng.between(1, 12), 1).unwrap_or_default();
        let end = rng.chance(20).then(|| {
            NaiveDate::from_ymd_opt(start_year + rng.between(1, 5) as i32, 12, 31)
                .unwrap_or_default()
        });
        Self {
            regime: if rng.chance(90) { "01" } else { "02" },
            caisse,
            centre,
            start,
            end,
        }
    }

    fn rights(
        &self,
        insured: Nir,
        beneficiary: Option<Nir>,
        rank: Option<u8>,
        quality: Quality,
    ) -> Rights<'_> {
        Rights {
            insured,
            beneficiary,
            birth_rank: rank,
            quality,
            regime: self.regime,
            caisse: &self.caisse,
            centre: &self.centre,
            start: self.start,
            end: self.end,
        }
    }
}

/// Writes `rights_reference.csv`; returns the number of valid lines and
/// the broken rows.
pub(super) fn write_rights(
    mut out: Out,
    spec: &SynthSpec,
    planned: &[Planned],
) -> io::Result<(usize, Vec<BrokenRow>)> {
    let mut line = ins::rights_header_line().into_bytes();
    line.push(b'\n');
    out.line(&line)?;
    let mut person = Person::new()?;
    let mut spouse = Person::new()?;
    let mut written = 0;
    let mut next = planned.iter().peekable();
    for i in 0..spec.identities {
        while let Some(b) = next.next_if(|b| b.before == i) {
            broken_rights(&mut out, spec, b, &mut line)?;
        }
        person.generate(spec, i)?;
        let mut rng = Rng::for_item(spec.seed, Stream::Rights, i as u64);
        let cover = Cover::generate(&mut rng);
        let mut emit = |rights: Rights<'_>| -> io::Result<()> {
            line.clear();
            ins::write_rights_line(&mut line, &rights)?;
            written += 1;
            out.line(&line)
        };
        emit(cover.rights(person.nir, Some(person.nir), None, Quality::Insured))?;
        if spec.identities > 1 && rng.chance(20) {
            spouse.generate(spec, (i + 1) % spec.identities)?;
            emit(cover.rights(person.nir, Some(spouse.nir), None, Quality::Spouse))?;
        }
        if rng.chance(25) {
            let children = rng.between(1, 3) as u8;
            for rank in 1..=children {
                emit(cover.rights(person.nir, None, Some(rank), Quality::Child))?;
            }
        }
    }
    for b in next {
        broken_rights(&mut out, spec, b, &mut line)?;
    }
    Ok((written, out.finish()?))
}

fn broken_rights(
    out: &mut Out,
    spec: &SynthSpec,
    b: &Planned,
    line: &mut Vec<u8>,
) -> io::Result<()> {
    let mut person = Person::new()?;
    person.generate(spec, spec.identities + 1_000 + b.index as usize)?;
    let mut rng = Rng::for_item(spec.seed, Stream::Broken, b.index);
    let cover = Cover::generate(&mut rng);
    let nir = person.nir;
    let rights = match b.kind {
        Broken::RightsMissingRank | Broken::RightsBadRank => {
            cover.rights(nir, None, Some(1), Quality::Child)
        }
        _ => cover.rights(nir, Some(nir), None, Quality::Insured),
    };
    line.clear();
    ins::write_rights_line(line, &rights)?;
    let mut f = owned_fields(line);
    match b.kind {
        Broken::RightsBadNir => f[0] = wrong_nir(&nir),
        Broken::RightsBadQuality => f[3] = "titulaire".to_owned(),
        Broken::RightsMissingRank => f[2] = String::new(),
        Broken::RightsBadRank => f[2] = "0".to_owned(),
        Broken::RightsBadNumber => f[4] = "1".to_owned(),
        Broken::RightsBadPeriod => {
            f[8] = cover
                .start
                .pred_opt()
                .unwrap_or_default()
                .format("%Y-%m-%d")
                .to_string();
        }
        Broken::RightsQualityMismatch => f[3] = Quality::Spouse.as_str().to_owned(),
        _ => {}
    }
    write_fields(line, &f)?;
    out.broken(line, b.kind.code())
}
