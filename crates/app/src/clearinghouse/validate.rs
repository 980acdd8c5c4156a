//! A report's fields as submitted, and their validation: every problem names its field (`affected[0].purl`),
//! and every text and list is bounded.

use crate::cvss::score_vector;
use crate::{App, AppError, AppResult, Caller, policy};
use clearinghouse::cvss::Score;
use clearinghouse::product::{Affected, ProductId};
use clearinghouse::tlp::Tlp;
use review::ValidationError;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{FinderKind, ReportKind};
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
#[derive(Debug, Clone, Default, Deserialize)]
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

impl NewReport {
    /// A report of `kind` marked `tlp` with its title and description, and nothing else yet: no products,
    /// scores, finder, sectors, people or threat fields. Imports and TAXII intake fill in what they read.
    pub fn new(kind: &str, title: String, description: String, tlp: Tlp) -> NewReport {
        NewReport {
            kind: kind.to_owned(),
            title,
            description,
            tlp: tlp.as_str().to_owned(),
            ..NewReport::default()
        }
    }
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

/// A report's fields after validation.
pub(crate) struct Validated {
    pub(crate) kind: ReportKind,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) tlp: Tlp,
    pub(crate) affected: Vec<Affected>,
    pub(crate) cwe: Option<u32>,
    pub(crate) cvss_v3: Option<Score>,
    pub(crate) cvss_v4: Option<Score>,
    pub(crate) finder: (FinderKind, String, Option<Uuid>),
    pub(crate) ai_found: bool,
    pub(crate) location: Option<String>,
    pub(crate) crash_signature: Option<String>,
    pub(crate) threat_model: Option<String>,
    pub(crate) sectors: Vec<String>,
    pub(crate) people: Vec<Uuid>,
    pub(crate) threat: Option<Value>,
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
    pub(crate) async fn validate_report(&self, caller: &Caller, input: &NewReport) -> AppResult<Validated> {
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
        if input.sectors.len() > super::SECTORS.len() {
            return Err(invalid(
                "sectors",
                format!("at most {} sectors", super::SECTORS.len()),
            ));
        }
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
}
