//! `liaison report`: the public-data report now, from the real files in `reference/`.

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
}

pub fn run(p: &Printer, cmd: ReportCmd) -> Result<ExitCode> {
    match cmd {
        ReportCmd::Public { format, out } => {
            let inputs = reports::public::PublicInputs::bundled().context("the bundled public data")?;
            emit(p, &reports::public::report(&inputs), format, out)
        }
    }
}

fn emit(p: &Printer, r: &Report, format: Format, out: Option<PathBuf>) -> Result<ExitCode> {
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
