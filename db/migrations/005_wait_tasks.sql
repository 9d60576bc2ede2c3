-- Wait tasks: a message.wait that outlives its request (MCP Tasks). The id is the caller's unguessable handle.
-- No foreign key to agents: a task whose agent left must still answer, with `failed`.
CREATE TABLE wait_tasks (
  id         text PRIMARY KEY,
  agent_id   uuid NOT NULL,
  room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  status     text NOT NULL CHECK (status IN ('working', 'completed', 'failed', 'cancelled')),
  deadline   timestamptz NOT NULL,
  result     jsonb,
  error      text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX wait_tasks_working_room ON wait_tasks (room_id) WHERE status = 'working';
CREATE INDEX wait_tasks_working_deadline ON wait_tasks (deadline) WHERE status = 'working';
CREATE INDEX wait_tasks_working_agent ON wait_tasks (agent_id) WHERE status = 'working';
-- terminal tasks are deleted an hour after they ended
CREATE INDEX wait_tasks_ended ON wait_tasks (updated_at) WHERE status <> 'working';
