//! A report's attachments: a reproducer, a patch or another file, sealed under the master key, each with its
//! own TLP marking (never less restrictive than its report's), served only to those both markings admit.

use super::attachment_context;
use super::validate::parse_tlp;
use crate::{App, AppError, AppResult, Caller, policy};
use chrono::{DateTime, Utc};
use clearinghouse::tlp::Tlp;
use review::ValidationError;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use store::{Attachment, AttachmentRole};
use uuid::Uuid;

/// The largest attachment, in bytes (the HTTP edge refuses larger bodies with 413 before reading them).
pub const MAX_ATTACHMENT_BYTES: usize = 8 * 1024 * 1024;
/// At most this many attachments per report, and this many bytes in all.
pub const MAX_ATTACHMENTS: i64 = 10;
pub const MAX_ATTACHMENT_TOTAL: i64 = 32 * 1024 * 1024;

/// Media types served as given; any other is served as `application/octet-stream`, so that a browser never
/// renders an attachment.
const SAFE_MEDIA_TYPES: [&str; 8] = [
    "text/plain",
    "text/x-diff",
    "text/x-patch",
    "application/json",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/octet-stream",
];

#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    pub id: Uuid,
    pub report_id: Uuid,
    pub role: &'static str,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub tlp: Tlp,
    pub created_at: DateTime<Utc>,
}

impl From<Attachment> for AttachmentView {
    fn from(a: Attachment) -> Self {
        AttachmentView {
            id: a.id,
            report_id: a.report_id,
            role: a.role.as_str(),
            name: a.name,
            media_type: a.media_type,
            size: a.size,
            sha256: a.sha256.iter().map(|b| format!("{b:02x}")).collect(),
            tlp: a.tlp,
            created_at: a.created_at,
        }
    }
}

/// An attachment as uploaded: the query's fields and the body.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub role: &'a str,
    pub name: &'a str,
    pub tlp: Option<&'a str>,
    pub media_type: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// The bytes of an attachment and how to serve them.
pub struct AttachmentContent {
    pub name: String,
    /// The stored media type when it is on the safe list, else `application/octet-stream`.
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

fn media_type(given: Option<&str>) -> Result<String, ValidationError> {
    let Some(given) = given else {
        return Ok("application/octet-stream".into());
    };
    let bare = given.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match bare.split_once('/') {
        Some((ty, sub)) if bare.len() <= 100 && token(ty) && token(sub) => Ok(bare),
        _ => Err(ValidationError::new("Content-Type", "is not a media type")),
    }
}

/// A file name: one line, no path, at most 200 characters.
fn file_name(name: &str) -> Result<String, ValidationError> {
    let name = kernel::validate::line("name", name, 200)?;
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(ValidationError::new("name", "must be a file name, not a path"));
    }
    Ok(name)
}

impl App {
    pub async fn add_attachment(
        &self,
        caller: &Caller,
        report_id: Uuid,
        input: NewAttachment<'_>,
    ) -> AppResult<AttachmentView> {
        let report = self
            .store
            .readable_report(report_id, &policy::tlp_audience(Some(caller)))
            .await?
            .ok_or(AppError::NotFound("report"))?;
        if !policy::can_attach_to_report(caller, report.reporter_id) {
            return Err(AppError::Forbidden(
                "only the person who filed a report attaches files to it",
            ));
        }
        let role = AttachmentRole::parse(input.role)
            .ok_or_else(|| ValidationError::new("role", "must be reproducer, patch or other"))?;
        let name = file_name(input.name)?;
        let tlp = match input.tlp {
            Some(t) => parse_tlp("tlp", t)?,
            None => report.tlp,
        };
        if tlp < report.tlp {
            return Err(ValidationError::new(
                "tlp",
                format!(
                    "an attachment is never less restrictive than its report ({})",
                    report.tlp.label()
                ),
            )
            .into());
        }
        let media_type = media_type(input.media_type)?;
        if input.bytes.is_empty() {
            return Err(ValidationError::new("body", "the file is empty").into());
        }
        if input.bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(ValidationError::new(
                "body",
                format!("an attachment is at most {MAX_ATTACHMENT_BYTES} bytes"),
            )
            .into());
        }
        let sealer = self.gateway.sealer().ok_or_else(|| {
            AppError::Internal("the server was started without a master key; attachments need one".into())
        })?;
        let id = Uuid::now_v7();
        let attachment = Attachment {
            id,
            report_id,
            role,
            name,
            media_type,
            size: i64::try_from(input.bytes.len()).unwrap_or(i64::MAX),
            sha256: Sha256::digest(input.bytes).to_vec(),
            tlp,
            created_at: self.clock.now(),
        };
        let sealed = sealer.seal(&attachment_context(id), input.bytes);
        let event = self.event(
            caller.into(),
            "report.attach",
            "report",
            Some(report_id),
            json!({"attachment": id, "role": role.as_str(), "tlp": tlp.as_str(), "size": attachment.size}),
        );
        let added = self
            .store
            .add_attachment(
                &attachment,
                &sealed,
                MAX_ATTACHMENTS,
                MAX_ATTACHMENT_TOTAL,
                &event,
            )
            .await?;
        if !added {
            return Err(AppError::Conflict(format!(
                "a report holds at most {MAX_ATTACHMENTS} attachments and {MAX_ATTACHMENT_TOTAL} bytes in all"
            )));
        }
        Ok(attachment.into())
    }

    /// The attachments of a report the caller may read (both markings admit them).
    pub async fn list_attachments(
        &self,
        caller: Option<&Caller>,
        report_id: Uuid,
    ) -> AppResult<Vec<AttachmentView>> {
        let reader = policy::tlp_audience(caller);
        self.store
            .readable_report(report_id, &reader)
            .await?
            .ok_or(AppError::NotFound("report"))?;
        Ok(self
            .store
            .readable_attachments(report_id, &reader)
            .await?
            .into_iter()
            .map(AttachmentView::from)
            .collect())
    }

    /// An attachment's bytes, opened, for a reader both markings admit.
    pub async fn attachment_content(
        &self,
        caller: Option<&Caller>,
        report_id: Uuid,
        id: Uuid,
    ) -> AppResult<AttachmentContent> {
        let (attachment, sealed) = self
            .store
            .readable_attachment(report_id, id, &policy::tlp_audience(caller))
            .await?
            .ok_or(AppError::NotFound("attachment"))?;
        let sealer = self.gateway.sealer().ok_or_else(|| {
            AppError::Internal("the server was started without a master key; attachments need one".into())
        })?;
        let bytes = sealer
            .open(&attachment_context(id), &sealed)
            .map_err(|e| AppError::Internal(Box::new(e)))?;
        let media_type = SAFE_MEDIA_TYPES
            .into_iter()
            .find(|t| *t == attachment.media_type)
            .unwrap_or("application/octet-stream");
        Ok(AttachmentContent {
            name: attachment.name,
            media_type,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_and_names_are_checked() {
        assert_eq!(media_type(None).unwrap(), "application/octet-stream");
        assert_eq!(
            media_type(Some("Text/Plain; charset=utf-8")).unwrap(),
            "text/plain"
        );
        for bad in ["text", "text/", "/plain", "text/pl ain", "a/b\nc"] {
            assert!(media_type(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(file_name(" poc.c ").unwrap(), "poc.c");
        for bad in ["", "../etc/passwd", "a\\b", "..", "x\u{0}y"] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
    }
}
