-- reject-bridge journal, schema version 2: delegated sign-ins (graph.auth = "delegated"), the
-- message states awaiting_signin and awaiting_link, the graph outcome forbidden, approvers' linking
-- links (graph.act_as = "approver"), and alerts to the ops team. Never edit once released.

-- A stored sign-in. account: "service" (the service account of graph.auth = "delegated"), or
-- "approver:<address>" (an approver's own account, graph.act_as = "approver").
-- The refresh token is sealed (XChaCha20-Poly1305, src/signin/vault.rs), never plain text.
CREATE TABLE signins (
    account             TEXT PRIMARY KEY,
    user_id             TEXT,                       -- Entra object id (oid)
    username            TEXT,                       -- preferred_username (the UPN)
    display_name        TEXT,
    scopes              TEXT    NOT NULL,           -- granted, space-separated
    sealed_token        BLOB    NOT NULL,           -- nonce || ciphertext || tag
    generation          INTEGER NOT NULL,           -- +1 at every login; a refresh only rotates its own
    signed_in_at        TEXT    NOT NULL,
    refreshed_at        TEXT    NOT NULL,
    lost_at             TEXT,                       -- Entra refused the refresh token: a person must sign in
    lost_reason         TEXT
);

-- graph.act_as = "approver": the one-time link mailed to an approver whose rejection is held until
-- they sign in with their own account. One per held message; the token itself is only in the mail
-- (sealed here for a resend after a crash), looked up by its SHA-256.
CREATE TABLE links (
    id                  INTEGER PRIMARY KEY,
    token_hash          TEXT    NOT NULL UNIQUE,    -- hex SHA-256 of the token in the link
    sealed_token        BLOB    NOT NULL,
    approver            TEXT    NOT NULL,           -- lower-cased address it was mailed to
    message_row         INTEGER UNIQUE,             -- messages.id of the held reply
    mail_message_id     TEXT    NOT NULL,           -- the link mail's Message-ID, fixed before the send
    created_at          TEXT    NOT NULL,
    expires_at          TEXT    NOT NULL,
    mailed_at           TEXT,
    oauth_state         TEXT UNIQUE,                -- the authorize round trip under way
    sealed_verifier     BLOB,                       -- its PKCE verifier
    used_at             TEXT,                       -- the approver signed in through it
    last_error          TEXT
);

CREATE INDEX links_approver ON links (approver);

-- Alerts to [alerts] to: at most one mail per kind and period while the cause lasts.
CREATE TABLE alerts (
    kind                TEXT PRIMARY KEY,           -- e.g. "signin_lost"
    since               TEXT    NOT NULL,
    detail              TEXT    NOT NULL,
    last_sent_at        TEXT
);

-- messages gains the states awaiting_signin and awaiting_link (between decided and graph_pending)
-- and the graph outcome forbidden. SQLite cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE messages_v2 (
    id                      INTEGER PRIMARY KEY,
    mailbox                 TEXT    NOT NULL,
    uidvalidity             INTEGER NOT NULL,
    uid                     INTEGER NOT NULL,
    message_id              TEXT,                       -- the Message-ID header, without <>
    state                   TEXT    NOT NULL DEFAULT 'received'
        CHECK (state IN ('received', 'decided', 'awaiting_signin', 'awaiting_link',
                         'graph_pending', 'graph_done', 'reply_pending', 'reply_done', 'filed')),
    received_at             TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL,

    -- read & decide (SPEC §3)
    fetch_attempts          INTEGER NOT NULL DEFAULT 0,
    decision                TEXT CHECK (decision IN ('reject', 'refuse', 'ignore')),
    reason                  TEXT,
    request_id              TEXT,
    approver                TEXT,
    justification           TEXT,
    graph_justification     TEXT,
    justification_truncated INTEGER NOT NULL DEFAULT 0,
    subject                 TEXT,                       -- the original Subject, for the reply
    references_json         TEXT,                       -- the original References (JSON array, no <>)
    decided_at              TEXT,

    -- Graph (SPEC §4)
    graph_attempts          INTEGER NOT NULL DEFAULT 0,
    graph_started_at        TEXT,
    graph_outcome           TEXT CHECK (graph_outcome IN ('rejected', 'already_decided', 'not_found',
                                                          'forbidden', 'failed')),
    graph_status            TEXT,                       -- already_decided: the request's status
    graph_error             TEXT,                       -- failed: why
    graph_done_at           TEXT,

    -- reply (SPEC §5)
    reply_message_id        TEXT,                       -- fixed before the first send, without <>
    reply_attempts          INTEGER NOT NULL DEFAULT 0,
    reply_started_at        TEXT,
    reply_result            TEXT CHECK (reply_result IN ('sent', 'undeliverable')),
    reply_error             TEXT,
    reply_done_at           TEXT,

    -- filing (SPEC §5)
    target_folder           TEXT,
    file_attempts           INTEGER NOT NULL DEFAULT 0,
    filed_at                TEXT,

    -- the last failure of any step
    last_error              TEXT,
    last_error_step         TEXT,
    last_error_at           TEXT,
    gave_up                 INTEGER NOT NULL DEFAULT 0, -- a permanent error: file it to the failed folder

    -- awaiting_signin: since when, and why (the sign-in's loss, in words)
    awaiting_since          TEXT,
    awaiting_reason         TEXT,

    UNIQUE (mailbox, uidvalidity, uid)
);

INSERT INTO messages_v2 (id, mailbox, uidvalidity, uid, message_id, state, received_at,
    updated_at, fetch_attempts, decision, reason, request_id, approver, justification,
    graph_justification, justification_truncated, subject, references_json, decided_at,
    graph_attempts, graph_started_at, graph_outcome, graph_status, graph_error, graph_done_at,
    reply_message_id, reply_attempts, reply_started_at, reply_result, reply_error, reply_done_at,
    target_folder, file_attempts, filed_at, last_error, last_error_step, last_error_at, gave_up)
SELECT id, mailbox, uidvalidity, uid, message_id, state, received_at,
    updated_at, fetch_attempts, decision, reason, request_id, approver, justification,
    graph_justification, justification_truncated, subject, references_json, decided_at,
    graph_attempts, graph_started_at, graph_outcome, graph_status, graph_error, graph_done_at,
    reply_message_id, reply_attempts, reply_started_at, reply_result, reply_error, reply_done_at,
    target_folder, file_attempts, filed_at, last_error, last_error_step, last_error_at, gave_up
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v2 RENAME TO messages;
CREATE INDEX messages_unfinished ON messages (id) WHERE state <> 'filed';
CREATE INDEX messages_request_id ON messages (request_id);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_awaiting ON messages (id) WHERE state IN ('awaiting_signin', 'awaiting_link');
