//! Synthetic professionals and the RPPS extract (UTF-8).

use std::io;

use egide_ids::{Adeli, Finess, IdNatPs, Rpps};

use super::data::{
    CATEGORIES, COMMUNES, Category, Commune, FEMALE_NAMES, LIBERAL, MALE_NAMES,
    PHARMACIST_SECTIONS, PRACTICE_SECTORS, PROFESSIONS, Profession, SALARIED, STREET_TYPES,
    STREETS, SURNAMES, push_digits, push_mail, push_number, push_upper,
};
use super::rng::{Rng, Stream};
use super::structures::{Site, phone, siret, wrong_key};
use super::{Broken, BrokenRow, Out, Planned, SynthSpec};
use crate::lines::DEFAULT_MAX_LINE_LEN;
use crate::rpps::{self, Activity, COLUMNS, IdType};
use crate::{code, fields};

/// Multiplier scattering professional indexes over RPPS bodies (odd and
/// not a multiple of 5, so a bijection modulo 10^8).
const RPPS_SCATTER: u64 = 7_919_993;

/// Number of activities of a professional, with weights (mean 1.53).
const ACTIVITY_COUNTS: &[(u32, usize)] = &[(60, 1), (30, 2), (7, 3), (3, 4)];

/// Whether members of `profession` plausibly work in an establishment of
/// `category` (otherwise they practise in a private practice or shop).
fn works_at(profession: &Profession, category: &Category) -> bool {
    match (profession.code, category.code) {
        ("21", c) => matches!(c, "620" | "611" | "355" | "365"),
        (_, "620") => false,
        ("10", _) => true,
        (_, "611") => false,
        ("60" | "70", _) => true,
        ("40" | "50" | "80" | "91" | "92", c) => matches!(c, "355" | "365" | "124" | "603"),
        _ => false,
    }
}

/// Text of one activity line, in reused buffers.
struct Text {
    pp_id: String,
    national: String,
    last_name: String,
    site_siret: String,
    site_siren: String,
    site_finess: String,
    ej_finess: String,
    tech_id: String,
    site_name: String,
    street_number: String,
    phone: String,
    phone2: String,
    fax: String,
    email: String,
}

/// Generator state: the current professional and activity.
struct Generator<'s> {
    spec: &'s SynthSpec,
    site: Site,
    t: Text,
    rng: Rng,
    id_type: IdType,
    id_nat_ps: IdNatPs,
    profession: &'static Profession,
    female: bool,
    first_name: &'static str,
    surname: &'static str,
    category: (&'static str, &'static str),
    expertise: (&'static str, &'static str, &'static str, &'static str),
    activities: usize,
    // Per activity.
    mode: (&'static str, &'static str),
    street_type: (&'static str, &'static str),
    street: &'static str,
    commune: &'static Commune,
    sector: (&'static str, &'static str),
    section: (&'static str, &'static str),
}

impl<'s> Generator<'s> {
    fn new(spec: &'s SynthSpec) -> Self {
        Self {
            spec,
            site: Site::new(),
            t: Text {
                pp_id: String::new(),
                national: String::new(),
                last_name: String::new(),
                site_siret: String::new(),
                site_siren: String::new(),
                site_finess: String::new(),
                ej_finess: String::new(),
                tech_id: String::new(),
                site_name: String::new(),
                street_number: String::new(),
                phone: String::new(),
                phone2: String::new(),
                fax: String::new(),
                email: String::new(),
            },
            rng: Rng::for_item(spec.seed, Stream::Professional, 0),
            id_type: IdType::Rpps,
            id_nat_ps: IdNatPs::Rpps(Rpps::from_body(0)),
            profession: &PROFESSIONS[0].1,
            female: false,
            first_name: "",
            surname: "",
            category: ("", ""),
            expertise: ("", "", "", ""),
            activities: 1,
            mode: LIBERAL,
            street_type: STREET_TYPES[0],
            street: STREETS[0],
            commune: &COMMUNES[0],
            sector: ("", ""),
            section: ("", ""),
        }
    }

    /// Starts professional `p` (any index; distinct indexes below 10^8 get
    /// distinct RPPS numbers).
    fn professional(&mut self, p: u64) {
        self.rng = Rng::for_item(self.spec.seed, Stream::Professional, p);
        let rng = &mut self.rng;
        self.profession = rng.weighted(PROFESSIONS);
        self.female = rng.chance(55);
        self.first_name = *rng.pick(if self.female {
            FEMALE_NAMES
        } else {
            MALE_NAMES
        });
        self.surname = *rng.pick(SURNAMES);
        self.category = *rng.weighted(CATEGORIES);
        self.expertise = if self.profession.expertise.is_empty() {
            ("", "", "", "")
        } else {
            *rng.pick(self.profession.expertise)
        };
        self.activities = *rng.weighted(ACTIVITY_COUNTS);
        let t = &mut self.t;
        t.pp_id.clear();
        t.national.clear();
        if self.profession.adeli {
            self.id_type = IdType::Adeli;
            // Department 01-95, profession, order: distinct below 950,000.
            let dept = 1 + p % 95;
            let order = (p / 95) % 10_000;
            let prof = u64::from(fields::digits(self.profession.code.as_bytes()).unwrap_or(0));
            let adeli = Adeli::from_body((dept * 1_000_000 + prof * 10_000 + order) as u32);
            t.pp_id.push_str(adeli.as_str());
            self.id_nat_ps = IdNatPs::Adeli(adeli);
        } else {
            self.id_type = IdType::Rpps;
            let scattered = (p.wrapping_mul(RPPS_SCATTER) + self.spec.seed) % 100_000_000;
            let rpps = Rpps::from_body(1_000_000_000 + scattered);
            t.pp_id.push_str(rpps.as_str());
            self.id_nat_ps = IdNatPs::Rpps(rpps);
        }
        t.national.push(self.id_type.digit());
        t.national.push_str(&t.pp_id);
        t.last_name.clear();
        push_upper(&mut t.last_name, self.surname);
    }

    /// Fills the next activity of the current professional.
    fn activity(&mut self) {
        let spec = self.spec;
        let rng = &mut self.rng;
        let t = &mut self.t;
        for s in [
            &mut t.site_siret,
            &mut t.site_siren,
            &mut t.site_finess,
            &mut t.ej_finess,
            &mut t.tech_id,
            &mut t.site_name,
            &mut t.street_number,
            &mut t.phone2,
            &mut t.fax,
            &mut t.email,
        ] {
            s.clear();
        }
        let pharmacist = self.profession.code == "21";
        self.section = ("", "");
        let mut at_site = false;
        if spec.structures > 0 && rng.chance(if pharmacist { 90 } else { 55 }) {
            // A few tries to find an establishment where this profession works.
            for _ in 0..4 {
                self.site.generate(spec, rng.below(spec.structures));
                if works_at(self.profession, self.site.category) {
                    at_site = true;
                    break;
                }
            }
        }
        if at_site {
            let site = &self.site;
            t.site_finess.push_str(&site.finess_et);
            t.ej_finess.push_str(&site.finess_ej);
            t.site_siret.push_str(&site.siret);
            t.site_siren
                .push_str(site.siret.get(..9).unwrap_or_default());
            t.tech_id.push('F');
            t.tech_id.push_str(&site.finess_et);
            t.site_name.push_str(&site.rs);
            t.street_number.push_str(&site.numvoie);
            t.phone.clear();
            t.phone.push_str(&site.phone);
            self.street_type = site.street_type;
            self.street = site.street;
            self.commune = site.commune;
            self.sector = site.category.sector;
            let officine = site.category.code == "620";
            self.mode = if officine && rng.chance(50) {
                LIBERAL
            } else {
                SALARIED
            };
            if pharmacist {
                self.section = match site.category.code {
                    "620" if self.mode == LIBERAL => PHARMACIST_SECTIONS[0],
                    "611" => PHARMACIST_SECTIONS[2],
                    "355" | "365" => PHARMACIST_SECTIONS[3],
                    _ => PHARMACIST_SECTIONS[1],
                };
            }
        } else {
            self.commune = rng.pick(COMMUNES);
            if rng.chance(60) {
                let siret = siret(rng);
                t.site_siret.push_str(siret.as_str());
                t.site_siren.push_str(siret.siren().as_str());
            }
            t.tech_id.push('R');
            push_digits(&mut t.tech_id, rng.next_u64(), 14);
            t.site_name.push_str(if self.profession.title.0.is_empty() {
                "CABINET "
            } else {
                "CABINET DU DR "
            });
            t.site_name.push_str(&t.last_name);
            push_number(&mut t.street_number, u64::from(rng.between(1, 180)));
            self.street_type = *rng.pick(STREET_TYPES);
            self.street = *rng.pick(STREETS);
            phone(&mut t.phone, rng, self.commune);
            self.sector = *rng.pick(PRACTICE_SECTORS);
            self.mode = LIBERAL;
            if pharmacist {
                self.section = PHARMACIST_SECTIONS[1];
            }
        }
        if rng.chance(10) {
            phone(&mut t.phone2, rng, self.commune);
        }
        if rng.chance(5) {
            phone(&mut t.fax, rng, self.commune);
        }
        if rng.chance(25) {
            push_mail(&mut t.email, self.first_name);
            t.email.push('.');
            push_mail(&mut t.email, self.surname);
            t.email.push('@');
            t.email.push_str(self.profession.mail_domain);
        }
    }

    /// The current activity, borrowing the generator's buffers.
    fn current(&self) -> Activity<'_> {
        let t = &self.t;
        let p = self.profession;
        let c = self.commune;
        Activity {
            id_type: self.id_type,
            id_nat_ps: self.id_nat_ps.clone(),
            pp_id_type: if self.id_type == IdType::Rpps {
                "8"
            } else {
                "0"
            },
            pp_id: &t.pp_id,
            pp_national_id: &t.national,
            practice_civility_code: p.title.0,
            practice_civility_label: p.title.1,
            civility_code: if self.female { "MME" } else { "M" },
            civility_label: if self.female { "Madame" } else { "Monsieur" },
            practice_last_name: &t.last_name,
            practice_first_name: self.first_name,
            profession_code: p.code,
            profession_label: p.label,
            category_code: self.category.0,
            category_label: self.category.1,
            expertise_type_code: self.expertise.0,
            expertise_type_label: self.expertise.1,
            expertise_code: self.expertise.2,
            expertise_label: self.expertise.3,
            practice_mode_code: self.mode.0,
            practice_mode_label: self.mode.1,
            site_siret: &t.site_siret,
            site_siren: &t.site_siren,
            site_finess: &t.site_finess,
            legal_entity_finess: &t.ej_finess,
            structure_technical_id: &t.tech_id,
            site_name: &t.site_name,
            site_trade_name: "",
            recipient_complement: "",
            geo_complement: "",
            street_number: &t.street_number,
            street_number_suffix: "",
            street_type_code: self.street_type.0,
            street_type_label: self.street_type.1,
            street_name: self.street,
            distribution_mention: "",
            cedex_office: "",
            postal_code: c.postal,
            commune_code: c.insee,
            commune_label: c.name,
            country_code: "",
            country_label: "",
            phone: &t.phone,
            phone2: &t.phone2,
            fax: &t.fax,
            email: &t.email,
            department_code: c.dept,
            department_label: c.dept_label,
            former_structure_id: "",
            registration_authority: p.authority,
            sector_code: self.sector.0,
            sector_label: self.sector.1,
            pharmacist_section_code: self.section.0,
            pharmacist_section_label: self.section.1,
        }
    }

    /// Writes the current activity into `line` (cleared first).
    fn write_current(&self, line: &mut Vec<u8>) -> io::Result<()> {
        line.clear();
        self.current().write_line(line)
    }

    /// Writes the broken line of kind `kind` into `line`, from the current
    /// professional and activity. Duplicates are the caller's business.
    fn write_broken(&mut self, kind: Broken, line: &mut Vec<u8>) -> io::Result<()> {
        // Replacement values, computed before borrowing the buffers.
        let bad_siret = wrong_key(siret(&mut self.rng).as_str());
        let bad_siren = wrong_key(siret(&mut self.rng).siren().as_str());
        let bad_finess = wrong_key(Finess::from_body(75_000_001).as_str());
        let wrong_id = wrong_key(&self.t.pp_id);
        let other_digit = if self.id_type == IdType::Rpps {
            '0'
        } else {
            '8'
        };
        let mismatched = format!("{other_digit}{}", self.t.pp_id);
        let wrong_national = format!("{}{wrong_id}", self.id_type.digit());
        let mut a = self.current();
        match kind {
            Broken::RppsBadRpps | Broken::RppsBadAdeli => {
                // The current professional has the right identifier type.
                a.pp_id = &wrong_id;
                a.pp_national_id = &wrong_national;
            }
            Broken::RppsBadType => a.pp_id_type = "3",
            Broken::RppsIdNatMismatch => a.pp_national_id = &mismatched,
            Broken::RppsMissingName => a.practice_last_name = "",
            Broken::RppsBadFiness => a.site_finess = &bad_finess,
            Broken::RppsBadSiret => a.site_siret = &bad_siret,
            Broken::RppsBadSiren => a.site_siren = &bad_siren,
            Broken::RppsMissingTrailing => {
                a.pharmacist_section_code = PHARMACIST_SECTIONS[0].0;
                a.pharmacist_section_label = PHARMACIST_SECTIONS[0].1;
            }
            Broken::RppsNotUtf8 => a.practice_last_name = "LEFÈVRE",
            Broken::RppsTooLong => {
                line.clear();
                line.extend_from_slice(b"8|");
                line.resize(DEFAULT_MAX_LINE_LEN + 100, b'x');
                line.extend_from_slice(b"|\n");
                return Ok(());
            }
            _ => {}
        }
        line.clear();
        if kind == Broken::RppsColumnCount {
            let columns = a.columns();
            fields::write_joined(line, &columns[..COLUMNS - 1], b'|', true)?;
        } else {
            a.write_line(line)?;
        }
        match kind {
            Broken::RppsMissingTrailing => {
                // "…|label|\n" → "…|label\n"
                line.truncate(line.len().saturating_sub(2));
                line.push(b'\n');
            }
            Broken::RppsNotUtf8 => to_latin1_once(line),
            Broken::RppsTruncated => {
                line.truncate(line.len() / 2);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Re-encodes the first 2-byte UTF-8 sequence of `line` as one Latin-1
/// byte, making the line invalid UTF-8.
fn to_latin1_once(line: &mut Vec<u8>) {
    if let Some(i) = line.iter().position(|&b| (0xC2..=0xC3).contains(&b)) {
        let lead = line[i];
        let next = line.get(i + 1).copied().unwrap_or(0x80);
        line.splice(i..i + 2, [((lead & 0x1F) << 6) | (next & 0x3F)]);
    } else {
        line.insert(0, 0xFF);
    }
}

/// Writes the RPPS extract; returns the number of valid activity lines and
/// the broken rows.
pub(super) fn write(
    mut out: Out,
    spec: &SynthSpec,
    planned: &[Planned],
) -> io::Result<(usize, Vec<BrokenRow>)> {
    let mut header = rpps::header_line();
    header.push('\n');
    out.line(header.as_bytes())?;

    let mut generator = Generator::new(spec);
    let mut line = Vec::with_capacity(1024);
    // The last valid line, for exact duplicates.
    let mut previous: Vec<u8> = Vec::with_capacity(1024);
    // The lines of the current professional.
    let mut own: Vec<Vec<u8>> = Vec::with_capacity(4);
    let mut activities = 0;
    let truncated = planned.iter().find(|p| p.kind == Broken::RppsTruncated);
    let mut next = planned
        .iter()
        .filter(|p| p.kind != Broken::RppsTruncated)
        .peekable();
    for p in 0..spec.professionals {
        while let Some(b) = next.next_if(|b| b.before == p) {
            broken(&mut out, &mut generator, b, &mut line, &previous)?;
        }
        generator.professional(p as u64);
        own.clear();
        for _ in 0..generator.activities {
            // Two activities of one professional must differ: a repeated line is a
            // `duplicate_line` reject, which only the broken rows may produce.
            let mut distinct = false;
            for _ in 0..8 {
                generator.activity();
                generator.write_current(&mut line)?;
                if !own.contains(&line) {
                    distinct = true;
                    break;
                }
            }
            if !distinct {
                continue;
            }
            out.line(&line)?;
            own.push(line.clone());
            core::mem::swap(&mut line, &mut previous);
            activities += 1;
        }
    }
    for b in next {
        broken(&mut out, &mut generator, b, &mut line, &previous)?;
    }
    if let Some(b) = truncated {
        broken(&mut out, &mut generator, b, &mut line, &previous)?;
    }
    Ok((activities, out.finish()?))
}

/// Writes one broken RPPS row, from a fresh professional numbered beyond
/// the real ones.
fn broken(
    out: &mut Out,
    generator: &mut Generator<'_>,
    b: &Planned,
    line: &mut Vec<u8>,
    previous: &[u8],
) -> io::Result<()> {
    if b.kind == Broken::RppsDuplicate && !previous.is_empty() {
        return out.broken(previous, code::DUPLICATE_LINE);
    }
    // Pick a fresh professional whose identifier type suits the kind.
    let want_adeli = b.kind == Broken::RppsBadAdeli;
    let base = generator.spec.professionals as u64 + 1_000 + b.index * 64;
    for p in base..base + 64 {
        generator.professional(p);
        if (generator.id_type == IdType::Adeli) == want_adeli {
            break;
        }
    }
    generator.activity();
    let mut kind = b.kind;
    if (generator.id_type == IdType::Adeli) != want_adeli || kind == Broken::RppsDuplicate {
        // No suitable professional found (or nothing to duplicate yet).
        kind = if generator.id_type == IdType::Adeli {
            Broken::RppsBadAdeli
        } else {
            Broken::RppsBadRpps
        };
    }
    generator.write_broken(kind, line)?;
    out.broken(line, kind.code())
}
