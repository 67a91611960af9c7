//! Witnessing, both sides of C2SP tlog-witness.
//!
//! - [`serve`]: the witness an oversight body or another agency runs (`liaison witness`). It
//!   knows the logs it watches by their verifier keys, keeps the latest checkpoint it
//!   cosigned for each in a state file (written and synced before it answers), and cosigns a
//!   new checkpoint only when a consistency proof shows it extends that one.
//! - [`Cosigning`]: the log's side. Every few seconds it offers the latest checkpoint to each
//!   configured witness with a consistency proof from the last size that witness cosigned,
//!   and stores the cosignatures it gets (`store::Store::put_cosignature`), which the API
//!   serves with the checkpoint.

use anyhow::{Context, Result, bail};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ledger::checkpoint::{VerifyingKey, parse_verifier_key};
use ledger::witness::{AddCheckpoint, Cosigner, Refusal, WitnessKey, add_checkpoint};
use ledger::{Hash, SignedCheckpoint};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Largest request body a witness reads (a checkpoint and 63 proof lines fit in 8 KB).
const BODY_MAX: usize = 64 * 1024;

/// What a witness remembers per log: the size and root it last cosigned.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Seen {
    logs: BTreeMap<String, (u64, String)>,
}

/// A running witness's state.
pub struct Witness {
    cosigner: Cosigner,
    logs: BTreeMap<String, VerifyingKey>,
    state_path: PathBuf,
    seen: Mutex<Seen>,
}

impl Witness {
    /// A witness named `name` with the key in `key_path` (created, mode 0600, if missing),
    /// watching the logs whose verifier keys are given, remembering in `state_path`.
    pub fn open(name: &str, key_path: &Path, logs: &[String], state_path: &Path) -> Result<Self> {
        let seed = read_or_create_seed(key_path)?;
        let mut known = BTreeMap::new();
        for vkey in logs {
            let (origin, key) = parse_verifier_key(vkey).map_err(|e| anyhow::anyhow!("--log {vkey}: {e}"))?;
            known.insert(origin, key);
        }
        if known.is_empty() {
            bail!("a witness needs at least one log to watch (--log VERIFIER_KEY)");
        }
        let seen = match std::fs::read_to_string(state_path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {}", state_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Seen::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", state_path.display())),
        };
        Ok(Witness {
            cosigner: Cosigner::from_seed(name, &seed),
            logs: known,
            state_path: state_path.to_path_buf(),
            seen: Mutex::new(seen),
        })
    }

    /// The witness's verifier key (`name+keyid+base64(0x04 || key)`), for logs and verifiers.
    pub fn verifier_key(&self) -> String {
        self.cosigner.verifier_key()
    }

    /// Handles one `add-checkpoint` body: the check and the update of what was seen are one
    /// step (under the lock), persisted before the cosignature is returned.
    pub fn add(&self, body: &str, now_secs: u64) -> Result<String, Refusal> {
        let req = AddCheckpoint::parse(body)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let last = |origin: &str| {
            let (size, root) = seen.logs.get(origin)?;
            let mut h: Hash = [0; 32];
            hex::decode_to_slice(root, &mut h).ok()?;
            Some((*size, h))
        };
        let c = add_checkpoint(&req, |o| self.logs.get(o).copied(), last)?;
        seen.logs.insert(c.origin.clone(), (c.size, hex::encode(c.root)));
        persist(&self.state_path, &serde_json::to_vec_pretty(&*seen).expect("json"))
            .map_err(|e| Refusal::Failed(format!("cannot save its state: {e}")))?;
        Ok(self.cosigner.cosign(&c, now_secs))
    }
}

/// Writes `bytes` beside `path`, syncs, and renames over it.
fn persist(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn read_or_create_seed(path: &Path) -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode_to_slice(text.trim(), &mut seed)
            .map_err(|_| anyhow::anyhow!("witness key {} is not 64 hex digits", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for the witness key: {e}"))?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            use std::io::Write;
            let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
            f.write_all(hex::encode(seed).as_bytes())?;
            f.sync_all()?;
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    Ok(seed)
}

/// The witness's HTTP interface: `POST /add-checkpoint`.
pub fn router(w: Arc<Witness>) -> axum::Router {
    async fn add(State(w): State<Arc<Witness>>, body: axum::body::Bytes) -> Response {
        if body.len() > BODY_MAX {
            return (StatusCode::PAYLOAD_TOO_LARGE, "request too large\n").into_response();
        }
        let Ok(text) = std::str::from_utf8(&body) else {
            return (StatusCode::BAD_REQUEST, "not UTF-8\n").into_response();
        };
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        let text = text.to_string();
        let result = tokio::task::spawn_blocking(move || w.add(&text, now)).await;
        match result {
            Ok(Ok(line)) => {
                (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response()
            }
            Ok(Err(Refusal::Conflict(size))) => {
                (StatusCode::CONFLICT, [(header::CONTENT_TYPE, "text/x.tlog.size")], format!("{size}\n"))
                    .into_response()
            }
            Ok(Err(r)) => {
                let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
                (status, format!("{r}\n")).into_response()
            }
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the witness failed\n").into_response(),
        }
    }
    axum::Router::new().route("/add-checkpoint", post(add)).with_state(w)
}

/// Serves a witness on `addr` until Ctrl-C or SIGTERM.
pub fn serve(w: Arc<Witness>, addr: &str) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        axum::serve(listener, router(w))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

/// A witness a log asks for cosignatures: where it listens and its key.
#[derive(Debug, Clone)]
pub struct WitnessEndpoint {
    pub url: String,
    pub key: WitnessKey,
}

impl WitnessEndpoint {
    /// Reads `URL VERIFIER_KEY`.
    pub fn parse(s: &str) -> Result<Self> {
        let (url, key) = s.trim().split_once(' ').context("a witness is \"URL VERIFIER_KEY\"")?;
        if !url.starts_with("http://") {
            bail!("witness URL {url:?} must start with http:// (TLS is left to a bastion in front of the witness)");
        }
        let key = WitnessKey::parse(key).map_err(|e| anyhow::anyhow!("witness key {key:?}: {e}"))?;
        Ok(WitnessEndpoint { url: url.trim_end_matches('/').to_string(), key })
    }
}

/// The log's side: asks each witness to cosign the latest checkpoint.
pub struct Cosigning {
    witnesses: Vec<WitnessEndpoint>,
    /// The size each witness last cosigned, as far as this server knows.
    last: Vec<u64>,
    agent: ureq::Agent,
}

impl Cosigning {
    pub fn new(witnesses: Vec<WitnessEndpoint>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(10)))
            .build()
            .into();
        let last = vec![0; witnesses.len()];
        Cosigning { witnesses, last, agent }
    }

    /// Offers `cp` to every witness and stores what they cosign. Returns how many cosigned.
    pub fn round(&mut self, store: &mut dyn store::Store, cp: &SignedCheckpoint) -> usize {
        let mut cosigned = 0;
        for i in 0..self.witnesses.len() {
            match self.offer(store, i, cp) {
                Ok(true) => cosigned += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(witness = %self.witnesses[i].key.name, error = %e, "witness did not cosign"),
            }
        }
        cosigned
    }

    fn offer(&mut self, store: &mut dyn store::Store, i: usize, cp: &SignedCheckpoint) -> Result<bool> {
        let size = cp.checkpoint.size;
        // A conflict tells the size the witness holds: try again from there, once.
        for _ in 0..2 {
            let old = self.last[i];
            if old == size {
                return Ok(false);
            }
            let proof = if old == 0 || old > size { vec![] } else { store.consistency_proof(old, size)? };
            let req = AddCheckpoint { old, proof, note: cp.to_note() };
            let w = &self.witnesses[i];
            let resp = self
                .agent
                .post(format!("{}/add-checkpoint", w.url))
                .header("Content-Type", "text/plain")
                .send(req.to_body().as_bytes())
                .with_context(|| format!("reaching {}", w.url))?;
            let status = resp.status().as_u16();
            let body = resp.into_body().read_to_string().unwrap_or_default();
            match status {
                200 => {
                    let lines: Vec<&str> = body.lines().collect();
                    let Some(line) = lines.iter().find(|l| w.key.cosigned(&cp.checkpoint, &[l]).is_some()) else {
                        bail!("{} answered 200 without a cosignature that verifies", w.url);
                    };
                    store.put_cosignature(size, &w.key.to_string(), line)?;
                    self.last[i] = size;
                    return Ok(true);
                }
                409 => {
                    self.last[i] = body.trim().parse().with_context(|| format!("{} answered 409: {body}", w.url))?;
                }
                _ => bail!("{} answered {status}: {}", w.url, body.trim()),
            }
        }
        Ok(false)
    }
}
