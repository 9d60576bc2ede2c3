-- A2A Tasks: an agent following its view of a room (room.subscribe). The id is the caller's unguessable handle.
-- No foreign key to agents: a task whose agent left keeps answering GetTask with its final state.
CREATE TABLE a2a_tasks (
  id         text PRIMARY KEY,
  agent_id   uuid NOT NULL,
  room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  state      text NOT NULL CHECK (state IN ('working', 'completed', 'canceled', 'failed')),
  -- the seq the subscription started after, and the last one written to a stream
  start_seq  bigint NOT NULL,
  cursor     bigint NOT NULL,
  reason     text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX a2a_tasks_agent ON a2a_tasks (agent_id, created_at);
CREATE INDEX a2a_tasks_working_room ON a2a_tasks (room_id) WHERE state = 'working';
