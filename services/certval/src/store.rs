//! The `revocations` and `crls` tables.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};

/// A row of `revocations`.
#[derive(Clone, Debug, FromQueryResult)]
pub struct RevocationRow {
    /// SHA-256 of the issuer's DER name, hex.
    pub issuer_name_sha256: String,
    /// Serial, hex.
    pub serial_hex: String,
    /// Issuer, for people.
    pub issuer: String,
    /// RFC 5280 reason name.
    pub reason: String,
    /// When.
    pub revoked_at: chrono::DateTime<chrono::Utc>,
    /// SHA-256 of the certificate, when known.
    pub certificate_sha256: Option<String>,
    /// Read-back cursor.
    pub recorded_seq: i64,
}

/// Inserts `row` unless that revocation exists; true when inserted.
pub async fn insert_revocation<C: ConnectionTrait>(
    conn: &C,
    row: &RevocationRow,
    operator_id: &str,
) -> Result<bool, DbErr> {
    let done = conn
        .execute(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "INSERT INTO revocations (issuer_name_sha256, serial_hex, issuer, reason, revoked_at, \
             certificate_sha256, operator_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
            [
                Value::from(row.issuer_name_sha256.clone()),
                Value::from(row.serial_hex.clone()),
                Value::from(row.issuer.clone()),
                Value::from(row.reason.clone()),
                Value::from(row.revoked_at),
                Value::from(row.certificate_sha256.clone()),
                Value::from(operator_id),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revocations recorded after `seq`, in order.
pub async fn revocations_after<C: ConnectionTrait>(
    conn: &C,
    seq: i64,
) -> Result<Vec<RevocationRow>, DbErr> {
    RevocationRow::find_by_statement(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "SELECT issuer_name_sha256, serial_hex, issuer, reason, revoked_at, certificate_sha256, \
         recorded_seq FROM revocations WHERE recorded_seq > $1 ORDER BY recorded_seq LIMIT 10000",
        [Value::from(seq)],
    ))
    .all(conn)
    .await
}

/// A stored CRL.
#[derive(Clone, Debug, FromQueryResult)]
pub struct CrlRow {
    /// The DER CRL.
    pub der: Vec<u8>,
    /// Where it came from.
    pub source: String,
}

/// Keeps `der` as the CRL of `issuer_der` unless a newer one is stored.
pub async fn upsert_crl<C: ConnectionTrait>(
    conn: &C,
    issuer_der: &[u8],
    der: &[u8],
    source: &str,
    this_update: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    conn.execute(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO crls (issuer_der, der, source, this_update) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (issuer_der) DO UPDATE SET der = EXCLUDED.der, source = EXCLUDED.source, \
         this_update = EXCLUDED.this_update, stored_at = now() \
         WHERE crls.this_update < EXCLUDED.this_update",
        [
            Value::from(issuer_der.to_vec()),
            Value::from(der.to_vec()),
            Value::from(source),
            Value::from(this_update),
        ],
    ))
    .await?;
    Ok(())
}

/// Every stored CRL.
pub async fn crls<C: ConnectionTrait>(conn: &C) -> Result<Vec<CrlRow>, DbErr> {
    CrlRow::find_by_statement(Statement::from_string(
        conn.get_database_backend(),
        "SELECT der, source FROM crls",
    ))
    .all(conn)
    .await
}
