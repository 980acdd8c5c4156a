//! The clearinghouse's metrics, which show where reports wait: per program (and per vendor), reports received
//! → unique (not duplicates) → confirmed (cases past triage) → vendors notified → fixed → published, the median
//! time between stages, and the share found by AI. Counts and medians are SQL aggregates (`AdvisoryStore::funnel`),
//! so the answer costs a few bounded queries whatever the number of reports.

use crate::{App, AppError, AppResult, Caller, policy};
use serde::Serialize;
use store::Funnel;
use uuid::Uuid;

/// The vendors listed beside the program's funnel, those with the most cases first.
pub const VENDORS_LISTED: i64 = 100;

#[derive(Debug, Clone, Serialize)]
pub struct MedianSeconds {
    pub received_to_triaged: Option<f64>,
    pub triaged_to_vendors_notified: Option<f64>,
    pub vendors_notified_to_fixed: Option<f64>,
    pub fixed_to_published: Option<f64>,
    pub received_to_published: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunnelView {
    /// Vulnerability reports, then cases that reached each stage.
    pub received: i64,
    pub unique: i64,
    pub confirmed: i64,
    pub vendors_notified: i64,
    pub fixed: i64,
    pub published: i64,
    pub ai_found: i64,
    /// ai_found / received (0 when nothing was received).
    pub ai_share: f64,
    pub median_seconds: MedianSeconds,
}

impl From<Funnel> for FunnelView {
    fn from(f: Funnel) -> Self {
        let [a, b, c, d, e] = f.median_seconds;
        FunnelView {
            received: f.received,
            unique: f.unique,
            confirmed: f.confirmed,
            vendors_notified: f.vendors_notified,
            fixed: f.fixed,
            published: f.published,
            ai_found: f.ai_found,
            ai_share: if f.received == 0 {
                0.0
            } else {
                f.ai_found as f64 / f.received as f64
            },
            median_seconds: MedianSeconds {
                received_to_triaged: a,
                triaged_to_vendors_notified: b,
                vendors_notified_to_fixed: c,
                fixed_to_published: d,
                received_to_published: e,
            },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VendorLine {
    pub org_id: Uuid,
    pub name: String,
    pub cases: i64,
    pub notified: i64,
    pub fixed: i64,
    pub published: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub program: FunnelView,
    /// The funnel of the cases one vendor takes part in, when asked for.
    pub vendor: Option<FunnelView>,
    pub vendors: Vec<VendorLine>,
}

impl App {
    /// The metrics (coordinators and program administrators), and one vendor's funnel when `vendor` is given.
    pub async fn clearinghouse_metrics(&self, caller: &Caller, vendor: Option<Uuid>) -> AppResult<Metrics> {
        if !policy::can_read_clearinghouse_metrics(caller) {
            return Err(AppError::Forbidden(
                "only coordinators and program administrators read the clearinghouse's metrics",
            ));
        }
        let program = self.store.funnel(None).await?.into();
        let vendor = match vendor {
            Some(id) => Some(self.store.funnel(Some(id)).await?.into()),
            None => None,
        };
        let vendors = self
            .store
            .vendor_counts(VENDORS_LISTED)
            .await?
            .into_iter()
            .map(|v| VendorLine {
                org_id: v.org_id,
                name: v.org_name,
                cases: v.cases,
                notified: v.notified,
                fixed: v.fixed,
                published: v.published,
            })
            .collect();
        Ok(Metrics {
            program,
            vendor,
            vendors,
        })
    }
}
