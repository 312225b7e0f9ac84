-- The outbox relay's lease: of the processes that run a relay, one drains at a time (the
-- others would publish the same rows again: allowed by at-least-once, but wasted traffic).

CREATE TABLE relay_lease (
    name    text COLLATE "C" PRIMARY KEY,
    holder  text NOT NULL,
    until   timestamptz NOT NULL
);
