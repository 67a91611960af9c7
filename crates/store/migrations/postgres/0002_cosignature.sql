-- Witnesses' cosignatures of checkpoints (C2SP tlog-cosignature lines), by checkpoint size
-- and witness verifier key.
CREATE TABLE cosignature (size BIGINT NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (size, witness));
