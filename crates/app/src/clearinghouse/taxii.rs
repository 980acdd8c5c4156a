//! The read side of the TAXII 2.1 server: one collection per TLP 2.0 marking, holding the STIX objects of the
//! published advisories of that marking (`clearinghouse::stix`) and of its reports and cases (`stix_export`). Each collection shows exactly what the caller
//! may read: the store compiles `policy::tlp_audience` into the query, before its `LIMIT`. The HTTP side
//! (media types, the error body, Basic and Bearer) is `server::taxii`.

use crate::{App, AppError, AppResult, Caller, policy};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use clearinghouse::stix::{self, Kind};
use clearinghouse::tlp::Tlp;
use review::ValidationError;
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Value, json};
use store::{AdvisoryRow, StixObjectRow, TaxiiCursor, TaxiiQuery, VersionMatch};
use uuid::Uuid;

/// Objects on a page when the caller names no `limit`, and the most a page holds whatever it names.
pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1000;
/// The most values one `match[…]` filter may list, and the longest query value read.
const MAX_MATCH_VALUES: usize = 20;
const MAX_VALUE_LEN: usize = 2048;

/// The media type of the STIX objects a collection holds.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// A collection: its fixed id (UUID v5 of its marking) and marking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    pub id: Uuid,
    pub tlp: Tlp,
}

impl Collection {
    pub fn all() -> [Collection; 5] {
        Tlp::ALL.map(|tlp| Collection {
            id: Uuid::new_v5(
                &stix::NAMESPACE,
                format!("collection:{}", tlp.as_str()).as_bytes(),
            ),
            tlp,
        })
    }

    /// The collection of an id as given in a path; `None` for anything else.
    pub fn find(id: &str) -> Option<Collection> {
        let id = Uuid::parse_str(id).ok()?;
        Collection::all().into_iter().find(|c| c.id == id)
    }

    /// The collection resource as TAXII lists it, for this caller: the public reads TLP:CLEAR only; who may
    /// post is `policy::can_write_taxii`.
    pub fn resource(&self, caller: Option<&Caller>) -> Value {
        json!({
            "id": self.id,
            "title": format!("{} advisories", self.tlp.label()),
            "description": format!(
                "The clearinghouse's published advisories, reports and cases marked {}, as STIX 2.1 objects, \
                 and the STIX objects members post; each caller sees those TLP 2.0 lets them read.",
                self.tlp.label()
            ),
            "can_read": self.readable_by(caller),
            "can_write": policy::can_write_taxii(caller, self.tlp),
            "media_types": [STIX_MEDIA_TYPE],
        })
    }

    pub fn readable_by(&self, caller: Option<&Caller>) -> bool {
        caller.is_some() || self.tlp == Tlp::Clear
    }
}

/// The filters of an objects or manifest request as the caller wrote them (query parameters).
#[derive(Debug, Clone, Default)]
pub struct TaxiiFilter {
    pub added_after: Option<String>,
    pub limit: Option<String>,
    pub next: Option<String>,
    /// `match[id]`, or the id in the path of an object's endpoints.
    pub ids: Option<String>,
    pub types: Option<String>,
    pub versions: Option<String>,
    pub spec_versions: Option<String>,
}

/// A page of a collection: the objects (or manifest entries), whether more follow and the token to ask for
/// them, and the first and last date added on the page.
#[derive(Debug, Clone)]
pub struct TaxiiPage {
    /// Each entry's JSON as it is sent: a stored object's text is passed through, not parsed and rewritten.
    pub items: Vec<Box<RawValue>>,
    pub more: bool,
    pub next: Option<String>,
    pub first_added: Option<DateTime<Utc>>,
    pub last_added: Option<DateTime<Utc>>,
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::Invalid(ValidationError::new(field, message))
}

fn bounded<'a>(field: &str, value: &'a Option<String>) -> AppResult<Option<&'a str>> {
    match value.as_deref() {
        Some(v) if v.len() > MAX_VALUE_LEN => Err(invalid(field, "is too long")),
        other => Ok(other),
    }
}

fn values<'a>(field: &str, value: &'a Option<String>) -> AppResult<Option<Vec<&'a str>>> {
    let Some(text) = bounded(field, value)? else {
        return Ok(None);
    };
    let list: Vec<&str> = text.split(',').map(str::trim).collect();
    if list.len() > MAX_MATCH_VALUES || list.iter().any(|v| v.is_empty()) {
        return Err(invalid(field, "must list 1 to 20 values separated by commas"));
    }
    Ok(Some(list))
}

/// A TAXII timestamp (RFC 3339, UTC).
fn parse_time(field: &str, text: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            invalid(
                field,
                "must be an RFC 3339 timestamp such as 2026-01-31T12:00:00.000Z",
            )
        })
}

/// Times are shown with milliseconds; this is the millisecond a stored time shows as.
pub(crate) fn to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::milliseconds(1)).unwrap_or(at)
}

pub(crate) fn encode_cursor(row: &StixObjectRow) -> String {
    let text = format!(
        "{}~{}~{}",
        row.date_added.to_rfc3339_opts(SecondsFormat::Nanos, true),
        row.stix_id,
        row.version
    );
    URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(token: &str) -> AppResult<TaxiiCursor> {
    let bad = || invalid("next", "is not a token this server gave");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split('~');
    let (Some(added), Some(stix_id), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let added = DateTime::parse_from_rfc3339(added).map_err(|_| bad())?;
    let version = DateTime::parse_from_rfc3339(version).map_err(|_| bad())?;
    if !stix_id.contains("--") {
        return Err(bad());
    }
    Ok(TaxiiCursor {
        added: added.with_timezone(&Utc),
        stix_id: stix_id.to_owned(),
        version: stix::version_key(version.with_timezone(&Utc)),
    })
}

fn owned(list: Option<Vec<&str>>) -> Option<Vec<String>> {
    list.map(|l| l.into_iter().map(str::to_owned).collect())
}

/// `match[version]`: `first`, `last`, `all` and timestamps, any of them; `last` when absent.
fn version_match(f: &TaxiiFilter) -> AppResult<VersionMatch> {
    let Some(list) = values("match[version]", &f.versions)? else {
        return Ok(VersionMatch {
            last: true,
            ..VersionMatch::default()
        });
    };
    let mut m = VersionMatch::default();
    for v in list {
        match v {
            "first" => m.first = true,
            "last" => m.last = true,
            "all" => m.all = true,
            at => m.exact.push(stix::version_key(parse_time("match[version]", at)?)),
        }
    }
    Ok(m)
}

/// `match[version]` as a delete names it (every version when absent).
pub(crate) fn version_match_of(versions: Option<&str>) -> AppResult<VersionMatch> {
    version_match(&TaxiiFilter {
        versions: Some(versions.unwrap_or("all").to_owned()),
        ..TaxiiFilter::default()
    })
}

/// The store's query for a filter.
pub(crate) fn query(tlp: Tlp, f: &TaxiiFilter) -> AppResult<TaxiiQuery> {
    let limit = match bounded("limit", &f.limit)? {
        None => DEFAULT_PAGE,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => return Err(invalid("limit", "must be a whole number of at least 1")),
        },
    };
    let added_from = bounded("added_after", &f.added_after)?
        .map(|t| parse_time("added_after", t))
        .transpose()?
        .map(|t| to_millis(t) + Duration::milliseconds(1));
    let after = bounded("next", &f.next)?.map(decode_cursor).transpose()?;
    Ok(TaxiiQuery {
        tlp,
        added_from,
        after,
        types: owned(values("match[type]", &f.types)?),
        spec_versions: owned(values("match[spec_version]", &f.spec_versions)?),
        versions: version_match(f)?,
        ids: owned(values("match[id]", &f.ids)?),
        limit,
        markings: None,
        community: None,
    })
}

/// What a page lists of each object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Objects,
    Manifest,
}

/// A row's entry: the STIX object, or its manifest entry (id, date added, version, media type).
pub(crate) fn entry(row: &StixObjectRow, listing: Listing) -> AppResult<Box<RawValue>> {
    let corrupt = |e: serde_json::Error| {
        AppError::Internal(format!("stored STIX object {} is not JSON: {e}", row.stix_id).into())
    };
    match listing {
        Listing::Objects => RawValue::from_string(row.body.clone()).map_err(corrupt),
        Listing::Manifest => to_raw_value(&json!({
            "id": row.stix_id,
            "date_added": stix::timestamp(row.date_added),
            "version": stix::version_text(&row.version),
            "media_type": STIX_MEDIA_TYPE,
        }))
        .map_err(corrupt),
    }
}

/// The `version` of each manifest entry of a page (the `versions` resource's list).
pub(crate) fn manifest_versions(items: &[Box<RawValue>]) -> Vec<Box<RawValue>> {
    items
        .iter()
        .filter_map(|m| {
            let entry: Value = serde_json::from_str(m.get()).ok()?;
            to_raw_value(entry.get("version")?).ok()
        })
        .collect()
}

/// The rows of an advisory's STIX objects (its `report` and `vulnerability`), added at `added`.
pub(crate) fn advisory_objects(a: &AdvisoryRow, added: DateTime<Utc>) -> Vec<StixObjectRow> {
    let export = stix::Advisory::from_document(
        a.id,
        &a.reference,
        &a.title,
        a.tlp,
        &a.document.0,
        a.published_at,
        a.modified_at,
    );
    Kind::ALL
        .into_iter()
        .map(|kind| StixObjectRow {
            id: Uuid::now_v7(),
            tlp: a.tlp,
            stix_id: stix::object_id(kind, a.id),
            stix_type: kind.as_str().to_owned(),
            spec_version: "2.1".to_owned(),
            version: stix::version_key(to_millis(a.modified_at)),
            date_added: to_millis(added),
            body: export.object(kind).to_string(),
            added_org: None,
            added_by: None,
            advisory_id: Some(a.id),
            case_id: Some(a.case_id),
            report_id: None,
        })
        .collect()
}

/// Advisories whose STIX objects the backfill writes per batch.
const BACKFILL_BATCH: i64 = 200;

/// Writes the STIX objects of advisories published before `stix_objects` existed (or whose objects failed
/// to be written right after publication). A recurring job; after the first run one indexed query that finds
/// nothing.
pub const BACKFILL: &str = "taxii.backfill";

pub(crate) struct BackfillHandler;

#[async_trait::async_trait]
impl crate::jobs::JobHandler for BackfillHandler {
    async fn run(
        &self,
        app: &App,
        _job: &store::Job,
    ) -> Result<crate::jobs::Completion, crate::jobs::JobError> {
        app.backfill_advisory_stix().await?;
        app.backfill_report_stix().await?;
        Ok(crate::jobs::Completion::done())
    }
}

impl App {
    /// Stores the STIX objects of a version of an advisory (called right after it is published). A failure
    /// is logged, not returned: the publication stands, and the backfill job writes what is missing.
    pub(crate) async fn record_advisory_stix(&self, advisory: &AdvisoryRow) {
        let rows = advisory_objects(advisory, self.clock.now());
        if let Err(e) = self.store.add_stix_objects(&rows).await {
            tracing::error!(error = ?e, advisory = %advisory.id, "storing an advisory's STIX objects failed");
        }
    }

    /// Stores the STIX objects of every advisory that has none, in batches, dated at their publication.
    pub async fn backfill_advisory_stix(&self) -> AppResult<u64> {
        let mut written = 0;
        loop {
            let missing = self.store.advisories_without_stix(BACKFILL_BATCH).await?;
            let rows: Vec<StixObjectRow> = missing
                .iter()
                .flat_map(|a| advisory_objects(a, a.published_at))
                .collect();
            written += self.store.add_stix_objects(&rows).await?;
            if (missing.len() as i64) < BACKFILL_BATCH {
                return Ok(written);
            }
        }
    }

    /// A page of a collection's objects or manifest, as the caller may read them.
    pub async fn taxii_page(
        &self,
        caller: Option<&Caller>,
        collection: Collection,
        filter: &TaxiiFilter,
        listing: Listing,
    ) -> AppResult<TaxiiPage> {
        if !collection.readable_by(caller) {
            return Err(AppError::Unauthenticated);
        }
        self.taxii_query_page(caller, query(collection.tlp, filter)?, listing)
            .await
    }

    /// A page of the objects (or manifest entries) a store query finds among those the caller may read: one
    /// row more than the page holds is asked for, to tell whether more follow and where the next page starts.
    pub(crate) async fn taxii_query_page(
        &self,
        caller: Option<&Caller>,
        mut query: TaxiiQuery,
        listing: Listing,
    ) -> AppResult<TaxiiPage> {
        let limit = query.limit;
        query.limit = limit + 1;
        let mut rows = self
            .store
            .taxii_objects(&policy::tlp_audience(caller), &query)
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next = if more {
            rows.last().map(encode_cursor)
        } else {
            None
        };
        let items = rows
            .iter()
            .map(|row| entry(row, listing))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(TaxiiPage {
            items,
            more,
            next,
            first_added: rows.first().map(|r| r.date_added),
            last_added: rows.last().map(|r| r.date_added),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(f: impl FnOnce(&mut TaxiiFilter)) -> TaxiiFilter {
        let mut filter = TaxiiFilter::default();
        f(&mut filter);
        filter
    }

    #[test]
    fn filters_name_the_field_they_get_wrong() {
        let cases: [(TaxiiFilter, &str); 9] = [
            (filter(|f| f.limit = Some("0".into())), "limit"),
            (filter(|f| f.limit = Some("ten".into())), "limit"),
            (filter(|f| f.limit = Some("-3".into())), "limit"),
            (
                filter(|f| f.added_after = Some("yesterday".into())),
                "added_after",
            ),
            (filter(|f| f.next = Some("not-a-token".into())), "next"),
            (
                filter(|f| {
                    f.next = Some(URL_SAFE_NO_PAD.encode("2026-01-01T00:00:00Z~x~2026-01-01T00:00:00Z"))
                }),
                "next",
            ),
            (
                filter(|f| f.versions = Some("last,yesterday".into())),
                "match[version]",
            ),
            (
                filter(|f| f.types = Some("report,,vulnerability".into())),
                "match[type]",
            ),
            (filter(|f| f.ids = Some(vec!["x"; 21].join(","))), "match[id]"),
        ];
        for (f, field) in cases {
            match query(Tlp::Green, &f) {
                Err(AppError::Invalid(e)) => assert_eq!(e.field, field, "{f:?}"),
                other => panic!("{f:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn filters_read_into_the_store_query() {
        let q = query(Tlp::Amber, &filter(|f| f.limit = Some("5000".into()))).unwrap();
        assert_eq!((q.limit, q.tlp, q.types), (MAX_PAGE, Tlp::Amber, None));
        // No `match[version]` reads the latest version of each object.
        assert_eq!(
            q.versions,
            VersionMatch {
                last: true,
                ..VersionMatch::default()
            }
        );
        let q = query(
            Tlp::Amber,
            &filter(|f| f.types = Some("vulnerability,indicator".into())),
        )
        .unwrap();
        assert_eq!(
            q.types,
            Some(vec!["vulnerability".to_owned(), "indicator".to_owned()])
        );
        let q = query(
            Tlp::Amber,
            &filter(|f| f.added_after = Some("2026-01-01T00:00:00.123456Z".into())),
        )
        .unwrap();
        assert_eq!(
            q.added_from.unwrap().to_rfc3339_opts(SecondsFormat::Millis, true),
            "2026-01-01T00:00:00.124Z"
        );
        let q = query(
            Tlp::Amber,
            &filter(|f| f.versions = Some("first,2026-01-01T00:00:00.5Z,2026-01-01T01:00:00+01:00".into())),
        )
        .unwrap();
        assert_eq!(
            q.versions,
            VersionMatch {
                first: true,
                exact: vec![
                    "2026-01-01T00:00:00.500000000Z".to_owned(),
                    "2026-01-01T00:00:00.000000000Z".to_owned()
                ],
                ..VersionMatch::default()
            }
        );
        let q = query(Tlp::Red, &filter(|f| f.versions = Some("all".into()))).unwrap();
        assert!(q.versions.all);
    }

    #[test]
    fn next_tokens_round_trip_and_collections_have_fixed_ids() {
        let cursor = TaxiiCursor {
            added: DateTime::parse_from_rfc3339("2026-03-01T10:00:00.123Z")
                .unwrap()
                .with_timezone(&Utc),
            stix_id: "report--6f1c2f4e-8a57-4d0b-9c3e-51d2a7b4e019".into(),
            version: "2026-03-01T10:00:00.123456789Z".into(),
        };
        let text = format!(
            "{}~{}~{}",
            cursor.added.to_rfc3339_opts(SecondsFormat::Nanos, true),
            cursor.stix_id,
            cursor.version
        );
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode(text)).unwrap(), cursor);
        let ids: Vec<Uuid> = Collection::all().iter().map(|c| c.id).collect();
        assert_eq!(Collection::all().map(|c| c.id).to_vec(), ids);
        for c in Collection::all() {
            assert_eq!(Collection::find(&c.id.to_string()), Some(c));
        }
        assert_eq!(Collection::find("not-a-uuid"), None);
        assert_eq!(Collection::find(&Uuid::nil().to_string()), None);
    }
}
