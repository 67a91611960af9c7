//! The coordination service: agencies work through an HTTP API (axum) with per-agency access.
//!
//! Writes go to the single [`writer::Writer`], which runs each through the workflows
//! (`service::execute`: roles, the law, the ledger) and commits them in groups. Reads go to a
//! small pool of read handles. Every error is RFC 9457 problem+json ([`problem`]); the OpenAPI
//! document is generated from the handlers ([`openapi`]) and checked into `docs/openapi.json`.

pub mod auth;
pub mod config;
mod listen;
pub mod metrics;
pub mod oidc;
pub mod problem;
pub mod releases;
mod routes;
pub mod witness;
pub mod writer;

pub use config::Config;
pub use routes::{openapi, router};

use anyhow::{Context as _, Result, bail};
use law::Law;
use std::sync::{Arc, Mutex};
use store::{PgStore, SqliteStore, Store};

/// SQLite's WAL: the writer's commits checkpoint at this many pages (so that the WAL restarts
/// and stays bounded, here at ~400 MB); a background thread checkpoints (PASSIVE) every
/// `CHECKPOINT_MS` so that little is left for that commit to copy. The commit that meets the
/// mark still copies and syncs what the last background run left, up to 100 ms of writes:
/// 30-110 ms. At 10,000 pages that happened 27-37 times in 15 s of full write load and set the
/// server's p99 (≤ 73 ms); at 100,000 pages it happens a tenth as often (server p99 ≤ 32 ms,
/// same write rate). Checkpointing every 10 ms instead also cut the stalls, but the write rate
/// fell below 5,000 req/s in both runs (BENCHMARKS.md §6).
const WAL_PAGES: u32 = 100_000;
const CHECKPOINT_MS: u64 = 100;

/// The SQLite database file `config` names, if it names one.
fn sqlite_path(config: &Config) -> Option<&std::path::Path> {
    (!config.is_postgres()).then(|| std::path::Path::new(config.db.strip_prefix("sqlite://").unwrap_or(&config.db)))
}

/// The writer's handle: on SQLite its commits checkpoint rarely, a background
/// [`store::Checkpointer`] doing most of the copying.
fn open_writer(config: &Config) -> Result<Box<dyn Store + Send>> {
    match sqlite_path(config) {
        Some(path) => {
            let s = SqliteStore::open(path).with_context(|| format!("opening store {}", path.display()))?;
            Ok(Box::new(s.with_autocheckpoint(WAL_PAGES)?))
        }
        None => open_store(config),
    }
}

/// Opens the configured store: `sqlite://PATH` (or a bare path), or `postgres://...` with
/// its signing key. Blocking: call it from a plain thread.
pub fn open_store(config: &Config) -> Result<Box<dyn Store + Send>> {
    match sqlite_path(config) {
        Some(path) => {
            let s = SqliteStore::open(path).with_context(|| format!("opening store {}", path.display()))?;
            Ok(Box::new(s))
        }
        None => {
            let key = config.signing_key.as_deref().context("a PostgreSQL store needs signing_key")?;
            Ok(Box::new(PgStore::open(&config.db, key).context("opening the PostgreSQL store")?))
        }
    }
}

/// Read handles, each used by one request at a time.
pub struct Readers {
    pool: Vec<Mutex<Box<dyn Store + Send>>>,
    next: std::sync::atomic::AtomicUsize,
    /// Whether a point read may run in place on an async worker (SQLite: a few microseconds,
    /// no runtime of its own). PostgreSQL's client must run on a blocking thread.
    pub inline: bool,
}

impl Readers {
    /// Opens `n` read handles. Blocking: call it from a plain thread.
    pub fn open(config: &Config, n: usize) -> Result<Self> {
        let pool = (0..n).map(|_| open_store(config).map(Mutex::new)).collect::<Result<_>>()?;
        Ok(Readers { pool, next: 0.into(), inline: !config.is_postgres() })
    }

    /// Runs `f` on a free read handle (blocking; call from a blocking thread).
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn Store) -> T) -> T {
        for m in &self.pool {
            if let Ok(mut s) = m.try_lock() {
                return f(s.as_mut());
            }
        }
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.pool.len();
        let mut s = self.pool[i].lock().unwrap_or_else(|e| e.into_inner());
        f(s.as_mut())
    }
}

/// What every handler shares.
pub struct AppState {
    pub writer: writer::Writer,
    pub readers: Readers,
    /// The principals, replaced whole when the tokens file is reloaded (SIGHUP).
    pub tokens: Arc<std::sync::RwLock<Arc<auth::Tokens>>>,
    pub failures: auth::Failures,
    pub law: Arc<Law>,
    pub metrics: metrics::Metrics,
    pub body_limit: usize,
    /// How long a client may take to send a request body.
    pub body_timeout: std::time::Duration,
    pub settings: service::Settings,
    /// Ledger report releases computed lately (the public report endpoints).
    pub releases: releases::Releases,
}

impl AppState {
    /// The principals as now loaded.
    pub fn tokens(&self) -> Arc<auth::Tokens> {
        self.tokens.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running server, for tests and `liaison demo`.
pub struct Server {
    pub addr: std::net::SocketAddr,
    tokens: Arc<std::sync::RwLock<Arc<auth::Tokens>>>,
    oidc: Vec<oidc::IssuerConfig>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<Result<()>>,
}

impl Server {
    /// Replaces the principals (a reloaded tokens file): removed principals and changed
    /// tokens stop working at once, since the cache of verified tokens goes with the old set.
    pub fn reload_tokens(&self, mut tokens: auth::Tokens) -> Result<()> {
        tokens.enable_oidc(&self.oidc).context("configuring OIDC issuers")?;
        *self.tokens.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tokens);
        Ok(())
    }

    /// Stops accepting, finishes the requests in flight, commits what was queued.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.done.await.context("server task")?
    }
}

/// More routes served beside the API over the same state (the web app: `crates/web`).
pub type Pages = Box<dyn FnOnce(Arc<AppState>) -> axum::Router + Send>;

impl AppState {
    /// Runs a read on a read handle, off the async threads.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn Store) -> Result<T, service::ServiceError> + Send + 'static,
    ) -> Result<T, service::ServiceError> {
        let st = self.clone();
        tokio::task::spawn_blocking(move || st.readers.with(f))
            .await
            .map_err(|e| service::ServiceError::internal(format!("read task failed: {e}")))?
    }

    /// Logs reads of subjects' records (one event each, one commit) before they are shown.
    pub async fn log_reads(
        &self,
        p: &service::Principal,
        subjects: Vec<domain::SubjectId>,
        what: &str,
    ) -> Result<(), service::ServiceError> {
        if !subjects.is_empty() {
            self.writer.run(p.clone(), service::Command::LogRead { subjects, what: what.to_string() }, None).await?;
        }
        Ok(())
    }

    /// What `command` would do now, decided as the writer would decide it and appending
    /// nothing: the checks and the law's decision run in a transaction that is rolled back.
    pub async fn preview(
        self: &Arc<Self>,
        p: service::Principal,
        command: service::Command,
    ) -> Result<Option<law::Decision>, service::ServiceError> {
        let (law, settings) = (self.law.clone(), self.settings.clone());
        self.read(move |s| {
            let mut out = None;
            let req = service::Request { principal: &p, command: &command, key: None, as_system: false };
            let now = jiff::Timestamp::now();
            let rolled_back = s.transact(now, &mut |b| {
                out = Some(service::preview(b, &law, &settings, &req, now));
                Err(store::StoreError::Invalid("a preview appends nothing".into()))
            });
            match (out, rolled_back) {
                (Some(r), _) => r,
                (None, Err(e)) => Err(e.into()),
                (None, Ok(_)) => Err(service::ServiceError::internal("the preview did not run")),
            }
        })
        .await
    }
}

/// Starts the server on `config.addr` with the given principals; returns once it listens.
pub async fn start(config: &Config, tokens: auth::Tokens) -> Result<Server> {
    start_with(config, tokens, None).await
}

/// [`start`], serving `pages` beside the API.
pub async fn start_with(config: &Config, mut tokens: auth::Tokens, pages: Option<Pages>) -> Result<Server> {
    tokens.enable_oidc(&config.oidc).context("configuring OIDC issuers")?;
    let tokens = Arc::new(std::sync::RwLock::new(Arc::new(tokens)));
    let law = Arc::new(Law::bundled());
    // The place index (county outlines, time zones: about 0.2 s) is built now, not by the
    // first request that has a location.
    law::place::Places::bundled();
    let settings =
        service::Settings { handoff_window: jiff::SignedDuration::from_mins(i64::from(config.handoff_window_minutes)) };
    let (writer, writer_thread) = {
        let (c, batch_max) = (config.clone(), config.batch_max);
        writer::Writer::start(move || open_writer(&c), law.clone(), settings.clone(), batch_max).await?
    };
    let checkpointer = match sqlite_path(config) {
        Some(path) => Some(store::Checkpointer::start(path, std::time::Duration::from_millis(CHECKPOINT_MS))?),
        None => None,
    };
    let readers = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Readers::open(&config, config.readers))
            .await
            .context("opening readers")??
    };
    let cosigning = start_cosigning(config)?;
    let state = Arc::new(AppState {
        writer: writer.clone(),
        readers,
        tokens: tokens.clone(),
        failures: auth::Failures::new(config.auth_failures_per_minute),
        law,
        metrics: metrics::Metrics::new(),
        body_limit: config.body_limit,
        body_timeout: std::time::Duration::from_secs(config.body_timeout_seconds),
        settings: settings.clone(),
        releases: Default::default(),
    });
    let listener =
        tokio::net::TcpListener::bind(&config.addr).await.with_context(|| format!("listening on {}", config.addr))?;
    let addr = listener.local_addr()?;
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let sweep_every = std::time::Duration::from_secs(config.sweep_seconds);
    let sweeper = {
        let w = writer.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_every);
            // Once a second the writer re-checks a database its last commit failed on, so
            // that /readyz tells the truth within seconds either way.
            let mut probe = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => w.sweep().await,
                    _ = probe.tick() => w.probe().await,
                }
            }
        })
    };
    drop(writer);
    let app = match pages {
        Some(pages) => router(state.clone()).merge(routes::observed(pages(state.clone()), state.clone())),
        None => router(state.clone()),
    };
    let limits = listen::Limits {
        header_timeout: std::time::Duration::from_secs(config.header_timeout_seconds),
        max_connections: config.max_connections,
        shutdown_deadline: std::time::Duration::from_secs(config.shutdown_seconds),
    };
    let done = tokio::spawn(async move {
        listen::serve(listener, app, limits, async move {
            let _ = stop.await;
        })
        .await;
        sweeper.abort();
        let _ = sweeper.await;
        // Every handler has finished; dropping the last sender lets the writer drain its queue.
        // (Dropped on a blocking thread: a PostgreSQL client owns a runtime of its own.)
        tokio::task::spawn_blocking(move || drop(state)).await.context("closing readers")?;
        tokio::task::spawn_blocking(move || writer_thread.join())
            .await
            .context("joining the writer")?
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?;
        tokio::task::spawn_blocking(move || drop(checkpointer)).await.context("last WAL checkpoint")?;
        if let Some((stop, thread)) = cosigning {
            drop(stop);
            tokio::task::spawn_blocking(move || thread.join()).await.context("joining the cosigning thread")?.ok();
        }
        tracing::info!("stopped; every acknowledged write is committed");
        Ok(())
    });
    Ok(Server { addr, tokens, oidc: config.oidc.clone(), shutdown, done })
}

/// Asks the configured witnesses to cosign the latest checkpoint every `witness_seconds`,
/// on a thread of its own with its own store handle; stops when the sender is dropped.
fn start_cosigning(config: &Config) -> Result<Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>> {
    if config.witnesses.is_empty() {
        return Ok(None);
    }
    let endpoints = config.witnesses.iter().map(|w| witness::WitnessEndpoint::parse(w)).collect::<Result<Vec<_>>>()?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let every = std::time::Duration::from_secs(config.witness_seconds);
    let config = config.clone();
    let thread = std::thread::Builder::new().name("liaison-cosigning".into()).spawn(move || {
        let mut cosigning = witness::Cosigning::new(endpoints);
        let mut store = None;
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            if store.is_none() {
                store = open_store(&config).map_err(|e| tracing::warn!(error = %e, "cosigning: no store")).ok();
            }
            let Some(s) = store.as_mut() else { continue };
            let latest = s.size().and_then(|n| s.checkpoint_at(n));
            match latest {
                Ok(Some(cp)) => {
                    cosigning.round(s.as_mut(), &cp);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cosigning: reading the latest checkpoint");
                    store = None;
                }
            }
        }
    })?;
    Ok(Some((stop, thread)))
}

/// An error log that folds repeats: a line equal to the previous one within
/// `FOLD_SECONDS` is counted, not written, and the count is written with the next other line
/// (or the next repeat after the window).
pub struct RateLimitedLog {
    last: Mutex<Option<(String, std::time::Instant, u64)>>,
}

const FOLD_SECONDS: u64 = 10;

impl RateLimitedLog {
    pub const fn new() -> Self {
        RateLimitedLog { last: Mutex::new(None) }
    }

    pub fn error(&self, line: &str) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((l, since, n)) = last.as_mut()
            && l == line
            && since.elapsed() < std::time::Duration::from_secs(FOLD_SECONDS)
        {
            *n += 1;
            return;
        }
        if let Some((l, _, n)) = last.take()
            && n > 0
        {
            tracing::error!(repeated = n, "{l}");
        }
        tracing::error!("{line}");
        *last = Some((line.to_string(), std::time::Instant::now(), 0));
    }
}

impl Default for RateLimitedLog {
    fn default() -> Self {
        Self::new()
    }
}

/// Sets up JSON (or text) logs on stderr, filtered by `LIAISON_LOG` (default `info`).
pub fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIAISON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "text" { b.try_init() } else { b.json().flatten_event(true).try_init() };
}

/// `liaison serve`: runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: Config, pages: Option<Pages>) -> Result<()> {
    let tokens = match &config.tokens {
        Some(p) => auth::Tokens::load(p)?,
        None => bail!("no tokens file: pass --tokens FILE or set LIAISON_TOKENS (`liaison demo` writes one)"),
    };
    let server = start_with(&config, tokens, pages).await?;
    // Never log a database password.
    let db = match config.db.split_once("://").and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?.1))) {
        Some((scheme, host)) => format!("{scheme}://{host}"),
        None => config.db.clone(),
    };
    tracing::info!(addr = %server.addr, %db, "listening");
    #[cfg(unix)]
    if let (Some(path), Ok(mut hup)) =
        (config.tokens.clone(), tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()))
    {
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = hup.recv() => match auth::Tokens::load(&path).and_then(|t| server.reload_tokens(t)) {
                    Ok(()) => tracing::info!(path = %path.display(), "tokens file reloaded"),
                    Err(e) => tracing::error!(error = %format!("{e:#}"), "tokens file not reloaded; the old one stays"),
                },
            }
        }
        tracing::info!("shutting down");
        return server.stop().await;
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
