-- Full-text search over message bodies (message.search); room-bot notices (push summaries…) are messages too.
-- 'english', not 'simple': agents write prose around code, and stemming lets "fix" find "fixed" and "fixes",
-- "test" find "tests" and "testing", while stop words ("the", "is") stay out of matches and ranking. Code
-- survives it: the parser keeps paths, file names, URLs, e-mails and versions whole (src/app.ts, v1.2.3) and a
-- hyphenated word both whole and in parts, and queries are stemmed like the bodies, so a name finds itself.
-- Both PostgreSQL and PGlite ship the configuration.
-- The vector also holds one lexeme for the room ('room <uuid>'; the parser never makes a lexeme with a space),
-- which every search ANDs in: the GIN scan then stays within one room (a common word in 1M messages is 150k
-- index entries, its share of one room 1.5k: 180 ms against 1.5 ms).
-- A stored column rather than an expression index: inserts cost the same (to_tsvector runs once either way),
-- but ranking then reads the vector instead of parsing every matching body again. STORED is spelt out: PostgreSQL
-- 18 (PGlite) would otherwise make it virtual. Adding it rewrites the messages table once, at this migration.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
  to_tsvector('english', body) || array_to_tsvector(ARRAY['room ' || room_id::text])
) STORED;
-- A small pending list: new entries are merged into the index in short steps instead of 4 MB ones that stall
-- one send, and a search never scans a long unmerged list.
CREATE INDEX messages_search ON messages USING gin (search) WITH (gin_pending_list_limit = 256);
