-- Liaison's ledger on PostgreSQL: the same tables as the SQLite store (src/sqlite.rs).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE event (
    seq BIGINT PRIMARY KEY,
    bytes BYTEA NOT NULL,
    leaf BYTEA NOT NULL,
    recorded_us BIGINT NOT NULL,
    valid_us BIGINT NOT NULL,
    type TEXT NOT NULL,
    subject TEXT,
    corrects BIGINT
);
CREATE INDEX event_subject ON event (subject, seq) WHERE subject IS NOT NULL;
CREATE TABLE merkle_node (level BIGINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE checkpoint (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE command (
    idempotency_key TEXT PRIMARY KEY,
    request_hash BYTEA NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    checkpoint_size BIGINT NOT NULL
);
CREATE TABLE projection (kind TEXT NOT NULL, id TEXT NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE law_version (rules_hash TEXT PRIMARY KEY, sources TEXT NOT NULL);
CREATE FUNCTION liaison_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event FOR EACH ROW EXECUTE FUNCTION liaison_append_only();
CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON event FOR EACH STATEMENT EXECUTE FUNCTION liaison_append_only();
CREATE TRIGGER checkpoint_append_only BEFORE UPDATE OR DELETE ON checkpoint FOR EACH ROW EXECUTE FUNCTION liaison_append_only();
CREATE TRIGGER checkpoint_no_truncate BEFORE TRUNCATE ON checkpoint FOR EACH STATEMENT EXECUTE FUNCTION liaison_append_only();
