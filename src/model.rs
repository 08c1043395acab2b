//! The plain data every stage speaks, depending on nothing else in the crate: a message's
//! key, the decision and its reason, where a journal row stands, what Graph said and how a reply
//! went. Stages import these from here and never from each other, so the flow's arrows only
//! point down.
//!
//! Each enum that is stored, logged or printed by name gets its one string mapping from
//! `names!`: `as_str`, `parse`, `ALL`, `Display` and `Serialize` all read the same table.

use std::fmt;
use std::time::Duration;

/// How long the work in hand (the message being processed, the notifier's mail being sent) may
/// take to finish after a shutdown signal; then it is abandoned, which the journal makes safe.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Declares a field-less enum with one name per variant, and from that single table:
/// `as_str`, `parse` (the inverse), `ALL` (declaration order), `Display` and `Serialize`
/// (as the name).
macro_rules! names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The variant's name, as stored, logged and printed.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The variant named `s` ([`Self::as_str`]'s inverse).
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use names;

names! {
    /// The decision of SPEC §3.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Verdict {
        Reject = "reject",
        Refuse = "refuse",
        Ignore = "ignore",
    }
}

names! {
    /// The `reason` codes of SPEC §3.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Reason {
        Malformed = "malformed",
        OwnMessage = "own_message",
        AutoSubmitted = "auto_submitted",
        Stale = "stale",
        Unauthenticated = "unauthenticated",
        SenderNotAllowed = "sender_not_allowed",
        UnknownNotification = "unknown_notification",
        Encrypted = "encrypted",
        NoRequestId = "no_request_id",
        AmbiguousRequestId = "ambiguous_request_id",
        LooksLikeApproval = "looks_like_approval",
        Ok = "ok",
    }
}

names! {
    /// Where a journal row stands. Ordered: a row never goes back to an earlier state.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum State {
        Received = "received",
        Decided = "decided",
        /// A reject that needs Graph while the delegated sign-in is lost: not answered, not
        /// filed, it waits for `reject-bridge login` (then `graph_pending`, the status checked
        /// first).
        AwaitingSignin = "awaiting_signin",
        /// `graph.act_as = "approver"`: a reject held until its approver signs in with their own
        /// account through the link mailed to them (or the link expires: then filed).
        AwaitingLink = "awaiting_link",
        GraphPending = "graph_pending",
        GraphDone = "graph_done",
        ReplyPending = "reply_pending",
        ReplyDone = "reply_done",
        Filed = "filed",
    }
}

names! {
    /// The pipeline's steps, as recorded with a row's last failure.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Step {
        /// Fetching the message (attempts are counted when its failure is recorded).
        Fetch = "fetch",
        /// Reading and deciding it (attempts counted when the reading begins).
        Read = "read",
        Graph = "graph",
        Reply = "reply",
        File = "file",
        /// A panic in any step after the reading: counted like a failed reading.
        Panic = "panic",
    }
}

/// Where a message was seen: the journal's key. A new UIDVALIDITY makes every key new.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MsgKey {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

impl MsgKey {
    pub fn new(mailbox: impl Into<String>, uidvalidity: u32, uid: u32) -> MsgKey {
        MsgKey {
            mailbox: mailbox.into(),
            uidvalidity,
            uid,
        }
    }
}

impl fmt::Display for MsgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.mailbox, self.uidvalidity, self.uid)
    }
}

/// What was decided about a message, and what the reply needs to know about the original.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    pub verdict: Verdict,
    /// The reason code of SPEC §3 (`ok`, `no_request_id`, `sender_not_allowed`, ...).
    pub reason: String,
    pub request_id: Option<String>,
    pub approver: Option<String>,
    pub justification: Option<String>,
    pub graph_justification: Option<String>,
    /// The approver's text was cut to fit Graph's limit (the confirmation says so).
    pub truncated: bool,
    /// The original Subject, for `Re: …`.
    pub subject: Option<String>,
    /// The original References (without `<>`), for threading the reply.
    pub references: Vec<String>,
}

/// What Graph said (SPEC §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphOutcome {
    /// We rejected it (or a lost answer turned out to be our rejection).
    Rejected,
    /// The request was no longer `needsApproval`; `status` is what it was.
    AlreadyDecided { status: String },
    /// Graph answered 404.
    NotFound,
    /// Intune refused the decision by this identity (403): not in an approver group of the
    /// request's policy, or the requester deciding their own request. Never retried as another.
    Forbidden { message: String },
    /// Gave up (retry budget spent, or a permanent error): why.
    Failed { message: String },
}

impl GraphOutcome {
    /// The outcome's name, which is also the reply template's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            GraphOutcome::Rejected => "rejected",
            GraphOutcome::AlreadyDecided { .. } => "already_decided",
            GraphOutcome::NotFound => "not_found",
            GraphOutcome::Forbidden { .. } => "forbidden",
            GraphOutcome::Failed { .. } => "failed",
        }
    }
}

/// How the reply went (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyResult {
    Sent,
    /// The SMTP server refused it permanently (5xx): the message is filed anyway.
    Undeliverable {
        error: String,
    },
}

impl ReplyResult {
    /// The result's name, as counted in the metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReplyResult::Sent => "sent",
            ReplyResult::Undeliverable { .. } => "undeliverable",
        }
    }
}

/// The last failure recorded on a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    pub step: String,
    pub error: String,
    pub at: String,
}

/// A notification the bridge sent that a reply names in `In-Reply-To`/`References` (SPEC §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notified {
    /// Lower-cased.
    pub request_id: String,
    /// Lower-cased: who the notification was sent to.
    pub recipient: String,
}

/// A Message-ID as the journal stores and compares it: without the angle brackets and the
/// space around it (`" <a@b> "` → `"a@b"`). The one place that decides this: rows, the reader and
/// the threading headers all go through it, so an ID written with brackets and one without match.
pub fn bare_message_id(id: &str) -> &str {
    let t = id.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t);
    t.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_lose_their_brackets_once() {
        assert_eq!(bare_message_id(" <a.b@c.example> "), "a.b@c.example");
        assert_eq!(bare_message_id("a.b@c.example"), "a.b@c.example");
        assert_eq!(bare_message_id("<a@b"), "a@b");
        assert_eq!(bare_message_id("a@b>"), "a@b");
        assert_eq!(bare_message_id("< a@b >"), "a@b");
        assert_eq!(bare_message_id("<<a@b>>"), "<a@b>");
        assert_eq!(bare_message_id("<>"), "");
    }

    #[test]
    fn every_name_reads_back() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        for s in State::ALL {
            assert_eq!(State::parse(&s.to_string()), Some(s));
        }
        for s in Step::ALL {
            assert_eq!(Step::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("nope"), None);
    }

    #[test]
    fn serialized_as_their_names() {
        assert_eq!(
            serde_json::to_string(&(Verdict::Reject, Reason::SenderNotAllowed)).unwrap(),
            r#"["reject","sender_not_allowed"]"#
        );
    }
}
