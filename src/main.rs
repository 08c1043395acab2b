//! The `reject-bridge` command line (SPEC §2): arguments, logging, configuration, exit codes.
//! Thin: the work is in the library.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use reject_bridge::config::Config;
use reject_bridge::decide::{self, Decision, Policy};
use reject_bridge::read::incoming;
use reject_bridge::service::{self, RunEnd, RunOptions};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "reject-bridge",
    version,
    about = "Turns approvers' e-mail replies into rejections of Intune Multi Admin Approval requests"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the mailbox and act on replies until SIGINT/SIGTERM.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Process everything waiting, then exit (0 = all handled, 1 = some left for the next run).
        #[arg(long)]
        once: bool,
        /// One pass that decides and logs only: never calls Graph, sends mail, moves mail or writes the journal.
        #[arg(long)]
        dry_run: bool,
    },
    /// Read one message (a file, or - for stdin) offline and print the decision.
    Parse {
        #[arg(long)]
        config: PathBuf,
        /// Print exactly one JSON object.
        #[arg(long)]
        json: bool,
        /// Read the message as if at this time (RFC 3339, e.g. 2026-06-01T10:00:00Z): applies
        /// rule 3a (stale mail).
        #[arg(long, value_parser = parse_rfc3339)]
        at: Option<i64>,
        /// The RFC 5322 message (.eml), or - for stdin.
        message: String,
    },
    /// graph.auth = "delegated": sign the service account in (device code) and store the sign-in.
    Login {
        #[arg(long)]
        config: PathBuf,
    },
    /// Forget the stored sign-in.
    Logout {
        #[arg(long)]
        config: PathBuf,
    },
    /// graph.act_as = "approver": list the approvers' linked accounts, or forget one.
    Approvers {
        #[arg(long)]
        config: PathBuf,
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<ApproversAction>,
    },
    /// Internal: read one raw message from stdin in a budgeted process (see src/read/isolate.rs).
    #[command(name = "read-worker", hide = true)]
    ReadWorker,
    /// Validate the config and try each connection; one line per check.
    Check {
        #[arg(long)]
        config: PathBuf,
        /// Also read this operationApprovalRequest from Graph and show its status.
        #[arg(long)]
        request: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApproversAction {
    /// Forget the linked account of ADDRESS (their next reply gets a fresh link).
    Unlink { address: String },
}

/// Loads the config (and the templates built from it) or prints one line per problem; `Err`
/// carries exit code 2.
fn load(path: &Path) -> Result<service::Loaded, ExitCode> {
    service::load(path).map_err(|errors| {
        for line in &errors.0 {
            eprintln!("error: {line}");
        }
        ExitCode::from(2)
    })
}

/// [`load`], for the commands that need only the configuration.
fn load_config(path: &Path) -> Result<Config, ExitCode> {
    load(path).map(|loaded| loaded.config)
}

fn main() -> ExitCode {
    reject_bridge::malloc::one_arena();
    let cli = Cli::parse();
    if matches!(cli.command, Command::ReadWorker) {
        // No logging, no configuration: the message's bytes in, its reading out.
        return reject_bridge::read::isolate::worker_main();
    }
    reject_bridge::logging::init(matches!(cli.log_format, LogFormat::Json));
    match cli.command {
        Command::Parse {
            config,
            json,
            at,
            message,
        } => parse_command(&config, json, at, &message),
        Command::Run {
            config,
            once,
            dry_run,
        } => {
            let loaded = match load(&config) {
                Ok(l) => l,
                Err(code) => return code,
            };
            run_command(loaded, once, dry_run)
        }
        Command::Login { config } => match load_config(&config) {
            Ok(config) => block_on(login_command(config)),
            Err(code) => code,
        },
        Command::Logout { config } => match load_config(&config) {
            Ok(config) => match reject_bridge::graph::signin::device::logout(&config) {
                Ok(Some(who)) => {
                    println!(
                        "Forgot the sign-in of {who}; decisions wait until `reject-bridge login`."
                    );
                    ExitCode::SUCCESS
                }
                Ok(None) => {
                    println!("No sign-in was stored.");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            },
            Err(code) => code,
        },
        Command::Approvers {
            config,
            json,
            action,
        } => match load_config(&config) {
            Ok(config) => approvers_command(&config, json, action),
            Err(code) => code,
        },
        Command::Check { config, request } => match load_config(&config) {
            Ok(config) => block_on(reject_bridge::check::command(config, request.as_deref())),
            Err(code) => code,
        },
        Command::ReadWorker => reject_bridge::read::isolate::worker_main(),
    }
}

/// Runs an async command on a fresh multi-threaded runtime, with rustls' ring provider installed.
fn block_on(command: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}

fn approvers_command(config: &Config, json: bool, action: Option<ApproversAction>) -> ExitCode {
    use reject_bridge::graph::signin::approvers;
    match action {
        Some(ApproversAction::Unlink { address }) => match approvers::unlink(config, &address) {
            Ok(true) => {
                println!(
                    "Forgot the linked account of {address}; their next reply gets a fresh link."
                );
                ExitCode::SUCCESS
            }
            Ok(false) => {
                println!("{address} has no linked account.");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        None => match approvers::list(config) {
            Ok(list) if json => {
                println!(
                    "{}",
                    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
                );
                ExitCode::SUCCESS
            }
            Ok(list) => {
                if list.is_empty() {
                    println!("No approver has linked an account.");
                }
                for a in &list {
                    println!(
                        "{}  account {}  linked {}  last used {}  {}{}",
                        a.address,
                        a.account.as_deref().unwrap_or("-"),
                        a.linked_at,
                        a.last_used,
                        a.health,
                        if a.allowed {
                            ""
                        } else {
                            "  (no longer in approvers.allowed)"
                        }
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

async fn login_command(config: Config) -> ExitCode {
    use reject_bridge::graph::signin::device::{LoginError, login};
    let mut out = std::io::stdout();
    match login(&config, &mut out).await {
        Ok(done) => {
            let who = done
                .identity
                .username
                .clone()
                .unwrap_or_else(|| "(no user name in the answer)".into());
            println!(
                "Signed in as {who}{}. The sign-in is stored, encrypted, in {}.",
                done.identity
                    .display_name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                config.state.path.display()
            );
            println!("Granted: {}", done.scopes.join(" "));
            println!("A running service picks it up by itself; `reject-bridge check` shows it.");
            ExitCode::SUCCESS
        }
        Err(e @ LoginError::NotDelegated) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_command(loaded: service::Loaded, once: bool, dry_run: bool) -> ExitCode {
    let options = RunOptions { once, dry_run };
    let config = Arc::new(loaded.config);
    block_on(async move {
        match service::run(config, loaded.templates, options, shutdown_signal()).await {
            Ok(RunEnd::Clean) => ExitCode::SUCCESS,
            Ok(RunEnd::Unfinished) => ExitCode::from(1),
            Err(e)
                if e.downcast_ref::<reject_bridge::lock::LockError>()
                    .is_some_and(|l| matches!(l, reject_bridge::lock::LockError::Held { .. })) =>
            {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "run failed");
                ExitCode::from(1)
            }
        }
    })
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called (at start), not
/// when the future is first polled: a SIGTERM during start-up is a clean shutdown too.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    async move {
        #[cfg(unix)]
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested: finishing the message in hand");
    }
}

/// `--at`: an RFC 3339 time, in seconds since 1970.
fn parse_rfc3339(value: &str) -> Result<i64, String> {
    mail_parser::DateTime::parse_rfc3339(value.trim())
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp())
        .ok_or_else(|| format!("not an RFC 3339 time: {value:?} (write e.g. 2026-06-01T10:00:00Z)"))
}

fn parse_command(config: &Path, json: bool, at: Option<i64>, source: &str) -> ExitCode {
    let config = match load_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let raw = if source == "-" {
        let mut buf = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
            eprintln!("error: cannot read the message from stdin: {e}");
            return ExitCode::from(1);
        }
        buf
    } else {
        match std::fs::read(source) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read the message {source}: {e}");
                return ExitCode::from(1);
            }
        }
    };
    // The reader is built not to panic on any input; should it all the same, that is this
    // message's failure to be read (exit 1), as in the service's reading process.
    let reply = match std::panic::catch_unwind(|| incoming::read(&raw)) {
        Ok(reply) => reply,
        Err(panic) => {
            eprintln!(
                "error: the message cannot be read: the reader failed ({})",
                reject_bridge::logging::panic_message(&*panic)
            );
            return ExitCode::from(1);
        }
    };
    let notified = reject_bridge::notify::keys::lookup_notification(&config, &reply);
    let decision = decide::decide_at(&reply, notified.as_ref(), &Policy::from_config(&config), at);
    if json {
        println!("{}", to_json(&decision));
    } else {
        print_human(&decision);
    }
    reject_bridge::logging::report_suppressed();
    ExitCode::SUCCESS
}

fn to_json(d: &Decision) -> String {
    let value = serde_json::json!({
        "decision": d.decision,
        "reason": d.reason,
        "request_id": d.request_id,
        "approver": d.approver,
        "justification": d.justification,
        "graph_justification": d.graph_justification,
        "message_id": d.message_id,
        "truncated": d.truncated,
        "id_source": d.id_source,
        "ids_found": d.ids_found,
        "explanation": d.explanation,
    });
    value.to_string()
}

fn print_human(d: &Decision) {
    println!("decision:      {} ({})", d.decision, d.reason);
    println!("why:           {}", d.explanation);
    let id_source = d
        .id_source
        .map(|s| {
            format!(
                " (from {})",
                serde_json::to_value(s)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or("")
            )
        })
        .unwrap_or_default();
    match (&d.request_id, d.ids_found.len()) {
        (Some(id), _) => println!("request id:    {id}{id_source}"),
        (None, 0) => println!("request id:    none found"),
        (None, _) => println!(
            "request id:    ambiguous: {}{id_source}",
            d.ids_found.join(", ")
        ),
    }
    println!("approver:      {}", d.approver.as_deref().unwrap_or("-"));
    println!("message id:    {}", d.message_id.as_deref().unwrap_or("-"));
    match &d.justification {
        Some(j) if !j.is_empty() => {
            println!("justification:");
            for line in j.lines() {
                println!("  | {line}");
            }
        }
        Some(_) => println!("justification: (the approver wrote nothing)"),
        None => println!("justification: -"),
    }
    if let Some(g) = &d.graph_justification {
        println!("sent to Graph: {g}");
        if d.truncated {
            println!("               (cut to Graph's limit of 1024 UTF-16 units)");
        }
    }
}
