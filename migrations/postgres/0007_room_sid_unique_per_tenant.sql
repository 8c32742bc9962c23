-- A room sid is unique within a tenant, no longer across tenants: with one global constraint,
-- a tenant that sent another tenant's room sid first would block that tenant's call. Whatever
-- the seed's UNIQUE constraint on "livekitRoomSid" is called in a table the old backend made,
-- it is dropped; the index that replaces it also serves the writers' holder lookups.
DO $$
DECLARE
    constraint_name name;
BEGIN
    FOR constraint_name IN
        SELECT con.conname
        FROM pg_constraint con
        JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
        WHERE con.conrelid = 'call_logs'::regclass
          AND con.contype = 'u'
          AND cardinality(con.conkey) = 1
          AND att.attname = 'livekitRoomSid'
    LOOP
        EXECUTE format('ALTER TABLE call_logs DROP CONSTRAINT %I', constraint_name);
    END LOOP;
END $$;

CREATE UNIQUE INDEX IF NOT EXISTS idx_call_logs_user_room_sid
    ON call_logs ("userId", "livekitRoomSid");
