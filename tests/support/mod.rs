//! What the integration tests share, compiled into each test crate that says `mod support;`:
//! the running mail stack ([`stack`]), a `graph-sim` per test ([`sim`]), delivering and reading
//! mail ([`mail`]), a bridge config file ([`config`]), the metrics endpoint ([`http`]), a
//! headless browser ([`browser`]), the journal file read directly ([`journal`]), the `run --once`
//! harness of the end-to-end tests ([`world`]), the bridge as a long-running process
//! ([`process`]), the hostile message shapes of issue 12 ([`hostile`]) and the fuzz harness's
//! grammar and properties ([`fuzz`]).
//!
//! Every test crate uses only part of it, hence `allow(dead_code)`: each crate compiles its own
//! copy and would otherwise warn about the parts it does not call.

#![allow(dead_code)]

pub mod browser;
pub mod config;
pub mod fuzz;
pub mod hostile;
pub mod http;
pub mod journal;
pub mod mail;
pub mod process;
pub mod sim;
pub mod stack;
pub mod world;
