-- The search box (issue 25): a call by its number's last digits, its SIP call id, its id or room
-- name (those two have indexes already). The number's digits are computed columns (separators
-- + space - ( ) . dropped, as `app::dto::query::Search::phone_digits` drops them); PostgreSQL
-- 15 stores them, so adding them rewrites call_logs once. Only the last four are indexed.
ALTER TABLE call_logs
    ADD COLUMN IF NOT EXISTS "phoneDigits" TEXT GENERATED ALWAYS AS (
        replace(replace(replace(replace(replace(replace("phoneNumber", '+', ''), ' ', ''), '-', ''),
            '(', ''), ')', ''), '.', '')
    ) STORED,
    ADD COLUMN IF NOT EXISTS "phoneLast4" TEXT GENERATED ALWAYS AS (
        right(replace(replace(replace(replace(replace(replace("phoneNumber", '+', ''), ' ', ''), '-', ''),
            '(', ''), ')', ''), '.', ''), 4)
    ) STORED;
-- With the tenant beside it: a tenant's search reads its own matches only.
CREATE INDEX IF NOT EXISTS idx_call_logs_phone_last4 ON call_logs ("phoneLast4", "userId");
CREATE INDEX IF NOT EXISTS idx_call_logs_sip_call_id ON call_logs ("sipCallId");
