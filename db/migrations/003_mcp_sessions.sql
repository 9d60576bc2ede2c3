-- MCP sessions survive restarts and move between instances. Rows are keyed by a digest of the session id,
-- and the agent token is sealed with a key derived from the session id: a database dump reveals neither.
CREATE TABLE mcp_sessions (
  key         text PRIMARY KEY,
  token_box   text,
  agent_id    uuid,
  room_id     uuid,
  log_level   text NOT NULL DEFAULT 'info',
  -- the client has opened the standalone GET stream: notifications go to the event log, not to tool results
  uses_stream boolean NOT NULL DEFAULT false,
  -- notifications start after this room seq (set when the session joins a room)
  notify_after bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL
);
CREATE INDEX mcp_sessions_last_seen ON mcp_sessions (last_seen);

-- The GET stream's event log: the id is the SSE event id, monotonic per session.
CREATE TABLE mcp_events (
  id          bigserial PRIMARY KEY,
  session_key text NOT NULL,
  seq         bigint,
  message     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mcp_events_session ON mcp_events (session_key, id);
CREATE INDEX mcp_events_created ON mcp_events (created_at);
