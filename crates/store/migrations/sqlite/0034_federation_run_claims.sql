-- A run of a peer (a pull, or a push) claims it first: claimed_until (push_claimed_until) is set, in one
-- statement, only while no other run holds it, and cleared when the run ends. A scheduled run claims only a
-- peer that is still due, so a run queued before another ended does nothing. A run that dies holding its claim
-- (a killed process) lets the peer run again once the claim's time has passed.
ALTER TABLE federation_peers ADD COLUMN claimed_until TEXT;
ALTER TABLE federation_peers ADD COLUMN push_claimed_until TEXT;
