//! Persistence of the gateway's limits, which every server process over the database shares: per-minute budgets
//! that processes lease shares of, and the concurrency slots each process holds.
//!
//! The rules (lease sizes, when to lease, what a budget's numbers mean) live in `gateway::limits`; here is only
//! the SQL, shared by both backends like `gateway_sql_store!`. A lease is one atomic upsert; taking
//! concurrency slots is a short transaction that first locks the budget's row, so that two processes never both
//! see room for the last slot.

use crate::Result;
use async_trait::async_trait;
use uuid::Uuid;

/// Whose budget: an evaluator's (all their gateway tokens together) or an agency's (all its evaluators).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BudgetScope {
    Evaluator,
    Agency,
}

impl BudgetScope {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetScope::Evaluator => "evaluator",
            BudgetScope::Agency => "agency",
        }
    }
}

/// One budget: a connection and an evaluator (the person's id) or an agency (the organisation's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BudgetKey {
    pub connection_id: Uuid,
    pub scope: BudgetScope,
    pub subject_id: Uuid,
}

/// One per-minute budget's part of a lease, in the units of `gateway::limits::RateLease`: the cost of one unit
/// in nanoseconds, how many units are wanted, and the balance given back (positive: unused units; negative:
/// units used beyond earlier grants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStep {
    pub unit_ns: i64,
    pub want: i64,
    pub balance: i64,
}

/// A budget's state after a lease: each rate's theoretical arrival time and what the lease granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct BudgetState {
    pub requests_tat_ns: i64,
    pub tokens_tat_ns: i64,
    pub requests_granted: i64,
    pub tokens_granted: i64,
}

/// A lease of requests and tokens from one budget at `now_ns`. `fresh` is the state to write when the budget
/// has no row yet (computed by the same rule from a full budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLease {
    pub key: BudgetKey,
    pub now_ns: i64,
    pub requests: RateStep,
    pub tokens: RateStep,
    pub fresh: BudgetState,
}

/// The concurrency slots a process (`holder`) wants to hold of a budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotLease {
    pub key: BudgetKey,
    pub holder: String,
    pub target: i64,
    pub limit: i64,
    pub now_ms: i64,
    pub expires_ms: i64,
}

#[async_trait]
pub trait LimitStore: Send + Sync + 'static {
    /// Leases from a budget in one atomic statement: refills it to now, takes back the balance, grants what
    /// is wanted as far as the budget allows, and returns its new state.
    async fn lease_budget(&self, lease: &BudgetLease) -> Result<BudgetState>;
    /// Raises the holder's slots towards `target`, as far as the slots other holders have not let expire leave
    /// room under `limit`; returns the slots it now holds.
    async fn acquire_slots(&self, lease: &SlotLease) -> Result<i64>;
    /// Lowers the holder's slots to `target` (zero: gives them all back).
    async fn release_slots(&self, lease: &SlotLease) -> Result<()>;
    /// Extends every slot the holder holds until `expires_ms` (now: lets them all go, as a process that stops
    /// does).
    async fn renew_slots(&self, holder: &str, expires_ms: i64) -> Result<u64>;
}

/// The SQL of one per-minute budget in a lease, as fragments that `lease_sql!` assembles. `$4` is now; the
/// column holds the theoretical arrival time; the unit cost, the wanted units and the balance are parameters.
/// It mirrors `gateway::limits::RateLease::apply` step by step (a test holds them equal on both backends):
/// the time is clamped to [now, now + an hour], the balance moves it, it never falls before now (a budget
/// is never fuller than full), and as many units are granted as fit before now + a minute.
macro_rules! base_tat {
    ($col:literal, $unit:literal, $balance:literal) => {
        concat!(
            "(CASE WHEN ",
            shifted_tat!($col, $unit, $balance),
            " > $4 THEN ",
            shifted_tat!($col, $unit, $balance),
            " ELSE $4 END)"
        )
    };
}

macro_rules! shifted_tat {
    ($col:literal, $unit:literal, $balance:literal) => {
        concat!(
            "((CASE WHEN b.",
            $col,
            " > $4 + 3600000000000 THEN $4 + 3600000000000 WHEN b.",
            $col,
            " > $4 THEN b.",
            $col,
            " ELSE $4 END) - ",
            $balance,
            " * ",
            $unit,
            ")"
        )
    };
}

macro_rules! room {
    ($col:literal, $unit:literal, $balance:literal) => {
        concat!("($4 + 60000000000 - ", base_tat!($col, $unit, $balance), ")")
    };
}

macro_rules! granted {
    ($col:literal, $unit:literal, $want:literal, $balance:literal) => {
        concat!(
            "(CASE WHEN ",
            room!($col, $unit, $balance),
            " < ",
            $unit,
            " THEN 0 WHEN ",
            room!($col, $unit, $balance),
            " / ",
            $unit,
            " < ",
            $want,
            " THEN ",
            room!($col, $unit, $balance),
            " / ",
            $unit,
            " ELSE ",
            $want,
            " END)"
        )
    };
}

macro_rules! lease_sql {
    () => {
        concat!(
            "INSERT INTO gateway_budgets AS b (connection_id, scope, subject_id, requests_tat_ns, tokens_tat_ns, \
             requests_granted, tokens_granted) VALUES ($1, $2, $3, $11, $12, $13, $14) \
             ON CONFLICT (connection_id, scope, subject_id) DO UPDATE SET requests_tat_ns = ",
            base_tat!("requests_tat_ns", "$5", "$7"),
            " + ",
            granted!("requests_tat_ns", "$5", "$6", "$7"),
            " * $5, requests_granted = ",
            granted!("requests_tat_ns", "$5", "$6", "$7"),
            ", tokens_tat_ns = ",
            base_tat!("tokens_tat_ns", "$8", "$10"),
            " + ",
            granted!("tokens_tat_ns", "$8", "$9", "$10"),
            " * $8, tokens_granted = ",
            granted!("tokens_tat_ns", "$8", "$9", "$10"),
            " RETURNING requests_tat_ns, tokens_tat_ns, requests_granted, tokens_granted"
        )
    };
}

/// The statement of a lease (also for tests that read it).
pub const LEASE_SQL: &str = lease_sql!();
