//! `liaison bench`: the ledger measured against baselines run in the same process, so the
//! printed ratios hold on any machine. Results are recorded in BENCHMARKS.md.
//!
//! - `append`: Liaison's durable append (domain checks, hash chain, Merkle nodes, projection
//!   rows, signed checkpoint) against a raw SQLite insert of the same entry bytes with the
//!   same durability settings, per batch size.
//! - `growth`: append throughput and proof generation as the log grows.
//! - `verify`: `liaison verify` throughput against `sha256sum` over the same bytes.

use crate::printer::Printer;
use anyhow::{Context, Result};
use clap::Subcommand;
use domain::Timestamp;
use domain::workload::{EVENTS_PER_SUBJECT, setup, subject_events};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use store::{NewEvent, SqliteStore, Store};

#[derive(Subcommand)]
pub enum Which {
    /// Durable append throughput against a raw SQLite insert of the same bytes.
    Append {
        /// Events to append per batch size (`--events 20000`).
        #[arg(long, default_value_t = 20_000)]
        events: u64,
        /// Comma-separated batch sizes, events per transaction (`--batches 1,10,100,1000`).
        #[arg(long, default_value = "1,10,100,1000")]
        batches: String,
        /// Repetitions per batch size, interleaving the three sides; medians are reported (`--reps
        /// 3`).
        #[arg(long, default_value_t = 3)]
        reps: u32,
    },
    /// Append throughput and proof cost at growing log sizes.
    Growth {
        /// Comma-separated log sizes at which to measure (`--sizes 100000,1000000`).
        #[arg(long, default_value = "100000,1000000")]
        sizes: String,
        /// Directory for the store; default the temp directory (`--dir /var/tmp`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Verification throughput against sha256sum over the same bytes.
    Verify {
        /// Events to verify (`--events 200000`).
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Build and verify the log in this empty PostgreSQL database instead of SQLite
        /// (`--pg postgres://u:p@host/db`).
        #[arg(long)]
        pg: Option<String>,
    },
    /// Law decision latency with every real 287(g) agreement and all jurisdictions loaded.
    Law {
        /// Decisions to time (`--requests 20000`).
        #[arg(long, default_value_t = 20_000)]
        requests: u32,
    },
    /// One simulated national fiscal year (FY2024) on one thread, at growing population.
    Sim {
        /// Comma-separated population multiples (`--scales 1,4,16`).
        #[arg(long, default_value = "1,4,16")]
        scales: String,
        /// Repetitions per scale; the median is reported (`--reps 3`).
        #[arg(long, default_value_t = 3)]
        reps: u32,
        /// The run's seed (`--seed 1`).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Border-zone query latency on the real boundary geometry.
    Zone {
        /// Points to query (`--points 20000`).
        #[arg(long, default_value_t = 20_000)]
        points: u32,
    },
}

pub fn run(p: &Printer, which: Which) -> Result<ExitCode> {
    match which {
        Which::Append { events, batches, reps } => append(p, events, &parse_list(&batches)?, reps.max(1)),
        Which::Growth { sizes, dir } => growth(p, &parse_list(&sizes)?, dir),
        Which::Verify { events, pg } => verify(p, events, pg.as_deref()),
        Which::Law { requests } => crate::lawbench::decisions(p, requests),
        Which::Zone { points } => crate::lawbench::zone(p, points),
        Which::Sim { scales, reps, seed } => crate::simbench::run(p, &parse_list(&scales)?, reps, seed),
    }
}

fn parse_list(s: &str) -> Result<Vec<u64>> {
    s.split(',')
        .map(|x| x.trim().parse::<u64>().with_context(|| format!("{x:?} is not a positive whole number")))
        .collect()
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(parent: Option<PathBuf>) -> Result<Self> {
        let base = parent.unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("liaison-bench-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The workload as a flat stream of events, starting after `setup()`.
fn workload(from_event: u64, count: u64, t0: Timestamp) -> Vec<NewEvent> {
    let per = EVENTS_PER_SUBJECT as u64;
    let mut out = Vec::with_capacity(count as usize);
    let mut subject = from_event / per;
    while (out.len() as u64) < count {
        for (i, (valid_at, event)) in subject_events(subject, t0).into_iter().enumerate() {
            let n = subject * per + i as u64;
            if n >= from_event && (out.len() as u64) < count {
                out.push(NewEvent::new(valid_at, "bench", event));
            }
        }
        subject += 1;
    }
    out
}

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("valid")
}

fn new_store(dir: &Path, name: &str) -> Result<SqliteStore> {
    let mut s = SqliteStore::create(&dir.join(name))?;
    let events: Vec<NewEvent> = setup().into_iter().map(|event| NewEvent::new(t0(), "bench", event)).collect();
    s.append(&events, None, Timestamp::now())?;
    Ok(s)
}

fn append_all(store: &mut dyn Store, events: &[NewEvent], batch: usize) -> Result<Duration> {
    let start = Instant::now();
    for chunk in events.chunks(batch) {
        store.append(chunk, None, Timestamp::now())?;
    }
    Ok(start.elapsed())
}

/// One stored event row, read back from Liaison's own table for the baselines.
struct RawRow {
    seq: i64,
    bytes: Vec<u8>,
    leaf: Vec<u8>,
    recorded_us: i64,
    valid_us: i64,
    kind: String,
    subject: Option<String>,
}

fn read_rows(db: &Path) -> Result<Vec<RawRow>> {
    let c = rusqlite::Connection::open(db)?;
    let mut stmt = c.prepare(
        "SELECT seq, bytes, leaf, recorded_us, valid_us, type, subject FROM event WHERE seq >= 4 ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(RawRow {
            seq: r.get(0)?,
            bytes: r.get(1)?,
            leaf: r.get(2)?,
            recorded_us: r.get(3)?,
            valid_us: r.get(4)?,
            kind: r.get(5)?,
            subject: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The baselines: the same rows inserted with nothing else, in transactions of `batch`.
/// `whole_rows` false: only (seq, entry bytes). True: the event table's full row and index.
fn raw_insert(path: &Path, rows: &[RawRow], batch: usize, whole_rows: bool) -> Result<Duration> {
    let mut c = rusqlite::Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.execute_batch(
        "CREATE TABLE raw (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL);
         CREATE TABLE event (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL, leaf BLOB NOT NULL, recorded_us INTEGER NOT NULL,
                             valid_us INTEGER NOT NULL, type TEXT NOT NULL, subject TEXT, corrects INTEGER);
         CREATE INDEX event_subject ON event(subject, seq) WHERE subject IS NOT NULL;",
    )?;
    let sql = if whole_rows {
        "INSERT INTO event (seq, bytes, leaf, recorded_us, valid_us, type, subject) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    } else {
        "INSERT INTO raw (seq, bytes) VALUES (?1, ?2)"
    };
    let start = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = c.transaction()?;
        {
            let mut stmt = tx.prepare_cached(sql)?;
            for r in chunk {
                if whole_rows {
                    stmt.execute(rusqlite::params![
                        r.seq,
                        r.bytes,
                        r.leaf,
                        r.recorded_us,
                        r.valid_us,
                        r.kind,
                        r.subject
                    ])?;
                } else {
                    stmt.execute(rusqlite::params![r.seq, r.bytes])?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(start.elapsed())
}

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn append(p: &Printer, events: u64, batches: &[u64], reps: u32) -> Result<ExitCode> {
    let scratch = Scratch::new(None)?;
    let stream = workload(0, events, t0());
    let mut rows = Vec::new();
    let mut text = format!(
        "append: {events} events per run, median of {reps} interleaved runs, WAL + synchronous=FULL on every side\n\
         raw = (seq, entry bytes) rows; rows = the same event rows with their subject index\n\
         {:>6} {:>13} {:>11} {:>11} {:>9} {:>10}\n",
        "batch", "liaison ev/s", "raw ev/s", "rows ev/s", "vs raw", "vs rows"
    );
    for &b in batches {
        let batch = b.max(1) as usize;
        let (mut o, mut r, mut w) = (vec![], vec![], vec![]);
        for rep in 0..reps {
            let mut store = new_store(&scratch.0, &format!("ours-{b}-{rep}.db"))?;
            o.push(per_sec(events, append_all(&mut store, &stream, batch)?));
            let stored = read_rows(store.path())?;
            r.push(per_sec(events, raw_insert(&scratch.0.join(format!("raw-{b}-{rep}.db")), &stored, batch, false)?));
            w.push(per_sec(events, raw_insert(&scratch.0.join(format!("rows-{b}-{rep}.db")), &stored, batch, true)?));
        }
        let ratios_raw = median(o.iter().zip(&r).map(|(a, b)| a / b).collect());
        let ratios_rows = median(o.iter().zip(&w).map(|(a, b)| a / b).collect());
        let (o, r, w) = (median(o), median(r), median(w));
        text.push_str(&format!("{b:>6} {o:>13.0} {r:>11.0} {w:>11.0} {ratios_raw:>9.2} {ratios_rows:>10.2}\n"));
        rows.push(json!({ "batch": b, "liaison_events_per_s": o, "raw_events_per_s": r, "rows_events_per_s": w,
                          "ratio_vs_raw": ratios_raw, "ratio_vs_rows": ratios_rows }));
    }
    p.emit(&text, json!({ "bench": "append", "events": events, "reps": reps, "results": rows }));
    Ok(ExitCode::SUCCESS)
}

/// Small deterministic generator for proof positions.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn growth(p: &Printer, sizes: &[u64], dir: Option<PathBuf>) -> Result<ExitCode> {
    const WINDOW: u64 = 20_000;
    const BATCH: usize = 1_000;
    const PROOFS: u32 = 1_000;
    let scratch = Scratch::new(dir)?;
    let mut store = new_store(&scratch.0, "growth.db")?;
    let mut text = format!(
        "growth: append measured over {WINDOW} events in batches of {BATCH}; {PROOFS} inclusion and {PROOFS} consistency proofs at each size\n{:>10} {:>12} {:>16} {:>18} {:>10}\n",
        "size", "append ev/s", "inclusion µs", "consistency µs", "proof B"
    );
    let mut rows = Vec::new();
    let mut filled = 0u64;
    let bar = p.progress(*sizes.iter().max().unwrap_or(&0), "filling");
    for &size in sizes {
        while filled < size {
            let n = (size - filled).min(100_000);
            append_all(&mut store, &workload(filled, n, t0()), BATCH)?;
            filled += n;
            bar.set_position(filled);
        }
        let window = workload(filled, WINDOW, t0());
        let d = append_all(&mut store, &window, BATCH)?;
        filled += WINDOW;
        let log = store.size()?;
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ size;
        let start = Instant::now();
        let mut proof_len = 0;
        for _ in 0..PROOFS {
            proof_len = store.inclusion_proof(next(&mut x) % log, log)?.len();
        }
        let incl = start.elapsed() / PROOFS;
        let start = Instant::now();
        for _ in 0..PROOFS {
            store.consistency_proof(1 + next(&mut x) % (log - 1), log)?;
        }
        let cons = start.elapsed() / PROOFS;
        let rate = per_sec(WINDOW, d);
        text.push_str(&format!(
            "{log:>10} {rate:>12.0} {:>16.1} {:>18.1} {:>10}\n",
            incl.as_secs_f64() * 1e6,
            cons.as_secs_f64() * 1e6,
            proof_len * 32
        ));
        rows.push(json!({ "size": log, "append_events_per_s": rate, "inclusion_proof_us": incl.as_secs_f64() * 1e6, "consistency_proof_us": cons.as_secs_f64() * 1e6, "inclusion_proof_bytes": proof_len * 32 }));
    }
    bar.finish_and_clear();
    p.emit(&text, json!({ "bench": "growth", "results": rows }));
    Ok(ExitCode::SUCCESS)
}

fn verify(p: &Printer, events: u64, pg: Option<&str>) -> Result<ExitCode> {
    let scratch = Scratch::new(None)?;
    let mut store: Box<dyn Store> = match pg {
        Some(url) => {
            let mut s = store::PgStore::create(url, &scratch.0.join("pg.key"))?;
            let setup: Vec<NewEvent> = setup().into_iter().map(|event| NewEvent::new(t0(), "bench", event)).collect();
            s.append(&setup, None, Timestamp::now())?;
            Box::new(s)
        }
        None => Box::new(new_store(&scratch.0, "verify.db")?),
    };
    let store = store.as_mut();
    append_all(store, &workload(0, events, t0()), 1_000)?;
    let all = store.entries(0, usize::MAX)?;
    let bytes: u64 = all.iter().map(|e| e.bytes.len() as u64).sum();
    let file = scratch.0.join("entries.bin");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for e in &all {
            w.write_all(&e.bytes)?;
        }
        w.flush()?;
    }
    drop(all);
    // Warm both caches once, then time the best of three runs of each.
    store::ops::verify(store, &Default::default(), &mut |_| {})?;
    sha256sum(&file)?;
    let mut ours = Duration::MAX;
    let mut theirs = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        store::ops::verify(store, &Default::default(), &mut |_| {})?;
        ours = ours.min(start.elapsed());
        theirs = theirs.min(sha256sum(&file)?);
    }
    let mb = bytes as f64 / 1e6;
    let (o, s) = (mb / ours.as_secs_f64(), mb / theirs.as_secs_f64());
    p.emit(
        &format!("verify: {} events, {mb:.1} MB of entry bytes\n  liaison verify {o:.1} MB/s ({:.0} events/s)\n  sha256sum      {s:.1} MB/s\n  ratio          {:.2}\n", events + 4, per_sec(events + 4, ours), o / s),
        json!({ "bench": "verify", "events": events + 4, "bytes": bytes, "liaison_mb_per_s": o, "sha256sum_mb_per_s": s, "ratio": o / s }),
    );
    Ok(ExitCode::SUCCESS)
}

fn sha256sum(file: &Path) -> Result<Duration> {
    let start = Instant::now();
    let out = std::process::Command::new("sha256sum").arg(file).output().context("running sha256sum")?;
    anyhow::ensure!(out.status.success(), "sha256sum failed");
    Ok(start.elapsed())
}
