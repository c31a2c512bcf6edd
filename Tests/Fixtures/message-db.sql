-- A stand-in for Message DB (github.com/message-db/message-db), whose installer no registry on
-- this machine packages: its messages table with the documented columns, and a write_message
-- with the same concurrency discipline: a transaction-scoped advisory lock on the category's
-- 64-bit hash, taken before the message's global_position. The tests write through it and
-- Projector reads the table in place. Each test replaces message_store with a schema of its own.
CREATE SCHEMA message_store;

CREATE TABLE message_store.messages (
    global_position bigserial PRIMARY KEY,
    position bigint NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    time timestamp without time zone NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    stream_name text NOT NULL,
    type text NOT NULL,
    data jsonb,
    metadata jsonb
);

CREATE FUNCTION message_store.write_message(
    id varchar, stream_name varchar, type varchar, data jsonb, metadata jsonb DEFAULT NULL,
    expected_version bigint DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    category text := split_part(write_message.stream_name, '-', 1);
    current bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(('x' || substr(md5(category), 1, 16))::bit(64)::bigint);
    SELECT max(m.position) INTO current FROM message_store.messages m WHERE m.stream_name = write_message.stream_name;
    current := coalesce(current, -1);
    IF write_message.expected_version IS NOT NULL AND write_message.expected_version <> current THEN
        RAISE EXCEPTION 'Wrong expected version: % (Stream: %, Stream Version: %)',
            write_message.expected_version, write_message.stream_name, current;
    END IF;
    INSERT INTO message_store.messages (id, stream_name, position, type, data, metadata)
    VALUES (write_message.id::uuid, write_message.stream_name, current + 1, write_message.type,
        write_message.data, write_message.metadata);
    RETURN current + 1;
END $$;
