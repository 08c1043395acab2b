//! reject-bridge: turns an approver's e-mail reply into a rejection of a Microsoft Intune
//! Multi Admin Approval request.
//!
//! ```text
//!   imap ──► journal ──► read ──► decide ──► graph ──► reply ──► file
//!  (fetch,   (durable   (parse,  (authorize, (token,    (render,  (MOVE to
//!   IDLE)     row per    trim,    rules of    status,    send via  Processed/
//!             message)   ids)     SPEC §3)    reject)    SMTP)     Ignored/Failed)
//! ```
//!
//! # Layout
//! - [`config`]: the TOML file and `REJECT_BRIDGE__*` overrides, validated into ready types.
//! - [`secret`]: a string that never prints.
//! - [`justification`]: the string sent to Graph, from its template, within Graph's length limit.
//! - [`reader`]: a reply body → the approver's new text and the removed history (SPEC §2, §3).

pub mod config;
pub mod justification;
pub mod reader;
pub mod secret;
