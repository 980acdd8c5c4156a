-- A counter that moves, in the same transaction, with every change to the rows a gateway token's grant is read
-- from (the token, its holder and their organisation, the notice and its developer, the assignments, the model
-- connections). A process that cached a grant reads only this counter to learn whether the grant may have
-- changed since it was read: one statement instead of reading the grant again. The triggers make it hold for
-- every write, whatever code makes it. (SQLite has one writer at a time, so where in the transaction the counter
-- moves does not matter here.)
CREATE TABLE grant_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO grant_epoch (id, n) VALUES (1, 0);

CREATE TRIGGER grant_epoch_gateway_tokens_insert AFTER INSERT ON gateway_tokens
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_gateway_tokens_update AFTER UPDATE ON gateway_tokens
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_gateway_tokens_delete AFTER DELETE ON gateway_tokens
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_users_insert AFTER INSERT ON users
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_users_update AFTER UPDATE ON users
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_users_delete AFTER DELETE ON users
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_organizations_insert AFTER INSERT ON organizations
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_organizations_update AFTER UPDATE ON organizations
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_organizations_delete AFTER DELETE ON organizations
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_notices_insert AFTER INSERT ON notices
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_notices_update AFTER UPDATE ON notices
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_notices_delete AFTER DELETE ON notices
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_assignments_insert AFTER INSERT ON assignments
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_assignments_update AFTER UPDATE ON assignments
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_assignments_delete AFTER DELETE ON assignments
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_model_connections_insert AFTER INSERT ON model_connections
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_model_connections_update AFTER UPDATE ON model_connections
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER grant_epoch_model_connections_delete AFTER DELETE ON model_connections
BEGIN UPDATE grant_epoch SET n = n + 1 WHERE id = 1; END;
