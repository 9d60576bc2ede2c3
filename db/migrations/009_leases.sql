-- Path leases: an agent's claim on repository paths or globs, shared or exclusive, until it expires. A row per
-- pattern; they go with their agent (kicked, left) and their room.
CREATE TABLE leases (
  room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  agent_id   uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  path       text NOT NULL,
  exclusive  boolean NOT NULL,
  reason     text NOT NULL DEFAULT '',
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (room_id, agent_id, path)
);
CREATE INDEX leases_agent ON leases (agent_id);
CREATE INDEX leases_expiry ON leases (expires_at);
