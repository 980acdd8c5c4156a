-- A notice's history also holds its edits after filing (model card, version, agencies shared with): kind
-- 'edited', with what changed in `changes` (a JSON array; old and new values of the short fields, the model card
-- only as changed).
ALTER TABLE launch_changes DROP CONSTRAINT launch_changes_kind_check;
ALTER TABLE launch_changes ADD CONSTRAINT launch_changes_kind_check
    CHECK (kind IN ('filed', 'moved', 'launched', 'withdrawn', 'edited'));
ALTER TABLE launch_changes ADD COLUMN changes JSONB;

-- Filing the same model and version again is looked up by the developer, model and version.
CREATE INDEX notices_model ON notices (developer_org_id, model_name, model_version);
