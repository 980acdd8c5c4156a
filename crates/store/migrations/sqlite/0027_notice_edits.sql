-- A notice's history also holds its edits after filing (model card, version, agencies shared with): kind
-- 'edited', with what changed in `changes` (a JSON array; old and new values of the short fields, the model card
-- only as changed). SQLite cannot widen a CHECK in place, so the table is rebuilt; nothing references it.
CREATE TABLE launch_changes_new (
    id BLOB PRIMARY KEY NOT NULL,
    notice_id BLOB NOT NULL REFERENCES notices (id),
    kind TEXT NOT NULL CHECK (kind IN ('filed', 'moved', 'launched', 'withdrawn', 'edited')),
    previous_launch_at TEXT,
    new_launch_at TEXT NOT NULL,
    reason TEXT,
    changed_by BLOB REFERENCES users (id),
    changed_at TEXT NOT NULL,
    changes TEXT
);
INSERT INTO launch_changes_new (id, notice_id, kind, previous_launch_at, new_launch_at, reason, changed_by,
    changed_at)
SELECT id, notice_id, kind, previous_launch_at, new_launch_at, reason, changed_by, changed_at
FROM launch_changes;
DROP TABLE launch_changes;
ALTER TABLE launch_changes_new RENAME TO launch_changes;
CREATE INDEX launch_changes_notice ON launch_changes (notice_id, id);

-- Filing the same model and version again is looked up by the developer, model and version.
CREATE INDEX notices_model ON notices (developer_org_id, model_name, model_version);
