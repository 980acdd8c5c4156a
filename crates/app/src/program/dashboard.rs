//! What each role's dashboard shows: its to-do list, read with the caller's audience and bounded. The notices
//! list (`list_notices`) keeps the filters and the whole program; a dashboard keeps only what asks for action.

use super::work::{AssessmentView, FindingView};
use super::{NoticeFilter, NoticeView};
use crate::policy::{self, DashboardKind};
use crate::{App, AppError, AppResult, Caller, PageRequest};
use chrono::Duration;
use review::NoticeState;
use store::ProgramCounts;

/// The most rows a dashboard section holds.
pub const DASHBOARD_ROWS: i64 = 20;
/// How far back "new" findings and assessments go.
pub const RECENT_DAYS: i64 = 14;
/// How soon a window closing counts as "closing soon".
pub const CLOSING_SOON_DAYS: i64 = 7;

/// A role's dashboard, one variant per `policy::DashboardKind`.
#[derive(Debug, Clone)]
pub enum Dashboard {
    Evaluator {
        assigned: Vec<NoticeView>,
    },
    AgencyAdmin {
        unstaffed: Vec<NoticeView>,
        closing_soon: Vec<NoticeView>,
    },
    Developer {
        /// Its notices in review or scheduled, open windows first.
        notices: Vec<NoticeView>,
        findings: Vec<FindingView>,
        assessments: Vec<AssessmentView>,
    },
    Program {
        counts: ProgramCounts,
    },
    Other,
}

impl App {
    pub async fn dashboard(&self, caller: &Caller) -> AppResult<Dashboard> {
        let audience = policy::audience(caller);
        let now = self.clock.now();
        let view = |n| NoticeView::new(n, now, None);
        Ok(match policy::dashboard_of(caller) {
            DashboardKind::Evaluator => Dashboard::Evaluator {
                assigned: self
                    .store
                    .assigned_notices(&audience, now, DASHBOARD_ROWS)
                    .await?
                    .into_iter()
                    .map(view)
                    .collect(),
            },
            DashboardKind::AgencyAdmin => {
                let unstaffed = self
                    .store
                    .unstaffed_notices(&audience, now, DASHBOARD_ROWS)
                    .await?
                    .into_iter()
                    .map(view)
                    .collect();
                // Open windows in the order they close; the first past the horizon ends the section.
                let horizon = now + Duration::days(CLOSING_SOON_DAYS);
                let query = store::NoticeQuery {
                    audience,
                    now,
                    states: NoticeState::ALL.map(|s| s == NoticeState::InReview),
                    developer_org: None,
                    after: None,
                    limit: DASHBOARD_ROWS,
                    search: None,
                    sort: store::NoticeSort::WindowCloses,
                    after_model: None,
                };
                let closing_soon = self
                    .store
                    .list_notices(&query)
                    .await?
                    .into_iter()
                    .take_while(|n| n.window_closes_at <= horizon)
                    .map(view)
                    .collect();
                Dashboard::AgencyAdmin {
                    unstaffed,
                    closing_soon,
                }
            }
            DashboardKind::Developer => {
                let since = now - Duration::days(RECENT_DAYS);
                let filter = NoticeFilter {
                    states: vec![NoticeState::InReview, NoticeState::Scheduled],
                    ..NoticeFilter::default()
                };
                let page = PageRequest {
                    cursor: None,
                    limit: Some(DASHBOARD_ROWS),
                };
                Dashboard::Developer {
                    notices: self.list_notices(caller, &filter, &page).await?.items,
                    findings: self
                        .store
                        .recent_findings(&audience, since, DASHBOARD_ROWS)
                        .await?
                        .into_iter()
                        .map(FindingView::from)
                        .collect(),
                    assessments: self
                        .store
                        .recent_assessments(&audience, since, DASHBOARD_ROWS)
                        .await?
                        .into_iter()
                        .map(AssessmentView::from)
                        .collect(),
                }
            }
            DashboardKind::Program => Dashboard::Program {
                counts: self.program_counts(caller).await?,
            },
            DashboardKind::Other => Dashboard::Other,
        })
    }

    /// The program in counts: notices by state, windows closing within `CLOSING_SOON_DAYS`, activity within
    /// `RECENT_DAYS`.
    pub async fn program_counts(&self, caller: &Caller) -> AppResult<ProgramCounts> {
        if !policy::can_read_program_counts(caller) {
            return Err(AppError::Forbidden(
                "only program administrators read the program's counts",
            ));
        }
        let now = self.clock.now();
        Ok(self
            .store
            .program_counts(
                now,
                now + Duration::days(CLOSING_SOON_DAYS),
                now - Duration::days(RECENT_DAYS),
            )
            .await?)
    }
}
