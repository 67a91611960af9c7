//! The subcommands: each opens the store, calls one operation, and prints the result.

use crate::printer::Printer;
use anyhow::{Context, Result, anyhow, bail};
use domain::chain::ChainStep;
use domain::demo::{DEMO_SUBJECTS, scenario};
use domain::{RecordKey, RecordKind, Timestamp};
use ledger::SignedCheckpoint;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use store::ops::{self, VerifyError};
use store::{NewEvent, SqliteStore, Store};

/// Exit code 4: rebuilt projections differ from the stored ones.
#[derive(Debug)]
pub struct ProjectionMismatch(pub String);

impl std::fmt::Display for ProjectionMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ProjectionMismatch {}

/// Maps an error to the documented exit code.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(v) = e.downcast_ref::<VerifyError>() {
        return match v {
            VerifyError::Store(_) => 1,
            _ => 3,
        };
    }
    if e.downcast_ref::<ProjectionMismatch>().is_some() {
        return 4;
    }
    1
}

fn open(db: &Path) -> Result<SqliteStore> {
    SqliteStore::open(db).with_context(|| format!("opening store {}", db.display()))
}

/// Opens an existing store named as `serve` names one: a SQLite file (a path or
/// `sqlite://PATH`) or a PostgreSQL URL. Creates nothing; a PostgreSQL store opened here has
/// no signing key, so it cannot sign.
pub fn open_any(db: &str) -> Result<Box<dyn Store + Send>> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let store = store::PgStore::open(db, Path::new("")).context("opening the PostgreSQL store")?;
        return Ok(Box::new(store));
    }
    Ok(Box::new(open(Path::new(db.strip_prefix("sqlite://").unwrap_or(db)))?))
}

/// Hashes law sources as a store keeps them, for `verify`.
fn law_hash(kept: &str) -> Result<String, String> {
    law::kept_rules_hash(kept)
}

/// Removes a store's files (after a failed create, before anything was acknowledged).
fn remove_store_files(db: &Path) {
    for suffix in ["", "-wal", "-shm", ".key"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Creates a store and records the reference data in one command, so that a failure leaves
/// no half-initialized store behind.
/// The reference data as events, under the key that makes loading it idempotent.
fn reference_events(empty: bool) -> Result<(Vec<NewEvent>, String)> {
    let facts = if empty {
        Vec::new()
    } else {
        reference::load(&reference::Sources::bundled()).context("loading reference data")?
    };
    let events = facts.into_iter().map(|f| NewEvent::new(f.valid_at, "system:reference", f.event)).collect();
    Ok((events, format!("reference-{}", reference::AGREEMENTS_287G_SNAPSHOT)))
}

fn create_with_reference(db: &Path, empty: bool) -> Result<(SqliteStore, u64)> {
    let (events, key) = reference_events(empty)?;
    let mut store = SqliteStore::create(db).with_context(|| format!("creating store {}", db.display()))?;
    if events.is_empty() {
        return Ok((store, 0));
    }
    match store.append(&events, Some(&key), Timestamp::now()) {
        Ok(r) => Ok((store, r.last_seq + 1)),
        Err(e) => {
            drop(store);
            remove_store_files(db);
            Err(e).context("recording reference data")
        }
    }
}

fn report_init<B: store::engine::Backend>(
    p: &Printer,
    what: &str,
    store: &mut store::Ledger<B>,
    events: u64,
) -> Result<ExitCode> {
    let vk = store.verifier_key()?;
    p.emit(
        &format!(
            "initialized {what} with {events} reference events\nlog origin: {}\nverifier key: {vk}",
            store.origin()
        ),
        json!({ "db": what, "events": events, "origin": store.origin(), "verifier_key": vk }),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn init(p: &Printer, db: &Path, empty: bool) -> Result<ExitCode> {
    let (mut store, events) = create_with_reference(db, empty)?;
    report_init(p, &db.display().to_string(), &mut store, events)
}

fn create_pg_with_reference(url: &str, key: &Path, empty: bool) -> Result<(store::PgStore, u64)> {
    let (events, ref_key) = reference_events(empty)?;
    let mut store = store::PgStore::create(url, key).context("creating the PostgreSQL store")?;
    let n = if events.is_empty() {
        0
    } else {
        store.append(&events, Some(&ref_key), Timestamp::now()).context("recording reference data")?.last_seq + 1
    };
    Ok((store, n))
}

/// `liaison init --pg URL --signing-key FILE`: a new log in an empty PostgreSQL database.
pub fn init_pg(p: &Printer, url: &str, key: &Path, empty: bool) -> Result<ExitCode> {
    let (mut store, n) = create_pg_with_reference(url, key, empty)?;
    let shown = url.split('@').next_back().unwrap_or(url).to_string();
    report_init(p, &format!("postgres {shown}"), &mut store, n)
}

/// Reads `--key`: a signed-note verifier key, or a file holding one.
fn read_key(key: &str) -> Result<ledger::checkpoint::VerifyingKey> {
    let text = match std::fs::read_to_string(key) {
        Ok(t) => t,
        Err(_) if key.contains('+') => key.to_string(),
        Err(e) => return Err(e).with_context(|| format!("reading --key {key}")),
    };
    let (_, k) = ledger::checkpoint::parse_verifier_key(text.trim())
        .with_context(|| format!("--key {key:?} is not a verifier key (name+keyid+base64 key)"))?;
    Ok(k)
}

pub fn verify(
    p: &Printer,
    db: Option<&str>,
    export: Option<&Path>,
    checkpoint: Option<&Path>,
    key: Option<&str>,
    witnesses: &[String],
) -> Result<ExitCode> {
    let note = checkpoint
        .map(|f| std::fs::read_to_string(f).with_context(|| format!("reading checkpoint {}", f.display())))
        .transpose()?;
    // `liaison checkpoint --json` output is accepted as well as the bare note.
    let note = note.map(|n| {
        serde_json::from_str::<serde_json::Value>(&n)
            .ok()
            .and_then(|v| v["note"].as_str().map(str::to_string))
            .unwrap_or(n)
    });
    let external =
        note.as_deref().map(|n| SignedCheckpoint::parse(n).context("reading the checkpoint you hold")).transpose()?;
    // Who cosigned the checkpoint you hold, by the witness keys you trust.
    let mut witnessed = Vec::new();
    for w in witnesses {
        let key = ledger::witness::WitnessKey::parse(w).map_err(|e| anyhow!("--witness {w:?}: {e}"))?;
        let (Some(n), Some(c)) = (note.as_deref(), external.as_ref()) else { continue };
        match key.cosigned(&c.checkpoint, &ledger::witness::signature_lines(n)) {
            Some(t) => witnessed.push(json!({ "witness": key.name, "time": t, "verified": true })),
            None => witnessed.push(json!({ "witness": key.name, "verified": false })),
        }
    }
    let opts = ops::VerifyOptions {
        checkpoint: external.as_ref(),
        key: key.map(read_key).transpose()?,
        rules_hash: Some(&law_hash),
    };
    let result = match (db, export) {
        (_, Some(file)) => {
            let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = p.progress(len / 400, "verifying");
            let r = store::export::verify_export(&mut std::io::BufReader::new(f), &opts, &mut |n| bar.set_position(n));
            bar.finish_and_clear();
            r
        }
        (Some(db), None) => {
            let mut store = open_any(db)?;
            let bar = p.progress(store.size()?, "verifying");
            let r = ops::verify(store.as_mut(), &opts, &mut |n| bar.set_position(n));
            bar.finish_and_clear();
            r
        }
        (None, None) => bail!("give --db or --export"),
    };
    match result {
        Ok(r) => {
            let root = hex::encode(r.root);
            let extends = external.as_ref().map(|c| c.checkpoint.size);
            let mut text = format!(
                "intact: {} events, root {root}, {} signed checkpoints, {} Merkle nodes, {} idempotency keys, {} law versions and {} cosignatures checked",
                r.count,
                r.checkpoints_checked,
                r.nodes_checked,
                r.commands_checked,
                r.law_versions_checked,
                r.cosignatures_checked
            );
            if let Some(size) = extends {
                text.push_str(&format!("\nthe log extends the checkpoint you hold (size {size})"));
            }
            for w in &witnessed {
                text.push_str(&match w["time"].as_u64() {
                    Some(t) => format!(
                        "\n  witnessed by {} at {}",
                        w["witness"].as_str().unwrap_or(""),
                        jiff::Timestamp::from_second(t as i64).map_or(t.to_string(), |t| t.to_string())
                    ),
                    None => format!(
                        "\n  NOT witnessed by {}: no cosignature of theirs verifies",
                        w["witness"].as_str().unwrap_or("")
                    ),
                });
            }
            p.emit(
                &text,
                json!({ "intact": true, "events": r.count, "root": root, "checkpoints_checked": r.checkpoints_checked,
                        "nodes_checked": r.nodes_checked, "commands_checked": r.commands_checked,
                        "law_versions_checked": r.law_versions_checked, "cosignatures_checked": r.cosignatures_checked,
                        "extends_checkpoint": extends, "witnessed": witnessed }),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Store(e)) => Err(e).context("reading the log"),
        Err(e) => {
            let first = e.first_bad_seq();
            if p.json {
                p.emit("", json!({ "intact": false, "first_bad_seq": first, "error": e.to_string() }));
            } else {
                eprintln!("TAMPERED: {e}");
                if let Some(s) = first {
                    eprintln!("first bad sequence number: {s}");
                }
            }
            Ok(ExitCode::from(3))
        }
    }
}

pub fn rebuild(p: &Printer, db: &str, repair: bool) -> Result<ExitCode> {
    let mut store = open_any(db)?;
    let bar = p.progress(store.size()?, "rebuilding");
    let report = ops::rebuild(store.as_mut(), &mut |n| bar.set_position(n))?;
    bar.finish_and_clear();
    let json = json!({ "events": report.events, "rows": report.rows, "identical": report.difference_count == 0,
                       "difference_count": report.difference_count, "differences": report.differences });
    if report.difference_count == 0 {
        p.emit(
            &format!("rebuilt {} rows from {} events: identical to the stored projection", report.rows, report.events),
            json,
        );
        return Ok(ExitCode::SUCCESS);
    }
    if repair {
        let (_, rows) = ops::replay(store.as_mut(), &mut |_| {})?;
        store.replace_projection(&rows)?;
        p.emit(&format!("repaired: {} rows differed and were replaced from the log", report.difference_count), json);
        return Ok(ExitCode::SUCCESS);
    }
    Err(ProjectionMismatch(format!(
        "rebuilt projection differs from the stored one in {} rows (first: {}); run with --repair to replace it from the log",
        report.difference_count,
        report.differences.join(", ")
    ))
    .into())
}

fn parse_time(flag: &str, s: &str) -> Result<Timestamp> {
    s.parse::<Timestamp>().with_context(|| format!("{flag} {s:?} is not an RFC 3339 time such as 2026-03-06T17:00:00Z"))
}

/// `--as-of`: an RFC 3339 time, or a sequence number standing for the time its event was
/// recorded ("as known when event 3475 was written").
fn record_time(store: &mut dyn Store, s: &str) -> Result<Timestamp> {
    let Ok(seq) = s.parse::<u64>() else { return parse_time("--as-of", s) };
    let entry = store.entries(seq, 1)?.into_iter().next().with_context(|| format!("--as-of {seq}: no event {seq}"))?;
    Ok(entry.decode()?.recorded_at)
}

pub fn log(
    p: &Printer,
    db: &str,
    subject: Option<&str>,
    as_of: Option<&str>,
    valid_at: Option<&str>,
    from: u64,
    limit: usize,
) -> Result<ExitCode> {
    let valid_at = valid_at.map(|t| parse_time("--valid-at", t)).transpose()?;
    let mut store = open_any(db)?;
    let store = store.as_mut();
    let as_of = as_of.map(|t| record_time(store, t)).transpose()?;
    let Some(subject) = subject else {
        if as_of.is_some() || valid_at.is_some() {
            bail!("--as-of and --valid-at need --subject");
        }
        return list(p, store, from, limit.min(10_000));
    };
    if store.record(&RecordKey::new(RecordKind::Subject, subject))?.is_none() {
        bail!("unknown subject {subject:?}");
    }
    let mut chain = ops::custody_chain(store, subject, as_of)?;
    // Valid time: what had happened by then (as the log knows it now, or as of --as-of).
    chain.retain(|s| valid_at.is_none_or(|t| s.valid_at <= t));
    let when = as_of.map_or("now".to_string(), |t| format!("at {t}"));
    let upto = valid_at.map_or(String::new(), |t| format!(", up to {t}"));
    let mut text = format!("custody chain of {subject} as known {when}{upto}:\n");
    if chain.is_empty() {
        text.push_str("  (nothing recorded yet)\n");
    }
    text.push_str(&render_chain(&chain));
    p.emit(&text, json!({ "subject": subject, "as_of": as_of, "valid_at": valid_at, "chain": chain }));
    Ok(ExitCode::SUCCESS)
}

/// One line per step: sequence number, valid time, what happened, and any correction.
fn render_chain(chain: &[ChainStep]) -> String {
    let mut text = String::new();
    for s in chain {
        let fix = s.corrected_by.map_or(String::new(), |c| format!("  [valid time corrected by event {c}]"));
        text.push_str(&format!("  #{:<6} {}  {}{fix}\n", s.seq, s.valid_at, s.what));
    }
    text
}

fn list(p: &Printer, store: &mut dyn Store, from: u64, limit: usize) -> Result<ExitCode> {
    let mut text = String::new();
    let mut rows = Vec::new();
    for se in store.entries(from, limit)? {
        let e = se.decode()?;
        text.push_str(&format!("#{:<6} {}  {:<26} {}\n", e.seq, e.recorded_at, e.event.type_name(), e.actor));
        rows.push(json!({ "seq": e.seq, "recorded_at": e.recorded_at, "valid_at": e.valid_at, "type": e.event.type_name(), "actor": e.actor }));
    }
    p.emit(&text, json!({ "from": from, "events": rows }));
    Ok(ExitCode::SUCCESS)
}

pub fn checkpoint(p: &Printer, db: &str) -> Result<ExitCode> {
    let mut store = open_any(db)?;
    let latest = store.checkpoints()?.pop().ok_or_else(|| anyhow!("the log has no checkpoint yet"))?;
    let note = latest.to_note();
    let vk = ledger::checkpoint::verifier_key(&latest.checkpoint.origin, &store.verifying_key()?);
    p.emit(
        &note,
        json!({ "size": latest.checkpoint.size, "root": hex::encode(latest.checkpoint.root), "note": note, "verifier_key": vk }),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn prove_inclusion(p: &Printer, db: &str, seq: u64, size: Option<u64>) -> Result<ExitCode> {
    let mut store = open_any(db)?;
    let size = match size {
        Some(s) => s,
        None => store.size()?,
    };
    let proof = store.inclusion_proof(seq, size)?;
    let root = store.root_at(size)?;
    let entry = store.entries(seq, 1)?.pop().ok_or_else(|| anyhow!("no event {seq}"))?;
    let ok = ledger::merkle::verify_inclusion(&root, size, seq, &entry.bytes, &proof);
    let hexes: Vec<String> = proof.iter().map(hex::encode).collect();
    p.emit(
        &format!("event {seq} is in the tree of {size} events (root {}): proof of {} hashes {}", hex::encode(root), proof.len(), if ok { "verifies" } else { "DOES NOT VERIFY" }),
        json!({ "seq": seq, "size": size, "root": hex::encode(root), "leaf_hash": hex::encode(entry.leaf), "proof": hexes, "verified": ok }),
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

pub fn prove_consistency(p: &Printer, db: &str, old: u64, new: Option<u64>) -> Result<ExitCode> {
    let mut store = open_any(db)?;
    let new = match new {
        Some(n) => n,
        None => store.size()?,
    };
    let proof = store.consistency_proof(old, new)?;
    let (old_root, new_root) = (store.root_at(old)?, store.root_at(new)?);
    let ok = ledger::merkle::verify_consistency(&old_root, old, &new_root, new, &proof);
    let hexes: Vec<String> = proof.iter().map(hex::encode).collect();
    p.emit(
        &format!("the tree of {old} events is a prefix of the tree of {new}: proof of {} hashes {}", proof.len(), if ok { "verifies" } else { "DOES NOT VERIFY" }),
        json!({ "old_size": old, "new_size": new, "old_root": hex::encode(old_root), "new_root": hex::encode(new_root), "proof": hexes, "verified": ok }),
    );
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

pub fn export(p: &Printer, db: &str, out: Option<&Path>) -> Result<ExitCode> {
    let mut store = open_any(db)?;
    let bar = p.progress(store.size()?, "exporting");
    let Some(path) = out else {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        store::export::export(store.as_mut(), &mut w, &mut |n| bar.set_position(n))?;
        return Ok(ExitCode::SUCCESS);
    };
    // Write beside the target and rename, so a failure never leaves a partial export.
    let tmp = path.with_extension("partial");
    let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let n = store::export::export(store.as_mut(), &mut w, &mut |n| bar.set_position(n))?;
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    bar.finish_and_clear();
    p.emit(
        &format!(
            "exported {} events, {} signed checkpoints and {} law versions to {}",
            n.events,
            n.checkpoints,
            n.law_versions,
            path.display()
        ),
        json!({ "events": n.events, "checkpoints": n.checkpoints, "law_versions": n.law_versions, "out": path }),
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks the whole export (no store touched), then copies it into a new mirror, or into an
/// earlier copy of the same log, streaming.
pub fn import(p: &Printer, db: &Path, file: &Path) -> Result<ExitCode> {
    let reader = || -> Result<std::io::BufReader<std::fs::File>> {
        let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        Ok(std::io::BufReader::new(f))
    };
    let rejected = || format!("rejected {}: nothing was imported", file.display());
    let opts = ops::VerifyOptions { rules_hash: Some(&law_hash), ..Default::default() };
    let checked = store::export::verify_export(&mut reader()?, &opts, &mut |_| {});
    let checked = match checked {
        Ok(r) => r,
        Err(VerifyError::Store(e)) => return Err(e).with_context(rejected),
        Err(e) => {
            let first = e.first_bad_seq();
            if p.json {
                p.emit("", json!({ "imported": 0, "intact": false, "first_bad_seq": first, "error": e.to_string() }));
            } else {
                eprintln!("{}: {e}", rejected());
            }
            return Ok(ExitCode::from(3));
        }
    };
    let head = store::export::Reader::new(reader()?).map_err(|e| anyhow!("{e}")).with_context(rejected)?;
    let created = !db.exists();
    let mut store = if created {
        SqliteStore::create_mirror(db, &head.origin, &head.key)
            .with_context(|| format!("creating mirror {}", db.display()))?
    } else {
        open(db)?
    };
    drop(head);
    let bar = p.progress(checked.count, "importing");
    let result = store::export::import(&mut store, &mut reader()?, &mut |last| {
        bar.set_position(last + 1);
        p.line(&format!("committed through event {last}"), json!({ "committed_through": last }));
    });
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            p.emit(
                &format!(
                    "imported {} new events ({} already present) with {} signed checkpoints of log {}",
                    r.imported,
                    r.already_present,
                    r.checkpoints,
                    store.origin()
                ),
                json!({ "imported": r.imported, "already_present": r.already_present, "checkpoints": r.checkpoints,
                        "origin": store.origin() }),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if created && store.size().unwrap_or(1) == 0 {
                drop(store);
                remove_store_files(db);
            }
            Err(anyhow!("{e}")).with_context(rejected)
        }
    }
}

/// `liaison mirror`: pulls slices of a server's log until it has nothing new.
pub fn mirror(p: &Printer, from: &str, token_file: &Path, db: &Path, limit: u64) -> Result<ExitCode> {
    let token = std::fs::read_to_string(token_file).with_context(|| format!("reading {}", token_file.display()))?;
    let token = token.trim();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .build()
        .into();
    let base = from.trim_end_matches('/');
    let mut store = if db.exists() { Some(open(db)?) } else { None };
    let (mut imported, mut checkpoints) = (0u64, 0u64);
    loop {
        let have = match store.as_mut() {
            Some(s) => s.size()?,
            None => 0,
        };
        let mut resp = agent
            .get(format!("{base}/v1/ledger/export?from={have}&limit={limit}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .with_context(|| format!("reaching {base}"))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().with_config().limit(1 << 34).read_to_vec().context("reading the slice")?;
        if status != 200 {
            bail!("{base} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        let s = match store.as_mut() {
            Some(s) => s,
            None => {
                let head = store::export::Reader::new(&body[..]).map_err(|e| anyhow!("{e}"))?;
                store.insert(
                    SqliteStore::create_mirror(db, &head.origin, &head.key)
                        .with_context(|| format!("creating mirror {}", db.display()))?,
                )
            }
        };
        let r = store::export::import(s, &mut &body[..], &mut |_| {}).map_err(|e| anyhow!("{e}"))?;
        imported += r.imported;
        checkpoints += r.checkpoints;
        if r.imported == 0 {
            break;
        }
        p.line(&format!("mirrored through event {}", s.size()? - 1), json!({ "mirrored_through": s.size()? - 1 }));
    }
    let s = store.as_mut().expect("created on the first slice");
    let size = s.size()?;
    p.emit(
        &format!(
            "mirror {}: {size} events of log {} ({imported} new, {checkpoints} signed checkpoints)",
            db.display(),
            s.origin()
        ),
        json!({ "events": size, "imported": imported, "origin": s.origin() }),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn demo(p: &Printer, db: Option<PathBuf>, serve_on: Option<String>, people: u32) -> Result<ExitCode> {
    let db = db.unwrap_or_else(|| std::env::temp_dir().join(format!("liaison-demo-{}.db", std::process::id())));
    let created = !db.exists();
    let result = create_with_reference(&db, false).and_then(|(mut store, n)| {
        let path = db.display();
        let hint = format!("try: liaison verify --db {path}\n     liaison log --db {path} --subject S-DEMO-0003\n");
        run_demo(p, &mut store, &path.to_string(), n, &hint, people)
    });
    if result.is_err() && created {
        // A demo that failed half-way leaves nothing behind.
        remove_store_files(&db);
    }
    let code = result?;
    if let Some(addr) = serve_on {
        let config = crate::serve::demo_config(format!("sqlite://{}", db.display()), None)?;
        crate::serve::serve_demo(p, &db, config, &addr)?;
    }
    Ok(code)
}

/// `liaison demo --pg URL --signing-key FILE`: the demo in an empty PostgreSQL database.
pub fn demo_pg(p: &Printer, url: &str, key: &Path, serve_on: Option<String>, people: u32) -> Result<ExitCode> {
    let (mut store, n) = create_pg_with_reference(url, key, false)?;
    let code = run_demo(p, &mut store, "PostgreSQL", n, "", people)?;
    drop(store);
    if let Some(addr) = serve_on {
        let config = crate::serve::demo_config(url.to_string(), Some(key.to_path_buf()))?;
        crate::serve::serve_demo(p, key, config, &addr)?;
    }
    Ok(code)
}

fn run_demo(
    p: &Printer,
    store: &mut dyn Store,
    label: &str,
    reference_events: u64,
    hint: &str,
    people: u32,
) -> Result<ExitCode> {
    seed_demo(store)?;
    let fed = if people > 0 {
        let days = 28;
        let sc = crate::simfeed::demo_scenario(days)?;
        let bar = p.progress(u64::from(days), "simulating");
        let run = crate::simfeed::simulate_one(&sc, 1, &|n| bar.set_position(n))?;
        bar.finish_and_clear();
        let bar = p.progress(0, "replaying through the law engine");
        let fed = crate::simfeed::feed(store, &run, people, 1, &|i, n| {
            bar.set_length(n);
            bar.set_position(i)
        })?;
        bar.finish_and_clear();
        Some(fed)
    } else {
        None
    };
    let report =
        ops::verify(store, &ops::VerifyOptions { rules_hash: Some(&law_hash), ..Default::default() }, &mut |_| {})?;
    let mut text = format!(
        "Liaison demo store: {label}\n{reference_events} reference events (agencies, AORs, Border Patrol sectors, 287(g) agreements) and a synthetic scenario.\n\n"
    );
    let mut chains = Vec::new();
    for s in DEMO_SUBJECTS {
        let chain = ops::custody_chain(store, s, None)?;
        text.push_str(&format!("{s}\n{}", render_chain(&chain)));
        chains.push(json!({ "subject": s, "chain": chain }));
    }
    if let Some(f) = &fed {
        text.push_str(&format!("\n{}", crate::simfeed::render(f)));
    }
    text.push_str(&format!("\nledger intact: {} events, root {}\n{hint}", report.count, hex::encode(report.root)));
    p.emit(
        &text,
        json!({ "db": label, "events": report.count, "root": hex::encode(report.root), "chains": chains, "simulated": fed }),
    );
    Ok(ExitCode::SUCCESS)
}

/// Opens `db`, or creates it with the reference data and the demo scenario (its cast of
/// officers and facilities) when it does not exist, runs `f` on it and verifies the result.
/// A store this call created is removed again if anything fails.
pub fn with_demo_store(
    db: &Path,
    f: &mut dyn FnMut(&mut dyn Store) -> Result<crate::simfeed::Fed>,
) -> Result<crate::simfeed::Fed> {
    let created = !db.exists();
    let result = (|| {
        let mut store = if created {
            let (mut store, _) = create_with_reference(db, false)?;
            seed_demo(&mut store)?;
            store
        } else {
            SqliteStore::open(db).with_context(|| format!("opening store {}", db.display()))?
        };
        let fed = f(&mut store)?;
        let report = ops::verify(
            &mut store,
            &ops::VerifyOptions { rules_hash: Some(&law_hash), ..Default::default() },
            &mut |_| {},
        )?;
        anyhow::ensure!(report.count > 0, "the store is empty after the replay");
        Ok(fed)
    })();
    if result.is_err() && created {
        remove_store_files(db);
    }
    result
}

/// The demo scenario's commands, each with the legal decision the demo asks of it.
fn seed_demo(store: &mut dyn Store) -> Result<()> {
    let t0: Timestamp = "2026-03-02T08:00:00Z".parse().expect("valid");
    let law = law::Law::bundled();
    let mut first_seq: BTreeMap<String, u64> = BTreeMap::new();
    for c in scenario(t0) {
        let corrects = c.corrects_command.as_ref().map(|k| first_seq[k]);
        let (first_at, first_event) = c.events.first().cloned().expect("commands have events");
        let mut events: Vec<NewEvent> = c
            .events
            .into_iter()
            .map(|(valid_at, event)| NewEvent { valid_at, actor: c.actor.clone(), corrects, event, decision: None })
            .collect();
        let key = c.idempotency_key.clone();
        let mut outcome: Option<Result<u64>> = None;
        store.transact(Timestamp::now(), &mut |b| {
            let r = crate::decisions::demo_decision(b, &law, &key, &first_event, first_at).and_then(|decision| {
                events[0].decision = decision;
                let hash = store::leaf_hash(&serde_json::to_vec(&events).expect("json"));
                Ok(b.command(&events, Some((&key, hash)))?.first_seq)
            });
            outcome = Some(r);
            Ok(())
        })?;
        let first = outcome.expect("ran").with_context(|| format!("demo command {key}"))?;
        first_seq.insert(key, first);
    }
    Ok(())
}
