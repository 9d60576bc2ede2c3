-- Delivery receipts. delivered/read are derived from per-agent cursors, so a broadcast writes nothing per
-- recipient: the read cursor (agents.cursor, read_at: when it last moved forward), one delivery cursor per agent
-- and surface (delivery_marks), and the seq of the agent's join notice (joined_seq: it receives what comes after).
-- Rows are stored only for acknowledgements of messages sent with ackRequired.
ALTER TABLE messages ADD COLUMN ack_required boolean;
ALTER TABLE agents ADD COLUMN joined_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN read_at timestamptz;

-- how far each surface has delivered the room to an agent, and when that cursor last moved forward
CREATE TABLE delivery_marks (
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  surface  text NOT NULL CHECK (surface IN ('unread', 'history', 'wait', 'sse', 'mcp', 'push')),
  seq      bigint NOT NULL,
  at       timestamptz NOT NULL,
  PRIMARY KEY (agent_id, surface)
);

-- no foreign key to agents: an acknowledgement outlives its agent's leaving (the name says who it was)
CREATE TABLE message_acks (
  room_id    uuid NOT NULL,
  seq        bigint NOT NULL,
  agent_id   uuid NOT NULL,
  agent_name text NOT NULL,
  at         timestamptz NOT NULL,
  PRIMARY KEY (room_id, seq, agent_id),
  FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);
