//! The read stage: raw bytes of one incoming mail → plain data the decision rules use.
//!
//! - [`incoming`]: the mail as read ([`incoming::Incoming`]: author, Message-IDs, subject,
//!   authentication headers, the approver's words and the rest).
//! - [`words`]: the approver's own words, with quoted history, attributions and signatures removed.
//! - [`authres`]: `Authentication-Results` (RFC 8601) and the sender authentication rule.
//! - [`isolate`]: the reading done in a process of its own, with a CPU and memory budget, so a
//!   hostile message costs a worker, never the service.

pub mod authres;
pub mod incoming;
pub mod isolate;
pub mod words;
