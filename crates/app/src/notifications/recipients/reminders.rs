//! Reminders of what falls due: their stable ids and when each is due.

use super::*;

/// An id for a reminder that is the same every time it is computed for the same thing, kind and days: the
/// notification's uniqueness (person, event, kind) then sends each reminder once.
pub fn reminder_id(about: Uuid, kind: NotificationKind, days: u32) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("reminder:{about}:{}:{days}", kind.as_str()).as_bytes());
    let mut bytes = [0_u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// When something at `at` is due for the reminder of `days` days out of `reminders` (largest first): the
/// smallest reminder that `at - now` fits in, so that a notice filed late gets one reminder, not several.
pub fn reminder_due(at: DateTime<Utc>, now: DateTime<Utc>, reminders: &[u32]) -> Option<u32> {
    if at <= now {
        return None;
    }
    let left = at - now;
    reminders
        .iter()
        .copied()
        .filter(|days| left <= chrono::Duration::days(i64::from(*days)))
        .min()
}
