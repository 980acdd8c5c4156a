//! The coordinated disclosure case: its states and the moves between them, the roles of its participants,
//! a vendor's status for one vulnerability, and the embargo's arithmetic.
//!
//! States: new → triaged → vendors notified → fix in progress → fixed → published, with rejected and
//! duplicate as closures from any open state. A case moves forward only; it is triaged before anything else
//! happens, and its vendors are notified before a fix can be under way. Publication may follow triage directly
//! (an embargo that ends with no vendor answer still ends). Published, rejected and duplicate are final.
//!
//! The embargo: triage sets the target publication date to the program default (90 days) unless the case's
//! vendors declare their own disclosure period (`embargo_days` of their policy): then the **longest** declared
//! period applies, so that publication never comes before any vendor's own policy allows, bounded by
//! `MAX_EMBARGO_DAYS`. This follows VINCE, where the date is the coordinator's, set with the vendors' input: a
//! coordinator moves it afterwards (earlier or later) with a reason, and every move is recorded.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::fmt;

/// A case's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    New,
    Triaged,
    VendorsNotified,
    FixInProgress,
    Fixed,
    Published,
    Rejected,
    Duplicate,
}

/// A value that is not one of a closed set's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {what}: use {expected}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

fn unknown(what: &'static str, value: &str, expected: &'static str) -> UnknownValue {
    UnknownValue {
        what,
        value: value.chars().take(40).collect(),
        expected,
    }
}

impl CaseState {
    pub const ALL: [CaseState; 8] = [
        CaseState::New,
        CaseState::Triaged,
        CaseState::VendorsNotified,
        CaseState::FixInProgress,
        CaseState::Fixed,
        CaseState::Published,
        CaseState::Rejected,
        CaseState::Duplicate,
    ];

    /// The stored and API form.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::New => "new",
            CaseState::Triaged => "triaged",
            CaseState::VendorsNotified => "vendors_notified",
            CaseState::FixInProgress => "fix_in_progress",
            CaseState::Fixed => "fixed",
            CaseState::Published => "published",
            CaseState::Rejected => "rejected",
            CaseState::Duplicate => "duplicate",
        }
    }

    /// As people read it.
    pub fn label(self) -> &'static str {
        match self {
            CaseState::New => "New",
            CaseState::Triaged => "Triaged",
            CaseState::VendorsNotified => "Vendors notified",
            CaseState::FixInProgress => "Fix in progress",
            CaseState::Fixed => "Fixed",
            CaseState::Published => "Published",
            CaseState::Rejected => "Rejected",
            CaseState::Duplicate => "Duplicate",
        }
    }

    pub fn parse(text: &str) -> Result<CaseState, UnknownValue> {
        CaseState::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                unknown(
                    "case state",
                    text,
                    "new, triaged, vendors_notified, fix_in_progress, fixed, published, rejected or duplicate",
                )
            })
    }

    /// Published, rejected and duplicate are final.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Published | CaseState::Rejected | CaseState::Duplicate
        )
    }

    /// The position on the way to publication; `None` for the closures.
    fn step(self) -> Option<u8> {
        match self {
            CaseState::New => Some(0),
            CaseState::Triaged => Some(1),
            CaseState::VendorsNotified => Some(2),
            CaseState::FixInProgress => Some(3),
            CaseState::Fixed => Some(4),
            CaseState::Published => Some(5),
            CaseState::Rejected | CaseState::Duplicate => None,
        }
    }
}

impl TryFrom<String> for CaseState {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, UnknownValue> {
        CaseState::parse(&value)
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a move is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the case is {} already", .0.label().to_lowercase())]
    Same(CaseState),
    #[error("the case is {}, which is final", .0.label().to_lowercase())]
    Final(CaseState),
    #[error("a case does not go back from {} to {}", .from.label().to_lowercase(), .to.label().to_lowercase())]
    Backward { from: CaseState, to: CaseState },
    #[error("a new case is triaged first")]
    TriageFirst,
    #[error("the vendors are notified before a fix is under way")]
    NotifyFirst,
}

/// Whether a case in state `from` may move to `to`; the refusal says why not.
pub fn check_transition(from: CaseState, to: CaseState) -> Result<(), TransitionError> {
    if from.is_final() {
        return Err(TransitionError::Final(from));
    }
    if from == to {
        return Err(TransitionError::Same(from));
    }
    let (Some(a), Some(b)) = (from.step(), to.step()) else {
        // A closure, from any open state.
        return Ok(());
    };
    if b < a {
        return Err(TransitionError::Backward { from, to });
    }
    if from == CaseState::New && to != CaseState::Triaged {
        return Err(TransitionError::TriageFirst);
    }
    if a < 2 && matches!(to, CaseState::FixInProgress | CaseState::Fixed) {
        return Err(TransitionError::NotifyFirst);
    }
    Ok(())
}

/// What an organisation is to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    Reporter,
    Vendor,
    Coordinator,
    Observer,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 4] = [
        ParticipantRole::Reporter,
        ParticipantRole::Vendor,
        ParticipantRole::Coordinator,
        ParticipantRole::Observer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Reporter => "reporter",
            ParticipantRole::Vendor => "vendor",
            ParticipantRole::Coordinator => "coordinator",
            ParticipantRole::Observer => "observer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ParticipantRole::Reporter => "Reporter",
            ParticipantRole::Vendor => "Vendor",
            ParticipantRole::Coordinator => "Coordinator",
            ParticipantRole::Observer => "Observer",
        }
    }

    pub fn parse(text: &str) -> Result<ParticipantRole, UnknownValue> {
        ParticipantRole::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                unknown(
                    "participant role",
                    text,
                    "reporter, vendor, coordinator or observer",
                )
            })
    }
}

impl TryFrom<String> for ParticipantRole {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, UnknownValue> {
        ParticipantRole::parse(&value)
    }
}

/// A vendor's status for one vulnerability of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorStatus {
    Affected,
    NotAffected,
    Fixed,
    UnderInvestigation,
}

impl VendorStatus {
    pub const ALL: [VendorStatus; 4] = [
        VendorStatus::Affected,
        VendorStatus::NotAffected,
        VendorStatus::Fixed,
        VendorStatus::UnderInvestigation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VendorStatus::Affected => "affected",
            VendorStatus::NotAffected => "not_affected",
            VendorStatus::Fixed => "fixed",
            VendorStatus::UnderInvestigation => "under_investigation",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            VendorStatus::Affected => "Affected",
            VendorStatus::NotAffected => "Not affected",
            VendorStatus::Fixed => "Fixed",
            VendorStatus::UnderInvestigation => "Under investigation",
        }
    }

    pub fn parse(text: &str) -> Result<VendorStatus, UnknownValue> {
        VendorStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                unknown(
                    "vendor status",
                    text,
                    "affected, not_affected, fixed or under_investigation",
                )
            })
    }
}

impl TryFrom<String> for VendorStatus {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, UnknownValue> {
        VendorStatus::parse(&value)
    }
}

/// The program's embargo when no vendor declares its own.
pub const DEFAULT_EMBARGO_DAYS: i64 = 90;
/// The furthest a target publication date may be from now, and the longest period a vendor may declare.
pub const MAX_EMBARGO_DAYS: i64 = 365;

/// Why a target publication date is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmbargoError {
    #[error("the date is not in the future")]
    NotFuture,
    #[error("the date is more than {MAX_EMBARGO_DAYS} days ahead")]
    TooFar,
    #[error("the date is unchanged")]
    Unchanged,
}

/// The target publication date triage sets at `now`: the longest period the vendors' policies declare
/// (bounded by `MAX_EMBARGO_DAYS`, at least a day), or the program default when none declares one.
pub fn default_embargo(now: DateTime<Utc>, vendor_days: &[Option<i64>]) -> DateTime<Utc> {
    let days = vendor_days
        .iter()
        .flatten()
        .copied()
        .max()
        .map_or(DEFAULT_EMBARGO_DAYS, |d| d.clamp(1, MAX_EMBARGO_DAYS));
    now + Duration::days(days)
}

/// Checks a new target publication date set at `now`, replacing `previous`.
pub fn check_embargo(
    now: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
    ends_at: DateTime<Utc>,
) -> Result<(), EmbargoError> {
    if ends_at <= now {
        return Err(EmbargoError::NotFuture);
    }
    if ends_at > now + Duration::days(MAX_EMBARGO_DAYS) {
        return Err(EmbargoError::TooFar);
    }
    if previous == Some(ends_at) {
        return Err(EmbargoError::Unchanged);
    }
    Ok(())
}

/// A vendor's declared embargo period: between 1 and `MAX_EMBARGO_DAYS` days.
pub fn valid_embargo_days(days: i64) -> bool {
    (1..=MAX_EMBARGO_DAYS).contains(&days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseState::*;

    /// Every state × every target: `+` allowed, else the refusal's kind.
    #[test]
    fn every_move_is_allowed_or_refused_with_its_reason() {
        // Columns: targets in `CaseState::ALL` order: new triaged notified fix_in_progress fixed published
        // rejected duplicate. `=` same, `F` final, `B` backward, `T` triage first, `N` notify first.
        let table = [
            (New, "=  +  T  T  T  T  +  +"),
            (Triaged, "B  =  +  N  N  +  +  +"),
            (VendorsNotified, "B  B  =  +  +  +  +  +"),
            (FixInProgress, "B  B  B  =  +  +  +  +"),
            (Fixed, "B  B  B  B  =  +  +  +"),
            (Published, "F  F  F  F  F  F  F  F"),
            (Rejected, "F  F  F  F  F  F  F  F"),
            (Duplicate, "F  F  F  F  F  F  F  F"),
        ];
        assert_eq!(table.len(), CaseState::ALL.len());
        for (from, row) in table {
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cells.len(), CaseState::ALL.len(), "{from:?}");
            for (to, cell) in CaseState::ALL.into_iter().zip(cells) {
                let got = match check_transition(from, to) {
                    Ok(()) => "+",
                    Err(TransitionError::Same(_)) => "=",
                    Err(TransitionError::Final(_)) => "F",
                    Err(TransitionError::Backward { .. }) => "B",
                    Err(TransitionError::TriageFirst) => "T",
                    Err(TransitionError::NotifyFirst) => "N",
                };
                assert_eq!(got, cell, "{from:?} → {to:?}");
            }
        }
    }

    #[test]
    fn refusals_read_as_sentences_with_human_labels() {
        let cases = [
            (Published, Triaged, "the case is published, which is final"),
            (Fixed, Triaged, "a case does not go back from fixed to triaged"),
            (New, Fixed, "a new case is triaged first"),
            (
                Triaged,
                Fixed,
                "the vendors are notified before a fix is under way",
            ),
            (
                VendorsNotified,
                VendorsNotified,
                "the case is vendors notified already",
            ),
        ];
        for (from, to, text) in cases {
            assert_eq!(check_transition(from, to).unwrap_err().to_string(), text);
        }
    }

    #[test]
    fn closed_sets_read_back_and_refuse_others() {
        for state in CaseState::ALL {
            assert_eq!(CaseState::parse(state.as_str()), Ok(state));
            assert!(!state.label().contains('_'));
        }
        for status in VendorStatus::ALL {
            assert_eq!(VendorStatus::parse(status.as_str()), Ok(status));
            assert!(!status.label().contains('_'));
        }
        for role in ParticipantRole::ALL {
            assert_eq!(ParticipantRole::parse(role.as_str()), Ok(role));
        }
        for bad in ["", "Published", "vendors notified", "fixed "] {
            assert!(CaseState::parse(bad).is_err(), "{bad:?}");
        }
        assert!(VendorStatus::parse("unknown").is_err());
        assert!(ParticipantRole::parse("admin").is_err());
    }

    #[test]
    fn the_embargo_is_the_longest_vendor_period_or_the_default_and_is_bounded() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let day = Duration::days(1);
        let cases: [(&[Option<i64>], Duration); 6] = [
            (&[], day * 90),
            (&[None, None], day * 90),
            (&[Some(45)], day * 45),
            (&[Some(45), None, Some(120)], day * 120),
            (&[Some(4000)], Duration::days(MAX_EMBARGO_DAYS)),
            (&[Some(0)], day),
        ];
        for (vendors, after) in cases {
            assert_eq!(default_embargo(now, vendors), now + after, "{vendors:?}");
        }
        let limit = now + Duration::days(MAX_EMBARGO_DAYS);
        let checks = [
            (now - day, None, Err(EmbargoError::NotFuture)),
            (now, None, Err(EmbargoError::NotFuture)),
            (now + Duration::seconds(1), None, Ok(())),
            (limit, None, Ok(())),
            (limit + Duration::seconds(1), None, Err(EmbargoError::TooFar)),
            (now + day, Some(now + day), Err(EmbargoError::Unchanged)),
            (now + day, Some(now + day * 2), Ok(())),
        ];
        for (at, previous, expected) in checks {
            assert_eq!(check_embargo(now, previous, at), expected, "{at}");
        }
        assert!(valid_embargo_days(1) && valid_embargo_days(MAX_EMBARGO_DAYS));
        assert!(!valid_embargo_days(0) && !valid_embargo_days(MAX_EMBARGO_DAYS + 1));
    }
}
