//! The SQL of `TaxiiStore`, compiled once for each backend (see `queries/limits.rs`).

use super::This;
use crate::Result;
use crate::taxii::{TaxiiQuery, TaxiiRow, TaxiiStore};
use async_trait::async_trait;
use kernel::TlpAudience;
use uuid::Uuid;

#[async_trait]
impl TaxiiStore for This {
    async fn taxii_objects(&self, r: &TlpAudience, q: &TaxiiQuery) -> Result<Vec<TaxiiRow>> {
        let after = q.after.as_ref();
        // `match[id]`: one parameter per id, after the fixed ones.
        let ids = q.ids.as_deref().unwrap_or_default();
        let by_id = if q.ids.is_some() {
            let list: Vec<String> = (0..ids.len()).map(|n| format!("${}", n + 15)).collect();
            format!(
                " AND EXISTS (SELECT 1 FROM stix_ids s WHERE s.advisory_id = a.id AND s.kind = k.kind \
                 AND s.stix_id IN ({}))",
                if list.is_empty() {
                    "NULL".to_owned()
                } else {
                    list.join(", ")
                }
            )
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT a.id, a.case_id, a.reference, a.title, a.tlp, a.severity, a.document, a.published_at, \
             a.modified_at, a.version, k.kind FROM advisories a JOIN cases c ON c.id = a.case_id \
             CROSS JOIN (SELECT 'report' AS kind UNION ALL SELECT 'vulnerability' AS kind) k \
             WHERE {} AND a.tlp = $5 AND ($6 IS NULL OR a.published_at >= $6) \
             AND ($7 IS NULL OR a.published_at > $7 OR (a.published_at = $7 AND (a.id > $8 \
             OR (a.id = $8 AND k.kind > $9)))) \
             AND (($10 AND k.kind = 'report') OR ($11 AND k.kind = 'vulnerability')) \
             AND ($12 IS NULL OR (a.modified_at >= $12 AND a.modified_at < $13)){by_id} \
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
        );
        let mut query = sqlx::query_as(&sql)
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
            .bind(q.limit);
        for id in ids {
            query = query.bind(id);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    async fn missing_stix_ids(&self, limit: i64) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT a.id FROM advisories a WHERE NOT EXISTS (SELECT 1 FROM stix_ids s WHERE s.advisory_id = a.id) \
             ORDER BY a.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn add_stix_ids(&self, ids: &[(String, Uuid, &'static str)]) -> Result<()> {
        let mut tx = self.begin().await?;
        for (stix_id, advisory, kind) in ids {
            sqlx::query(
                "INSERT INTO stix_ids (stix_id, advisory_id, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(stix_id)
            .bind(advisory)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
