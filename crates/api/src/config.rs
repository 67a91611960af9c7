//! Server configuration: a TOML file, then `LIAISON_*` environment variables over it.

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Everything `liaison serve` can be told. Every field has a default except the database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://PATH` (or a bare path) or `postgres://...`.
    pub db: String,
    /// Address to listen on (`LIAISON_ADDR`).
    pub addr: String,
    /// The principals and their argon2-hashed tokens (`LIAISON_TOKENS`).
    pub tokens: Option<PathBuf>,
    /// The log's signing key for a PostgreSQL store (`LIAISON_SIGNING_KEY`); a SQLite store
    /// keeps its key beside the database file.
    pub signing_key: Option<PathBuf>,
    /// Minutes an unanswered handoff offer stays open (`LIAISON_HANDOFF_WINDOW_MINUTES`).
    pub handoff_window_minutes: u32,
    /// Most requests committed in one transaction (`LIAISON_BATCH_MAX`).
    pub batch_max: usize,
    /// Largest request body accepted, bytes (`LIAISON_BODY_LIMIT`).
    pub body_limit: usize,
    /// Read connections (`LIAISON_READERS`).
    pub readers: usize,
    /// Seconds between sweeps that expire unanswered offers (`LIAISON_SWEEP_SECONDS`).
    pub sweep_seconds: u64,
    /// Seconds a client may take to send a request's headers (`LIAISON_HEADER_TIMEOUT_SECONDS`).
    pub header_timeout_seconds: u64,
    /// Seconds a client may take to send a request's body (`LIAISON_BODY_TIMEOUT_SECONDS`).
    pub body_timeout_seconds: u64,
    /// Connections served at once; more wait to be accepted (`LIAISON_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Seconds open connections get to finish at shutdown before they are dropped
    /// (`LIAISON_SHUTDOWN_SECONDS`).
    pub shutdown_seconds: u64,
    /// Failed token checks a client address or a principal may make per minute before it gets
    /// 429 (`LIAISON_AUTH_FAILURES_PER_MINUTE`).
    pub auth_failures_per_minute: u32,
    /// `json` (default) or `text` (`LIAISON_LOG_FORMAT`).
    pub log_format: String,
    /// OIDC issuers whose JWTs are accepted (`[[oidc]]` tables; file only).
    pub oidc: Vec<crate::oidc::IssuerConfig>,
    /// Witnesses asked to cosign checkpoints, each `"URL VERIFIER_KEY"` (`LIAISON_WITNESSES`,
    /// entries separated by `;`).
    pub witnesses: Vec<String>,
    /// Seconds between rounds of asking the witnesses (`LIAISON_WITNESS_SECONDS`).
    pub witness_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: String::new(),
            addr: "127.0.0.1:8080".into(),
            tokens: None,
            signing_key: None,
            handoff_window_minutes: 240,
            batch_max: 256,
            body_limit: 64 * 1024,
            readers: 4,
            sweep_seconds: 30,
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            max_connections: 1024,
            shutdown_seconds: 10,
            auth_failures_per_minute: 20,
            log_format: "json".into(),
            oidc: vec![],
            witnesses: vec![],
            witness_seconds: 10,
        }
    }
}

impl Config {
    /// Reads `file` (if given), then applies `LIAISON_*` variables from `env`.
    pub fn load(file: Option<&Path>, env: impl Iterator<Item = (String, String)>) -> Result<Config> {
        let mut c = match file {
            Some(f) => {
                let text = std::fs::read_to_string(f).with_context(|| format!("reading config {}", f.display()))?;
                toml::from_str(&text).with_context(|| format!("config {}", f.display()))?
            }
            None => Config::default(),
        };
        for (k, v) in env {
            let Some(name) = k.strip_prefix("LIAISON_") else { continue };
            let num = |what: &str| -> Result<u64> {
                v.parse().with_context(|| format!("{k}={v:?}: {what} must be a whole number"))
            };
            // Parsed to the field's own type: a value it cannot hold is an error, never cut.
            fn fit<T: TryFrom<u64>>(k: &str, n: u64) -> Result<T> {
                T::try_from(n).map_err(|_| anyhow::anyhow!("{k}={n} is out of range"))
            }
            match name {
                "DB" => c.db = v.clone(),
                "ADDR" => c.addr = v.clone(),
                "TOKENS" => c.tokens = Some(PathBuf::from(&v)),
                "SIGNING_KEY" => c.signing_key = Some(PathBuf::from(&v)),
                "HANDOFF_WINDOW_MINUTES" => c.handoff_window_minutes = fit(&k, num("minutes")?)?,
                "BATCH_MAX" => c.batch_max = fit(&k, num("a count")?)?,
                "BODY_LIMIT" => c.body_limit = fit(&k, num("bytes")?)?,
                "READERS" => c.readers = fit(&k, num("a count")?)?,
                "SWEEP_SECONDS" => c.sweep_seconds = num("seconds")?,
                "HEADER_TIMEOUT_SECONDS" => c.header_timeout_seconds = num("seconds")?,
                "BODY_TIMEOUT_SECONDS" => c.body_timeout_seconds = num("seconds")?,
                "MAX_CONNECTIONS" => c.max_connections = fit(&k, num("a count")?)?,
                "SHUTDOWN_SECONDS" => c.shutdown_seconds = num("seconds")?,
                "AUTH_FAILURES_PER_MINUTE" => c.auth_failures_per_minute = fit(&k, num("a count")?)?,
                "LOG_FORMAT" => c.log_format = v.clone(),
                "WITNESSES" => {
                    c.witnesses = v.split(';').map(str::trim).filter(|w| !w.is_empty()).map(String::from).collect()
                }
                "WITNESS_SECONDS" => c.witness_seconds = num("seconds")?,
                "LOG" | "CONFIG" => {}
                _ => bail!("unknown setting {k}; see docs/api.md for the LIAISON_* variables"),
            }
        }
        c.check()?;
        Ok(c)
    }

    /// Whether `db` names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.db.starts_with("postgres://") || self.db.starts_with("postgresql://")
    }

    /// Each numeric setting with the range it must lie in.
    fn bounds(&self) -> [(&'static str, u64, std::ops::RangeInclusive<u64>); 11] {
        let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
        [
            // Up to 30 days: an offer nobody answers in a month is a mistake, not a window.
            ("handoff_window_minutes", u64::from(self.handoff_window_minutes), 1..=30 * 24 * 60),
            ("batch_max", n(self.batch_max), 1..=10_000),
            ("body_limit", n(self.body_limit), 1024..=16 * 1024 * 1024),
            ("readers", n(self.readers), 1..=256),
            ("sweep_seconds", self.sweep_seconds, 1..=3600),
            ("header_timeout_seconds", self.header_timeout_seconds, 1..=300),
            ("body_timeout_seconds", self.body_timeout_seconds, 1..=300),
            ("max_connections", n(self.max_connections), 1..=100_000),
            ("shutdown_seconds", self.shutdown_seconds, 1..=300),
            ("auth_failures_per_minute", u64::from(self.auth_failures_per_minute), 1..=1_000_000),
            ("witness_seconds", self.witness_seconds, 1..=3600),
        ]
    }

    fn check(&self) -> Result<()> {
        if self.db.is_empty() {
            bail!("no database: pass --db sqlite://PATH or set LIAISON_DB");
        }
        for (name, value, range) in self.bounds() {
            if !range.contains(&value) {
                bail!("{name} = {value} is out of bounds: it must be from {} to {}", range.start(), range.end());
            }
        }
        for w in &self.witnesses {
            crate::witness::WitnessEndpoint::parse(w).with_context(|| format!("witness {w:?}"))?;
        }
        if self.is_postgres() && self.signing_key.is_none() {
            bail!("a PostgreSQL store needs its signing key: set signing_key or LIAISON_SIGNING_KEY");
        }
        if !matches!(self.log_format.as_str(), "json" | "text") {
            bail!("log_format must be json or text, not {:?}", self.log_format);
        }
        Ok(())
    }
}
