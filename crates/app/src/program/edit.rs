//! Editing a notice after filing: its model card, version and the agencies it is shared with. Narrowing the
//! sharing ends the access of the agencies left out at once (their evaluators' assignments and gateway tokens
//! for the notice, in the edit's own transaction) and tells those evaluators.

use super::{LaunchChangeView, NoticeView};
use crate::{App, AppError, AppResult, Caller, policy};
use review::{ModelCard, ModelVersion, ValidationError};
use serde_json::json;
use store::{LaunchChange, LaunchChangeKind, Notice, NoticeChange, NoticeEdit};
use uuid::Uuid;

/// An edit as submitted: each field present is to change, each absent stays.
#[derive(Debug, Clone, Default)]
pub struct NoticeEditInput {
    pub model_card: Option<String>,
    pub model_version: Option<String>,
    pub shared_with: Option<Vec<Uuid>>,
    pub shared_with_all: Option<bool>,
}

/// Whom a notice is shared with, checked as filing checks it: every agency, or at least one named (sorted,
/// without repeats, at most 500), never both.
pub(crate) fn check_sharing(all: bool, mut agencies: Vec<Uuid>) -> AppResult<Vec<Uuid>> {
    agencies.sort();
    agencies.dedup();
    match (all, agencies.is_empty()) {
        (true, false) => {
            Err(ValidationError::new("shared_with", "give either shared_with or shared_with_all").into())
        }
        (false, true) => Err(ValidationError::new(
            "shared_with",
            "name at least one agency, or set shared_with_all",
        )
        .into()),
        _ if agencies.len() > 500 => Err(ValidationError::new("shared_with", "at most 500 agencies").into()),
        _ => Ok(agencies),
    }
}

impl App {
    /// Edits a notice not withdrawn: the developer's own people, as for filing.
    pub async fn edit_notice(
        &self,
        caller: &Caller,
        id: Uuid,
        input: NoticeEditInput,
    ) -> AppResult<NoticeView> {
        let (notice, shares) = self.visible_notice(caller, id).await?;
        if !policy::can_edit_notice(caller, &notice) {
            return Err(AppError::Forbidden("only the developer edits its notice"));
        }
        Self::check_not_withdrawn(&notice)?;
        if input.model_card.is_none()
            && input.model_version.is_none()
            && input.shared_with.is_none()
            && input.shared_with_all.is_none()
        {
            return Err(ValidationError::new(
                "model_card",
                "give at least one of model_card, model_version, shared_with, shared_with_all",
            )
            .into());
        }
        let model_version = match &input.model_version {
            Some(v) => ModelVersion::parse("model_version", v)?.into_inner(),
            None => notice.model_version.clone(),
        };
        let model_card = match &input.model_card {
            Some(c) => ModelCard::parse("model_card", c)?.into_inner(),
            None => notice.model_card.clone(),
        };
        // Naming agencies alone means "these, not every agency"; turning every agency on alone drops the list.
        let all = input
            .shared_with_all
            .unwrap_or(input.shared_with.is_none() && notice.shared_with_all);
        let named = match input.shared_with {
            Some(list) => list,
            None if all => Vec::new(),
            None => shares.clone(),
        };
        let shared_with = check_sharing(all, named)?;
        self.check_agencies("shared_with", &shared_with).await?;

        let changes = changes_of(&notice, &shares, &model_version, &model_card, all, &shared_with);
        if changes.is_empty() {
            return Ok(self.view(caller, notice, shares));
        }
        let sharing_changed = changes.iter().any(NoticeChange::is_sharing);
        let now = self.clock.now();
        let edit = NoticeEdit {
            notice_id: id,
            model_version: model_version.clone(),
            model_card: model_card.clone(),
            shared_with_all: all,
            shared_with: shared_with.clone(),
            sharing_changed,
            now,
        };
        let record = LaunchChange {
            id: Uuid::now_v7(),
            notice_id: id,
            kind: LaunchChangeKind::Edited,
            previous_launch_at: Some(notice.planned_launch_at),
            new_launch_at: notice.planned_launch_at,
            reason: None,
            changed_by: Some(caller.user_id()),
            changed_at: now,
            changes: Some(store::Json(changes.clone())),
        };
        let event = self.event(
            caller.into(),
            "notice.edit",
            "notice",
            Some(id),
            json!({ "changes": changes }),
        );
        let ended = self.store.edit_notice(&edit, &record, &event).await?;
        if ended.tokens_revoked > 0 || !ended.evaluators.is_empty() {
            self.gateway_changed();
        }
        self.notify_soon(&event).await;
        let updated = Notice {
            model_version,
            model_card,
            shared_with_all: all,
            ..notice
        };
        Ok(self.view(caller, updated, shared_with))
    }

    /// The developer's notice of this model and version already filed (not withdrawn), which filing again
    /// warns of; `None` for anyone who files no notices.
    pub async fn notice_of_model(
        &self,
        caller: &Caller,
        model_name: &str,
        model_version: &str,
    ) -> AppResult<Option<NoticeView>> {
        if !policy::can_file_notice(caller) {
            return Ok(None);
        }
        let found = self
            .store
            .notice_of_model(caller.org_id(), model_name.trim(), model_version.trim())
            .await?;
        Ok(found.map(|n| self.view(caller, n, Vec::new())))
    }
}

/// What an edit changes, field by field, in the order of the form.
fn changes_of(
    notice: &Notice,
    shares: &[Uuid],
    model_version: &str,
    model_card: &str,
    all: bool,
    shared_with: &[Uuid],
) -> Vec<NoticeChange> {
    let mut changes = Vec::new();
    if model_version != notice.model_version {
        changes.push(NoticeChange::ModelVersion {
            from: notice.model_version.clone(),
            to: model_version.to_owned(),
        });
    }
    if model_card != notice.model_card {
        changes.push(NoticeChange::ModelCard);
    }
    if all != notice.shared_with_all {
        changes.push(NoticeChange::SharedWithAll {
            from: notice.shared_with_all,
            to: all,
        });
    }
    let added: Vec<Uuid> = shared_with
        .iter()
        .filter(|o| !shares.contains(o))
        .copied()
        .collect();
    let removed: Vec<Uuid> = shares
        .iter()
        .filter(|o| !shared_with.contains(o))
        .copied()
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        changes.push(NoticeChange::SharedWith { added, removed });
    }
    changes
}

impl LaunchChangeView {
    /// The entry as this reader may see it: whom a notice is shared with is its developer's to know, so others
    /// see an edit's other changes only, and not an edit that changed nothing else.
    pub(crate) fn for_reader(mut self, manages: bool) -> Option<Self> {
        if manages {
            return Some(self);
        }
        if let Some(changes) = self.changes.take() {
            let kept: Vec<NoticeChange> = changes.into_iter().filter(|c| !c.is_sharing()).collect();
            if kept.is_empty() {
                return None;
            }
            self.changes = Some(kept);
        }
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shared with every agency, the agencies named, and the list kept or the message of the refusal.
    type Case = (bool, Vec<Uuid>, Result<Vec<Uuid>, &'static str>);

    #[test]
    fn sharing_is_checked_as_filing_checks_it() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let cases: &[Case] = &[
            (true, vec![], Ok(vec![])),
            (false, vec![b, a, b], Ok(vec![a, b])),
            (true, vec![a], Err("give either shared_with or shared_with_all")),
            (
                false,
                vec![],
                Err("name at least one agency, or set shared_with_all"),
            ),
        ];
        for (all, list, want) in cases {
            let got = check_sharing(*all, list.clone());
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(&got, want),
                (Err(AppError::Invalid(e)), Err(message)) => {
                    assert_eq!(e.field, "shared_with");
                    assert!(e.to_string().contains(message), "{e}");
                }
                (got, want) => panic!("{all} {list:?}: got {got:?}, want {want:?}"),
            }
        }
        let many: Vec<Uuid> = (0..501).map(Uuid::from_u128).collect();
        assert!(check_sharing(false, many).is_err());
    }
}
