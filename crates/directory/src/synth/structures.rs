//! Synthetic FINESS establishments and the FINESS extract (Latin-1).

use std::io;

use chrono::Datelike;
use egide_ids::{Finess, Siren, Siret};

use super::data::{
    COMMUNES, Category, Commune, FINESS_CATEGORIES, GEO_SOURCE, STREET_TYPES, STREETS, SURNAMES,
    push_date, push_digits, push_number, push_upper,
};
use super::rng::{Rng, Stream};
use super::{Broken, Out, Planned, SynthSpec};
use crate::fields;
use crate::finess::{self, ESTABLISHMENT_FIELDS, Encoding, Metadata};

/// Everything about establishment `k`, regenerated on demand into reused
/// buffers (the RPPS writer looks establishments up by index).
pub(super) struct Site {
    pub finess_et: String,
    pub finess_ej: String,
    pub siret: String,
    pub rs: String,
    pub rslongue: String,
    pub numvoie: String,
    pub street_type: (&'static str, &'static str),
    pub street: &'static str,
    voie: String,
    pub commune: &'static Commune,
    pub category: &'static Category,
    pub phone: String,
    fax: String,
    dateouv: String,
    dateautor: String,
    datemaj: String,
    ligne: String,
    libdep: String,
    x_tenths: u32,
    y_tenths: u32,
    /// Its geolocation row comes just before the establishment row.
    geo_first: bool,
}

impl Site {
    pub(super) fn new() -> Self {
        Self {
            finess_et: String::new(),
            finess_ej: String::new(),
            siret: String::new(),
            rs: String::new(),
            rslongue: String::new(),
            numvoie: String::new(),
            street_type: STREET_TYPES[0],
            street: STREETS[0],
            voie: String::new(),
            commune: &COMMUNES[0],
            category: &FINESS_CATEGORIES[0].1,
            phone: String::new(),
            fax: String::new(),
            dateouv: String::new(),
            dateautor: String::new(),
            datemaj: String::new(),
            ligne: String::new(),
            libdep: String::new(),
            x_tenths: 0,
            y_tenths: 0,
            geo_first: false,
        }
    }

    /// Fills `self` with establishment `k`.
    pub(super) fn generate(&mut self, spec: &SynthSpec, k: usize) {
        let mut rng = Rng::for_item(spec.seed, Stream::Establishment, k as u64);
        let commune = &COMMUNES[k % COMMUNES.len()];
        let order = (k / COMMUNES.len()) as u64 * 2;
        self.commune = commune;
        finess_number(&mut self.finess_et, commune, order);
        finess_number(&mut self.finess_ej, commune, order + 1);
        let category = rng.weighted(FINESS_CATEGORIES);
        self.category = category;

        self.siret.clear();
        if rng.chance(70) {
            self.siret.push_str(siret(&mut rng).as_str());
        }
        let named_after = if category.by_commune {
            commune.name
        } else {
            *rng.pick(SURNAMES)
        };
        for (out, prefix) in [
            (&mut self.rs, category.short),
            (&mut self.rslongue, category.long),
        ] {
            out.clear();
            out.push_str(prefix);
            out.push(' ');
            push_upper(out, named_after);
        }
        self.numvoie.clear();
        push_number(&mut self.numvoie, u64::from(rng.between(1, 250)));
        self.street_type = *rng.pick(STREET_TYPES);
        self.street = *rng.pick(STREETS);
        self.voie.clear();
        push_upper(&mut self.voie, self.street);
        phone(&mut self.phone, &mut rng, commune);
        self.fax.clear();
        if rng.chance(40) {
            phone(&mut self.fax, &mut rng, commune);
        }
        let year = spec.extract_time.year().max(2016) as u32;
        // Authorised up to 3 years before opening.
        let opened = rng.between(1953, 2015);
        self.dateouv.clear();
        if rng.chance(95) {
            random_date(&mut self.dateouv, &mut rng, opened, opened);
        }
        self.dateautor.clear();
        if rng.chance(60) {
            random_date(&mut self.dateautor, &mut rng, opened - 3, opened);
        }
        self.datemaj.clear();
        random_date(&mut self.datemaj, &mut rng, 2016, year - 1);
        self.ligne.clear();
        self.ligne.push_str(commune.postal);
        self.ligne.push(' ');
        push_upper(&mut self.ligne, commune.name);
        self.libdep.clear();
        push_upper(&mut self.libdep, commune.dept_label);
        self.x_tenths = rng.between(1_500_000, 12_000_000);
        self.y_tenths = rng.between(60_500_000, 71_000_000);
        self.geo_first = rng.chance(15);
    }

    /// The 30 `structureet` columns.
    fn columns(&self) -> [&str; ESTABLISHMENT_FIELDS] {
        let c = self.category;
        let insee = self.commune.insee;
        [
            &self.finess_et,
            &self.finess_ej,
            &self.rs,
            &self.rslongue,
            "",
            "",
            &self.numvoie,
            self.street_type.0,
            &self.voie,
            "",
            "",
            insee.get(insee.len() - 3..).unwrap_or_default(),
            self.commune.dept,
            &self.libdep,
            &self.ligne,
            &self.phone,
            &self.fax,
            c.code,
            c.label,
            c.aggregate.0,
            c.aggregate.1,
            &self.siret,
            c.ape,
            c.mft.0,
            c.mft.1,
            c.sph.0,
            c.sph.1,
            &self.dateouv,
            &self.dateautor,
            &self.datemaj,
        ]
    }

    fn write_establishment(&self, line: &mut Vec<u8>) -> io::Result<()> {
        line.clear();
        finess::write_record_line(
            line,
            finess::ESTABLISHMENT_KIND,
            &self.columns(),
            Encoding::Latin1,
        )
    }

    fn write_geolocation(&self, line: &mut Vec<u8>) -> io::Result<()> {
        line.clear();
        let geo = finess::Geolocation {
            finess_et: Finess::parse(&self.finess_et)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
            x: f64::from(self.x_tenths) / 10.0,
            y: f64::from(self.y_tenths) / 10.0,
            source: GEO_SOURCE.into(),
            date: fields::parse_date(&self.datemaj).unwrap_or_default(),
        };
        finess::write_geolocation_line(line, &geo, Encoding::Latin1)
    }
}

/// FINESS number: commune prefix (3 characters) + 5-digit order + key.
/// Corsican numbers get an arbitrary last digit (their key is not checked).
fn finess_number(out: &mut String, commune: &Commune, order: u64) {
    out.clear();
    let prefix = commune.finess_prefix;
    match fields::digits(prefix.as_bytes()) {
        Some(p) => {
            let body = u64::from(p) * 100_000 + order % 100_000;
            out.push_str(Finess::from_body(body as u32).as_str());
        }
        None => {
            out.push_str(prefix);
            push_digits(out, order, 5);
            push_digits(out, order % 7, 1);
        }
    }
}

/// A SIRET whose SIREN does not start with 3 (so never La Poste's).
pub(super) fn siret(rng: &mut Rng) -> Siret {
    let siren = Siren::from_body(rng.between(40_000_000, 99_999_999));
    Siret::from_parts(siren, rng.between(1, 9_999) as u16)
}

pub(super) fn phone(out: &mut String, rng: &mut Rng, commune: &Commune) {
    out.clear();
    out.push_str(commune.phone);
    push_digits(out, rng.next_u64(), 10 - commune.phone.len());
}

fn random_date(out: &mut String, rng: &mut Rng, from: u32, to: u32) {
    push_date(
        out,
        rng.between(from, to.max(from)),
        rng.between(1, 12),
        rng.between(1, 28),
    );
}

/// Writes the FINESS extract; returns the broken rows.
pub(super) fn write(
    mut out: Out,
    spec: &SynthSpec,
    planned: &[Planned],
) -> io::Result<Vec<super::BrokenRow>> {
    let mut line = Vec::with_capacity(512);
    let metadata = Metadata {
        n: spec.structures.to_string(),
        date: spec.extract_time.date(),
    };
    finess::write_metadata_line(&mut line, &metadata)?;
    out.line(&line)?;

    let mut site = Site::new();
    let mut next = planned.iter().peekable();
    for k in 0..spec.structures {
        while let Some(p) = next.next_if(|p| p.before == k) {
            broken(&mut out, spec, p, &mut line)?;
        }
        site.generate(spec, k);
        if site.geo_first {
            site.write_geolocation(&mut line)?;
            out.line(&line)?;
        }
        site.write_establishment(&mut line)?;
        out.line(&line)?;
    }
    for p in next {
        broken(&mut out, spec, p, &mut line)?;
    }
    for k in 0..spec.structures {
        site.generate(spec, k);
        if !site.geo_first {
            site.write_geolocation(&mut line)?;
            out.line(&line)?;
        }
    }
    out.finish()
}

/// Writes one broken FINESS row.
fn broken(out: &mut Out, spec: &SynthSpec, p: &Planned, line: &mut Vec<u8>) -> io::Result<()> {
    let mut rng = Rng::for_item(spec.seed, Stream::Broken, p.index);
    // A fresh establishment in Paris (key checked), numbered beyond the real ones.
    let mut site = Site::new();
    let k = (spec.structures / COMMUNES.len() + 1_000 + p.index as usize) * COMMUNES.len();
    site.generate(spec, k);
    let mut columns: Vec<String> = site.columns().iter().map(|s| (*s).to_owned()).collect();
    let mut kind = finess::ESTABLISHMENT_KIND;
    match p.kind {
        Broken::FinessUnknownRecord => kind = "equipementsocial",
        Broken::FinessBadFiness => columns[0] = wrong_key(&columns[0]),
        Broken::FinessBadSiret => {
            let siret = siret(&mut rng);
            columns[21] = wrong_key(siret.as_str());
        }
        Broken::FinessBadDate => columns[27] = "2019-13-01".to_owned(),
        Broken::FinessColumnCount => {
            columns.remove(4);
        }
        Broken::FinessBadNumber => {
            kind = finess::GEOLOCATION_KIND;
            columns = vec![
                site.finess_et.clone(),
                format!("{},{}", site.x_tenths / 10, site.x_tenths % 10),
                format!("{}", f64::from(site.y_tenths) / 10.0),
                GEO_SOURCE.to_owned(),
                site.datemaj.clone(),
            ];
        }
        _ => {}
    }
    let fields: Vec<&str> = columns.iter().map(String::as_str).collect();
    line.clear();
    finess::write_record_line(line, kind, &fields, Encoding::Latin1)?;
    out.broken(line, p.kind.code())
}

/// The same identifier with its last digit changed: a Luhn-style key is
/// then always wrong.
pub(super) fn wrong_key(valid: &str) -> String {
    let mut s = valid.to_owned();
    if let Some(last) = s.pop() {
        let d = last.to_digit(10).unwrap_or(0);
        s.push(char::from(b'0' + ((d + 1) % 10) as u8));
    }
    s
}
