-- A2A push progress, separate from the read cursor: it moves only when the endpoint answered 2xx.
-- NULL = not started (delivery starts after the agent's read cursor).
ALTER TABLE agents ADD COLUMN push_cursor bigint;
ALTER TABLE agents ADD COLUMN push_failures integer NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN push_due_at timestamptz;
-- A lease: exactly one instance delivers to an agent at a time; it expires if that instance dies.
ALTER TABLE agents ADD COLUMN push_owner text;
ALTER TABLE agents ADD COLUMN push_lease_until timestamptz;
CREATE INDEX agents_push ON agents (room_id) WHERE endpoint IS NOT NULL;
