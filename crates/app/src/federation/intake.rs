//! Pulled STIX objects into intake, through the same path as objects posted to our TAXII collections: the
//! object is checked again as a post's are (`stix_import::check_object`), mapped to a report by
//! `clearinghouse::taxii_write::report_of` (the one mapping: a vulnerability naming its affected products in
//! our extension is a vulnerability report, an indicator with a STIX pattern a threat report), validated and
//! filed by intake, which fingerprints and deduplicates it like any other report. The differences are the
//! origin: the finder is the peer (an organisation), the filer the coordinator who registered it, the report's
//! marking the marking the object got here; the stored object keeps the report's id.

use crate::clearinghouse::FinderInput;
use crate::clearinghouse::taxii_write::report_of;
use crate::{App, AppError, AppResult, Caller};
use clearinghouse::stix_import;
use review::ValidationError;
use serde_json::Value;
use store::{PeerRow, StixObjectRow};
use uuid::Uuid;

impl App {
    /// Files a pulled object as a report through intake; the report's id, or `None` when it makes none (not a
    /// vulnerability naming its products or an indicator with a STIX pattern). A mapping the object's own
    /// properties refuse is `AppError::Invalid`, as intake's refusals are.
    pub(super) async fn file_pulled(
        &self,
        caller: &Caller,
        peer: &PeerRow,
        row: &StixObjectRow,
    ) -> AppResult<Option<Uuid>> {
        let object: Value = serde_json::from_str(&row.body)
            .map_err(|e| AppError::corrupt(format!("pulled object {}: {e}", row.id)))?;
        let checked = stix_import::check_object(0, &object).map_err(|problems| {
            let message = problems
                .first()
                .map_or_else(|| "is not valid STIX 2.1".to_owned(), ToString::to_string);
            AppError::Invalid(ValidationError::new("object", message))
        })?;
        let mut report = match report_of(&checked, row.tlp) {
            Ok(Some(report)) => report,
            Ok(None) => return Ok(None),
            Err(message) => {
                return Err(AppError::Invalid(ValidationError::new("object", message)));
            }
        };
        report.finder = Some(FinderInput {
            kind: "organization".to_owned(),
            name: peer
                .name
                .chars()
                .take(crate::clearinghouse::MAX_FINDER_NAME_CHARS)
                .collect(),
            notice_id: None,
        });
        let validated = self.validate_report(caller, &report).await?;
        Ok(Some(self.intake(caller, validated, None).await?.id))
    }
}
