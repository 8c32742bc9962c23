-- When each dashboard user last signed in (unix seconds), for the users list: who still uses
-- their account. NULL: never since this column was added.
ALTER TABLE dashboard_users ADD COLUMN last_sign_in_at BIGINT;
