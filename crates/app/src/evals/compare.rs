//! A run's results read one item at a time (a sample's page, evidence in a finding), and two runs compared on
//! the samples they share: items matched by (sample id, epoch), the paired difference of their scores with its
//! interval (`evals::metrics::paired`), and the items whose scores differ, page by page.

use super::runs::{EvalRunView, MAX_ITEMS, decompress, internal};
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller};
use evals::metrics::{Paired, paired};
use evals::runner::SampleRecord;
use evals::sample::Sample;
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The most items of each run a comparison reads (every item of the largest run there can be).
pub const MAX_COMPARED: usize = MAX_ITEMS;

/// One sample's epoch: the sample as the run was given it, and what its epoch came to.
#[derive(Debug, Clone, Serialize)]
pub struct EvalSampleView {
    pub run: EvalRunView,
    pub sample_index: i32,
    pub epoch: i32,
    pub sample: Sample,
    pub value: Option<f64>,
    pub error: Option<String>,
    pub record: SampleRecord,
}

/// An item both runs recorded, with each run's value (none for an error) and B − A when both scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedItem {
    pub sample_id: String,
    pub epoch: i32,
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub difference: Option<f64>,
}

/// Two runs compared on the items both scored.
#[derive(Debug, Clone, Serialize)]
pub struct EvalComparison {
    pub a: EvalRunView,
    pub b: EvalRunView,
    /// The paired statistics over the items both runs scored; absent when they share none.
    pub paired: Option<Paired>,
    /// Items recorded by one run only (a sample or epoch the other does not have, or has not reached yet).
    pub only_in_a: usize,
    pub only_in_b: usize,
    /// Items both recorded where one of them erred: left out of the statistics.
    pub errored: usize,
    /// The items both recorded whose scores differ (or that one run erred on), in (sample id, epoch) order.
    pub differing: Paged<ComparedItem>,
}

type Values = BTreeMap<(String, i32), Option<f64>>;

impl App {
    /// A run as its page and its citations show it: progress, without the task's full results.
    pub async fn get_eval_run_brief(&self, caller: &Caller, id: Uuid) -> AppResult<EvalRunView> {
        Ok(self.visible_eval_run(caller, id).await?.into())
    }

    /// One sample's epoch of a run the caller may see: the same 404 when the run is hidden, the sample is not
    /// in it, or the epoch is not recorded (yet).
    pub async fn get_eval_sample(
        &self,
        caller: &Caller,
        run_id: Uuid,
        sample_id: &str,
        epoch: i32,
    ) -> AppResult<EvalSampleView> {
        let run = self.visible_eval_run(caller, run_id).await?;
        let samples = self.run_samples(run_id).await.map_err(internal)?;
        let missing = || AppError::NotFound("evaluation sample");
        let (index, sample) = samples
            .into_iter()
            .enumerate()
            .find(|(_, s)| s.id.to_string() == sample_id)
            .ok_or_else(missing)?;
        let index = i32::try_from(index).map_err(|_| missing())?;
        let row = self
            .store
            .eval_result(run_id, index, epoch)
            .await?
            .ok_or_else(missing)?;
        let bytes = decompress(&row.record).map_err(internal)?;
        let record: SampleRecord = serde_json::from_slice(&bytes).map_err(|e| internal(e.to_string()))?;
        Ok(EvalSampleView {
            run: run.into(),
            sample_index: row.sample_index,
            epoch: row.epoch,
            sample,
            value: row.value,
            error: row.error,
            record,
        })
    }

    async fn result_values(&self, run_id: Uuid) -> AppResult<Values> {
        let limit = i64::try_from(MAX_COMPARED).unwrap_or(i64::MAX);
        let rows = self.store.eval_result_values(run_id, limit).await?;
        Ok(rows
            .into_iter()
            .map(|(sample_id, epoch, value)| ((sample_id, epoch), value))
            .collect())
    }

    /// Runs `a` and `b` compared item by item; both must be visible to the caller, else 404.
    pub async fn compare_eval_runs(
        &self,
        caller: &Caller,
        a: Uuid,
        b: Uuid,
        page: &PageRequest,
    ) -> AppResult<EvalComparison> {
        let run_a = self.visible_eval_run(caller, a).await?;
        let run_b = self.visible_eval_run(caller, b).await?;
        let limit = page.limit()?;
        let offset = page.after(|s| s.parse::<usize>().ok())?.unwrap_or(0);
        let values_a = self.result_values(a).await?;
        let values_b = self.result_values(b).await?;
        let (comparison, differing) = compare(&values_a, &values_b);
        let rows: Vec<(usize, ComparedItem)> = differing
            .into_iter()
            .enumerate()
            .skip(offset)
            .take(usize::try_from(limit).unwrap_or(0).saturating_add(1))
            .map(|(i, item)| (i + 1, item))
            .collect();
        Ok(EvalComparison {
            a: run_a.into(),
            b: run_b.into(),
            paired: comparison.paired,
            only_in_a: comparison.only_in_a,
            only_in_b: comparison.only_in_b,
            errored: comparison.errored,
            differing: paginate(rows, limit, |(next, _)| next.to_string(), |(_, item)| item),
        })
    }
}

struct Counts {
    paired: Option<Paired>,
    only_in_a: usize,
    only_in_b: usize,
    errored: usize,
}

/// Matches the items of two runs and computes what a comparison states.
fn compare(a: &Values, b: &Values) -> (Counts, Vec<ComparedItem>) {
    let mut pairs = Vec::new();
    let mut differing = Vec::new();
    let mut errored = 0;
    for ((sample_id, epoch), value_a) in a {
        let Some(value_b) = b.get(&(sample_id.clone(), *epoch)) else {
            continue;
        };
        let difference = match (value_a, value_b) {
            (Some(x), Some(y)) => {
                pairs.push((*x, *y));
                Some(y - x)
            }
            _ => {
                errored += 1;
                None
            }
        };
        if value_a != value_b {
            differing.push(ComparedItem {
                sample_id: sample_id.clone(),
                epoch: *epoch,
                a: *value_a,
                b: *value_b,
                difference,
            });
        }
    }
    let shared = a.keys().filter(|k| b.contains_key(*k)).count();
    (
        Counts {
            paired: paired(&pairs),
            only_in_a: a.len() - shared,
            only_in_b: b.len() - shared,
            errored,
        },
        differing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(items: &[(&str, i32, Option<f64>)]) -> Values {
        items
            .iter()
            .map(|(id, epoch, v)| (((*id).to_owned(), *epoch), *v))
            .collect()
    }

    #[test]
    fn items_are_matched_by_sample_and_epoch() {
        let a = values(&[
            ("q1", 1, Some(1.0)),
            ("q1", 2, Some(0.0)),
            ("q2", 1, Some(0.0)),
            ("q3", 1, None),
            ("only-a", 1, Some(1.0)),
        ]);
        let b = values(&[
            ("q1", 1, Some(1.0)),
            ("q1", 2, Some(1.0)),
            ("q2", 1, Some(0.0)),
            ("q3", 1, Some(1.0)),
            ("only-b", 1, Some(0.0)),
            ("only-b", 2, Some(0.0)),
        ]);
        let (counts, differing) = compare(&a, &b);
        let p = counts.paired.unwrap();
        assert_eq!(p.n, 3);
        assert_eq!((p.both_right, p.only_a, p.only_b, p.both_wrong), (1, 0, 1, 1));
        assert_eq!((counts.only_in_a, counts.only_in_b, counts.errored), (1, 2, 1));
        let listed: Vec<(&str, i32, Option<f64>)> = differing
            .iter()
            .map(|d| (d.sample_id.as_str(), d.epoch, d.difference))
            .collect();
        assert_eq!(listed, [("q1", 2, Some(1.0)), ("q3", 1, None)]);
        // No overlap: nothing paired, everything on one side.
        let (counts, differing) = compare(&values(&[("x", 1, Some(1.0))]), &values(&[("y", 1, Some(1.0))]));
        assert!(counts.paired.is_none() && differing.is_empty());
        assert_eq!((counts.only_in_a, counts.only_in_b), (1, 1));
    }
}
