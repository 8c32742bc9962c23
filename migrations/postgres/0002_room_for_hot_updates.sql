-- Leave room in each page so that updates touching no indexed column (heartbeats, counter bumps)
-- are HOT: the new row version stays on the page and none of call_logs' nine indexes is
-- written. Applies to pages written from now on. SQLite has no equivalent setting.
ALTER TABLE call_logs SET (fillfactor = 80);
ALTER TABLE call_hourly_rollup SET (fillfactor = 70);
