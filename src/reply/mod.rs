//! The reply stage: what the bridge sends back to an approver and how. [`templates`] holds the
//! templates, loaded and checked once at start; [`compose`] renders a
//! reply from the templates as multipart mail threaded under the approver's message; [`smtp`]
//! sends it (and the notifier's and the alerts' mail) over kept SMTP sessions and says whether a
//! failure is worth a retry.

pub mod compose;
pub mod smtp;
pub mod templates;
