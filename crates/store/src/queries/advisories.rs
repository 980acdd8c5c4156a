//! The SQL of `AdvisoryStore`, compiled once for each backend (see `queries/limits.rs`). The metrics are
//! aggregates: counts, and medians taken with `ORDER BY … LIMIT 2 OFFSET` over per-case stage times, so no
//! query returns more than a few rows whatever the number of reports.

use super::This;
use super::cases::next_number;
use super::readers::reader_query_as;
use crate::advisories::{AdvisoryRow, AdvisoryStore, Funnel, Publication, Subscription, VendorCounts};
use crate::{AuditEvent, Backend, Result};
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use clearinghouse::tlp::Tlp;
use kernel::TlpAudience;
use uuid::Uuid;

pub(super) const ADVISORY_COLUMNS: &str = "a.id, a.case_id, a.reference, a.title, a.tlp, a.severity, a.document, \
     a.published_at, a.modified_at, a.version, (SELECT cv.cve FROM cases cv WHERE cv.id = a.case_id) AS cve";

const SUBSCRIPTION_COLUMNS: &str =
    "s.id, s.org_id, s.sector, s.product_prefix, s.min_severity, s.created_by, s.created_at";

/// Whether the reader (`$1`–`$4`) may read the advisory `a` of the case `c`: the case's marking, published.
const ADVISORY_READABLE: &str = crate::tlp::tlp_admits!(
    tlp: "a.tlp",
    object: "a.case_id",
    owner_org: "NULL",
    owner_user: "c.created_by",
    case: "a.case_id",
    published: "c.published_at IS NOT NULL",
    reader: ("$1", "$2", "$3", "$4"),
);

/// The cases a vendor (`$1`, or every case when NULL) takes part in, for the case id `column`.
fn vendor_scope(column: &str) -> String {
    format!(
        "($1 IS NULL OR EXISTS (SELECT 1 FROM case_participants vp WHERE vp.case_id = {column} \
         AND vp.org_id = $1 AND vp.role = 'vendor'))"
    )
}

/// When each case reached a stage: `(case_id, at)` rows. `received` is the case's first report.
fn stage(name: &str) -> String {
    match name {
        "received" => "SELECT case_id, MIN(created_at) AS at FROM reports \
                       WHERE kind = 'vulnerability' AND case_id IS NOT NULL GROUP BY case_id"
            .to_owned(),
        state => format!(
            "SELECT case_id, MIN(changed_at) AS at FROM case_state_changes WHERE to_state = '{state}' \
             GROUP BY case_id"
        ),
    }
}

/// Seconds from `a.at` to `b.at`, in each backend's date arithmetic.
fn seconds_between() -> &'static str {
    match This::BACKEND {
        Backend::Sqlite => "((julianday(b.at) - julianday(a.at)) * 86400.0)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM (b.at - a.at)) AS DOUBLE PRECISION)",
    }
}

impl This {
    /// The median seconds from stage `from` to stage `to` over the cases (of the vendor) that reached both.
    async fn median_between(&self, vendor: Option<Uuid>, from: &str, to: &str) -> Result<Option<f64>> {
        let pairs = format!(
            "FROM ({}) a JOIN ({}) b ON b.case_id = a.case_id WHERE {}",
            stage(from),
            stage(to),
            vendor_scope("a.case_id")
        );
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {pairs}"))
            .bind(vendor)
            .fetch_one(&self.pool)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        let middle: Vec<f64> = sqlx::query_scalar(&format!(
            "SELECT {} AS d {pairs} ORDER BY d LIMIT 2 OFFSET $2",
            seconds_between()
        ))
        .bind(vendor)
        .bind((n - 1) / 2)
        .fetch_all(&self.pool)
        .await?;
        Ok(match (n % 2, middle.as_slice()) {
            (1, [m, ..]) => Some(*m),
            (_, [a, b]) => Some((a + b) / 2.0),
            (_, [m]) => Some(*m),
            _ => None,
        })
    }
}

#[async_trait]
impl AdvisoryStore for This {
    async fn publish_case(&self, p: &Publication, events: &[AuditEvent]) -> Result<Option<AdvisoryRow>> {
        let a = &p.advisory;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE cases SET state = 'published', published_at = $2, modified_at = $2, version = version + 1 \
             WHERE id = $1 AND published_at IS NULL AND state NOT IN ('published', 'rejected', 'duplicate') \
             AND ($3 IS NULL OR version = $3)",
        )
        .bind(p.case_id)
        .bind(a.published_at)
        .bind(p.version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        This::append(&mut tx, events).await?;
        sqlx::query(
            "INSERT INTO case_state_changes (id, case_id, from_state, to_state, reason, changed_by, changed_at) \
             VALUES ($1, $2, $3, 'published', $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(p.case_id)
        .bind(p.from.as_str())
        .bind(&p.reason)
        .bind(p.by)
        .bind(a.published_at)
        .execute(&mut *tx)
        .await?;
        let year = a.published_at.year();
        let n = next_number(&mut tx, "advisory_numbers", year).await?;
        sqlx::query(
            "INSERT INTO advisories (id, case_id, reference, title, tlp, severity, document, published_at, \
             modified_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.id)
        .bind(a.case_id)
        .bind(format!("PLA-{year}-{n}"))
        .bind(&a.title)
        .bind(a.tlp.as_str())
        .bind(&a.severity)
        .bind(&a.document)
        .bind(a.published_at)
        .bind(a.modified_at)
        .bind(a.version)
        .execute(&mut *tx)
        .await?;
        let stored: AdvisoryRow = sqlx::query_as(&format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a WHERE a.id = $1"
        ))
        .bind(a.id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(stored))
    }

    async fn visible_advisory(&self, id: Uuid, r: &TlpAudience) -> Result<Option<AdvisoryRow>> {
        let sql = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a JOIN cases c ON c.id = a.case_id WHERE a.id = $5 AND {}",
            ADVISORY_READABLE
        );
        Ok(reader_query_as(&sql, r)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn visible_advisory_by_reference(
        &self,
        reference: &str,
        r: &TlpAudience,
    ) -> Result<Option<AdvisoryRow>> {
        let sql = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a JOIN cases c ON c.id = a.case_id \
             WHERE a.reference = $5 AND {}",
            ADVISORY_READABLE
        );
        Ok(reader_query_as(&sql, r)
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_advisories(
        &self,
        r: &TlpAudience,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<AdvisoryRow>> {
        let sql = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a JOIN cases c ON c.id = a.case_id WHERE {} \
             AND ($5 IS NULL OR a.published_at < $5 OR (a.published_at = $5 AND a.id < $6)) \
             ORDER BY a.published_at DESC, a.id DESC LIMIT $7",
            ADVISORY_READABLE
        );
        Ok(reader_query_as(&sql, r)
            .bind(before.map(|(at, _)| at))
            .bind(before.map(|(_, id)| id))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn advisories_stamp(&self, r: &TlpAudience) -> Result<(i64, Option<DateTime<Utc>>)> {
        let sql = format!(
            "SELECT COUNT(*), MAX(a.modified_at) FROM advisories a JOIN cases c ON c.id = a.case_id WHERE {}",
            ADVISORY_READABLE
        );
        Ok(reader_query_as(&sql, r).fetch_one(&self.pool).await?)
    }

    async fn list_advisories_marked(
        &self,
        r: &TlpAudience,
        markings: [Tlp; 2],
        limit: i64,
    ) -> Result<Vec<AdvisoryRow>> {
        let [first, second] = markings;
        let sql = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisories a JOIN cases c ON c.id = a.case_id WHERE {} \
             AND a.tlp IN ($5, $6) ORDER BY a.published_at DESC, a.id DESC LIMIT $7",
            ADVISORY_READABLE
        );
        Ok(reader_query_as(&sql, r)
            .bind(first.as_str())
            .bind(second.as_str())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn entitled_subscriptions(&self, case_id: Uuid, limit: i64) -> Result<Vec<Subscription>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN organizations o ON o.id = s.org_id \
             JOIN cases c ON c.id = $1 WHERE o.active AND {} ORDER BY s.org_id, s.id LIMIT $3",
            crate::tlp::tlp_admits!(
                tlp: "c.tlp",
                object: "c.id",
                owner_org: "NULL",
                owner_user: "c.created_by",
                case: "c.id",
                published: "TRUE",
                reader: ("TRUE", "$2", "s.org_id", "(o.kind = 'clearinghouse')"),
            )
        ))
        .bind(case_id)
        .bind(Uuid::nil())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn create_subscription(&self, s: &Subscription, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query(
            "INSERT INTO subscriptions (id, org_id, sector, product_prefix, min_severity, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.id)
        .bind(s.org_id)
        .bind(&s.sector)
        .bind(&s.product_prefix)
        .bind(&s.min_severity)
        .bind(s.created_by)
        .bind(s.created_at);
        self.execute_recorded(event, statement, None).await
    }

    async fn get_subscription(&self, id: Uuid) -> Result<Option<Subscription>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions s WHERE s.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn count_subscriptions(&self, org_id: Uuid) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions WHERE org_id = $1")
                .bind(org_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn list_subscriptions(
        &self,
        org_id: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Subscription>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions s WHERE s.org_id = $1 AND ($2 IS NULL OR s.id > $2) \
             ORDER BY s.id LIMIT $3"
        ))
        .bind(org_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn delete_subscription(&self, id: Uuid, event: &AuditEvent) -> Result<()> {
        let statement = sqlx::query("DELETE FROM subscriptions WHERE id = $1").bind(id);
        self.execute_recorded(event, statement, Some("subscription"))
            .await
    }

    async fn funnel(&self, vendor: Option<Uuid>) -> Result<Funnel> {
        let (received, unique, ai_found): (i64, i64, i64) = sqlx::query_as(&format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN x.duplicate_of IS NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN x.ai_found THEN 1 ELSE 0 END), 0) FROM reports x \
             WHERE x.kind = 'vulnerability' AND {}",
            vendor_scope("x.case_id")
        ))
        .bind(vendor)
        .fetch_one(&self.pool)
        .await?;
        let mut reached = [0_i64; 4];
        for (count, state) in reached
            .iter_mut()
            .zip(["triaged", "vendors_notified", "fixed", "published"])
        {
            *count = sqlx::query_scalar(&format!(
                "SELECT COUNT(DISTINCT s.case_id) FROM case_state_changes s WHERE s.to_state = $2 AND {}",
                vendor_scope("s.case_id")
            ))
            .bind(vendor)
            .bind(state)
            .fetch_one(&self.pool)
            .await?;
        }
        let mut median_seconds = [None; 5];
        let pairs = [
            ("received", "triaged"),
            ("triaged", "vendors_notified"),
            ("vendors_notified", "fixed"),
            ("fixed", "published"),
            ("received", "published"),
        ];
        for (median, (from, to)) in median_seconds.iter_mut().zip(pairs) {
            *median = self.median_between(vendor, from, to).await?;
        }
        let [confirmed, vendors_notified, fixed, published] = reached;
        Ok(Funnel {
            received,
            unique,
            ai_found,
            confirmed,
            vendors_notified,
            fixed,
            published,
            median_seconds,
        })
    }

    async fn vendor_counts(&self, limit: i64) -> Result<Vec<VendorCounts>> {
        Ok(sqlx::query_as(
            "SELECT p.org_id, o.name AS org_name, COUNT(*) AS cases, \
             COALESCE(SUM(CASE WHEN p.notified_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS notified, \
             COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM case_vendor_status v WHERE v.case_id = p.case_id \
             AND v.org_id = p.org_id AND v.status = 'fixed') THEN 1 ELSE 0 END), 0) AS fixed, \
             COALESCE(SUM(CASE WHEN c.published_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS published \
             FROM case_participants p JOIN organizations o ON o.id = p.org_id JOIN cases c ON c.id = p.case_id \
             WHERE p.role = 'vendor' GROUP BY p.org_id, o.name ORDER BY cases DESC, p.org_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
