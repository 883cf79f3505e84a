//! The RPPS extract: activity rows grouped into professionals.
//!
//! Consecutive rows of the same professional (the extract lists a professional's
//! activities together) form a run, staged as one row with its activities as a JSON array.
//! A professional whose rows are scattered gets several runs, merged when applying.
//! An exact duplicate line within a run is rejected (`duplicate_line`); duplicate
//! activities across runs are rejected when merging.

use chrono::{DateTime, Utc};
use egide_directory::{FileError, RowError, lines::Line, rpps};
use egide_ids::RppsPolicy;
use egide_kit::{
    ApiError,
    events::{NewEvent, Payload, actor},
};
use egide_proto::enrolment::v1 as pb;
use sea_orm::sqlx::{self, PgConnection, Postgres, Row as _, Transaction};

use super::{
    apply::{Applied, Table},
    copy,
    import::{ImportJob, Reject, Sink},
};
use crate::config::DirectorySettings;

const STAGING_DDL: &str = "CREATE TEMP TABLE rpps_staging (
    first_line bigint, id_nat_ps text, civility text, last_name text, first_name text,
    profession_code text, profession_label text, activities text, lines bigint[],
    act_hashes text[], content_hash text) ON COMMIT DROP";
const COPY_SQL: &str = "COPY rpps_staging FROM STDIN";

fn join_nonempty(parts: &[&str], sep: &str) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(sep)
}

#[derive(Default)]
struct Run {
    id_nat_ps: String,
    first_line: u64,
    civility: String,
    last_name: String,
    first_name: String,
    profession_code: String,
    profession_label: String,
    activities: Vec<String>,
    act_hashes: Vec<String>,
    lines: Vec<u64>,
    raw: Vec<Vec<u8>>,
}

/// Parses activity lines and stages runs.
pub struct RppsSink {
    policy: RppsPolicy,
    run: Option<Run>,
    seen: Bloom,
    /// Professionals that may already have had a run (Bloom positives); `None` once too
    /// many to list, and the merge then groups the whole staging table.
    suspects: Option<Vec<String>>,
}

/// Professionals listed per import before the merge falls back to grouping everything.
const MAX_SUSPECTS: usize = 200_000;

/// A fixed-size Bloom filter of the professionals already staged (4 MiB, 4 probes: about
/// 0.1 % false positives at 1.3 million professionals): memory stays flat whatever the
/// file, and a false positive only costs a professional an exact check in SQL.
struct Bloom(Vec<u64>);

impl Bloom {
    const BITS: u64 = 4 * 8 * 1024 * 1024 * 8 / 8;

    fn new() -> Self {
        Self(vec![0; (Self::BITS / 64) as usize])
    }

    fn probes(key: &str) -> impl Iterator<Item = u64> {
        use std::hash::{BuildHasher as _, BuildHasherDefault, DefaultHasher};
        let h1 = BuildHasherDefault::<DefaultHasher>::default().hash_one((1_u8, key));
        let h2 = BuildHasherDefault::<DefaultHasher>::default().hash_one((2_u8, key)) | 1;
        (0..4_u64).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % Self::BITS)
    }

    /// Adds `key`; true when it may have been added before.
    fn insert(&mut self, key: &str) -> bool {
        let mut present = true;
        for bit in Self::probes(key) {
            let (word, mask) = ((bit / 64) as usize, 1_u64 << (bit % 64));
            present &= self.0[word] & mask != 0;
            self.0[word] |= mask;
        }
        present
    }
}

impl RppsSink {
    /// A sink with the configured RPPS test range.
    pub fn new(settings: &DirectorySettings) -> Self {
        Self {
            policy: RppsPolicy::with_test_prefixes(settings.rpps_test_prefixes.iter().cloned()),
            run: None,
            seen: Bloom::new(),
            suspects: Some(Vec::new()),
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        let Some(run) = self.run.take() else { return };
        if self.seen.insert(&run.id_nat_ps)
            && let Some(list) = &mut self.suspects
        {
            list.push(run.id_nat_ps.clone());
            if list.len() > MAX_SUSPECTS {
                self.suspects = None;
            }
        }
        let hash = content_hash(
            [
                run.civility.as_str(),
                &run.last_name,
                &run.first_name,
                &run.profession_code,
                &run.profession_label,
            ],
            run.act_hashes.clone(),
        );
        copy::number(out, run.first_line);
        copy::field(out, &run.id_nat_ps);
        copy::field(out, &run.civility);
        copy::field(out, &run.last_name);
        copy::field(out, &run.first_name);
        copy::field(out, &run.profession_code);
        copy::field(out, &run.profession_label);
        let mut json =
            String::with_capacity(run.activities.iter().map(|a| a.len() + 1).sum::<usize>() + 2);
        json.push('[');
        json.push_str(&run.activities.join(","));
        json.push(']');
        copy::field(out, &json);
        let lines = run
            .lines
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        copy::field(out, &format!("{{{lines}}}"));
        copy::field(out, &format!("{{{}}}", run.act_hashes.join(",")));
        copy::field(out, &hash);
        copy::end_row(out);
    }
}

impl Sink for RppsSink {
    fn staging(&self) -> (&'static str, &'static str) {
        (STAGING_DDL, COPY_SQL)
    }

    fn first_line(&mut self, line: &[u8]) -> Result<Option<DateTime<Utc>>, FileError> {
        rpps::check_header(line).map(|()| None)
    }

    fn line(&mut self, line: Line<'_>, out: &mut Vec<u8>) -> Result<(), RowError> {
        let number = line.number();
        let raw = line.bytes().unwrap_or_default();
        let policy = &self.policy;
        let a = line.parse(|b| rpps::parse_activity(b, policy))?;
        let id = a.id_nat_ps.to_string();
        if self.run.as_ref().is_some_and(|r| r.id_nat_ps != id) {
            self.flush(out);
        }
        let run = self.run.get_or_insert_with(|| Run {
            id_nat_ps: id,
            first_line: number,
            civility: a.practice_civility_code.to_owned(),
            last_name: a.practice_last_name.to_owned(),
            first_name: a.practice_first_name.to_owned(),
            profession_code: a.profession_code.to_owned(),
            profession_label: a.profession_label.to_owned(),
            ..Run::default()
        });
        if let Some(i) = run.raw.iter().position(|r| r.as_slice() == raw) {
            return Err(RowError::new(
                "duplicate_line",
                format!("duplicate of line {}", run.lines[i]),
            ));
        }
        let street = join_nonempty(
            &[
                a.street_number,
                a.street_number_suffix,
                a.street_type_label,
                a.street_name,
            ],
            " ",
        );
        let town_line = join_nonempty(&[a.postal_code, a.commune_label], " ");
        let activity = crate::professionals::ActivityJson {
            profession_code: a.profession_code.into(),
            profession_label: a.profession_label.into(),
            category_code: a.category_code.into(),
            expertise_type_code: a.expertise_type_code.into(),
            expertise_code: a.expertise_code.into(),
            expertise_label: a.expertise_label.into(),
            practice_mode_code: a.practice_mode_code.into(),
            practice_mode_label: a.practice_mode_label.into(),
            site_siret: a.site_siret.into(),
            site_siren: a.site_siren.into(),
            site_finess: a.site_finess.into(),
            legal_entity_finess: a.legal_entity_finess.into(),
            structure_technical_id: a.structure_technical_id.into(),
            site_name: a.site_name.into(),
            site_trade_name: a.site_trade_name.into(),
            address: join_nonempty(&[&street, a.distribution_mention, &town_line], ", ").into(),
            postal_code: a.postal_code.into(),
            town: a.commune_label.into(),
            phone: a.phone.into(),
            email: a.email.into(),
            department_code: a.department_code.into(),
        };
        let json = serde_json::to_string(&activity)
            .map_err(|e| RowError::new("internal", format!("cannot encode the activity: {e}")))?;
        run.act_hashes.push(sha256_hex(json.as_bytes()));
        run.activities.push(json);
        run.lines.push(number);
        run.raw.push(raw.to_vec());
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.flush(out);
    }

    fn suspects(&mut self) -> Option<Option<Vec<String>>> {
        Some(self.suspects.take())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The content hash of a professional: SHA-256 of the person fields (joined by U+001F),
/// U+001E, then the SHA-256 of each activity's JSON, sorted and joined by commas. The
/// merge of scattered rows computes the same in SQL (`CONTENT_HASH_SQL`), so a professional
/// hashes the same however its rows are grouped in the file.
fn content_hash(person: [&str; 5], mut act_hashes: Vec<String>) -> String {
    act_hashes.sort_unstable();
    let text = format!("{}\u{1e}{}", person.join("\u{1f}"), act_hashes.join(","));
    sha256_hex(text.as_bytes())
}

const CONTENT_HASH_SQL: &str = "encode(sha256(convert_to(p.civility || chr(31) || p.last_name || chr(31) \
    || p.first_name || chr(31) || p.profession_code || chr(31) || p.profession_label || chr(30) \
    || a.hashes, 'UTF8')), 'hex')";

use super::sql_err as err;

/// Merges professionals whose rows were scattered (reporting duplicate activities), then
/// applies the staging table; changed professionals get events.
pub async fn apply(
    txn: &mut Transaction<'static, Postgres>,
    job: &ImportJob,
    suspects: Option<Vec<String>>,
) -> Result<Applied, ApiError> {
    let conn: &mut PgConnection = txn;
    let mut clock = super::apply::Phases::new(job.id());
    // Professionals with several runs: among the suspects the sink listed, or (when there
    // were too many to list) by grouping everything.
    match suspects {
        Some(suspects) => sqlx::query(
            // A hash join with the suspects (`= ANY(array)` would scan the array per row).
            "CREATE TEMP TABLE rpps_multi ON COMMIT DROP AS \
             SELECT s.id_nat_ps FROM rpps_staging s \
             JOIN (SELECT DISTINCT unnest($1::text[]) AS id_nat_ps) x USING (id_nat_ps) \
             GROUP BY s.id_nat_ps HAVING count(*) > 1",
        )
        .bind(suspects),
        None => sqlx::query(
            "CREATE TEMP TABLE rpps_multi ON COMMIT DROP AS \
             SELECT id_nat_ps FROM rpps_staging GROUP BY id_nat_ps HAVING count(*) > 1",
        ),
    }
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    let mut extra_rejects = Vec::new();
    let multi: i64 = sqlx::query_scalar("SELECT count(*) FROM rpps_multi")
        .fetch_one(&mut *conn)
        .await
        .map_err(err)?;
    if multi > 0 {
        sqlx::query(
            "CREATE TEMP TABLE rpps_acts ON COMMIT DROP AS \
             SELECT s.id_nat_ps, u.line, u.h, a.act, \
                    min(u.line) OVER (PARTITION BY s.id_nat_ps, u.h) AS first \
             FROM rpps_staging s JOIN rpps_multi m USING (id_nat_ps) \
             CROSS JOIN LATERAL unnest(s.lines, s.act_hashes) WITH ORDINALITY AS u(line, h, i) \
             JOIN LATERAL jsonb_array_elements(s.activities::jsonb) WITH ORDINALITY AS a(act, j) ON u.i = a.j",
        )
        .execute(&mut *conn)
        .await
        .map_err(err)?;
        let dups =
            sqlx::query("SELECT line, first FROM rpps_acts WHERE line <> first ORDER BY line")
                .fetch_all(&mut *conn)
                .await
                .map_err(err)?;
        for d in dups {
            let line: i64 = d.get("line");
            let first: i64 = d.get("first");
            extra_rejects.push(Reject {
                line: line as u64,
                code: "duplicate_line".into(),
                reason: format!("same activity as line {first}"),
            });
        }
        sqlx::query(&format!(
            "CREATE TEMP TABLE rpps_merged ON COMMIT DROP AS \
             WITH agg AS ( \
               SELECT id_nat_ps, jsonb_agg(act ORDER BY line)::text AS activities, \
                      array_agg(line ORDER BY line) AS lines, array_agg(h ORDER BY line) AS act_hashes, \
                      string_agg(h, ',' ORDER BY h) AS hashes \
               FROM rpps_acts WHERE line = first GROUP BY id_nat_ps), \
             person AS ( \
               SELECT DISTINCT ON (id_nat_ps) id_nat_ps, first_line, civility, last_name, \
                      first_name, profession_code, profession_label \
               FROM rpps_staging JOIN rpps_multi USING (id_nat_ps) ORDER BY id_nat_ps, first_line) \
             SELECT p.first_line, p.id_nat_ps, p.civility, p.last_name, p.first_name, \
                    p.profession_code, p.profession_label, a.activities, a.lines, a.act_hashes, \
                    {CONTENT_HASH_SQL} AS content_hash \
             FROM person p JOIN agg a USING (id_nat_ps)"
        ))
        .execute(&mut *conn)
        .await
        .map_err(err)?;
        sqlx::query(
            "DELETE FROM rpps_staging s USING rpps_multi m WHERE s.id_nat_ps = m.id_nat_ps",
        )
        .execute(&mut *conn)
        .await
        .map_err(err)?;
        sqlx::query("INSERT INTO rpps_staging SELECT * FROM rpps_merged")
            .execute(&mut *conn)
            .await
            .map_err(err)?;
    }
    clock.mark("merge scattered rows");
    let table = Table {
        table: "professionals",
        staging: "rpps_staging",
        keys: &["id_nat_ps"],
        columns: &[
            "civility",
            "last_name",
            "first_name",
            "profession_code",
            "profession_label",
            "activities",
        ],
    };
    let (counts, changes) = table.merge(&mut *conn, job, true).await?;
    // e-CPS follows the directory: blocked while the professional is inactive.
    sqlx::query("UPDATE ecps SET state = 'inactive', updated_at = now() WHERE id_nat_ps = ANY($1)")
        .bind(&changes.deactivated)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    sqlx::query(
        "UPDATE ecps e SET state = 'active', updated_at = now() WHERE e.id_nat_ps = ANY($1) \
         AND e.state = 'inactive' AND EXISTS (SELECT 1 FROM devices d \
           WHERE d.id_nat_ps = e.id_nat_ps AND d.revoked_at IS NULL)",
    )
    .bind(&changes.reactivated)
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    sqlx::query("DELETE FROM ecps WHERE id_nat_ps = ANY($1) AND state = 'inactive'")
        .bind(&changes.reactivated)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    // The e-CPS state each changed professional is left in, for the events.
    let mut touched: Vec<&String> = changes
        .deactivated
        .iter()
        .chain(&changes.reactivated)
        .collect();
    touched.extend(&changes.updated);
    let states: std::collections::HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT id_nat_ps, state FROM ecps WHERE id_nat_ps = ANY($1)",
    )
    .bind(touched.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?
    .into_iter()
    .collect();
    let import_id = job.id().to_string();
    let by = actor::operator(job.operator());
    let mut events = Vec::with_capacity(
        changes.updated.len() + changes.reactivated.len() + changes.deactivated.len(),
    );
    for (verb, keys, active) in [
        (
            "egide.enrolment.professional.updated",
            &changes.updated,
            true,
        ),
        (
            "egide.enrolment.professional.reactivated",
            &changes.reactivated,
            true,
        ),
        (
            "egide.enrolment.professional.deactivated",
            &changes.deactivated,
            false,
        ),
    ] {
        for id in keys {
            let ecps_state = crate::professionals::ecps_state(states.get(id).map(String::as_str));
            events.push(
                NewEvent::new(
                    verb,
                    by.clone(),
                    Payload::ProfessionalChanged(pb::ProfessionalChanged {
                        id_nat_ps: id.clone(),
                        import_id: import_id.clone(),
                        active,
                        ecps_state: ecps_state as i32,
                    }),
                )
                .about("professional", id.clone()),
            );
        }
    }
    Ok(Applied {
        counts,
        extra_rejects,
        events,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_bloom_filter_remembers_and_rarely_lies() {
        let mut b = Bloom::new();
        let ids: Vec<String> = (0..100_000)
            .map(|i| format!("8{:011}", 10_000_000_000_u64 + i))
            .collect();
        let first_time = ids.iter().filter(|id| b.insert(id)).count();
        assert!(first_time < 100, "false positives: {first_time}");
        assert!(ids.iter().all(|id| b.insert(id)), "every key is remembered");
    }
}
