-- reject-bridge journal, schema version 2: delegated sign-ins (graph.auth = "delegated"), the
-- message state awaiting_signin, and alerts to the ops team. Never edit once released.

-- A stored sign-in. account: "service" (the service account of graph.auth = "delegated").
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

-- Alerts to [alerts] to: at most one mail per kind and period while the cause lasts.
CREATE TABLE alerts (
    kind                TEXT PRIMARY KEY,           -- e.g. "signin_lost"
    since               TEXT    NOT NULL,
    detail              TEXT    NOT NULL,
    last_sent_at        TEXT
);

-- messages gains the state awaiting_signin (between decided and graph_pending). SQLite cannot
-- change a CHECK constraint, so the table is rebuilt.
CREATE TABLE messages_v2 (
    id                      INTEGER PRIMARY KEY,
    mailbox                 TEXT    NOT NULL,
    uidvalidity             INTEGER NOT NULL,
    uid                     INTEGER NOT NULL,
    message_id              TEXT,                       -- the Message-ID header, without <>
    state                   TEXT    NOT NULL DEFAULT 'received'
        CHECK (state IN ('received', 'decided', 'awaiting_signin', 'graph_pending',
                         'graph_done', 'reply_pending', 'reply_done', 'filed')),
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
    graph_outcome           TEXT CHECK (graph_outcome IN ('rejected', 'already_decided', 'not_found', 'failed')),
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
CREATE INDEX messages_awaiting ON messages (id) WHERE state = 'awaiting_signin';
