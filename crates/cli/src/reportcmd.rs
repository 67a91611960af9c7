//! `liaison report`: the public-data report, from the real files in `reference/`, and the
//! ledger report, from the events of one signed checkpoint of a store.

use crate::printer::Printer;
use anyhow::{Context, Result};
use reports::{Report, render};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Html,
    Json,
    Csv,
}

#[derive(clap::Subcommand)]
pub enum ReportCmd {
    /// What ICE and CBP publish: book-ins by arresting agency and the CBP share, detention,
    /// book-outs, 287(g) agreements and their growth on a county map, Border Patrol encounters,
    /// facilities; every figure with its source, and the methodology.
    Public {
        /// What to print without --out: one offline HTML file, JSON, or every table cell as
        /// long CSV (`--format json`).
        #[arg(long, value_enum, default_value = "html")]
        format: Format,
        /// Write the release into this directory instead: public.html, public.json and one CSV
        /// per table (`--out public-report`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What the ledger shows for a period: handoffs to ICE by channel, month, area, state and
    /// city; detainers by stage and the law that applied; 287(g) activity; arrests by channel;
    /// operations; citizenship claims; custody-time standards exceeded; legal warnings and
    /// refusals by rule. Small cells are suppressed. Computed from one signed checkpoint
    /// (the latest, or --checkpoint FILE), which the release names and reproduces byte for byte.
    Ledger {
        /// The store: a SQLite file (`--db liaison.db`, or `sqlite://liaison.db`) or a
        /// PostgreSQL URL (`--db postgres://u:p@host/db`).
        #[arg(long)]
        db: String,
        /// First day of the period, by valid time in UTC (`--from 2026-01-01`).
        #[arg(long)]
        from: jiff::civil::Date,
        /// Last day of the period, included (`--to 2026-12-31`).
        #[arg(long)]
        to: jiff::civil::Date,
        /// A signed checkpoint note of this log to compute the release from (`--checkpoint
        /// ledger-report/checkpoint.txt`); without it, the log's latest.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// What to print without --out (`--format json`).
        #[arg(long, value_enum, default_value = "html")]
        format: Format,
        /// Write the release into this directory instead: ledger.html, ledger.json, one CSV per
        /// table and checkpoint.txt, the note it was computed from (`--out ledger-report`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(p: &Printer, cmd: ReportCmd) -> Result<ExitCode> {
    match cmd {
        ReportCmd::Public { format, out } => {
            let inputs = reports::public::PublicInputs::bundled().context("the bundled public data")?;
            emit(p, &reports::public::report(&inputs), format, out, vec![])
        }
        ReportCmd::Ledger { db, from, to, checkpoint, format, out } => {
            let note = match &checkpoint {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading the checkpoint {}", path.display()))?,
                ),
                None => None,
            };
            let mut store = crate::commands::open_any(&db)?;
            let period = reports::ledger::Period { from, to };
            let (r, cp) = service::release::ledger_report(store.as_mut(), period, note.as_deref())
                .map_err(|e| anyhow::anyhow!(e.message))?;
            emit(p, &r, format, out, vec![("checkpoint.txt".into(), cp.to_note())])
        }
    }
}

fn emit(
    p: &Printer,
    r: &Report,
    format: Format,
    out: Option<PathBuf>,
    extra: Vec<(String, String)>,
) -> Result<ExitCode> {
    let Some(dir) = out else {
        let text = match format {
            Format::Html => render::document(r),
            Format::Json => render::json(r),
            Format::Csv => render::long_csv(r),
        };
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    };
    let mut files: Vec<(String, String)> =
        vec![(format!("{}.html", r.id), render::document(r)), (format!("{}.json", r.id), render::json(r))];
    for t in r.sections.iter().flat_map(|s| &s.tables) {
        files.push((format!("{}.csv", t.id), render::table_csv(t)));
    }
    files.extend(extra);
    crate::simulate::write_all(&dir, &files)?;
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    p.emit(
        &format!(
            "wrote {} files to {} ({})",
            names.len(),
            dir.display(),
            r.summary.first().cloned().unwrap_or_default()
        ),
        json!({ "report": r.id, "out": dir, "files": names, "summary": r.summary }),
    );
    Ok(ExitCode::SUCCESS)
}
