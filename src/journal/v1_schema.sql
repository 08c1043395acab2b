-- reject-bridge journal, schema version 1 (applied by src/journal/migrate.rs; `PRAGMA user_version` records it).
-- Later versions append a new migration to `MIGRATIONS` in journal/migrate.rs: never edit this one once released.

-- One row per message seen in the watched mailbox, keyed by where it was seen. The row only moves
-- forward: received → decided → graph_pending → graph_done → reply_pending → reply_done → filed
-- (ignored messages go decided → filed, refusals decided → reply_pending, unreadable ones → filed).
CREATE TABLE messages (
    id                      INTEGER PRIMARY KEY,
    mailbox                 TEXT    NOT NULL,
    uidvalidity             INTEGER NOT NULL,
    uid                     INTEGER NOT NULL,
    message_id              TEXT,                       -- the Message-ID header, without <>
    state                   TEXT    NOT NULL DEFAULT 'received'
        CHECK (state IN ('received', 'decided', 'graph_pending', 'graph_done',
                         'reply_pending', 'reply_done', 'filed')),
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

    UNIQUE (mailbox, uidvalidity, uid)
);

CREATE INDEX messages_unfinished ON messages (id) WHERE state <> 'filed';
CREATE INDEX messages_request_id ON messages (request_id);
CREATE INDEX messages_message_id ON messages (message_id);

-- Notifications the bridge sent (SPEC §7): a reply naming one of these Message-IDs is about its request.
CREATE TABLE notifications (
    message_id  TEXT PRIMARY KEY,                       -- without <>
    request_id  TEXT NOT NULL,
    recipient   TEXT NOT NULL,                          -- lower-cased address
    sent_at     TEXT NOT NULL
);

CREATE INDEX notifications_request ON notifications (request_id, recipient);
