//! Built-in lists for the synthetic generator, and text helpers.
//!
//! Names, communes (real INSEE codes and postal codes), professions
//! (real RPPS profession codes) and countries are realistic. Codes marked
//! *illustrative* (savoir-faire, sectors, FINESS categories and their
//! aggregates, tariff modes) have the right shape but are not a faithful
//! copy of the official nomenclatures.

/// Surnames (display case, Latin-1 compatible).
pub(super) const SURNAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefèvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefebvre",
    "Faure",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clément",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Lemaire",
    "Noël",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Rivière",
    "Lucas",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Gérard",
    "Roche",
    "Renard",
    "Schmitt",
    "Roy",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Fabre",
    "Aubert",
    "Lemoine",
    "Renaud",
    "Dumas",
    "Lacroix",
    "Olivier",
    "Bourgeois",
    "Benoît",
    "Leclerc",
    "Payet",
    "Rolland",
    "Lecomte",
    "Hubert",
    "Carré",
    "Ménard",
    "Hervé",
    "Le Gall",
    "Léger",
    "Prévost",
    "Rémy",
    "Le Goff",
    "Lévêque",
    "Barré",
    "Étienne",
    "Grondin",
    "Lemaître",
    "Bénard",
    "Maréchal",
    "Barthélemy",
    "Hoarau",
    "D'Almeida",
    "Casanova",
    "Santoni",
];

/// Male given names.
pub(super) const MALE_NAMES: &[&str] = &[
    "Jean",
    "Pierre",
    "Michel",
    "André",
    "Philippe",
    "René",
    "Louis",
    "Alain",
    "Jacques",
    "Bernard",
    "Marcel",
    "Daniel",
    "Roger",
    "Paul",
    "Claude",
    "Christian",
    "Henri",
    "Georges",
    "Nicolas",
    "François",
    "Patrick",
    "Gérard",
    "Christophe",
    "Joseph",
    "Julien",
    "Laurent",
    "Frédéric",
    "Éric",
    "Stéphane",
    "David",
    "Pascal",
    "Sébastien",
    "Olivier",
    "Thierry",
    "Guillaume",
    "Jérôme",
    "Thomas",
    "Lucas",
    "Hugo",
    "Théo",
    "Mathis",
    "Léo",
    "Gabriel",
    "Raphaël",
    "Arthur",
    "Noé",
    "Jules",
    "Benoît",
    "Cédric",
    "Jean-Pierre",
    "Jean-Luc",
    "Loïc",
    "Gaëtan",
    "Anthony",
    "Maxime",
];

/// Female given names.
pub(super) const FEMALE_NAMES: &[&str] = &[
    "Marie",
    "Jeanne",
    "Françoise",
    "Monique",
    "Catherine",
    "Nathalie",
    "Isabelle",
    "Jacqueline",
    "Anne",
    "Sylvie",
    "Martine",
    "Madeleine",
    "Nicole",
    "Suzanne",
    "Hélène",
    "Christine",
    "Marguerite",
    "Denise",
    "Louise",
    "Christiane",
    "Valérie",
    "Sophie",
    "Sandrine",
    "Stéphanie",
    "Céline",
    "Véronique",
    "Chantal",
    "Élodie",
    "Émilie",
    "Aurélie",
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Emma",
    "Inès",
    "Jade",
    "Zoé",
    "Clémence",
    "Amélie",
    "Agnès",
    "Bérénice",
    "Gaëlle",
    "Noémie",
    "Océane",
    "Mélanie",
    "Laëtitia",
    "Geneviève",
    "Thérèse",
    "Josiane",
    "Maëlle",
    "Anaïs",
    "Marie-Claire",
    "Anne-Sophie",
    "Héloïse",
];

/// A commune: INSEE code, postal code, name, department code and label,
/// first 3 characters of FINESS numbers there, phone prefix.
pub(super) struct Commune {
    pub insee: &'static str,
    pub postal: &'static str,
    pub name: &'static str,
    pub dept: &'static str,
    pub dept_label: &'static str,
    pub finess_prefix: &'static str,
    pub phone: &'static str,
}

const fn commune(
    insee: &'static str,
    postal: &'static str,
    name: &'static str,
    dept: &'static str,
    dept_label: &'static str,
    finess_prefix: &'static str,
    phone: &'static str,
) -> Commune {
    Commune {
        insee,
        postal,
        name,
        dept,
        dept_label,
        finess_prefix,
        phone,
    }
}

/// Communes, one per department (so that FINESS prefixes are distinct);
/// Paris, Marseille and Lyon by arrondissement.
pub(super) const COMMUNES: &[Commune] = &[
    commune("75114", "75014", "Paris", "75", "Paris", "750", "01"),
    commune(
        "13205",
        "13005",
        "Marseille",
        "13",
        "Bouches-du-Rhône",
        "130",
        "04",
    ),
    commune("69383", "69003", "Lyon", "69", "Rhône", "690", "04"),
    commune(
        "31555",
        "31000",
        "Toulouse",
        "31",
        "Haute-Garonne",
        "310",
        "05",
    ),
    commune(
        "06088",
        "06000",
        "Nice",
        "06",
        "Alpes-Maritimes",
        "060",
        "04",
    ),
    commune(
        "44109",
        "44000",
        "Nantes",
        "44",
        "Loire-Atlantique",
        "440",
        "02",
    ),
    commune(
        "67482",
        "67000",
        "Strasbourg",
        "67",
        "Bas-Rhin",
        "670",
        "03",
    ),
    commune(
        "34172",
        "34000",
        "Montpellier",
        "34",
        "Hérault",
        "340",
        "04",
    ),
    commune("33063", "33000", "Bordeaux", "33", "Gironde", "330", "05"),
    commune("59350", "59000", "Lille", "59", "Nord", "590", "03"),
    commune(
        "35238",
        "35000",
        "Rennes",
        "35",
        "Ille-et-Vilaine",
        "350",
        "02",
    ),
    commune("51454", "51100", "Reims", "51", "Marne", "510", "03"),
    commune(
        "42218",
        "42000",
        "Saint-Étienne",
        "42",
        "Loire",
        "420",
        "04",
    ),
    commune("83137", "83000", "Toulon", "83", "Var", "830", "04"),
    commune("38185", "38000", "Grenoble", "38", "Isère", "380", "04"),
    commune("21231", "21000", "Dijon", "21", "Côte-d'Or", "210", "03"),
    commune(
        "49007",
        "49000",
        "Angers",
        "49",
        "Maine-et-Loire",
        "490",
        "02",
    ),
    commune("30189", "30000", "Nîmes", "30", "Gard", "300", "04"),
    commune(
        "63113",
        "63000",
        "Clermont-Ferrand",
        "63",
        "Puy-de-Dôme",
        "630",
        "04",
    ),
    commune(
        "87085",
        "87000",
        "Limoges",
        "87",
        "Haute-Vienne",
        "870",
        "05",
    ),
    commune("29019", "29200", "Brest", "29", "Finistère", "290", "02"),
    commune("80021", "80000", "Amiens", "80", "Somme", "800", "03"),
    commune(
        "66136",
        "66000",
        "Perpignan",
        "66",
        "Pyrénées-Orientales",
        "660",
        "04",
    ),
    commune("57463", "57000", "Metz", "57", "Moselle", "570", "03"),
    commune("25056", "25000", "Besançon", "25", "Doubs", "250", "03"),
    commune("45234", "45000", "Orléans", "45", "Loiret", "450", "02"),
    commune(
        "76540",
        "76000",
        "Rouen",
        "76",
        "Seine-Maritime",
        "760",
        "02",
    ),
    commune("14118", "14000", "Caen", "14", "Calvados", "140", "02"),
    commune(
        "54395",
        "54000",
        "Nancy",
        "54",
        "Meurthe-et-Moselle",
        "540",
        "03",
    ),
    commune("73065", "73000", "Chambéry", "73", "Savoie", "730", "04"),
    commune(
        "64445",
        "64000",
        "Pau",
        "64",
        "Pyrénées-Atlantiques",
        "640",
        "05",
    ),
    commune(
        "2A004",
        "20000",
        "Ajaccio",
        "2A",
        "Corse-du-Sud",
        "2A0",
        "04",
    ),
    commune("2B033", "20200", "Bastia", "2B", "Haute-Corse", "2B0", "04"),
    commune(
        "97411",
        "97400",
        "Saint-Denis",
        "974",
        "La Réunion",
        "974",
        "0262",
    ),
    commune(
        "97120",
        "97110",
        "Pointe-à-Pitre",
        "971",
        "Guadeloupe",
        "971",
        "0590",
    ),
];

/// Countries of birth abroad: INSEE code (`99` + 3 digits).
pub(super) const ABROAD: &[&str] = &[
    "99109", // Allemagne
    "99134", // Espagne
    "99127", // Italie
    "99139", // Portugal
    "99131", // Belgique
    "99350", // Maroc
    "99351", // Tunisie
    "99352", // Algérie
];

/// Street types (RPPS code, label).
pub(super) const STREET_TYPES: &[(&str, &str)] = &[
    ("R", "Rue"),
    ("AV", "Avenue"),
    ("BD", "Boulevard"),
    ("PL", "Place"),
    ("CHE", "Chemin"),
    ("ALL", "Allée"),
    ("IMP", "Impasse"),
    ("QUAI", "Quai"),
    ("RTE", "Route"),
];

/// Street names.
pub(super) const STREETS: &[&str] = &[
    "de la République",
    "Victor Hugo",
    "Jean Jaurès",
    "Pasteur",
    "du Général de Gaulle",
    "des Lilas",
    "de la Gare",
    "Gambetta",
    "Émile Zola",
    "de l'Église",
    "des Écoles",
    "du Maréchal Foch",
    "Georges Clemenceau",
    "Jules Ferry",
    "de la Libération",
    "Anatole France",
    "des Tilleuls",
    "du Château",
    "Saint-Éloi",
    "de Verdun",
];

/// A profession of the RPPS/ADELI extract.
pub(super) struct Profession {
    pub code: &'static str,
    pub label: &'static str,
    /// Practice civility (code, label) given to its members, if any.
    pub title: (&'static str, &'static str),
    pub authority: &'static str,
    /// Savoir-faire (type code, type label, code, label), illustrative.
    pub expertise: &'static [(&'static str, &'static str, &'static str, &'static str)],
    pub mail_domain: &'static str,
    /// May appear with an ADELI number (type 0).
    pub adeli: bool,
}

const SPECIALTY: (&str, &str) = ("S", "Spécialité ordinale");
const DOCTOR: (&str, &str) = ("DR", "Docteur");
const NO_TITLE: (&str, &str) = ("", "");

/// Professions with their weights (roughly the real proportions).
pub(super) const PROFESSIONS: &[(u32, Profession)] = &[
    (
        30,
        Profession {
            code: "10",
            label: "Médecin",
            title: DOCTOR,
            authority: "CNOM/CNOM/CNOM",
            expertise: &[
                (SPECIALTY.0, SPECIALTY.1, "SM54", "Médecine générale"),
                (
                    SPECIALTY.0,
                    SPECIALTY.1,
                    "SM04",
                    "Cardiologie et maladies vasculaires",
                ),
                (
                    SPECIALTY.0,
                    SPECIALTY.1,
                    "SM15",
                    "Dermatologie et vénéréologie",
                ),
                (SPECIALTY.0, SPECIALTY.1, "SM40", "Pédiatrie"),
                (SPECIALTY.0, SPECIALTY.1, "SM42", "Psychiatrie"),
                (SPECIALTY.0, SPECIALTY.1, "SM02", "Anesthésie-réanimation"),
            ],
            mail_domain: "medecin.mssante.fr",
            adeli: false,
        },
    ),
    (
        12,
        Profession {
            code: "21",
            label: "Pharmacien",
            title: DOCTOR,
            authority: "CNOP/CNOP/CNOP",
            expertise: &[],
            mail_domain: "pharmacien.mssante.fr",
            adeli: false,
        },
    ),
    (
        7,
        Profession {
            code: "40",
            label: "Chirurgien-Dentiste",
            title: DOCTOR,
            authority: "CNOCD/CNOCD/CNOCD",
            expertise: &[(
                SPECIALTY.0,
                SPECIALTY.1,
                "SCD01",
                "Orthopédie dento-faciale",
            )],
            mail_domain: "chirurgien-dentiste.mssante.fr",
            adeli: false,
        },
    ),
    (
        4,
        Profession {
            code: "50",
            label: "Sage-Femme",
            title: NO_TITLE,
            authority: "CNOSF/CNOSF/CNOSF",
            expertise: &[],
            mail_domain: "sagefemme.mssante.fr",
            adeli: false,
        },
    ),
    (
        30,
        Profession {
            code: "60",
            label: "Infirmier",
            title: NO_TITLE,
            authority: "ONI/ONI/ONI",
            expertise: &[],
            mail_domain: "infirmier.mssante.fr",
            adeli: false,
        },
    ),
    (
        10,
        Profession {
            code: "70",
            label: "Masseur-Kinésithérapeute",
            title: NO_TITLE,
            authority: "CNOMK/CNOMK/CNOMK",
            expertise: &[],
            mail_domain: "kine.mssante.fr",
            adeli: false,
        },
    ),
    (
        3,
        Profession {
            code: "80",
            label: "Pédicure-Podologue",
            title: NO_TITLE,
            authority: "CNOPP/CNOPP/CNOPP",
            expertise: &[],
            mail_domain: "pro.mssante.fr",
            adeli: false,
        },
    ),
    (
        3,
        Profession {
            code: "91",
            label: "Orthophoniste",
            title: NO_TITLE,
            authority: "ARS/ARS/ARS",
            expertise: &[],
            mail_domain: "pro.mssante.fr",
            adeli: true,
        },
    ),
    (
        1,
        Profession {
            code: "92",
            label: "Orthoptiste",
            title: NO_TITLE,
            authority: "ARS/ARS/ARS",
            expertise: &[],
            mail_domain: "pro.mssante.fr",
            adeli: true,
        },
    ),
    (
        2,
        Profession {
            code: "28",
            label: "Opticien-Lunetier",
            title: NO_TITLE,
            authority: "ARS/ARS/ARS",
            expertise: &[],
            mail_domain: "pro.mssante.fr",
            adeli: true,
        },
    ),
    (
        1,
        Profession {
            code: "26",
            label: "Audioprothésiste",
            title: NO_TITLE,
            authority: "ARS/ARS/ARS",
            expertise: &[],
            mail_domain: "pro.mssante.fr",
            adeli: true,
        },
    ),
];

/// Pharmacists' sections of the Ordre's table (code, label).
pub(super) const PHARMACIST_SECTIONS: &[(&str, &str)] = &[
    ("A", "Pharmacien titulaire d'officine"),
    ("D", "Pharmacien adjoint, gérant, remplaçant"),
    ("G", "Pharmacien biologiste"),
    ("H", "Pharmacien des établissements de santé"),
];

/// Professional categories (code, label) with weights.
pub(super) const CATEGORIES: &[(u32, (&str, &str))] = &[
    (97, ("C", "Civil")),
    (2, ("M", "Militaire")),
    (1, ("E", "Etudiant")),
];

/// Practice modes (code, label).
pub(super) const SALARIED: (&str, &str) = ("S", "Salarié");
/// Liberal practice.
pub(super) const LIBERAL: (&str, &str) = ("L", "Libéral");

/// Activity sectors of private practices (code, label), illustrative.
pub(super) const PRACTICE_SECTORS: &[(&str, &str)] = &[
    ("SA07", "Cabinet individuel"),
    ("SA08", "Cabinet de groupe"),
];

/// A FINESS establishment category, illustrative codes.
pub(super) struct Category {
    pub code: &'static str,
    pub label: &'static str,
    pub aggregate: (&'static str, &'static str),
    pub ape: &'static str,
    pub mft: (&'static str, &'static str),
    pub sph: (&'static str, &'static str),
    /// Short and long name prefixes of its establishments.
    pub short: &'static str,
    pub long: &'static str,
    /// Activity sector shown on RPPS activities there (code, label).
    pub sector: (&'static str, &'static str),
    /// Named after a commune (`true`) or a person (`false`).
    pub by_commune: bool,
}

const PUBLIC_MFT: (&str, &str) = ("03", "ARS établissements Publics de santé dotation globale");
const PUBLIC_SPH: (&str, &str) = ("1", "Etablissement public de santé");

/// FINESS categories with weights.
pub(super) const FINESS_CATEGORIES: &[(u32, Category)] = &[
    (
        3,
        Category {
            code: "355",
            label: "Centre Hospitalier (C.H.)",
            aggregate: ("1102", "Centres Hospitaliers"),
            ape: "8610Z",
            mft: PUBLIC_MFT,
            sph: PUBLIC_SPH,
            short: "CH DE",
            long: "CENTRE HOSPITALIER DE",
            sector: ("SA01", "Etablissement public de santé"),
            by_commune: true,
        },
    ),
    (
        8,
        Category {
            code: "620",
            label: "Pharmacie d'Officine",
            aggregate: ("3101", "Pharmacies d'Officine"),
            ape: "4773Z",
            mft: ("", ""),
            sph: ("", ""),
            short: "PHARMACIE",
            long: "PHARMACIE",
            sector: ("SA33", "Pharmacie d'officine"),
            by_commune: false,
        },
    ),
    (
        2,
        Category {
            code: "124",
            label: "Centre de Santé",
            aggregate: ("2204", "Centres de Santé"),
            ape: "8621Z",
            mft: ("", ""),
            sph: ("", ""),
            short: "CDS DE",
            long: "CENTRE DE SANTÉ DE",
            sector: ("SA29", "Centre de santé"),
            by_commune: true,
        },
    ),
    (
        2,
        Category {
            code: "603",
            label: "Maison de santé (L.6223-3)",
            aggregate: ("2206", "Maisons de Santé"),
            ape: "8621Z",
            mft: ("", ""),
            sph: ("", ""),
            short: "MSP DE",
            long: "MAISON DE SANTÉ PLURIPROFESSIONNELLE DE",
            sector: ("SA52", "Maison de santé"),
            by_commune: true,
        },
    ),
    (
        2,
        Category {
            code: "365",
            label: "Etablissement de Soins Pluridisciplinaire",
            aggregate: ("1106", "Etablissements de Soins Pluridisciplinaires"),
            ape: "8610Z",
            mft: ("07", "ARS / DG EPS, hors dotation globale"),
            sph: ("6", "Etablissement de santé privé d'intérêt collectif"),
            short: "CLINIQUE",
            long: "CLINIQUE MÉDICO-CHIRURGICALE",
            sector: ("SA05", "Etablissement privé"),
            by_commune: false,
        },
    ),
    (
        3,
        Category {
            code: "500",
            label: "Etablissement d'hébergement pour personnes âgées dépendantes",
            aggregate: ("4401", "Etablissements et Services pour Personnes Agées"),
            ape: "8710A",
            mft: ("34", "Président du Conseil Départemental"),
            sph: ("", ""),
            short: "EHPAD",
            long: "EHPAD RÉSIDENCE",
            sector: ("SA17", "Etablissement pour personnes âgées"),
            by_commune: false,
        },
    ),
    (
        2,
        Category {
            code: "611",
            label: "Laboratoire de Biologie Médicale",
            aggregate: ("3201", "Laboratoires d'Analyses"),
            ape: "8690B",
            mft: ("", ""),
            sph: ("", ""),
            short: "LBM",
            long: "LABORATOIRE DE BIOLOGIE MÉDICALE",
            sector: ("SA25", "Laboratoire de biologie médicale"),
            by_commune: false,
        },
    ),
];

/// Geocoding source written in `geolocalisation` rows.
pub(super) const GEO_SOURCE: &str = "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93";

/// ASCII base letter of a French accented letter (or the letter itself).
fn unaccent(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' => 'a',
        'À' | 'Â' | 'Ä' => 'A',
        'ç' => 'c',
        'Ç' => 'C',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'î' | 'ï' => 'i',
        'Î' | 'Ï' => 'I',
        'ô' | 'ö' => 'o',
        'Ô' | 'Ö' => 'O',
        'ù' | 'û' | 'ü' => 'u',
        'Ù' | 'Û' | 'Ü' => 'U',
        'ÿ' => 'y',
        other => other,
    }
}

/// Appends `s` in upper case, keeping accents (`Lefèvre` → `LEFÈVRE`).
pub(super) fn push_upper(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.extend(c.to_uppercase());
        }
    }
}

/// Appends `s` in upper case without accents, as INS traits are written
/// (`Hélène` → `HELENE`).
pub(super) fn push_ins(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| unaccent(c).to_ascii_uppercase()));
}

/// Appends `s` as an e-mail local part: lower case, no accents, spaces
/// and apostrophes dropped (`Le Gall` → `legall`).
pub(super) fn push_mail(out: &mut String, s: &str) {
    out.extend(
        s.chars()
            .map(|c| unaccent(c).to_ascii_lowercase())
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-'),
    );
}

/// Appends `n` zero-padded to `width` digits (only the low `width` digits).
pub(super) fn push_digits(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let width = width.min(buf.len());
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(buf[..width].iter().map(|&b| char::from(b)));
}

/// Appends `n` in decimal, without padding.
pub(super) fn push_number(out: &mut String, n: u64) {
    let digits = if n == 0 { 1 } else { n.ilog10() as usize + 1 };
    push_digits(out, n, digits);
}

/// Appends a `YYYY-MM-DD` date.
pub(super) fn push_date(out: &mut String, year: u32, month: u32, day: u32) {
    push_digits(out, u64::from(year), 4);
    out.push('-');
    push_digits(out, u64::from(month), 2);
    out.push('-');
    push_digits(out, u64::from(day), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latin1(s: &str) -> bool {
        s.chars().all(|c| u32::from(c) <= 0xFF)
    }

    #[test]
    fn lists_are_usable() {
        assert!(SURNAMES.len() >= 100);
        assert!(MALE_NAMES.len() + FEMALE_NAMES.len() >= 100);
        for s in SURNAMES
            .iter()
            .chain(MALE_NAMES)
            .chain(FEMALE_NAMES)
            .chain(STREETS)
        {
            assert!(latin1(s) && !s.contains([';', '|']), "{s}");
        }
        for c in COMMUNES {
            assert_eq!(c.insee.len(), 5);
            assert_eq!(c.finess_prefix.len(), 3);
            assert!(c.insee.starts_with(c.finess_prefix.get(..2).unwrap()));
        }
        let prefixes: std::collections::HashSet<_> =
            COMMUNES.iter().map(|c| c.finess_prefix).collect();
        assert_eq!(prefixes.len(), COMMUNES.len());
        for (_, c) in FINESS_CATEGORIES {
            assert!(latin1(c.long) && latin1(c.label) && latin1(c.mft.1));
        }
    }

    #[test]
    fn text_helpers() {
        let mut s = String::new();
        push_upper(&mut s, "Lefèvre");
        s.push(' ');
        push_ins(&mut s, "Hélène-Zoé");
        s.push(' ');
        push_mail(&mut s, "D'Almeida Le Gall");
        s.push(' ');
        push_digits(&mut s, 1234, 6);
        s.push(' ');
        push_digits(&mut s, 1234, 2);
        s.push(' ');
        push_number(&mut s, 0);
        push_number(&mut s, 907);
        s.push(' ');
        push_date(&mut s, 1975, 3, 9);
        assert_eq!(
            s,
            "LEFÈVRE HELENE-ZOE dalmeidalegall 001234 34 0907 1975-03-09"
        );
    }
}
