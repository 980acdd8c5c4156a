//! Intake of reports, compiled once for each backend like every file of `queries/`: the transaction that files a
//! report (`file_in`: key locks, intake counters, the candidate search, the case it opens or joins, its rows and
//! events) and the statements it shares with the rest of `ReportStore` (`queries/reports.rs`) and TAXII posts.

use super::writes::{Writes, insert_values};
use super::{Db, This};
use crate::Result;
use crate::dedup_index::{DedupIndex, DedupRow};
use crate::reports::{
    Candidate, CandidateSearch, Decide, Filed, Intake, LimitReached, NewCase, Report, ReportAffected,
};
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use sqlx::types::Json;
use uuid::Uuid;

type Conn = <Db as sqlx::Database>::Connection;

/// A case to insert, with the reference taken for it and the CVE id it holds, if any.
pub(super) struct CaseInsert<'a> {
    pub case: &'a NewCase,
    pub reference: String,
    pub tlp: Tlp,
    pub created_by: Uuid,
    pub at: DateTime<Utc>,
    pub cve: Option<&'a str>,
}

/// Opens a case in state `new`.
pub(super) async fn insert_case(
    conn: &mut Conn,
    case: &NewCase,
    tlp: Tlp,
    created_by: Uuid,
    at: DateTime<Utc>,
) -> Result<String> {
    let reference = super::cases::case_reference(conn, case.year).await?;
    let row = CaseInsert {
        case,
        reference,
        tlp,
        created_by,
        at,
        cve: None,
    };
    insert_cases(conn, std::slice::from_ref(&row)).await?;
    Ok(row.reference)
}

/// Opens cases in state `new`, with the references taken for them.
pub(super) async fn insert_cases(conn: &mut Conn, cases: &[CaseInsert<'_>]) -> Result<()> {
    insert_values(
        conn,
        "INSERT INTO cases (id, reference, title, summary, state, tlp, sectors, created_by, created_at, \
         modified_at, version, cve) ",
        "",
        cases,
        9,
        |mut row, c| {
            row.push_bind(c.case.id)
                .push_bind(c.reference.clone())
                .push_bind(c.case.title.clone())
                .push("''")
                .push("'new'")
                .push_bind(c.tlp.as_str())
                .push_bind(Json(c.case.sectors.clone()))
                .push_bind(c.created_by)
                .push_bind(c.at)
                .push_bind(c.at)
                .push("1")
                .push_bind(c.cve.map(str::to_owned));
        },
    )
    .await
}

/// A case participant to add: (case, organisation, role, when, notified).
pub(super) type ParticipantInsert<'a> = (Uuid, Uuid, &'a str, DateTime<Utc>, bool);

/// Makes an organisation a participant of a case (nothing when it already is one), notified now when
/// `notified`: a notified participant reads the case's objects under embargo.
pub(super) async fn add_participant(
    conn: &mut Conn,
    case: Uuid,
    org: Uuid,
    role: &str,
    at: DateTime<Utc>,
    notified: bool,
) -> Result<()> {
    add_participants(conn, &[(case, org, role, at, notified)]).await
}

/// `add_participant` for several at once; the first of a case and organisation counts.
pub(super) async fn add_participants(conn: &mut Conn, rows: &[ParticipantInsert<'_>]) -> Result<()> {
    let mut writes = Writes::default();
    participants_into(&mut writes, rows);
    writes.run(conn).await
}

/// `add_participants`, written with `writes`.
fn participants_into(writes: &mut Writes, rows: &[ParticipantInsert<'_>]) {
    let mut seen = std::collections::HashSet::new();
    let rows: Vec<&ParticipantInsert<'_>> = rows.iter().filter(|r| seen.insert((r.0, r.1))).collect();
    writes.values(
        "INSERT INTO case_participants (case_id, org_id, role, added_at, notified_at) ",
        " ON CONFLICT (case_id, org_id) DO NOTHING",
        &rows,
        5,
        |mut row, (case, org, role, at, notified)| {
            row.push_bind(*case)
                .push_bind(*org)
                .push_bind(role.to_string())
                .push_bind(*at)
                .push_bind(notified.then_some(*at));
        },
    );
}

/// Names people for objects (TLP:RED): (object, person) pairs.
fn people_into(writes: &mut Writes, pairs: &[(Uuid, Uuid)]) {
    writes.values(
        "INSERT INTO tlp_people (object_id, user_id) ",
        " ON CONFLICT DO NOTHING",
        pairs,
        2,
        |mut row, (object, person)| {
            row.push_bind(*object).push_bind(*person);
        },
    );
}

/// The advisory lock every intake holds on PostgreSQL (`lock_intake`).
const INTAKE_LOCK: i64 = 0x5052_454C_494E_5441;

/// Serialises intakes, so that each sees every report filed before it as a candidate and numbers its
/// fingerprints after the highest stored (the dedup index's catch-up relies on both, `dedup_index`). PostgreSQL:
/// one transaction-scoped advisory lock, taken first, held to the commit (each statement of a READ COMMITTED
/// transaction then reads what was committed before it began). SQLite: nothing to do, `BEGIN IMMEDIATE`
/// already serialises every writer. Within a process the intake queue files one group at a time anyway; the
/// lock orders imports, TAXII posts and other processes with it.
pub(super) async fn lock_intake(conn: &mut Conn) -> Result<()> {
    if This::BACKEND == crate::Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(INTAKE_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// How one report of a group ends up: the case it joins or opens, as intake decided.
enum Outcome<'a> {
    /// Joins the case `case` (a duplicate of `of` with `score`, when one is named).
    Joined {
        case: Uuid,
        of: Option<Uuid>,
        score: f64,
    },
    /// Opens a case.
    Opened(&'a NewCase),
    /// Neither (threat reports).
    NoCase,
}

/// One accepted report of a group, decided.
struct Decided<'a> {
    /// Its place in the group.
    at: usize,
    intake: &'a Intake,
    outcome: Outcome<'a>,
    /// The CVE id of an imported report, when its case takes it (a case it opens) or holds it.
    cve: Option<String>,
    listed: Vec<(Uuid, Option<Uuid>, f64)>,
    dedup: std::time::Duration,
}

impl Decided<'_> {
    fn case(&self) -> Option<Uuid> {
        match &self.outcome {
            Outcome::Joined { case, .. } => Some(*case),
            Outcome::Opened(new_case) => Some(new_case.id),
            Outcome::NoCase => None,
        }
    }
}

/// The fingerprint rows a group wrote, numbered after `after`: what the dedup index learns once the group's
/// transaction has committed (`DedupIndex::learn`), rather than read them back at the next catch-up.
pub(super) struct Learned {
    after: i64,
    rows: Vec<DedupRow>,
}

impl Learned {
    /// The transaction committed: the index learns its rows.
    pub(super) fn committed(self, index: &DedupIndex) {
        index.learn(self.after, &self.rows);
    }
}

/// ` WHEN <case> THEN <value>` for each pair, inside a `CASE id`.
fn when_then<T>(q: &mut sqlx::QueryBuilder<'static, Db>, pairs: impl Iterator<Item = (Uuid, T)>)
where
    T: 'static + Send + sqlx::Encode<'static, Db> + sqlx::Type<Db>,
{
    for (case, value) in pairs {
        q.push(" WHEN ");
        q.push_bind(case);
        q.push(" THEN ");
        q.push_bind(value);
    }
}

/// One report of a group with its candidates ranked (`Decider::rank`): its place in the group, the ranked
/// candidates, and the time ranking them took.
type Ranked = (usize, Vec<(Uuid, f64)>, std::time::Duration);

/// A fingerprint as intake stores it: its bytes, exact keys and band keys.
type KeyedFingerprint = (Vec<u8>, Vec<i64>, Vec<i64>);

/// Whether two fingerprints share an exact key or a band key (the same band's).
fn share_a_key(a: &KeyedFingerprint, b: &KeyedFingerprint) -> bool {
    a.1.iter().any(|k| b.1.contains(k)) || a.2.iter().zip(&b.2).any(|(x, y)| x == y)
}

/// Files a group of reports inside the caller's transaction, in order, as `ReportStore::file_report` files one:
/// each report is checked against its intake counters (one refused takes none and leaves the others filed),
/// compared with the stored reports sharing a key and with the group's reports before it, then joins a case or
/// opens one. The statements are per group, not per report: the intake lock (PostgreSQL), the counters (three),
/// the dedup index's catch-up (one), the candidates' fingerprints and products (two, for those not held), the
/// cases of the candidates that rank (one), the cases joined (one), the case numbers (one a year), the
/// ledger's append, and one multi-row `INSERT` per table. The caller writes the STIX objects of the reports
/// filed (`filed_export::export_filed`) when it keeps them, commits, and then has the dedup index learn the
/// group's fingerprints (`Learned::committed`).
pub(super) async fn file_group(
    tx: &mut Conn,
    index: &DedupIndex,
    cache: &crate::candidate_cache::CandidateCache,
    batch: &[(&Intake, &Decide<'_>)],
) -> Result<(Vec<std::result::Result<Filed, LimitReached>>, Learned)> {
    let intakes: Vec<&Intake> = batch.iter().map(|(intake, _)| *intake).collect();
    // The intake lock first (PostgreSQL; SQLite took its write lock at `BEGIN IMMEDIATE`), then the counters,
    // then the dedup index's catch-up, which then reads every fingerprint there is.
    lock_intake(&mut *tx).await?;
    let refused = super::intake_counters::take_counts(&mut *tx, &intakes).await?;
    // Deduplication's time (`Filed::dedup`) starts here: the counters are the limits', not the search's.
    let started = std::time::Instant::now();
    let mark = super::candidates::catch_up(&mut *tx, index).await?;
    let accepted: Vec<usize> = refused
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.is_none().then_some(i))
        .collect();
    let searched: Vec<(usize, CandidateSearch<'_>)> = accepted
        .iter()
        .filter_map(|i| {
            let intake = *intakes.get(*i)?;
            intake.fingerprint.as_ref().map(|(_, keys, bands)| {
                (
                    *i,
                    CandidateSearch {
                        keys,
                        bands,
                        band_limit: intake.band_limit,
                        candidate_limit: intake.candidate_limit,
                    },
                )
            })
        })
        .collect();
    let searches: Vec<CandidateSearch<'_>> = searched.iter().map(|(_, s)| *s).collect();
    let mut stored: std::collections::HashMap<usize, Vec<Candidate>> = searched
        .iter()
        .map(|(i, _)| *i)
        .zip(super::candidates::candidates_of(&mut *tx, index, cache, &searches).await?)
        .collect();
    let searching = started.elapsed();
    // Each report's candidates ranked, in filing order: the stored reports found, and the group's reports
    // before it that share a key with it (the newest first).
    let mut ranks: Vec<Ranked> = Vec::with_capacity(accepted.len());
    for (n, &i) in accepted.iter().enumerate() {
        let Some(&(intake, decide)) = batch.get(i) else {
            continue;
        };
        let own = std::time::Instant::now();
        let mut found = stored.remove(&i).unwrap_or_default();
        if let Some(fingerprint) = &intake.fingerprint {
            for before in accepted.iter().take(n).rev().filter_map(|j| intakes.get(*j)) {
                if let Some(theirs) = before
                    .fingerprint
                    .as_ref()
                    .filter(|f| share_a_key(fingerprint, f))
                {
                    found.push(Candidate {
                        report_id: before.report.id,
                        fingerprint: theirs.0.clone(),
                        affected: before.affected.clone(),
                    });
                }
            }
            found.sort_by_key(|c| std::cmp::Reverse(c.report_id));
            found.dedup_by_key(|c| c.report_id);
            found.truncate(usize::try_from(intake.candidate_limit).unwrap_or(usize::MAX));
        }
        ranks.push((i, decide.rank(&found), own.elapsed()));
    }
    // The cases of the stored reports that rank, in one read (those of the group's own come from its
    // decisions below).
    let in_group: std::collections::HashSet<Uuid> = accepted
        .iter()
        .filter_map(|i| intakes.get(*i).map(|intake| intake.report.id))
        .collect();
    let mut ranked_ids: Vec<Uuid> = ranks
        .iter()
        .flat_map(|(_, ranked, _)| ranked.iter().map(|(id, _)| *id))
        .filter(|id| !in_group.contains(id))
        .collect();
    ranked_ids.sort_unstable();
    ranked_ids.dedup();
    let casing = std::time::Instant::now();
    let stored_cases = super::candidates::cases_of(&mut *tx, &ranked_ids).await?;
    let searching = searching + casing.elapsed();
    let mut decided: Vec<Decided<'_>> = Vec::with_capacity(accepted.len());
    // CVE ids taken by cases this group opens: (case, its first report).
    let mut cves: std::collections::HashMap<String, (Uuid, Uuid)> = std::collections::HashMap::new();
    for (i, ranked, ranking) in ranks {
        let Some(&(intake, decide)) = batch.get(i) else {
            continue;
        };
        let own = std::time::Instant::now();
        // Each with the case it is in now; a report no longer stored is passed over.
        let found: Vec<(Uuid, Option<Uuid>, f64)> = ranked
            .into_iter()
            .filter_map(|(id, score)| {
                let case = if in_group.contains(&id) {
                    decided.iter().find(|d| d.intake.report.id == id)?.case()
                } else {
                    *stored_cases.get(&id)?
                };
                Some((id, case, score))
            })
            .collect();
        let decision = decide.choose(&found);
        let case_of = |id: Uuid| found.iter().find(|c| c.0 == id).and_then(|c| c.1);
        let mut outcome = decision
            .join
            .and_then(|(report, score)| {
                case_of(report).map(|case| Outcome::Joined {
                    case,
                    of: Some(report),
                    score,
                })
            })
            .or_else(|| intake.new_case.as_ref().map(Outcome::Opened))
            .unwrap_or(Outcome::NoCase);
        let mut cve = None;
        if let (Outcome::Opened(_), Some(named)) =
            (&outcome, intake.origin.as_ref().and_then(|o| o.cve.as_deref()))
        {
            // A report naming a CVE id that a case holds is that case's: it joins it, as a duplicate of the
            // case's first report. Otherwise the case it opens takes the id.
            let held = match cves.get(named) {
                Some((case, first)) => Some((*case, Some(*first))),
                None => match sqlx::query_scalar::<_, Uuid>("SELECT id FROM cases WHERE cve = $1")
                    .bind(named)
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(case) => {
                        let first: Option<Uuid> = sqlx::query_scalar(
                            "SELECT id FROM reports WHERE case_id = $1 ORDER BY created_at, id LIMIT 1",
                        )
                        .bind(case)
                        .fetch_optional(&mut *tx)
                        .await?;
                        Some((case, first))
                    }
                    None => None,
                },
            };
            match held {
                Some((case, of)) => {
                    outcome = Outcome::Joined { case, of, score: 1.0 };
                }
                None => {
                    if let Outcome::Opened(new_case) = &outcome {
                        cves.insert(named.to_owned(), (new_case.id, intake.report.id));
                    }
                }
            }
            cve = Some(named.to_owned());
        }
        let listed = decision
            .suggest
            .iter()
            .filter_map(|(candidate, score)| {
                let found = found.iter().find(|c| c.0 == *candidate)?;
                Some((*candidate, found.1, *score))
            })
            .collect();
        decided.push(Decided {
            at: i,
            intake,
            outcome,
            cve,
            listed,
            dedup: searching + ranking + own.elapsed(),
        });
    }
    // What a later search would read of these reports, held now: the reports just filed are the likeliest
    // candidates of those that follow (a flood repeats itself). Held before the commit; a group that rolls back
    // leaves entries that no search finds (the index learns only committed reports) and that age out.
    cache.put(decided.iter().filter_map(|d| {
        let (bytes, _, _) = d.intake.fingerprint.as_ref()?;
        let data = crate::candidate_cache::CandidateData {
            fingerprint: bytes.clone(),
            affected: d.intake.affected.clone(),
        };
        Some((d.intake.report.id, std::sync::Arc::new(data)))
    }));
    // The stored cases joined: their references and CVE ids, in one read.
    let opened: std::collections::HashSet<Uuid> = decided
        .iter()
        .filter_map(|d| match d.outcome {
            Outcome::Opened(c) => Some(c.id),
            _ => None,
        })
        .collect();
    let mut joined_stored: Vec<Uuid> = decided
        .iter()
        .filter_map(|d| match d.outcome {
            Outcome::Joined { case, .. } if !opened.contains(&case) => Some(case),
            _ => None,
        })
        .collect();
    joined_stored.sort_unstable();
    joined_stored.dedup();
    let mut held: std::collections::HashMap<Uuid, (String, Option<String>)> =
        std::collections::HashMap::new();
    if !joined_stored.is_empty() {
        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT id, reference, cve FROM cases WHERE id IN (");
        let mut list = q.separated(", ");
        for id in &joined_stored {
            list.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<(Uuid, String, Option<String>)> = q.build_query_as().fetch_all(&mut *tx).await?;
        held.extend(
            rows.into_iter()
                .map(|(id, reference, cve)| (id, (reference, cve))),
        );
    }
    // The cases opened: their numbers, a run per year.
    let mut inserts: Vec<CaseInsert<'_>> = Vec::new();
    let mut years: Vec<i32> = decided
        .iter()
        .filter_map(|d| match d.outcome {
            Outcome::Opened(c) => Some(c.year),
            _ => None,
        })
        .collect();
    years.sort_unstable();
    years.dedup();
    let mut next: std::collections::HashMap<i32, i64> = std::collections::HashMap::new();
    for year in years {
        let count = decided
            .iter()
            .filter(|d| matches!(d.outcome, Outcome::Opened(c) if c.year == year))
            .count();
        let first =
            super::cases::next_numbers(&mut *tx, "case_numbers", year, i64::try_from(count).unwrap_or(1))
                .await?;
        next.insert(year, first);
    }
    for d in &decided {
        if let Outcome::Opened(c) = d.outcome {
            let n = next.entry(c.year).or_insert(1);
            let r = &d.intake.report;
            let reference = format!("PLC-{}-{n}", c.year);
            *n += 1;
            held.insert(c.id, (reference.clone(), d.cve.clone()));
            inserts.push(CaseInsert {
                case: c,
                reference,
                tlp: r.tlp,
                created_by: r.reporter_id,
                at: r.created_at,
                cve: d.cve.as_deref(),
            });
        }
    }
    // The events: each report's, and its case's (`case.open` or `case.join`, naming the case's reference).
    let mut events = Vec::with_capacity(decided.len() * 2);
    let mut reports = Vec::with_capacity(decided.len());
    for d in &decided {
        events.push(d.intake.event.clone());
        let mut report = d.intake.report.clone();
        if let Outcome::Joined { of, score, .. } = d.outcome {
            report.duplicate_of = of;
            report.duplicate_score = of.map(|_| score);
        }
        report.case_id = d.case();
        if let Some(case) = d.case() {
            let mut event = match d.outcome {
                Outcome::Joined { .. } => d.intake.join_event.clone(),
                _ => d.intake.open_event.clone(),
            };
            event.object_id = Some(case);
            if let Some(details) = event.details.0.as_object_mut() {
                details.insert(
                    "reference".into(),
                    held.get(&case).map(|(reference, _)| reference.clone()).into(),
                );
            }
            events.push(event);
        }
        reports.push(report);
    }
    This::append(&mut *tx, &events).await?;
    insert_cases(&mut *tx, &inserts).await?;
    // On its own, so that its conflict (a finding forwarded twice) is named; the rest read nothing back and
    // go as one batch (`Writes`).
    insert_reports(&mut *tx, &reports).await?;
    let mut writes = Writes::default();
    let mut people = Vec::new();
    for d in &decided {
        let r = &d.intake.report;
        if let Outcome::Opened(c) = d.outcome {
            people.extend(d.intake.people.iter().map(|p| (c.id, *p)));
        }
        people.extend(d.intake.people.iter().map(|p| (r.id, *p)));
    }
    people_into(&mut writes, &people);
    // The organisation that opens a case reads it at once; one whose report joined a case automatically is
    // not notified of the others' reports until a coordinator decides (TLP: a duplicate does not make its
    // finder a recipient of the original).
    let participants: Vec<ParticipantInsert<'_>> = decided
        .iter()
        .filter_map(|d| {
            let r = &d.intake.report;
            let notified = !matches!(d.outcome, Outcome::Joined { .. });
            d.case()
                .map(|case| (case, r.org_id, "reporter", r.created_at, notified))
        })
        .collect();
    participants_into(&mut writes, &participants);
    // Each report joining a case is a change of it: one more version, modified when the report was filed.
    let mut touched: Vec<(Uuid, DateTime<Utc>, i64)> = Vec::new();
    for d in &decided {
        if let Outcome::Joined { case, .. } = d.outcome {
            let at = d.intake.report.created_at;
            match touched.iter_mut().find(|t| t.0 == case) {
                Some(t) => {
                    t.1 = t.1.max(at);
                    t.2 += 1;
                }
                None => touched.push((case, at, 1)),
            }
        }
    }
    if !touched.is_empty() {
        writes.statement(|q| {
            q.push("UPDATE cases SET modified_at = CASE id");
            when_then(q, touched.iter().map(|(case, at, _)| (*case, *at)));
            q.push(" END, version = version + CASE id");
            when_then(q, touched.iter().map(|(case, _, count)| (*case, *count)));
            q.push(" END WHERE id IN (");
            let mut list = q.separated(", ");
            for (case, _, _) in &touched {
                list.push_bind(*case);
            }
            q.push(")");
        });
    }
    let affected: Vec<&ReportAffected> = decided.iter().flat_map(|d| &d.intake.affected).collect();
    writes.values(
        "INSERT INTO report_affected (report_id, idx, product, product_key, versions) ",
        "",
        &affected,
        5,
        |mut row, a| {
            row.push_bind(a.report_id)
                .push_bind(a.idx)
                .push_bind(a.product.clone())
                .push_bind(a.product_key.clone())
                .push_bind(a.versions.clone());
        },
    );
    let origins: Vec<(Uuid, &crate::reports::ReportOrigin)> = decided
        .iter()
        .filter_map(|d| d.intake.origin.as_ref().map(|o| (d.intake.report.id, o)))
        .collect();
    writes.values(
        "INSERT INTO report_origins (report_id, format, document_id, version, cve) ",
        "",
        &origins,
        5,
        |mut row, (id, o)| {
            row.push_bind(*id)
                .push_bind(o.format.clone())
                .push_bind(o.document_id.clone())
                .push_bind(o.version.clone())
                .push_bind(o.cve.clone());
        },
    );
    let fingerprints: Vec<(Uuid, &KeyedFingerprint)> = decided
        .iter()
        .filter_map(|d| d.intake.fingerprint.as_ref().map(|f| (d.intake.report.id, f)))
        .collect();
    // Numbered after the highest stored (`mark`, read under the write lock), in filing order.
    let numbered: Vec<(i64, Uuid, &[u8])> = fingerprints
        .iter()
        .zip(1..)
        .map(|((id, (bytes, _, _)), n)| (mark + n, *id, bytes.as_slice()))
        .collect();
    writes.values(
        "INSERT INTO report_fingerprints (seq, report_id, fingerprint) ",
        "",
        &numbered,
        3,
        |mut row, (seq, id, bytes)| {
            row.push_bind(*seq).push_bind(*id).push_bind(bytes.to_vec());
        },
    );
    let listed: Vec<(Uuid, Uuid, f64)> = decided
        .iter()
        .flat_map(|d| {
            d.listed
                .iter()
                .map(|(c, _, score)| (d.intake.report.id, *c, *score))
        })
        .collect();
    writes.values(
        "INSERT INTO report_candidates (report_id, candidate_id, score) ",
        "",
        &listed,
        3,
        |mut row, (id, candidate, score)| {
            row.push_bind(*id).push_bind(*candidate).push_bind(*score);
        },
    );
    writes.run(&mut *tx).await?;
    let learned = Learned {
        after: mark,
        rows: numbered
            .iter()
            .zip(&fingerprints)
            .map(|((seq, id, _), (_, (_, keys, bands)))| DedupRow {
                seq: *seq,
                report_id: *id,
                keys: keys.clone(),
                bands: bands.clone(),
            })
            .collect(),
    };
    let mut out: Vec<std::result::Result<Filed, LimitReached>> = refused
        .into_iter()
        .map(|r| Err(r.unwrap_or(LimitReached(usize::MAX))))
        .collect();
    for d in decided {
        let case = d.case();
        let (reference, case_cve) = case
            .and_then(|c| held.get(&c).cloned())
            .map_or((None, None), |(reference, cve)| (Some(reference), cve));
        let (joined, duplicate_of) = match d.outcome {
            Outcome::Joined { of, .. } => (true, of),
            _ => (false, None),
        };
        let Some(slot) = out.get_mut(d.at) else {
            continue;
        };
        *slot = Ok(Filed {
            case_id: case,
            case_reference: reference,
            joined,
            duplicate_of,
            case_cve,
            candidates: d.listed,
            dedup: d.dedup,
        });
    }
    Ok((out, learned))
}

/// Inserts reports (their case's reference is not a column).
pub(super) async fn insert_reports(conn: &mut Conn, reports: &[Report]) -> Result<()> {
    insert_values(
        conn,
        "INSERT INTO reports (id, kind, case_id, title, description, tlp, org_id, reporter_id, finder_kind, \
         finder_name, finder_notice_id, ai_found, cwe, cvss_v3, cvss_v3_score, cvss_v4, cvss_v4_score, \
         severity, location, crash_signature, threat_model, threat, duplicate_of, duplicate_score, finding_id, \
         created_at, modified_at, version) ",
        "",
        reports,
        28,
        |mut row, r| {
            row.push_bind(r.id)
                .push_bind(r.kind.as_str())
                .push_bind(r.case_id)
                .push_bind(r.title.clone())
                .push_bind(r.description.clone())
                .push_bind(r.tlp.as_str())
                .push_bind(r.org_id)
                .push_bind(r.reporter_id)
                .push_bind(r.finder_kind.as_str())
                .push_bind(r.finder_name.clone())
                .push_bind(r.finder_notice_id)
                .push_bind(r.ai_found)
                .push_bind(r.cwe)
                .push_bind(r.cvss_v3.clone())
                .push_bind(r.cvss_v3_score)
                .push_bind(r.cvss_v4.clone())
                .push_bind(r.cvss_v4_score)
                .push_bind(r.severity.0.map(|s| s.as_str()))
                .push_bind(r.location.clone())
                .push_bind(r.crash_signature.clone())
                .push_bind(r.threat_model.clone())
                .push_bind(r.threat.clone())
                .push_bind(r.duplicate_of)
                .push_bind(r.duplicate_score)
                .push_bind(r.finding_id)
                .push_bind(r.created_at)
                .push_bind(r.modified_at)
                .push_bind(r.version);
        },
    )
    .await
    .map_err(|e| match e {
        crate::StoreError::Database(e) => crate::sql::conflict("a report of this finding")(e),
        other => other,
    })
}
