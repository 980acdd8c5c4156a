//! The SQL of `TaxiiStore`, compiled once for each backend (see `queries/limits.rs`). A page is one index range
//! of `stix_objects_page` (tlp, date_added, stix_id, version) from the cursor on, with the filters and TLP
//! admission in its `WHERE` before the `LIMIT`: no `OFFSET`, no count. `match[version]=first|last` is an
//! index probe per row on the unique (stix_id, version, tlp).

use super::This;
use super::advisories::ADVISORY_COLUMNS;
use crate::Result;
use crate::advisories::AdvisoryRow;
use crate::taxii::{StixObjectRow, TaxiiQuery, TaxiiStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kernel::TlpAudience;

const COLUMNS: &str = "s.id, s.tlp, s.stix_id, s.stix_type, s.spec_version, s.version, s.date_added, s.body, \
     s.added_org, s.added_by, s.advisory_id, s.case_id, s.report_id";

/// Rows per `INSERT` of a bulk load: 13 parameters each, well under either backend's limit.
const INSERT_BATCH: usize = 500;

/// A value bound after the reader's four parameters.
enum Arg<'a> {
    Text(&'a str),
    Time(DateTime<Utc>),
    Int(i64),
}

/// The parameters of a query built from optional filters, numbered from `$5`.
#[derive(Default)]
struct Args<'a>(Vec<Arg<'a>>);

impl<'a> Args<'a> {
    fn param(&mut self, arg: Arg<'a>) -> String {
        self.0.push(arg);
        format!("${}", self.0.len() + 4)
    }

    fn list(&mut self, values: &'a [String]) -> String {
        if values.is_empty() {
            return "NULL".to_owned();
        }
        let list: Vec<String> = values.iter().map(|v| self.param(Arg::Text(v))).collect();
        list.join(", ")
    }
}

#[async_trait]
impl TaxiiStore for This {
    async fn taxii_objects(&self, r: &TlpAudience, q: &TaxiiQuery) -> Result<Vec<StixObjectRow>> {
        let mut args = Args::default();
        let mut conditions = vec![format!("s.tlp = {}", args.param(Arg::Text(q.tlp.as_str())))];
        if let Some(from) = q.added_from {
            conditions.push(format!("s.date_added >= {}", args.param(Arg::Time(from))));
        }
        if let Some(after) = &q.after {
            let (added, id, version) = (
                args.param(Arg::Time(after.added)),
                args.param(Arg::Text(&after.stix_id)),
                args.param(Arg::Text(&after.version)),
            );
            conditions.push(format!(
                "(s.date_added, s.stix_id, s.version) > ({added}, {id}, {version})"
            ));
        }
        for (column, values) in [
            ("s.stix_type", &q.types),
            ("s.spec_version", &q.spec_versions),
            ("s.stix_id", &q.ids),
        ] {
            if let Some(values) = values {
                conditions.push(format!("{column} IN ({})", args.list(values)));
            }
        }
        let v = &q.versions;
        if !v.all {
            let mut any = Vec::new();
            for (wanted, newer) in [(v.last, ">"), (v.first, "<")] {
                if wanted {
                    any.push(format!(
                        "NOT EXISTS (SELECT 1 FROM stix_objects n WHERE n.stix_id = s.stix_id \
                         AND n.version {newer} s.version AND n.tlp = s.tlp)"
                    ));
                }
            }
            if !v.exact.is_empty() {
                any.push(format!("s.version IN ({})", args.list(&v.exact)));
            }
            if any.is_empty() {
                any.push("FALSE".to_owned());
            }
            conditions.push(format!("({})", any.join(" OR ")));
        }
        let limit = args.param(Arg::Int(q.limit));
        let sql = format!(
            "SELECT {COLUMNS} FROM stix_objects s LEFT JOIN cases c ON c.id = s.case_id \
             WHERE {} AND {} ORDER BY s.date_added, s.stix_id, s.version LIMIT {limit}",
            conditions.join(" AND "),
            crate::tlp::tlp_admits!(
                tlp: "s.tlp",
                object: "s.case_id",
                owner_org: "s.added_org",
                owner_user: "COALESCE(s.added_by, c.created_by)",
                case: "s.case_id",
                published: "c.published_at IS NOT NULL",
                reader: ("$1", "$2", "$3", "$4"),
            )
        );
        let mut query = sqlx::query_as(&sql)
            .bind(r.signed_in)
            .bind(r.user_id)
            .bind(r.org_id)
            .bind(r.coordinator);
        for arg in args.0 {
            query = match arg {
                Arg::Text(text) => query.bind(text),
                Arg::Time(at) => query.bind(at),
                Arg::Int(n) => query.bind(n),
            };
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn add_stix_objects(&self, rows: &[StixObjectRow]) -> Result<u64> {
        let mut tx = self.begin().await?;
        let mut written = 0;
        for chunk in rows.chunks(INSERT_BATCH) {
            let values: Vec<String> = (0..chunk.len())
                .map(|n| {
                    let params: Vec<String> = (1..=13).map(|k| format!("${}", n * 13 + k)).collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO stix_objects (id, tlp, stix_id, stix_type, spec_version, version, date_added, body, \
                 added_org, added_by, advisory_id, case_id, report_id) VALUES {} \
                 ON CONFLICT (stix_id, version, tlp) DO NOTHING",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                query = query
                    .bind(row.id)
                    .bind(row.tlp.as_str())
                    .bind(&row.stix_id)
                    .bind(&row.stix_type)
                    .bind(&row.spec_version)
                    .bind(&row.version)
                    .bind(row.date_added)
                    .bind(&row.body)
                    .bind(row.added_org)
                    .bind(row.added_by)
                    .bind(row.advisory_id)
                    .bind(row.case_id)
                    .bind(row.report_id);
            }
            written += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn advisories_without_stix(&self, limit: i64) -> Result<Vec<AdvisoryRow>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a WHERE NOT EXISTS \
             (SELECT 1 FROM stix_objects s WHERE s.advisory_id = a.id) ORDER BY a.id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
