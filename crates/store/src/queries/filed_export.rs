//! The STIX objects of a group of reports just filed, and of the cases they are in, written in the filing's
//! transaction (`queries/intake.rs` files the group; `queries/taxii.rs` writes the objects). Compiled once for
//! each backend like every file of `queries/`.

use super::Db;
use crate::Result;
use crate::reports::{Decide, Filed, FiledExport, Intake, LimitReached};
use clearinghouse::tlp::Tlp;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

/// Writes the STIX objects of the reports just filed and of the current versions of the cases they are in,
/// made by `export`: each case read once, with the reports its object lists (those whose marking the policy
/// lets an object of the case's marking carry, the first `CASE_EXPORT_REPORTS` by id), in two statements.
pub(super) async fn export_filed(
    tx: &mut Conn,
    batch: &[(&Intake, &Decide<'_>)],
    filed: &[std::result::Result<Filed, LimitReached>],
    export: &dyn FiledExport,
) -> Result<()> {
    let mut exports: Vec<(Vec<crate::StixObjectRow>, i64)> = Vec::with_capacity(filed.len() * 2);
    let mut cases: Vec<Uuid> = Vec::new();
    for (at, (f, (intake, _))) in filed.iter().zip(batch).enumerate() {
        let Ok(f) = f else {
            continue;
        };
        exports.push((export.report_rows(at, f), intake.report.version));
        if let Some(case) = f.case_id.filter(|c| !cases.contains(c)) {
            cases.push(case);
        }
    }
    if !cases.is_empty() {
        let mut q = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT {} FROM cases c WHERE c.id IN (",
            super::cases::CASE_COLUMNS
        ));
        let mut list = q.separated(", ");
        for id in &cases {
            list.push_bind(*id);
        }
        q.push(") ORDER BY c.id");
        let rows: Vec<crate::CaseRow> = q.build_query_as().fetch_all(&mut *tx).await?;
        // The policy's rule, for every marking a case may have, compiled into the query.
        let carried: Vec<String> = Tlp::ALL
            .iter()
            .map(|case| {
                format!(
                    "(c.tlp = '{}' AND {})",
                    case.as_str(),
                    crate::tlp::marking_in("x.tlp", export.carried(*case))
                )
            })
            .collect();
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "SELECT case_id, id FROM (SELECT x.case_id, x.id, ROW_NUMBER() OVER (PARTITION BY x.case_id \
             ORDER BY x.id) AS n FROM reports x JOIN cases c ON c.id = x.case_id WHERE x.kind = 'vulnerability' \
             AND x.case_id IN (",
        );
        let mut list = q.separated(", ");
        for id in &cases {
            list.push_bind(*id);
        }
        q.push(format!(") AND ({})) t WHERE n <= ", carried.join(" OR ")));
        q.push_bind(crate::reports::CASE_EXPORT_REPORTS);
        q.push(" ORDER BY case_id, id");
        let listed: Vec<(Uuid, Uuid)> = q.build_query_as().fetch_all(&mut *tx).await?;
        let mut of_case: std::collections::HashMap<Uuid, Vec<Uuid>> = std::collections::HashMap::new();
        for (case, report) in listed {
            of_case.entry(case).or_default().push(report);
        }
        for case in &rows {
            let reports = of_case.remove(&case.id).unwrap_or_default();
            exports.push((export.case_rows(case, reports), case.version));
        }
    }
    let exports: Vec<(&[crate::StixObjectRow], i64)> = exports
        .iter()
        .map(|(rows, version)| (rows.as_slice(), *version))
        .collect();
    super::taxii::write_export(&mut *tx, &exports).await?;
    Ok(())
}
