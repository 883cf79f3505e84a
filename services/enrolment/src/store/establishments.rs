//! The FINESS directory's establishments, as imported.

use egide_proto::enrolment::v1 as pb;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};

#[derive(FromQueryResult)]
struct Row {
    finess: String,
    legal_entity_finess: String,
    name: String,
    long_name: String,
    address: String,
    town: String,
    department_code: String,
    phone: String,
    category_code: String,
    category_label: String,
    siret: String,
    opened_on: String,
    updated_on: String,
    geo_x: Option<f64>,
    geo_y: Option<f64>,
    geo_source: Option<String>,
    geo_date: Option<String>,
    active: bool,
}

impl From<Row> for pb::Establishment {
    fn from(r: Row) -> Self {
        let geolocation = match (r.geo_x, r.geo_y) {
            (Some(x), Some(y)) => Some(pb::Geolocation {
                x,
                y,
                source: r.geo_source.unwrap_or_default(),
                date: r.geo_date.unwrap_or_default(),
            }),
            _ => None,
        };
        Self {
            finess: r.finess,
            legal_entity_finess: r.legal_entity_finess,
            name: r.name,
            long_name: r.long_name,
            address: r.address,
            town: r.town,
            department_code: r.department_code,
            phone: r.phone,
            category_code: r.category_code,
            category_label: r.category_label,
            siret: r.siret,
            opened_on: r.opened_on,
            updated_on: r.updated_on,
            geolocation,
            active: r.active,
        }
    }
}

const COLUMNS: &str = "finess, legal_entity_finess, name, long_name, address, town, \
    department_code, phone, category_code, category_label, siret, opened_on, updated_on, \
    geo_x, geo_y, geo_source, geo_date, active";

async fn one<C: ConnectionTrait>(
    conn: &C,
    column: &str,
    value: &str,
) -> Result<Option<pb::Establishment>, DbErr> {
    Ok(Row::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!("SELECT {COLUMNS} FROM establishments WHERE {column} = $1 ORDER BY active DESC, finess LIMIT 1"),
        [Value::from(value)],
    ))
    .one(conn)
    .await?
    .map(Into::into))
}

/// The establishment with this FINESS (active or not).
pub async fn by_finess<C: ConnectionTrait>(
    conn: &C,
    finess: &str,
) -> Result<Option<pb::Establishment>, DbErr> {
    one(conn, "finess", finess).await
}

/// An establishment with this SIRET, the active one first.
pub async fn by_siret<C: ConnectionTrait>(
    conn: &C,
    siret: &str,
) -> Result<Option<pb::Establishment>, DbErr> {
    one(conn, "siret", siret).await
}
