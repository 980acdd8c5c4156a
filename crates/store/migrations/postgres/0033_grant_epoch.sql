-- A counter that moves, in the same transaction, with every change to the rows a gateway token's grant is read
-- from (the token, its holder and their organisation, the notice and its developer, the assignments, the model
-- connections). A process that cached a grant reads only this counter to learn whether the grant may have
-- changed since it was read: one statement instead of reading the grant again. The triggers make it hold for
-- every write, whatever code makes it.
--
-- The triggers are deferred to the end of the transaction, so the counter's row lock is the last lock a
-- transaction takes and is held only while it commits: it cannot take part in a deadlock, and concurrent
-- writers wait for it only for the time of a commit.
CREATE TABLE grant_epoch (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO grant_epoch (id, n) VALUES (1, 0);

CREATE FUNCTION bump_grant_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grant_epoch SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    watched TEXT;
BEGIN
    FOREACH watched IN ARRAY ARRAY['gateway_tokens', 'users', 'organizations', 'notices', 'assignments',
                                   'model_connections'] LOOP
        EXECUTE format('CREATE CONSTRAINT TRIGGER grant_epoch_%1$s AFTER INSERT OR UPDATE OR DELETE ON %1$I '
                       'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_grant_epoch()', watched);
    END LOOP;
END;
$$;
