//! A vendor's disclosure policy, set by its admins: the embargo it asks for, whether it treats AI-found
//! reports as public, whether it requires a tested reproducer before it is notified, the pace of reports it
//! accepts, and the products it answers for (purl or CPE prefixes, matched at triage).

use super::invalid;
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use clearinghouse::case::{MAX_EMBARGO_DAYS, valid_embargo_days};
use clearinghouse::product::ProductPrefix;
use serde::Serialize;
use serde_json::json;
use store::{Json, VendorPolicy};
use uuid::Uuid;

/// The most product prefixes a policy names, and the fastest pace it may declare.
pub const MAX_PRODUCTS: usize = 100;
pub const MAX_REPORTS_PER_DAY: i64 = 100_000;

/// A policy as given.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    pub embargo_days: Option<i64>,
    pub ai_found_public: bool,
    pub require_reproducer: bool,
    pub reports_per_day: Option<i64>,
    pub products: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VendorPolicyView {
    pub org_id: Uuid,
    pub embargo_days: Option<i32>,
    pub ai_found_public: bool,
    pub require_reproducer: bool,
    pub reports_per_day: Option<i32>,
    pub products: Vec<String>,
    /// `None` until the policy is first set (the defaults then apply).
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<VendorPolicy> for VendorPolicyView {
    fn from(p: VendorPolicy) -> Self {
        VendorPolicyView {
            org_id: p.org_id,
            embargo_days: p.embargo_days,
            ai_found_public: p.ai_found_public,
            require_reproducer: p.require_reproducer,
            reports_per_day: p.reports_per_day,
            products: p.products.0,
            updated_at: Some(p.updated_at),
        }
    }
}

fn check(caller: &Caller) -> AppResult<()> {
    if policy::can_manage_vendor_policy(caller) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the admins of a vendor organisation manage its disclosure policy",
        ))
    }
}

impl App {
    /// The caller's vendor organisation's policy (the defaults when never set).
    pub async fn vendor_policy(&self, caller: &Caller) -> AppResult<VendorPolicyView> {
        check(caller)?;
        Ok(match self.store.get_vendor_policy(caller.org_id()).await? {
            Some(p) => p.into(),
            None => VendorPolicyView {
                org_id: caller.org_id(),
                embargo_days: None,
                ai_found_public: false,
                require_reproducer: false,
                reports_per_day: None,
                products: Vec::new(),
                updated_at: None,
            },
        })
    }

    pub async fn set_vendor_policy(
        &self,
        caller: &Caller,
        input: PolicyInput,
    ) -> AppResult<VendorPolicyView> {
        check(caller)?;
        let embargo_days = match input.embargo_days {
            None => None,
            Some(d) if valid_embargo_days(d) => i32::try_from(d).ok(),
            Some(_) => {
                return Err(invalid(
                    "embargo_days",
                    format!("must be between 1 and {MAX_EMBARGO_DAYS}"),
                ));
            }
        };
        let reports_per_day = match input.reports_per_day {
            None => None,
            Some(n) if (1..=MAX_REPORTS_PER_DAY).contains(&n) => i32::try_from(n).ok(),
            Some(_) => {
                return Err(invalid(
                    "reports_per_day",
                    format!("must be between 1 and {MAX_REPORTS_PER_DAY}"),
                ));
            }
        };
        if input.products.len() > MAX_PRODUCTS {
            return Err(invalid("products", format!("at most {MAX_PRODUCTS} prefixes")));
        }
        let mut products = Vec::new();
        for (i, prefix) in input.products.iter().enumerate() {
            ProductPrefix::parse(prefix).map_err(|e| invalid(format!("products[{i}]"), e.to_string()))?;
            let prefix = prefix.trim().to_owned();
            if !products.contains(&prefix) {
                products.push(prefix);
            }
        }
        let row = VendorPolicy {
            org_id: caller.org_id(),
            embargo_days,
            ai_found_public: input.ai_found_public,
            require_reproducer: input.require_reproducer,
            reports_per_day,
            products: Json(products),
            updated_at: self.clock.now(),
        };
        let event = self.event(
            caller.into(),
            "vendor_policy.update",
            "organization",
            Some(caller.org_id()),
            json!({
                "embargo_days": row.embargo_days, "ai_found_public": row.ai_found_public,
                "require_reproducer": row.require_reproducer, "reports_per_day": row.reports_per_day,
                "products": row.products.0,
            }),
        );
        self.store.put_vendor_policy(&row, &event).await?;
        Ok(row.into())
    }
}
