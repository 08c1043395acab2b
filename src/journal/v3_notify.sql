-- reject-bridge journal, schema version 3: the notifier (SPEC §7). Applied after
-- v2_signins.sql by src/journal.rs; never edit once released.

-- Requests the notifier has seen waiting for approval. A row is opened when a request is first
-- listed in `needsApproval` and closed (once) when it is seen in any other status, expired, or
-- gone; closing queues the follow-ups in the same transaction.
CREATE TABLE notify_requests (
    request_id     TEXT PRIMARY KEY,                   -- lower-cased
    status         TEXT NOT NULL,                      -- the status last seen
    details_json   TEXT NOT NULL,                      -- the request as last listed, for the mails
    expires_at     TEXT,                               -- expirationDateTime, normalised like NOW
    first_seen_at  TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    closed_at      TEXT                                -- set once, when it left needsApproval
);

CREATE INDEX notify_requests_open ON notify_requests (request_id) WHERE closed_at IS NULL;

-- One random reply key per (request, recipient): carried in the Reply-To plus-address, the
-- Message-IDs and the footer reference of every mail about that request to that recipient.
CREATE TABLE reply_keys (
    reply_key       TEXT PRIMARY KEY,                  -- lower-case base32
    request_id      TEXT NOT NULL,                     -- lower-cased
    recipient       TEXT NOT NULL,                     -- lower-cased address
    recipient_name  TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (request_id, recipient)
);

-- Every mail the notifier sends, at most one per (request, recipient, kind). The row, with its
-- Message-ID, is written before the first send attempt: `pending` after a crash means "it may
-- have gone out: send again with the same Message-ID".
CREATE TABLE notify_mails (
    id           INTEGER PRIMARY KEY,
    reply_key    TEXT NOT NULL REFERENCES reply_keys (reply_key),
    request_id   TEXT NOT NULL,                        -- lower-cased
    recipient    TEXT NOT NULL,                        -- lower-cased address
    kind         TEXT NOT NULL CHECK (kind IN ('notification', 'followup', 'reminder')),
    message_id   TEXT NOT NULL UNIQUE,                 -- without <>
    state        TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'undeliverable', 'dropped')),
    created_at   TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT,                                 -- the latest attempt
    done_at      TEXT,                                 -- sent, refused for good, or dropped
    last_error   TEXT,                                 -- the latest failure, or why it was dropped
    UNIQUE (request_id, recipient, kind)
);

CREATE INDEX notify_mails_pending ON notify_mails (id) WHERE state = 'pending';

-- Notifications recorded by schema version 1 (a Message-ID per request and recipient) become
-- sent notifications with a key of their own, so replies to them are still recognised.
INSERT OR IGNORE INTO reply_keys (reply_key, request_id, recipient, created_at)
    SELECT 'v1.' || message_id, lower(request_id), lower(recipient), sent_at FROM notifications;
INSERT OR IGNORE INTO notify_mails
        (reply_key, request_id, recipient, kind, message_id, state, created_at, done_at)
    SELECT k.reply_key, k.request_id, k.recipient, 'notification', n.message_id, 'sent', n.sent_at,
           n.sent_at
    FROM notifications n JOIN reply_keys k ON k.reply_key = 'v1.' || n.message_id;
DROP TABLE notifications;
