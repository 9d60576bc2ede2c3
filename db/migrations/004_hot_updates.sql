-- rooms and agents rows are updated on every message (seq counter, cursors): leave free space on each page
-- so those updates stay HOT (no new index entries, no bloat as the store grows).
ALTER TABLE rooms SET (fillfactor = 70);
ALTER TABLE agents SET (fillfactor = 70);
