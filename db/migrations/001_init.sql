-- The schema: rooms, their agents and their messages.
CREATE TABLE rooms (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  password_hash text,
  description   text NOT NULL DEFAULT '',
  type          text NOT NULL DEFAULT 'group' CHECK (type IN ('group', 'channel')),
  created_at    timestamptz NOT NULL,
  last_activity timestamptz NOT NULL,
  last_seq      bigint NOT NULL DEFAULT 0,
  -- broadcast messages, so a history total is O(1): public_count + the agent's dm_count
  public_count  bigint NOT NULL DEFAULT 0
);
-- two unprotected rooms of one name cannot exist
CREATE UNIQUE INDEX rooms_open_name ON rooms (name) WHERE password_hash IS NULL;
CREATE INDEX rooms_name ON rooms (name);
CREATE INDEX rooms_last_activity ON rooms (last_activity);

CREATE TABLE agents (
  id         uuid PRIMARY KEY,
  room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  name       text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  role       text NOT NULL CHECK (role IN ('admin', 'member')),
  endpoint   text,
  cursor     bigint NOT NULL DEFAULT 0,
  dm_count   bigint NOT NULL DEFAULT 0,
  joined_at  timestamptz NOT NULL,
  UNIQUE (room_id, name)
);

-- DMs are addressed by agent id, so a later agent reusing a name never sees an earlier one's DMs
CREATE TABLE messages (
  room_id      uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  seq          bigint NOT NULL,
  id           uuid NOT NULL,
  sender       text NOT NULL,
  sender_id    uuid,
  recipient    text,
  recipient_id uuid,
  body         text NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (room_id, seq)
);
CREATE INDEX messages_dm_to ON messages (room_id, recipient_id, seq) WHERE recipient_id IS NOT NULL;
CREATE INDEX messages_dm_from ON messages (room_id, sender_id, seq) WHERE recipient_id IS NOT NULL;
