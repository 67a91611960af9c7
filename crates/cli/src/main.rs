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
mod reportcmd;
mod serve;
mod simbench;
mod simfeed;
mod simulate;

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
    /// Print machine-readable JSON instead of text, errors included (`liaison --json verify --db
    /// demo.db`).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a store and load the reference data (agencies, AORs, sectors, 287(g) agreements).
    Init {
        /// A SQLite file to create (`--db liaison.db`), or use --pg.
        #[arg(long, required_unless_present = "pg")]
        db: Option<PathBuf>,
        /// Create the store in an empty PostgreSQL database instead; needs --signing-key (`--pg
        /// postgres://u:p@host/db`).
        #[arg(long, conflicts_with = "db", requires = "signing_key")]
        pg: Option<String>,
        /// Where to write a PostgreSQL store's new signing key, mode 0600 (`--signing-key
        /// log.key`).
        #[arg(long)]
        signing_key: Option<PathBuf>,
        /// Create the store without reference data (`--empty`).
        #[arg(long)]
        empty: bool,
    },
    /// Check every stored byte of a store against its signed log (hash chain, Merkle nodes,
    /// checkpoints, indexes, idempotency keys, law versions), or an export with no store.
    Verify {
        /// The store to check: a SQLite file (`--db liaison.db`) or a PostgreSQL URL (`--db
        /// postgres://u:p@host/db`).
        #[arg(long, required_unless_present = "export", conflicts_with = "export")]
        db: Option<String>,
        /// An export to check offline, with no store (`--export events.ndjson`).
        #[arg(long)]
        export: Option<PathBuf>,
        /// A checkpoint note kept earlier; the log must still extend it (`--checkpoint cp.txt`).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The log's verifier key as you hold it (printed by `init` and `checkpoint`), or a file
        /// holding it: the log must be signed by this key (`--key log.vkey`).
        #[arg(long)]
        key: Option<String>,
        /// A witness whose cosignature of --checkpoint to check, by its verifier key; repeat for
        /// more (`--witness oversight.example/w1+…`).
        #[arg(long = "witness", requires = "checkpoint")]
        witnesses: Vec<String>,
    },
    /// Rebuild current state from the log and compare it with the stored projection.
    Rebuild {
        /// The store: a SQLite file (`--db liaison.db`, or `sqlite://liaison.db`) or a PostgreSQL
        /// URL (`--db postgres://u:p@host/db`).
        #[arg(long)]
        db: String,
        /// Replace the stored projection with the rebuilt one when they differ (`--repair`).
        #[arg(long)]
        repair: bool,
    },
    /// Show a subject's custody chain (as known at --as-of, up to --valid-at), or the log itself.
    Log {
        /// The store: a SQLite file (`--db liaison.db`, or `sqlite://liaison.db`) or a PostgreSQL
        /// URL (`--db postgres://u:p@host/db`).
        #[arg(long)]
        db: String,
        /// The subject whose custody chain to show (`--subject S-DEMO-0001`); without it, the log.
        #[arg(long)]
        subject: Option<String>,
        /// Record time: show what the ledger knew then, leaving out what was recorded later: an
        /// RFC 3339 time (`--as-of 2026-11-30T12:00:00Z`) or an event's sequence number, for the
        /// time it was recorded (`--as-of 3475`).
        #[arg(long)]
        as_of: Option<String>,
        /// Valid time: show what had happened by then, leaving out later steps
        /// (`--valid-at 2026-03-02T12:00:00Z`).
        #[arg(long)]
        valid_at: Option<String>,
        /// First sequence number to list, log listing only (`--from 3460`).
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Most events to list, log listing only; at most 10,000 (`--limit 5`).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print the latest signed checkpoint (keep it to verify the log later).
    Checkpoint {
        /// The store: a SQLite file (`--db liaison.db`, or `sqlite://liaison.db`) or a PostgreSQL
        /// URL (`--db postgres://u:p@host/db`).
        #[arg(long)]
        db: String,
    },
    /// Produce and check a Merkle proof.
    Proof {
        #[command(subcommand)]
        kind: ProofKind,
    },
    /// Write the log as an export anyone can check offline: every event, every signed
    /// checkpoint, the public key and the law versions, as NDJSON (to --out, or standard output).
    Export {
        /// The store: a SQLite file (`--db liaison.db`, or `sqlite://liaison.db`) or a PostgreSQL
        /// URL (`--db postgres://u:p@host/db`).
        #[arg(long)]
        db: String,
        /// The file to write; default standard output (`--out events.ndjson`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Copy an export into a mirror: the whole file is checked first, then its events, original
    /// checkpoints and law versions are appended; nothing is re-signed.
    Import {
        /// The mirror to create, or an earlier copy of the same log to continue (`--db copy.db`).
        #[arg(long)]
        db: PathBuf,
        /// The NDJSON export to read (`events.ndjson`).
        file: PathBuf,
    },
    /// Create a demo store with a synthetic scenario, print the custody chains, then serve the
    /// API over it and print one token per role with an example curl for each workflow.
    Demo {
        /// Where to create the demo store; default a new file in the temp directory (`--db
        /// demo.db`).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Where the demo serves the API (`--addr 127.0.0.1:8080`).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Build the demo store and stop, without serving the API (`--no-serve`).
        #[arg(long)]
        no_serve: bool,
        /// Build the demo store in an empty PostgreSQL database instead; needs --signing-key (`--pg
        /// postgres://u:p@host/db`).
        #[arg(long, conflicts_with = "db", requires = "signing_key")]
        pg: Option<String>,
        /// Where to write the PostgreSQL store's new signing key (`--signing-key log.key`).
        #[arg(long)]
        signing_key: Option<PathBuf>,
        /// Simulated people replayed after the scenario: four weeks of `seeds-2025` from
        /// 2026-03-03, sent through the law engine as real commands; 0 for the three-person
        /// scenario alone (`--people 200`).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(0..=i64::from(simfeed::PEOPLE_MAX)))]
        people: u32,
    },
    /// Issue a bearer token for a principal: adds (or replaces) it in the tokens file, keeping
    /// only the argon2id hash, and prints the token once.
    Token {
        /// The store whose agencies and officers the principal must name, as `serve` takes it:
        /// a path, sqlite://PATH or postgres://... (`--db liaison.db`).
        #[arg(long)]
        db: String,
        /// A PostgreSQL store's signing key file (`--signing-key log.key`).
        #[arg(long)]
        signing_key: Option<PathBuf>,
        /// The tokens file, created if missing (`--tokens tokens.json`).
        #[arg(long)]
        tokens: PathBuf,
        /// The principal's name: an officer id or a service account name, no '_' (`--id
        /// auditor-1`).
        #[arg(long)]
        id: String,
        /// The principal's agency, which must be in the store (`--agency ICE-ERO-SND`).
        #[arg(long)]
        agency: String,
        /// The officer record the principal acts as, which must be of that agency (`--officer
        /// O-ERO-SND-0001`).
        #[arg(long)]
        officer: Option<String>,
        /// field_officer, supervisor, jail_staff, officer_287g, oversight or administrator;
        /// repeatable (`--role oversight`).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Serve the coordination API (flags override LIAISON_* variables, which override --config).
    Serve {
        /// sqlite://PATH, a path, or postgres://...; or LIAISON_DB (`--db sqlite://liaison.db`).
        #[arg(long)]
        db: Option<String>,
        /// HOST:PORT to listen on; or LIAISON_ADDR; default 127.0.0.1:8080 (`--addr 0.0.0.0:8080`).
        #[arg(long)]
        addr: Option<String>,
        /// The principals and their hashed tokens (JSON); or LIAISON_TOKENS (`--tokens
        /// tokens.json`).
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// A TOML config file (docs/api.md); or LIAISON_CONFIG (`--config liaison.toml`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// A PostgreSQL store's signing key file; or LIAISON_SIGNING_KEY (`--signing-key log.key`).
        #[arg(long)]
        signing_key: Option<PathBuf>,
    },
    /// Keep a verified copy of a running server's log: fetch what is new through its API (as
    /// oversight or an administrator) and append it to a mirror, checking every entry and
    /// signed checkpoint against what the mirror already holds.
    Mirror {
        /// The server (`--from http://127.0.0.1:8080`).
        #[arg(long)]
        from: String,
        /// A file holding the bearer token of an oversight or administrator principal
        /// (`--token-file oversight.token`).
        #[arg(long)]
        token_file: PathBuf,
        /// The mirror, created on the first run (`--db mirror.db`).
        #[arg(long)]
        db: PathBuf,
        /// Events per request, 1–100,000 (`--limit 10000`).
        #[arg(long, default_value_t = 10_000)]
        limit: u64,
    },
    /// Run a witness (C2SP tlog-witness): cosign each new checkpoint of the logs you watch
    /// once a consistency proof shows it extends the last one you cosigned; refuse forks.
    Witness {
        /// The witness's name, a schema-less URL (`--name oversight.example/w1`).
        #[arg(long)]
        name: String,
        /// The witness's signing key, created (mode 0600) if missing (`--key witness.key`).
        #[arg(long)]
        key: PathBuf,
        /// A log to watch, by its verifier key as `liaison init` and `checkpoint` print it;
        /// repeat for more (`--log liaison/3f1c…+1a2b3c4d+AQ…`).
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
        /// Where the witness keeps the latest checkpoint it cosigned per log (`--state witness.json`).
        #[arg(long)]
        state: PathBuf,
        /// HOST:PORT to listen on (`--addr 127.0.0.1:9090`).
        #[arg(long, default_value = "127.0.0.1:9090")]
        addr: String,
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
    /// Run the capacity simulator: a scenario's monthly series (monthly.csv in ICE's metric and
    /// agency names), its report and the answers to the planners' questions; or regenerate the
    /// baseline from FY2019–FY2024 data and print its fit (`--calibrate`).
    Simulate(simulate::SimArgs),
    /// Public reports: what ICE and CBP publish, with sources and methodology (`report public`).
    Report {
        #[command(subcommand)]
        cmd: reportcmd::ReportCmd,
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
        /// The store: a SQLite file (`--db liaison.db`, or `sqlite://liaison.db`) or a PostgreSQL
        /// URL (`--db postgres://u:p@host/db`).
        #[arg(long)]
        db: String,
        /// The event's sequence number (`--seq 3470`).
        #[arg(long)]
        seq: u64,
        /// The tree size to prove against; default the whole log (`--size 3482`).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Prove that the tree of OLD events is a prefix of the tree of NEW events.
    Consistency {
        /// The store: a SQLite file (`--db liaison.db`, or `sqlite://liaison.db`) or a PostgreSQL
        /// URL (`--db postgres://u:p@host/db`).
        #[arg(long)]
        db: String,
        /// The older tree size, e.g. from a kept checkpoint (`--old 3446`).
        #[arg(long)]
        old: u64,
        /// The newer tree size; default the whole log (`--new 3482`).
        #[arg(long)]
        new: Option<u64>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // With --json, a usage error is a JSON document too (help and --version stay text).
        Err(e) if std::env::args_os().any(|a| a == "--json") && e.use_stderr() => {
            let usage = e.render().to_string();
            let error = usage.lines().next().unwrap_or_default().trim_start_matches("error: ");
            printer::Printer { json: true }
                .emit("", serde_json::json!({ "error": error, "usage": usage, "exit_code": 2 }));
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let p = printer::Printer { json: cli.json };
    let result = match cli.command {
        Command::Init { db, pg, signing_key, empty } => match (db, pg, signing_key) {
            (Some(db), _, _) => commands::init(&p, &db, empty),
            (None, Some(url), Some(key)) => commands::init_pg(&p, &url, &key, empty),
            _ => unreachable!("clap requires --db, or --pg with --signing-key"),
        },
        Command::Verify { db, export, checkpoint, key, witnesses } => {
            commands::verify(&p, db.as_deref(), export.as_deref(), checkpoint.as_deref(), key.as_deref(), &witnesses)
        }
        Command::Rebuild { db, repair } => commands::rebuild(&p, &db, repair),
        Command::Log { db, subject, as_of, valid_at, from, limit } => {
            commands::log(&p, &db, subject.as_deref(), as_of.as_deref(), valid_at.as_deref(), from, limit)
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
        Command::Demo { db, addr, no_serve, pg, signing_key, people } => match (pg, signing_key) {
            (Some(url), Some(key)) => commands::demo_pg(&p, &url, &key, (!no_serve).then_some(addr), people),
            _ => commands::demo(&p, db, (!no_serve).then_some(addr), people),
        },
        Command::Token { db, signing_key, tokens, id, agency, officer, roles } => {
            let store = api::Config { db, signing_key, ..api::Config::default() };
            serve::token(&p, &store, &tokens, id, agency, officer, roles)
        }
        Command::Serve { db, addr, tokens, config, signing_key } => serve::serve(db, addr, tokens, config, signing_key),
        Command::Mirror { from, token_file, db, limit } => commands::mirror(&p, &from, &token_file, &db, limit),
        Command::Witness { name, key, logs, state, addr } => serve::witness(&p, &name, &key, &logs, &state, &addr),
        Command::Policy { cmd } => lawcmd::policy(&p, cmd),
        Command::Law { cmd } => lawcmd::law_cmd(&p, cmd),
        Command::Bench { which } => bench::run(&p, which),
        Command::Simulate(args) => simulate::run(&p, args),
        Command::Report { cmd } => reportcmd::run(&p, cmd),
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument of every subcommand says what it is, with an example (`--db demo.db`).
    #[test]
    fn every_argument_has_help_with_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                if !help.contains('`') {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = vec![];
        walk(&Cli::command(), "liaison", &mut missing);
        assert!(missing.is_empty(), "arguments without an example in their help:\n{}", missing.join("\n"));
    }
}
