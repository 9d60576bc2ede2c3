-- Threads and mentions. A reply names the message it answers (reply_to) and its thread's root (thread_id);
-- a message that is not a reply has neither (it starts its own thread). mentions: the names of the room's
-- agents @mentioned in a broadcast, resolved when it was sent; NULL when there are none.
ALTER TABLE messages ADD COLUMN reply_to uuid;
ALTER TABLE messages ADD COLUMN thread_id uuid;
ALTER TABLE messages ADD COLUMN mentions text[];
-- a message by its id: the replyTo check and a thread's root
CREATE INDEX messages_id ON messages (id);
-- a thread's replies in seq order within its room (only replies are indexed)
CREATE INDEX messages_thread ON messages (room_id, thread_id, seq) WHERE thread_id IS NOT NULL;
-- message.wait run as a task may listen only for mentions and DMs
ALTER TABLE wait_tasks ADD COLUMN mentions_only boolean NOT NULL DEFAULT false;
