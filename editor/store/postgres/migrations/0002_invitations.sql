-- Invitations: a role on a document waiting for whoever proves they own an email address
-- (by its verification link or an OpenID Connect issuer), shared before it had an account.

CREATE TABLE invitations (
    doc_id      text COLLATE "C" NOT NULL REFERENCES documents (id),
    email_key   text COLLATE "C" NOT NULL,     -- casefolded, as users.email_key
    email       text NOT NULL,                 -- as the owner typed it (normalized)
    role        text NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    invited_by  text COLLATE "C" NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (doc_id, email_key)
);
CREATE INDEX invitations_by_email ON invitations (email_key);
