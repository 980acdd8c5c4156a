//! The master key: checked against the one that sealed the stored secrets, and rotated by re-sealing them.

use super::connections::seal_context;
use super::metering::transcript_context;
use crate::{Actor, App, AppError, AppResult};
use gateway::{MasterKey, SecretBox};
use serde_json::json;
use store::{MASTER_KEY_SETTING, SealedKind};

impl App {
    /// Checks that the master key is the one that sealed the stored secrets, recording its fingerprint on the
    /// first start.
    pub async fn check_master_key(&self) -> AppResult<()> {
        let fingerprint = self.gateway.secret_box()?.fingerprint();
        match self.store.get_setting(MASTER_KEY_SETTING).await? {
            Some(recorded) if recorded == fingerprint => Ok(()),
            Some(recorded) => Err(AppError::Conflict(format!(
                "the master key (fingerprint {fingerprint}) is not the one that sealed the stored credentials \
                 (fingerprint {recorded}); start with the right --master-key-file"
            ))),
            None => {
                let event = self.event(
                    Actor::Operator,
                    "master_key.register",
                    "master_key",
                    None,
                    json!({"fingerprint": fingerprint}),
                );
                self.store
                    .put_setting(MASTER_KEY_SETTING, &fingerprint, &event)
                    .await?;
                Ok(())
            }
        }
    }

    /// The fingerprint of the key that sealed the stored secrets, as recorded.
    pub async fn recorded_master_key(&self) -> AppResult<Option<String>> {
        Ok(self.store.get_setting(MASTER_KEY_SETTING).await?)
    }

    /// Re-seals every stored secret under `new` in one transaction, and records its fingerprint. Run with the
    /// service stopped: running servers keep the old key in memory. Returns how many values were re-sealed.
    pub async fn reseal_secrets(&self, new: &MasterKey) -> AppResult<usize> {
        let old = self.gateway.secret_box()?;
        // Transcripts this process sealed are resealed with the rest.
        self.settle_calls().await;
        let new_box = SecretBox::new(new);
        let mut values = self.store.sealed_values().await?;
        for value in &mut values {
            let context = match value.kind {
                SealedKind::Connection => seal_context(value.id),
                SealedKind::Transcript => transcript_context(value.id),
                SealedKind::Webhook => crate::webhooks::seal_context(value.id),
                SealedKind::Attachment => crate::clearinghouse::attachment_context(value.id),
                SealedKind::CsafSigningKey => crate::clearinghouse::csaf_sign::seal_context(value.id),
            };
            let plain = old
                .open(&context, &value.sealed)
                .map_err(|e| AppError::Internal(Box::new(e)))?;
            value.sealed = new_box.seal(&context, &plain);
        }
        let event = self.event(
            Actor::Operator,
            "master_key.rotate",
            "master_key",
            None,
            json!({"from": old.fingerprint(), "to": new_box.fingerprint(), "values": values.len()}),
        );
        self.store.reseal(&values, &new_box.fingerprint(), &event).await?;
        Ok(values.len())
    }
}
