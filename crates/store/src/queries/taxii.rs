//! The SQL of `TaxiiStore`, compiled once for each backend (see `queries/limits.rs`).

use super::This;
use crate::Result;
use crate::taxii::{TaxiiQuery, TaxiiRow, TaxiiStore};
use async_trait::async_trait;
use kernel::TlpAudience;

#[async_trait]
impl TaxiiStore for This {
    async fn taxii_objects(&self, r: &TlpAudience, q: &TaxiiQuery) -> Result<Vec<TaxiiRow>> {
        let after = q.after.as_ref();
        Ok(sqlx::query_as(&format!(
            "SELECT a.id, a.case_id, a.reference, a.title, a.tlp, a.severity, a.document, a.published_at, \
             a.modified_at, a.version, k.kind FROM advisories a JOIN cases c ON c.id = a.case_id \
             CROSS JOIN (SELECT 'report' AS kind UNION ALL SELECT 'vulnerability' AS kind) k \
             WHERE {} AND a.tlp = $5 AND ($6 IS NULL OR a.published_at >= $6) \
             AND ($7 IS NULL OR a.published_at > $7 OR (a.published_at = $7 AND (a.id > $8 \
             OR (a.id = $8 AND k.kind > $9)))) \
             AND (($10 AND k.kind = 'report') OR ($11 AND k.kind = 'vulnerability')) \
             AND ($12 IS NULL OR (a.modified_at >= $12 AND a.modified_at < $13)) \
             ORDER BY a.published_at, a.id, k.kind LIMIT $14",
            crate::tlp::tlp_admits!(
                tlp: "a.tlp",
                object: "a.case_id",
                owner_org: "NULL",
                owner_user: "c.created_by",
                case: "a.case_id",
                published: "c.published_at IS NOT NULL",
                reader: ("$1", "$2", "$3", "$4"),
            )
        ))
        .bind(r.signed_in)
        .bind(r.user_id)
        .bind(r.org_id)
        .bind(r.coordinator)
        .bind(q.tlp.as_str())
        .bind(q.added_from)
        .bind(after.map(|c| c.added))
        .bind(after.map(|c| c.advisory))
        .bind(after.map(|c| c.kind.as_str()))
        .bind(q.report)
        .bind(q.vulnerability)
        .bind(q.version.map(|v| v.0))
        .bind(q.version.map(|v| v.1))
        .bind(q.limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
