-- A2A push notification configs of room subscription tasks: where to POST each status update, with the config's
-- token and authentication, and the delivery progress (cursor, lease, backoff) as for agents' endpoints.
CREATE TABLE task_push_configs (
  task_id          text NOT NULL REFERENCES a2a_tasks (id) ON DELETE CASCADE,
  id               text NOT NULL,
  room_id          uuid NOT NULL,
  agent_id         uuid NOT NULL,
  url              text NOT NULL,
  token            text,
  auth_scheme      text,
  auth_credentials text,
  cursor           bigint NOT NULL,
  failures         integer NOT NULL DEFAULT 0,
  owner            text,
  lease_until      timestamptz,
  due_at           timestamptz,
  created_at       timestamptz NOT NULL,
  PRIMARY KEY (task_id, id)
);
CREATE INDEX task_push_configs_room ON task_push_configs (room_id);
