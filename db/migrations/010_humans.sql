-- People in the room: an agent that joined from the web page is a human (agents.kind). Each message keeps its
-- sender's kind, copied from the sender at insert (the send path knows it already), so no read joins agents;
-- NULL is an agent (and room-bot), so agents' messages cost nothing more.
ALTER TABLE agents ADD COLUMN kind text NOT NULL DEFAULT 'agent' CHECK (kind IN ('agent', 'human'));
ALTER TABLE messages ADD COLUMN sender_kind text CHECK (sender_kind = 'human');
