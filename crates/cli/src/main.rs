//! `liaison`: the command line over Liaison's store, ledger and reference data.
//!
//! Each subcommand parses its arguments, calls one function, and prints through the one
//! [`printer::Printer`] (`--json` on every command). Exit codes:
//! 0 success; 1 an error (bad input, missing file, refused command); 2 bad usage;
//! 3 verification found tampering, a proof did not verify, or a replayed decision differs;
//! 4 rebuilt projections differ from the stored ones.

/// mimalloc instead of the system allocator: the server allocates and frees many small JSON
/// values per request on several threads, where glibc malloc showed up as ~18 % of its CPU
/// under write load (BENCHMARKS.md §6).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod commands;
mod decisions;
mod lawbench;
mod lawcmd;
mod printer;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "liaison",
    version,
    about = "Liaison: interagency immigration-enforcement coordination with the law and a tamper-evident record built in"
)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a store and load the reference data (agencies, AORs, sectors, 287(g) agreements).
    Init {
        /// A SQLite file to create (or use --pg).
        #[arg(long, required_unless_present = "pg")]
        db: Option<PathBuf>,
        /// Create the store in an empty PostgreSQL database instead (needs --signing-key).
        #[arg(long, conflicts_with = "db", requires = "signing_key")]
        pg: Option<String>,
        /// Where to write a PostgreSQL store's new signing key (mode 0600).
        #[arg(long)]
        signing_key: Option<PathBuf>,
        /// Create the store without reference data (e.g. to import another store's log).
        #[arg(long)]
        empty: bool,
    },
    /// Recompute the hash chain and Merkle root and check every signed checkpoint.
    Verify {
        #[arg(long)]
        db: PathBuf,
        /// A checkpoint note an agency kept earlier; the log must still extend it.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Rebuild current state from the log and compare it with the stored projection.
    Rebuild {
        #[arg(long)]
        db: PathBuf,
        /// Replace the stored projection with the rebuilt one when they differ.
        #[arg(long)]
        repair: bool,
    },
    /// Show a subject's custody chain (as known at --as-of), or the log itself.
    Log {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        subject: Option<String>,
        /// RFC 3339 time, e.g. 2026-03-06T17:00:00Z: show what the ledger knew then.
        #[arg(long)]
        as_of: Option<String>,
        /// First sequence number to list (log listing only).
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Most events to list (log listing only).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print the latest signed checkpoint (keep it to verify the log later).
    Checkpoint {
        #[arg(long)]
        db: PathBuf,
    },
    /// Produce and check a Merkle proof.
    Proof {
        #[command(subcommand)]
        kind: ProofKind,
    },
    /// Write every event as NDJSON (to --out, or standard output).
    Export {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Append the events of an NDJSON export; the whole file is checked first.
    Import {
        #[arg(long)]
        db: PathBuf,
        file: PathBuf,
    },
    /// Create a demo store with a synthetic scenario, print the custody chains, then serve the
    /// API over it and print one token per role with an example curl for each workflow.
    Demo {
        /// Where to create the demo store (default: a new file in the temp directory).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Where the demo serves the API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Build the demo store and stop, without serving the API.
        #[arg(long)]
        no_serve: bool,
        /// Build the demo store in an empty PostgreSQL database instead (needs --signing-key).
        #[arg(long, conflicts_with = "db", requires = "signing_key")]
        pg: Option<String>,
        /// Where to write the PostgreSQL store's new signing key.
        #[arg(long)]
        signing_key: Option<PathBuf>,
    },
    /// Issue a bearer token for a principal: adds (or replaces) it in the tokens file, keeping
    /// only the argon2id hash, and prints the token once.
    Token {
        /// The store whose agencies and officers the principal must name (`--db liaison.db`).
        #[arg(long)]
        db: PathBuf,
        /// The tokens file, created if missing (`--tokens tokens.json`).
        #[arg(long)]
        tokens: PathBuf,
        /// The principal's name (an officer id or a service account name; no '_').
        #[arg(long)]
        id: String,
        #[arg(long)]
        agency: String,
        /// The officer record the principal acts as.
        #[arg(long)]
        officer: Option<String>,
        /// field_officer, supervisor, jail_staff, officer_287g, oversight or administrator (repeatable).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Serve the coordination API (flags override LIAISON_* variables, which override --config).
    Serve {
        /// sqlite://PATH (or a path); LIAISON_DB.
        #[arg(long)]
        db: Option<String>,
        /// HOST:PORT to listen on; LIAISON_ADDR (default 127.0.0.1:8080).
        #[arg(long)]
        addr: Option<String>,
        /// The principals and their hashed tokens (JSON); LIAISON_TOKENS.
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// A TOML config file; LIAISON_CONFIG.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A PostgreSQL store's signing key file; LIAISON_SIGNING_KEY.
        #[arg(long)]
        signing_key: Option<PathBuf>,
    },
    /// The Cedar policies and jurisdiction rules: validate them; explain a recorded decision.
    Policy {
        #[command(subcommand)]
        cmd: lawcmd::PolicyCmd,
    },
    /// Ask the law engine: check scenario files; query the border zone.
    Law {
        #[command(subcommand)]
        cmd: lawcmd::LawCmd,
    },
    /// Measure the ledger against baselines in the same process (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
}

#[derive(Subcommand)]
enum ProofKind {
    /// Prove that event SEQ is in the tree of SIZE events (default: the whole log).
    Inclusion {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        seq: u64,
        #[arg(long)]
        size: Option<u64>,
    },
    /// Prove that the tree of OLD events is a prefix of the tree of NEW events.
    Consistency {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        old: u64,
        #[arg(long)]
        new: Option<u64>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let p = printer::Printer { json: cli.json };
    let result = match cli.command {
        Command::Init { db, pg, signing_key, empty } => match (db, pg, signing_key) {
            (Some(db), _, _) => commands::init(&p, &db, empty),
            (None, Some(url), Some(key)) => commands::init_pg(&p, &url, &key, empty),
            _ => unreachable!("clap requires --db, or --pg with --signing-key"),
        },
        Command::Verify { db, checkpoint } => commands::verify(&p, &db, checkpoint.as_deref()),
        Command::Rebuild { db, repair } => commands::rebuild(&p, &db, repair),
        Command::Log { db, subject, as_of, from, limit } => {
            commands::log(&p, &db, subject.as_deref(), as_of.as_deref(), from, limit)
        }
        Command::Checkpoint { db } => commands::checkpoint(&p, &db),
        Command::Proof { kind: ProofKind::Inclusion { db, seq, size } } => {
            commands::prove_inclusion(&p, &db, seq, size)
        }
        Command::Proof { kind: ProofKind::Consistency { db, old, new } } => {
            commands::prove_consistency(&p, &db, old, new)
        }
        Command::Export { db, out } => commands::export(&p, &db, out.as_deref()),
        Command::Import { db, file } => commands::import(&p, &db, &file),
        Command::Demo { db, addr, no_serve, pg, signing_key } => match (pg, signing_key) {
            (Some(url), Some(key)) => commands::demo_pg(&p, &url, &key, (!no_serve).then_some(addr)),
            _ => commands::demo(&p, db, (!no_serve).then_some(addr)),
        },
        Command::Token { db, tokens, id, agency, officer, roles } => {
            serve::token(&p, &db, &tokens, id, agency, officer, roles)
        }
        Command::Serve { db, addr, tokens, config, signing_key } => serve::serve(db, addr, tokens, config, signing_key),
        Command::Policy { cmd } => lawcmd::policy(&p, cmd),
        Command::Law { cmd } => lawcmd::law_cmd(&p, cmd),
        Command::Bench { which } => bench::run(&p, which),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let code = commands::exit_code(&e);
            if p.json {
                p.emit("", serde_json::json!({ "error": format!("{e:#}"), "exit_code": code }));
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(code)
        }
    }
}
