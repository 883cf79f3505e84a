//! INS identity traits, the INS reference lookup (INSi-like) and the rights reference.

use egide_ids::Nir;
use egide_kit::{ApiError, error::FieldViolation};
use egide_proto::enrolment::v1 as pb;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};

/// The strict INS traits, normalised: names upper case with single spaces.
#[derive(Clone, PartialEq, Eq)]
pub struct Traits {
    /// Birth name.
    pub birth_name: String,
    /// Birth given names in order.
    pub given_names: Vec<String>,
    /// "M" or "F".
    pub sex: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    /// INSEE code, 5 characters.
    pub birth_place: String,
}

// Identity traits are personal data: never printed.
impl std::fmt::Debug for Traits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Traits(..)")
    }
}

fn normalise_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

impl Traits {
    /// Parses and normalises traits from the API; `prefix` names the field in violations.
    pub fn from_proto(t: Option<&pb::IdentityTraits>, prefix: &str) -> Result<Self, ApiError> {
        let Some(t) = t else {
            return Err(ApiError::invalid_field(prefix, "required"));
        };
        let mut violations = Vec::new();
        let field = |name: &str| format!("{prefix}.{name}");
        let birth_name = normalise_name(&t.birth_name);
        if birth_name.is_empty() || birth_name.chars().count() > 100 {
            violations.push(FieldViolation::new(
                field("birth_name"),
                "1 to 100 characters",
            ));
        }
        let given_names: Vec<String> = t
            .given_names
            .iter()
            .map(|g| normalise_name(g))
            .filter(|g| !g.is_empty())
            .collect();
        if given_names.is_empty() || given_names.len() > 10 {
            violations.push(FieldViolation::new(
                field("given_names"),
                "1 to 10 given names",
            ));
        }
        let sex = t.sex.trim().to_uppercase();
        if sex != "M" && sex != "F" {
            violations.push(FieldViolation::new(field("sex"), "\"M\" or \"F\""));
        }
        let birth_date = t.birth_date.trim().to_owned();
        if chrono::NaiveDate::parse_from_str(&birth_date, "%Y-%m-%d").is_err() {
            violations.push(FieldViolation::new(
                field("birth_date"),
                "a date YYYY-MM-DD",
            ));
        }
        let birth_place = t.birth_place.trim().to_uppercase();
        if !is_insee_code(&birth_place) {
            violations.push(FieldViolation::new(
                field("birth_place"),
                "a 5-character INSEE code (99xxx abroad)",
            ));
        }
        if !violations.is_empty() {
            return Err(ApiError::invalid_argument(violations));
        }
        Ok(Self {
            birth_name,
            given_names,
            sex,
            birth_date,
            birth_place,
        })
    }

    /// The traits as the API shows them.
    pub fn to_proto(&self) -> pb::IdentityTraits {
        pb::IdentityTraits {
            birth_name: self.birth_name.clone(),
            given_names: self.given_names.clone(),
            sex: self.sex.clone(),
            birth_date: self.birth_date.clone(),
            birth_place: self.birth_place.clone(),
        }
    }

    /// The names of the traits (API field names) where `self` differs from `reference`.
    pub fn mismatches(&self, reference: &Traits) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.birth_name != reference.birth_name {
            out.push("birth_name");
        }
        if self.given_names != reference.given_names {
            out.push("given_names");
        }
        if self.sex != reference.sex {
            out.push("sex");
        }
        if self.birth_date != reference.birth_date {
            out.push("birth_date");
        }
        if self.birth_place != reference.birth_place {
            out.push("birth_place");
        }
        out
    }
}

fn is_insee_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && (b[..2].iter().all(u8::is_ascii_digit) || matches!(&b[..2], b"2A" | b"2B"))
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// An identity of the INS reference.
#[derive(Clone)]
pub struct Reference {
    /// The NIR (matricule INS).
    pub nir: String,
    /// The INS OID.
    pub oid: String,
    /// Its traits.
    pub traits: Traits,
}

impl std::fmt::Debug for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reference(..)")
    }
}

#[derive(FromQueryResult)]
struct Row {
    nir: String,
    oid: String,
    birth_name: String,
    given_names: String,
    sex: String,
    birth_date: String,
    birth_place: String,
}

impl From<Row> for Reference {
    fn from(r: Row) -> Self {
        Self {
            nir: r.nir,
            oid: r.oid,
            traits: Traits {
                birth_name: r.birth_name,
                given_names: r.given_names.split(' ').map(str::to_owned).collect(),
                sex: r.sex,
                birth_date: r.birth_date,
                birth_place: r.birth_place,
            },
        }
    }
}

const COLUMNS: &str = "nir, oid, birth_name, given_names, sex, birth_date, birth_place";

/// The active reference identity with this NIR.
pub async fn by_nir<C: ConnectionTrait>(conn: &C, nir: &Nir) -> Result<Option<Reference>, DbErr> {
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!("SELECT {COLUMNS} FROM ins_identities WHERE nir = $1 AND active"),
        [Value::from(nir.to_string())],
    ))
    .one(conn)
    .await?
    .map(Reference::from))
}

/// Active reference identities with exactly these traits (at most 2: enough to tell one
/// from several).
pub async fn by_traits<C: ConnectionTrait>(
    conn: &C,
    traits: &Traits,
) -> Result<Vec<Reference>, DbErr> {
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!(
            "SELECT {COLUMNS} FROM ins_identities WHERE active AND birth_name = $1 \
             AND first_given_name = $2 AND birth_date = $3 AND sex = $4 AND given_names = $5 \
             AND birth_place = $6 LIMIT 2"
        ),
        [
            Value::from(traits.birth_name.clone()),
            Value::from(traits.given_names[0].clone()),
            Value::from(traits.birth_date.clone()),
            Value::from(traits.sex.clone()),
            Value::from(traits.given_names.join(" ")),
            Value::from(traits.birth_place.clone()),
        ],
    ))
    .all(conn)
    .await?
    .into_iter()
    .map(Reference::from)
    .collect())
}

#[derive(FromQueryResult)]
struct RightsRow {
    beneficiary: String,
    quality: String,
    scheme: String,
    fund: String,
    centre: String,
    coverage_start: String,
    coverage_end: String,
}

/// The insured's own rights and their dependants, from the rights reference.
pub async fn rights<C: ConnectionTrait>(
    conn: &C,
    insured_nir: &str,
) -> Result<(Option<pb::InsuredRights>, Vec<pb::Dependant>), DbErr> {
    let rows = RightsRow::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "SELECT beneficiary, quality, scheme, fund, centre, coverage_start, coverage_end \
         FROM insured_rights WHERE insured_nir = $1 AND active ORDER BY beneficiary",
        [Value::from(insured_nir)],
    ))
    .all(conn)
    .await?;
    let mut own = None;
    let mut dependants = Vec::new();
    for r in rows {
        let rights = pb::InsuredRights {
            scheme: r.scheme,
            fund: r.fund,
            centre: r.centre,
            coverage_start: r.coverage_start,
            coverage_end: r.coverage_end,
        };
        if r.quality == "assure" {
            own = Some(rights);
        } else {
            let (nir, birth_rank) = match r.beneficiary.strip_prefix("rank:") {
                Some(rank) => (String::new(), rank.parse().unwrap_or(0)),
                None => (r.beneficiary, 0),
            };
            dependants.push(pb::Dependant {
                quality: r.quality,
                nir,
                birth_rank,
                rights: Some(rights),
            });
        }
    }
    Ok((own, dependants))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]
mod tests {
    use super::*;

    fn traits(name: &str) -> pb::IdentityTraits {
        pb::IdentityTraits {
            birth_name: name.into(),
            given_names: vec!["zoé".into(), " marie  ".into()],
            sex: "f".into(),
            birth_date: "1975-12-01".into(),
            birth_place: "63220".into(),
        }
    }

    #[test]
    fn normalises_and_compares() {
        let a = Traits::from_proto(Some(&traits("  adrun ")), "traits").unwrap();
        assert_eq!(a.birth_name, "ADRUN");
        assert_eq!(a.given_names, vec!["ZOÉ", "MARIE"]);
        assert_eq!(a.sex, "F");
        let b = Traits::from_proto(Some(&traits("ADRUNE")), "traits").unwrap();
        assert_eq!(a.mismatches(&b), vec!["birth_name"]);
        assert!(a.mismatches(&a).is_empty());
        assert_eq!(format!("{a:?}"), "Traits(..)");
    }

    #[test]
    fn refuses_bad_traits_with_fields() {
        let mut t = traits("X");
        t.sex = "Z".into();
        t.birth_date = "1975-13-01".into();
        t.birth_place = "1234".into();
        let e = Traits::from_proto(Some(&t), "traits").unwrap_err();
        let fields: Vec<_> = e.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["traits.sex", "traits.birth_date", "traits.birth_place"]
        );
        assert!(is_insee_code("2A004") && is_insee_code("99100") && !is_insee_code("2C004"));
    }
}
