//! Reports: filing (API and forwarded findings), with validation of every field, duplicate detection and the
//! intake limits in the store's one transaction; reading them under TLP.

use crate::cvss::score_vector;
use crate::page::{PageRequest, Paged, paginate};
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Datelike, Utc};
use clearinghouse::cvss::{Score, Severity};
use clearinghouse::dedup::{self, BAND_BUCKET_LIMIT, DedupInput, Fingerprint, Thresholds};
use clearinghouse::product::{Affected, ProductId};
use clearinghouse::tlp::Tlp;
use review::ValidationError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{
    Candidate, Decision, FinderKind, Intake, NewCase, OptionalSeverity, Page, Report, ReportAffected,
    ReportKind,
};
use uuid::Uuid;

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
pub const MAX_AFFECTED: usize = 50;
pub const MAX_PEOPLE: usize = 50;
pub const MAX_LOCATION_CHARS: usize = 1_000;
pub const MAX_SIGNATURE_CHARS: usize = 20_000;
pub const MAX_THREAT_MODEL_CHARS: usize = 5_000;
pub const MAX_INDICATORS: usize = 100;
pub const MAX_ATTACK_PATTERNS: usize = 100;
pub const MAX_FINDER_NAME_CHARS: usize = 200;
/// Candidates compared per intake, at most (the newest sharing a key).
pub const MAX_CANDIDATES: i64 = 200;
/// Candidates listed per report, at most.
const MAX_LISTED: usize = 20;

/// One affected product as submitted: a purl or a CPE, and a version range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedInput {
    pub purl: Option<String>,
    pub cpe: Option<String>,
    pub versions: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinderInput {
    pub kind: String,
    pub name: String,
    pub notice_id: Option<Uuid>,
}

/// A report as submitted to `POST /api/v1/reports` (unknown fields refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub kind: String,
    pub title: String,
    pub description: String,
    pub tlp: String,
    #[serde(default)]
    pub affected: Vec<AffectedInput>,
    pub cwe: Option<String>,
    pub cvss_v3: Option<String>,
    pub cvss_v4: Option<String>,
    pub finder: Option<FinderInput>,
    #[serde(default)]
    pub ai_found: bool,
    pub location: Option<String>,
    pub crash_signature: Option<String>,
    pub threat_model: Option<String>,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default)]
    pub people: Vec<Uuid>,
    #[serde(default)]
    pub indicators: Vec<String>,
    #[serde(default)]
    pub attack_patterns: Vec<String>,
    pub misuse: Option<String>,
}

/// What forwarding a finding takes beside the finding itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardFinding {
    pub tlp: String,
    #[serde(default)]
    pub affected: Vec<AffectedInput>,
    pub cwe: Option<String>,
    pub cvss_v3: Option<String>,
    pub cvss_v4: Option<String>,
    pub location: Option<String>,
    pub crash_signature: Option<String>,
    pub threat_model: Option<String>,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default)]
    pub people: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub cvss_v3: Option<Score>,
    pub cvss_v4: Option<Score>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateView {
    pub report_id: Uuid,
    pub case_id: Option<Uuid>,
    pub score: f64,
}

/// The answer to filing.
#[derive(Debug, Clone, Serialize)]
pub struct FiledView {
    pub id: Uuid,
    pub kind: &'static str,
    pub tlp: Tlp,
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    /// Whether the report joined the case of a duplicate (rather than opening one).
    pub joined: bool,
    pub duplicate_of: Option<Uuid>,
    pub scores: Scores,
    /// Candidate duplicates the reporter may read, best first.
    pub duplicates: Vec<DuplicateView>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FinderView {
    pub kind: &'static str,
    pub name: String,
    pub notice_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AffectedView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    pub versions: String,
}

/// A report as a reader sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub id: Uuid,
    pub kind: &'static str,
    pub case_id: Option<Uuid>,
    pub case_reference: Option<String>,
    pub title: String,
    pub description: String,
    pub tlp: Tlp,
    pub tlp_label: &'static str,
    pub org_id: Uuid,
    pub reporter_id: Uuid,
    pub finder: FinderView,
    pub ai_found: bool,
    pub affected: Vec<AffectedView>,
    pub cwe: Option<String>,
    pub scores: Scores,
    pub severity: Option<Severity>,
    pub location: Option<String>,
    pub crash_signature: Option<String>,
    pub threat_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat: Option<Value>,
    /// TLP:RED: the people it is shared with by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Uuid>,
    /// Whether the report was found to repeat another (joined automatically or merged by a coordinator).
    pub duplicate: bool,
    /// The report it repeats, when the reader may read that one.
    pub duplicate_of: Option<Uuid>,
    pub duplicate_score: Option<f64>,
    pub finding_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub version: i64,
}

/// A report's fields after validation.
pub(crate) struct Validated {
    kind: ReportKind,
    title: String,
    description: String,
    tlp: Tlp,
    affected: Vec<Affected>,
    cwe: Option<u32>,
    cvss_v3: Option<Score>,
    cvss_v4: Option<Score>,
    finder: (FinderKind, String, Option<Uuid>),
    ai_found: bool,
    location: Option<String>,
    crash_signature: Option<String>,
    threat_model: Option<String>,
    sectors: Vec<String>,
    people: Vec<Uuid>,
    threat: Option<Value>,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
    ValidationError::new(field, message).into()
}

/// A bounded multi-line text; blank means none.
fn optional_text(field: &str, value: Option<&str>, max_chars: usize) -> AppResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => required_text(field, v, max_chars).map(Some),
    }
}

fn required_text(field: &str, value: &str, max_chars: usize) -> AppResult<String> {
    let text = kernel::validate::text(field, value, max_chars * 4, true)?;
    if text.chars().count() > max_chars {
        return Err(invalid(field, format!("must be at most {max_chars} characters")));
    }
    Ok(text)
}

pub(crate) fn parse_tlp(field: &str, text: &str) -> AppResult<Tlp> {
    Tlp::parse(text).map_err(|e| invalid(field, e.to_string()))
}

/// `CWE-787` (or `787`) → 787.
fn parse_cwe(text: &str) -> AppResult<u32> {
    let bare = text.trim();
    let digits = bare
        .strip_prefix("CWE-")
        .or_else(|| bare.strip_prefix("cwe-"))
        .unwrap_or(bare);
    match digits.parse::<u32>() {
        Ok(n) if n > 0 && n < 100_000 && digits.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err(invalid("cwe", "must be a CWE identifier such as CWE-787")),
    }
}

fn parse_affected(items: &[AffectedInput]) -> AppResult<Vec<Affected>> {
    if items.len() > MAX_AFFECTED {
        return Err(invalid("affected", format!("at most {MAX_AFFECTED} products")));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (field, text) = match (&item.purl, &item.cpe) {
            (Some(purl), None) => ("purl", purl),
            (None, Some(cpe)) => ("cpe", cpe),
            _ => {
                return Err(invalid(
                    format!("affected[{i}]"),
                    "give exactly one of purl and cpe",
                ));
            }
        };
        let product =
            ProductId::parse(text).map_err(|e| invalid(format!("affected[{i}].{field}"), e.to_string()))?;
        let is_purl = matches!(product, ProductId::Purl(_));
        if is_purl != (field == "purl") {
            return Err(invalid(
                format!("affected[{i}].{field}"),
                format!("is not a {}", if field == "purl" { "purl" } else { "CPE name" }),
            ));
        }
        let versions = clearinghouse::product::VersionRange::parse(&item.versions)
            .map_err(|e| invalid(format!("affected[{i}].versions"), e.to_string()))?;
        out.push(Affected { product, versions });
    }
    Ok(out)
}

/// ATT&CK technique ids (`T1059`, `T1059.001`) or names.
fn parse_attack_pattern(field: &str, text: &str) -> AppResult<String> {
    let text = kernel::validate::line(field, text, 200)?;
    if let Some(rest) = text.strip_prefix('T')
        && rest.starts_with(|c: char| c.is_ascii_digit())
    {
        let (technique, sub) = rest.split_once('.').unwrap_or((rest, ""));
        let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
        if !(digits(technique, 4) && (sub.is_empty() && !rest.contains('.') || digits(sub, 3))) {
            return Err(invalid(
                field,
                "an ATT&CK id is T followed by four digits, optionally .NNN (T1059, T1059.001)",
            ));
        }
    }
    Ok(text)
}

impl App {
    /// Validates a submitted report; every problem names its field.
    async fn validate_report(&self, caller: &Caller, input: &NewReport) -> AppResult<Validated> {
        let kind = ReportKind::parse(&input.kind)
            .ok_or_else(|| invalid("kind", "must be vulnerability or threat"))?;
        let title = kernel::validate::line("title", &input.title, MAX_TITLE_CHARS)?;
        let description = required_text("description", &input.description, MAX_DESCRIPTION_CHARS)?;
        let tlp = parse_tlp("tlp", &input.tlp)?;
        let affected = parse_affected(&input.affected)?;
        let cwe = input.cwe.as_deref().map(parse_cwe).transpose()?;
        let cvss_v3 = match input.cvss_v3.as_deref() {
            None => None,
            Some(v) if !v.trim_start().starts_with("CVSS:3.") => {
                return Err(invalid(
                    "cvss_v3",
                    "must be a CVSS v3.0 or v3.1 vector (CVSS:3.1/…)",
                ));
            }
            Some(v) => Some(score_vector("cvss_v3", v)?),
        };
        let cvss_v4 = match input.cvss_v4.as_deref() {
            None => None,
            Some(v) if !v.trim_start().starts_with("CVSS:4.0/") => {
                return Err(invalid("cvss_v4", "must be a CVSS v4.0 vector (CVSS:4.0/…)"));
            }
            Some(v) => Some(score_vector("cvss_v4", v)?),
        };
        let finder = match &input.finder {
            None => (FinderKind::Person, caller.user.display_name.clone(), None),
            Some(f) => {
                let kind = FinderKind::parse(&f.kind)
                    .ok_or_else(|| invalid("finder.kind", "must be person, organization or model"))?;
                let name = kernel::validate::line("finder.name", &f.name, MAX_FINDER_NAME_CHARS)?;
                let notice = match (kind, f.notice_id) {
                    (FinderKind::Model, None) => {
                        return Err(invalid("finder.notice_id", "name the notice the model is under"));
                    }
                    (FinderKind::Model, Some(id)) => {
                        self.store
                            .visible_notice(id, &policy::audience(caller))
                            .await?
                            .ok_or_else(|| invalid("finder.notice_id", "is not a notice you can see"))?;
                        Some(id)
                    }
                    (_, Some(_)) => {
                        return Err(invalid(
                            "finder.notice_id",
                            "only a model finder is under a notice",
                        ));
                    }
                    (_, None) => None,
                };
                (kind, name, notice)
            }
        };
        let location = optional_text("location", input.location.as_deref(), MAX_LOCATION_CHARS)?;
        let crash_signature = optional_text(
            "crash_signature",
            input.crash_signature.as_deref(),
            MAX_SIGNATURE_CHARS,
        )?;
        let threat_model = optional_text(
            "threat_model",
            input.threat_model.as_deref(),
            MAX_THREAT_MODEL_CHARS,
        )?;
        let mut sectors = Vec::new();
        for (i, given) in input.sectors.iter().enumerate() {
            let sector = super::sector(&format!("sectors[{i}]"), given)?;
            if !sectors.contains(&sector) {
                sectors.push(sector);
            }
        }
        let people = self.check_people(tlp, &input.people).await?;
        let threat = match kind {
            ReportKind::Vulnerability => {
                if affected.is_empty() {
                    return Err(invalid("affected", "name at least one affected product"));
                }
                for (field, given) in [
                    ("indicators", !input.indicators.is_empty()),
                    ("attack_patterns", !input.attack_patterns.is_empty()),
                    ("misuse", input.misuse.is_some()),
                ] {
                    if given {
                        return Err(invalid(field, "only threat reports carry this"));
                    }
                }
                None
            }
            ReportKind::Threat => {
                for (field, given) in [
                    ("affected", !affected.is_empty()),
                    ("cwe", cwe.is_some()),
                    ("cvss_v3", cvss_v3.is_some()),
                    ("cvss_v4", cvss_v4.is_some()),
                    ("crash_signature", crash_signature.is_some()),
                ] {
                    if given {
                        return Err(invalid(field, "only vulnerability reports carry this"));
                    }
                }
                Some(self.validate_threat(input)?)
            }
        };
        Ok(Validated {
            kind,
            title,
            description,
            tlp,
            affected,
            cwe,
            cvss_v3,
            cvss_v4,
            finder,
            ai_found: input.ai_found,
            location,
            crash_signature,
            threat_model,
            sectors,
            people,
            threat,
        })
    }

    fn validate_threat(&self, input: &NewReport) -> AppResult<Value> {
        if input.indicators.len() > MAX_INDICATORS {
            return Err(invalid(
                "indicators",
                format!("at most {MAX_INDICATORS} patterns"),
            ));
        }
        for (i, pattern) in input.indicators.iter().enumerate() {
            clearinghouse::pattern::validate(pattern)
                .map_err(|e| invalid(format!("indicators[{i}]"), e.to_string()))?;
        }
        if input.attack_patterns.len() > MAX_ATTACK_PATTERNS {
            return Err(invalid(
                "attack_patterns",
                format!("at most {MAX_ATTACK_PATTERNS} attack patterns"),
            ));
        }
        let attack_patterns = input
            .attack_patterns
            .iter()
            .enumerate()
            .map(|(i, p)| parse_attack_pattern(&format!("attack_patterns[{i}]"), p))
            .collect::<AppResult<Vec<_>>>()?;
        let misuse = optional_text("misuse", input.misuse.as_deref(), MAX_DESCRIPTION_CHARS)?;
        if input.indicators.is_empty() && attack_patterns.is_empty() && misuse.is_none() {
            return Err(invalid(
                "indicators",
                "a threat report gives indicators, attack patterns or observed misuse",
            ));
        }
        Ok(json!({
            "indicators": input.indicators,
            "attack_patterns": attack_patterns,
            "misuse": misuse,
        }))
    }

    /// TLP:RED names people: existing, active, at most `MAX_PEOPLE`; other markings name none.
    async fn check_people(&self, tlp: Tlp, people: &[Uuid]) -> AppResult<Vec<Uuid>> {
        if tlp != Tlp::Red {
            if !people.is_empty() {
                return Err(invalid("people", "only a TLP:RED report names people"));
            }
            return Ok(Vec::new());
        }
        if people.len() > MAX_PEOPLE {
            return Err(invalid("people", format!("at most {MAX_PEOPLE} people")));
        }
        let mut out = Vec::new();
        for (i, id) in people.iter().enumerate() {
            let active = self.store.get_user(*id).await?.is_some_and(|u| u.active);
            if !active {
                return Err(invalid(format!("people[{i}]"), "is not an active person"));
            }
            if !out.contains(id) {
                out.push(*id);
            }
        }
        Ok(out)
    }

    pub async fn file_report(&self, caller: &Caller, input: NewReport) -> AppResult<FiledView> {
        if !policy::can_file_report(caller) {
            return Err(AppError::Forbidden("you may not file reports"));
        }
        let report = self.validate_report(caller, &input).await?;
        self.intake(caller, report, None).await
    }

    /// Files a validated report: fingerprint, limits, one store transaction, and the answer's duplicates
    /// (those the reporter may read).
    pub(crate) async fn intake(
        &self,
        caller: &Caller,
        v: Validated,
        finding: Option<Uuid>,
    ) -> AppResult<FiledView> {
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let policy_now = self.intake_policy().await?;
        let thresholds = Thresholds {
            join: policy_now.dedup_join_threshold,
            suggest: policy_now.dedup_suggest_threshold,
        };
        let products: Vec<ProductId> = v.affected.iter().map(|a| a.product.clone()).collect();
        let limits = self.intake_limits(caller.org_id(), &products, now).await?;
        let fingerprint = (v.kind == ReportKind::Vulnerability).then(|| {
            dedup::fingerprint(&DedupInput {
                title: &v.title,
                description: &v.description,
                affected: &v.affected,
                cwe: v.cwe,
                location: v.location.as_deref(),
                signature: v.crash_signature.as_deref(),
            })
        });
        let severity = [&v.cvss_v3, &v.cvss_v4]
            .into_iter()
            .flatten()
            .map(|s| s.base_severity)
            .max();
        let report = Report {
            id,
            kind: v.kind,
            case_id: None,
            case_reference: None,
            title: v.title.clone(),
            description: v.description,
            tlp: v.tlp,
            org_id: caller.org_id(),
            reporter_id: caller.user_id(),
            finder_kind: v.finder.0,
            finder_name: v.finder.1,
            finder_notice_id: v.finder.2,
            ai_found: v.ai_found,
            cwe: v.cwe.and_then(|c| i32::try_from(c).ok()),
            cvss_v3: v.cvss_v3.as_ref().map(|s| s.vector.clone()),
            cvss_v3_score: v.cvss_v3.as_ref().map(|s| s.base_score),
            cvss_v4: v.cvss_v4.as_ref().map(|s| s.vector.clone()),
            cvss_v4_score: v.cvss_v4.as_ref().map(|s| s.base_score),
            severity: OptionalSeverity(severity),
            location: v.location,
            crash_signature: v.crash_signature,
            threat_model: v.threat_model,
            threat: v.threat.map(store::Json),
            duplicate_of: None,
            duplicate_score: None,
            finding_id: finding,
            created_at: now,
            modified_at: now,
            version: 1,
        };
        let affected = v
            .affected
            .iter()
            .enumerate()
            .map(|(i, a)| ReportAffected {
                report_id: id,
                idx: i32::try_from(i).unwrap_or(i32::MAX),
                product: a.product.to_string(),
                product_key: a.product.key(),
                versions: a.versions.to_string(),
            })
            .collect();
        let (action, details) = match finding {
            Some(finding) => (
                "report.forward",
                json!({"kind": v.kind.as_str(), "tlp": v.tlp.as_str(), "finding": finding}),
            ),
            None => (
                "report.file",
                json!({"kind": v.kind.as_str(), "tlp": v.tlp.as_str()}),
            ),
        };
        let event = self.event(caller.into(), action, "report", Some(id), details);
        let open_event = self.event(caller.into(), "case.open", "case", None, json!({"report": id}));
        let join_event = self.event(caller.into(), "case.join", "case", None, json!({"report": id}));
        let intake = Intake {
            report,
            affected,
            people: v.people,
            fingerprint: fingerprint
                .as_ref()
                .map(|f| (f.to_bytes(), f.exact_keys.clone(), f.bands.clone())),
            band_limit: i64::try_from(BAND_BUCKET_LIMIT).unwrap_or(32),
            candidate_limit: MAX_CANDIDATES,
            new_case: (v.kind == ReportKind::Vulnerability).then(|| NewCase {
                id: Uuid::now_v7(),
                year: now.year(),
                title: v.title,
                sectors: v.sectors,
            }),
            limits: limits.iter().map(|l| l.counter.clone()).collect(),
            event,
            open_event,
            join_event,
        };
        let new_affected = &v.affected;
        let decide = |candidates: &[Candidate]| match &fingerprint {
            Some(f) => decide_from(f, new_affected, candidates, thresholds),
            None => Decision::default(),
        };
        let filed = match self.store.file_report(&intake, &decide).await? {
            Ok(filed) => filed,
            Err(store::LimitReached(i)) => {
                let limit = limits
                    .get(i)
                    .ok_or_else(|| AppError::corrupt("intake refused by a limit it was not given"))?;
                return Err(AppError::Limited {
                    retry_after: super::intake::retry_after(limit.counter.window_start, now),
                    detail: limit.detail.clone(),
                });
            }
        };
        let ids: Vec<Uuid> = filed.candidates.iter().map(|(id, _, _)| *id).collect();
        let readable = self
            .store
            .readable_report_ids(&ids, &policy::tlp_audience(Some(caller)))
            .await?;
        Ok(FiledView {
            id,
            kind: v.kind.as_str(),
            tlp: v.tlp,
            case_id: filed.case_id,
            case_reference: filed.case_reference,
            joined: filed.joined,
            duplicate_of: filed.duplicate_of.filter(|d| readable.contains(d)),
            scores: Scores {
                cvss_v3: v.cvss_v3,
                cvss_v4: v.cvss_v4,
            },
            duplicates: filed
                .candidates
                .into_iter()
                .filter(|(id, _, _)| readable.contains(id))
                .map(|(report_id, case_id, score)| DuplicateView {
                    report_id,
                    case_id,
                    score,
                })
                .collect(),
            created_at: now,
        })
    }

    /// A report the caller (or the public, `None`) may read; 404 otherwise.
    pub async fn get_report(&self, caller: Option<&Caller>, id: Uuid) -> AppResult<ReportView> {
        let reader = policy::tlp_audience(caller);
        let report = self
            .store
            .readable_report(id, &reader)
            .await?
            .ok_or(AppError::NotFound("report"))?;
        self.report_view(report, &reader).await
    }

    /// The reports the caller may read (`mine`: those they filed), newest first.
    pub async fn list_reports(
        &self,
        caller: Option<&Caller>,
        mine: bool,
        tlp: Option<&str>,
        page: &PageRequest,
    ) -> AppResult<Paged<ReportView>> {
        let tlp = tlp.map(|t| parse_tlp("tlp", t)).transpose()?;
        let reader = policy::tlp_audience(caller);
        let limit = page.limit()?;
        let after = page.after(|s| s.parse::<Uuid>().ok())?;
        let rows = self
            .store
            .list_readable_reports(
                &reader,
                mine && caller.is_some(),
                tlp,
                &Page {
                    after,
                    limit: limit + 1,
                },
            )
            .await?;
        let paged = paginate(rows, limit, |r| r.id.to_string(), |r| r);
        let mut items = Vec::with_capacity(paged.items.len());
        for report in paged.items {
            items.push(self.report_view(report, &reader).await?);
        }
        Ok(Paged {
            items,
            next_cursor: paged.next_cursor,
        })
    }

    pub(crate) async fn report_view(&self, r: Report, reader: &store::TlpAudience) -> AppResult<ReportView> {
        let duplicate_of = match r.duplicate_of {
            Some(of) => self
                .store
                .readable_report_ids(&[of], reader)
                .await?
                .first()
                .copied(),
            None => None,
        };
        let affected = self
            .store
            .report_affected(r.id)
            .await?
            .into_iter()
            .map(|a| {
                let purl = a.product.starts_with("pkg:");
                AffectedView {
                    purl: purl.then(|| a.product.clone()),
                    cpe: (!purl).then_some(a.product),
                    versions: a.versions,
                }
            })
            .collect();
        let people = if r.tlp == Tlp::Red {
            self.store.report_people(r.id).await?
        } else {
            Vec::new()
        };
        let rescore = |vector: &Option<String>| -> AppResult<Option<Score>> {
            vector
                .as_deref()
                .map(|v| {
                    clearinghouse::cvss::score(v)
                        .map_err(|e| AppError::corrupt(format!("a stored CVSS vector does not score: {e}")))
                })
                .transpose()
        };
        Ok(ReportView {
            id: r.id,
            kind: r.kind.as_str(),
            case_id: r.case_id,
            case_reference: r.case_reference,
            title: r.title,
            description: r.description,
            tlp: r.tlp,
            tlp_label: r.tlp.label(),
            org_id: r.org_id,
            reporter_id: r.reporter_id,
            finder: FinderView {
                kind: r.finder_kind.as_str(),
                name: r.finder_name,
                notice_id: r.finder_notice_id,
            },
            ai_found: r.ai_found,
            affected,
            cwe: r.cwe.map(|c| format!("CWE-{c}")),
            scores: Scores {
                cvss_v3: rescore(&r.cvss_v3)?,
                cvss_v4: rescore(&r.cvss_v4)?,
            },
            severity: r.severity.0,
            location: r.location,
            crash_signature: r.crash_signature,
            threat_model: r.threat_model,
            threat: r.threat.map(|t| t.0),
            people,
            duplicate: r.duplicate_of.is_some(),
            duplicate_of,
            duplicate_score: r.duplicate_score,
            finding_id: r.finding_id,
            created_at: r.created_at,
            modified_at: r.modified_at,
            version: r.version,
        })
    }

    /// Forwards a review finding as a vulnerability report in one step: the finder is the model under the
    /// finding's notice, found by AI; the finding keeps the link.
    pub async fn forward_finding(
        &self,
        caller: &Caller,
        finding_id: Uuid,
        input: ForwardFinding,
    ) -> AppResult<FiledView> {
        let finding = self
            .store
            .visible_finding(finding_id, &policy::audience(caller))
            .await?
            .ok_or(AppError::NotFound("finding"))?;
        if !policy::can_forward_finding(caller, finding.org_id) {
            return Err(AppError::Forbidden(
                "only the agency that wrote a finding forwards it as a report",
            ));
        }
        if let Some(existing) = self.store.report_of_finding(finding_id).await? {
            return Err(AppError::Conflict(format!(
                "the finding was already forwarded as report {existing}"
            )));
        }
        let notice = self
            .store
            .get_notice(finding.notice_id)
            .await?
            .ok_or_else(|| AppError::corrupt("a finding's notice is missing"))?;
        let truncate = |text: &str, max: usize| text.chars().take(max).collect::<String>();
        let report = NewReport {
            kind: "vulnerability".into(),
            title: truncate(&finding.title, MAX_TITLE_CHARS),
            description: truncate(&finding.description, MAX_DESCRIPTION_CHARS),
            tlp: input.tlp,
            affected: input.affected,
            cwe: input.cwe,
            cvss_v3: input.cvss_v3,
            cvss_v4: input.cvss_v4,
            finder: Some(FinderInput {
                kind: "model".into(),
                name: truncate(
                    &format!("{} {}", notice.model_name, notice.model_version),
                    MAX_FINDER_NAME_CHARS,
                ),
                notice_id: Some(notice.id),
            }),
            ai_found: true,
            location: input.location,
            crash_signature: input.crash_signature,
            threat_model: input.threat_model,
            sectors: input.sectors,
            people: input.people,
            indicators: Vec::new(),
            attack_patterns: Vec::new(),
            misuse: None,
        };
        let validated = self.validate_report(caller, &report).await?;
        self.intake(caller, validated, Some(finding_id))
            .await
            .map_err(|e| match e {
                AppError::Conflict(_) => AppError::Conflict("the finding was already forwarded".into()),
                other => other,
            })
    }

    /// The report forwarded from a finding, when the caller may read it.
    pub async fn report_of_finding(&self, caller: &Caller, finding_id: Uuid) -> AppResult<Option<Uuid>> {
        let Some(id) = self.store.report_of_finding(finding_id).await? else {
            return Ok(None);
        };
        let readable = self
            .store
            .readable_report_ids(&[id], &policy::tlp_audience(Some(caller)))
            .await?;
        Ok(readable.first().copied())
    }
}

/// Scores the candidates against the new report: the best at or above `join` (with a case) is joined, every
/// one at or above `suggest` is listed, best first.
fn decide_from(
    new: &Fingerprint,
    affected: &[Affected],
    candidates: &[Candidate],
    t: Thresholds,
) -> Decision {
    let mut scored: Vec<(Uuid, Option<Uuid>, f64)> = candidates
        .iter()
        .filter_map(|c| {
            let stored = Fingerprint::from_bytes(&c.fingerprint)?;
            let stored_affected: Vec<Affected> = c
                .affected
                .iter()
                .filter_map(|a| Affected::parse(&a.product, &a.versions).ok())
                .collect();
            Some((
                c.report_id,
                c.case_id,
                dedup::similarity(new, affected, &stored, &stored_affected),
            ))
        })
        .filter(|(_, _, score)| *score >= t.suggest)
        .collect();
    // Best first; among equals the oldest, the report the others repeat.
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let join = scored
        .iter()
        .find(|(_, case, score)| case.is_some() && *score >= t.join)
        .map(|(id, _, score)| (*id, *score));
    Decision {
        join,
        suggest: scored
            .into_iter()
            .take(MAX_LISTED)
            .map(|(id, _, score)| (id, score))
            .collect(),
    }
}
