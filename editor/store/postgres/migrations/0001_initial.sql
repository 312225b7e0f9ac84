-- The whole store on PostgreSQL: accounts, documents, the op log, snapshots, the outbox.
--
-- Identifiers are the editor's own (32 hex digits) and keys compare byte-wise (COLLATE "C"):
-- the same order as the SQLite build, whatever the database's locale, and cheaper indexes.
-- Deltas and snapshot contents are compact JSON text, not jsonb: the editor's strings may hold
-- U+0000, which jsonb refuses, and the op log is written far more often than it is queried.
-- Times are timestamptz; the store speaks epoch seconds (microsecond precision).

CREATE TABLE users (
    id              text COLLATE "C" PRIMARY KEY,
    email           text NOT NULL,                 -- as typed
    email_key       text COLLATE "C" NOT NULL,     -- casefolded: one account per address
    name            text NOT NULL,
    password_hash   text NOT NULL,                 -- '' for accounts that sign in through OIDC
    email_verified  boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    CONSTRAINT users_email_key_unique UNIQUE (email_key)
);

CREATE TABLE documents (
    id            text COLLATE "C" PRIMARY KEY,
    title         text NOT NULL,
    owner_id      text COLLATE "C" NOT NULL REFERENCES users (id),
    head          bigint NOT NULL DEFAULT 0 CHECK (head >= 0),          -- committed ops
    relayed_head  bigint NOT NULL DEFAULT 0 CHECK (relayed_head >= 0),  -- ops on the stream
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted_at    timestamptz                                           -- soft delete
);
CREATE INDEX documents_owner ON documents (owner_id);
-- The relay's scan: only documents whose op log is ahead of the event stream.
CREATE INDEX documents_unrelayed ON documents (updated_at) WHERE head > relayed_head;

CREATE TABLE members (
    doc_id   text COLLATE "C" NOT NULL REFERENCES documents (id),
    user_id  text COLLATE "C" NOT NULL REFERENCES users (id),
    role     text NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    PRIMARY KEY (doc_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id) INCLUDE (role);

-- The op log: the only sequencer of a document's versions.
CREATE TABLE ops (
    doc_id      text COLLATE "C" NOT NULL REFERENCES documents (id),
    version     bigint NOT NULL CHECK (version >= 0),
    user_id     text COLLATE "C" NOT NULL,
    client_id   text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL,
    delta       text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (doc_id, version)
);
-- The dedup key; INCLUDE answers "which version has this seq" from the index alone.
CREATE UNIQUE INDEX ops_dedup ON ops (doc_id, user_id, client_id, seq) INCLUDE (version);

CREATE TABLE snapshots (
    doc_id   text COLLATE "C" NOT NULL REFERENCES documents (id),
    version  bigint NOT NULL CHECK (version >= 0),
    content  text NOT NULL,
    PRIMARY KEY (doc_id, version)
);

CREATE TABLE refresh_tokens (
    token_hash  text COLLATE "C" PRIMARY KEY,
    family_id   text COLLATE "C" NOT NULL,
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE email_tokens (
    token_hash  text COLLATE "C" PRIMARY KEY,
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id),
    email       text NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX email_tokens_by_user ON email_tokens (user_id);

CREATE TABLE identities (
    issuer   text COLLATE "C" NOT NULL,
    subject  text COLLATE "C" NOT NULL,
    user_id  text COLLATE "C" NOT NULL REFERENCES users (id),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX identities_by_user ON identities (user_id);

-- Domain events written in the transaction of their change; the relay drains them in
-- position order and deletes what reached the event stream.
CREATE TABLE outbox (
    position  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic     text NOT NULL,
    key       text NOT NULL,
    body      jsonb NOT NULL
);
