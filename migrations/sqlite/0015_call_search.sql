-- The search box (issue 25): a call by its number's last digits, its SIP call id, its id or room
-- name (those two have indexes already). The number's digits are computed columns (separators
-- + space - ( ) . dropped, as `app::dto::query::Search::phone_digits` drops them), virtual, so
-- adding them rewrites nothing; only the last four are indexed.
ALTER TABLE call_logs ADD COLUMN phoneDigits TEXT GENERATED ALWAYS AS (
    replace(replace(replace(replace(replace(replace(phoneNumber, '+', ''), ' ', ''), '-', ''),
        '(', ''), ')', ''), '.', '')
) VIRTUAL;
ALTER TABLE call_logs ADD COLUMN phoneLast4 TEXT GENERATED ALWAYS AS (
    substr(replace(replace(replace(replace(replace(replace(phoneNumber, '+', ''), ' ', ''), '-', ''),
        '(', ''), ')', ''), '.', ''), -4)
) VIRTUAL;
-- With the tenant beside it: a tenant's search reads its own matches only.
CREATE INDEX idx_call_logs_phone_last4 ON call_logs (phoneLast4, userId);
CREATE INDEX idx_call_logs_sip_call_id ON call_logs (sipCallId);
