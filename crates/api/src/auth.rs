//! Bearer tokens for the embedded default: each principal has one token, kept only as an
//! argon2id hash in PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) in the tokens
//! file. A token reads `lsn_<principal>_<secret>`: the principal part finds the hash, and the
//! `argon2` crate's `PasswordVerifier` checks the secret (constant-time). A verified token is
//! remembered by its SHA-256 until the tokens file is reloaded, so argon2's deliberate cost is
//! paid once per token, not once per request; concurrent first checks of one token share one
//! argon2 run, and checks of different tokens run in parallel (no global lock).
//!
//! Real deployments also accept JWTs from agencies' identity providers ([`crate::oidc`]); a
//! principal is then found by its issuer and subject, listed in the same file.

use anyhow::{Context as _, Result, bail};
use domain::{AgencyId, OfficerId};
use serde::{Deserialize, Serialize};
use service::{ApiRole, Principal};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use crate::oidc::{IssuerConfig, Oidc, OidcSubject};

/// One entry of the tokens file: a principal, and how it proves who it is (a Liaison token, a
/// JWT from an OIDC issuer, or both).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub principal: Principal,
    /// The token's argon2id hash as a PHC string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    /// The issuer and subject (`sub`) of this principal's JWTs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcSubject>,
}

/// Argon2id with its default parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> argon2::Argon2<'static> {
    argon2::Argon2::default()
}

/// A new random token for `principal` and the entry that stores its hash.
pub fn issue(principal: Principal) -> (String, TokenEntry) {
    use argon2::PasswordHasher;
    let mut secret = [0u8; 24];
    getrandom(&mut secret);
    let secret = hex::encode(secret);
    let token = format!("lsn_{}_{secret}", principal.id);
    let hash: argon2::PasswordHash =
        argon2().hash_password(secret.as_bytes()).expect("argon2 with its default parameters and a random salt");
    (token, TokenEntry { principal, token_hash: Some(hash.to_string()), oidc: None })
}

fn getrandom(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source");
}

/// The outcome of a token's first check, shared by everyone waiting for it.
type FirstCheck = OnceLock<Option<Principal>>;

/// The principals and how to check their tokens.
pub struct Tokens {
    entries: HashMap<String, (TokenEntry, Option<argon2::PasswordHash>)>,
    verified: RwLock<HashMap<[u8; 32], Principal>>,
    /// First checks in progress, by token digest: many connections presenting one new token
    /// at once wait for its one argon2 run instead of each paying for their own.
    checking: std::sync::Mutex<HashMap<[u8; 32], Arc<FirstCheck>>>,
    oidc: Option<Oidc>,
}

impl Tokens {
    pub fn new(entries: Vec<TokenEntry>) -> Result<Self> {
        let mut map = HashMap::new();
        for e in entries {
            if e.principal.id.contains('_') || e.principal.id.is_empty() {
                bail!("principal id {:?} must be non-empty and contain no '_'", e.principal.id);
            }
            if e.principal.roles.is_empty() {
                bail!("principal {:?} has no roles", e.principal.id);
            }
            if e.token_hash.is_none() && e.oidc.is_none() {
                bail!("principal {:?} has neither a token_hash nor an oidc subject", e.principal.id);
            }
            let hash = match &e.token_hash {
                Some(h) => Some(argon2::PasswordHash::new(h).map_err(|err| {
                    anyhow::anyhow!(
                        "principal {:?}: token_hash is not an argon2 PHC string ({err}); issue a new token with `liaison token`",
                        e.principal.id
                    )
                })?),
                None => None,
            };
            if hash.as_ref().is_some_and(|h| h.algorithm.as_str() != "argon2id") {
                bail!("principal {:?}: token_hash must be argon2id", e.principal.id);
            }
            if map.insert(e.principal.id.clone(), (e, hash)).is_some() {
                bail!("a principal is listed twice in the tokens file");
            }
        }
        Ok(Tokens {
            entries: map,
            verified: RwLock::new(HashMap::new()),
            checking: std::sync::Mutex::new(HashMap::new()),
            oidc: None,
        })
    }

    /// Accepts JWTs from `issuers` for the principals that name an OIDC subject.
    pub fn enable_oidc(&mut self, issuers: &[IssuerConfig]) -> Result<()> {
        let mut subjects = HashMap::new();
        for (e, _) in self.entries.values() {
            if let Some(o) = &e.oidc {
                if !issuers.iter().any(|i| i.issuer == o.issuer) {
                    bail!("principal {:?} names issuer {:?}, which is not configured", e.principal.id, o.issuer);
                }
                subjects.insert(o.clone(), e.principal.clone());
            }
        }
        if !issuers.is_empty() {
            self.oidc = Some(Oidc::new(issuers, subjects)?);
        }
        Ok(())
    }

    /// The principal of a JWT from a configured issuer, or `None` (cheap enough to run inline:
    /// one signature verification).
    pub fn check_jwt(&self, token: &str) -> Option<Principal> {
        match self.oidc.as_ref()?.check(token) {
            Ok(p) => Some(p),
            Err(why) => {
                tracing::debug!(?why, "JWT refused");
                None
            }
        }
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading tokens {}", path.display()))?;
        let entries: Vec<TokenEntry> =
            serde_json::from_str(&text).with_context(|| format!("tokens file {}", path.display()))?;
        Self::new(entries)
    }

    /// The principal listed under `id`, as the tokens file now has it (a web session asks on
    /// every request, so a principal removed or changed by a reload is so at once).
    pub fn principal(&self, id: &str) -> Option<Principal> {
        self.entries.get(id).map(|(e, _)| e.principal.clone())
    }

    /// The principal of a token already verified by this process (cheap; no argon2).
    pub fn cached(&self, token: &str) -> Option<Principal> {
        self.verified.read().unwrap_or_else(|e| e.into_inner()).get(&store::leaf_hash(token.as_bytes())).cloned()
    }

    /// The principal a bearer token belongs to, or `None`. Costs an argon2 check the first
    /// time a token is seen; call it off the async threads.
    pub fn check(&self, token: &str) -> Option<Principal> {
        let digest = store::leaf_hash(token.as_bytes());
        if let Some(p) = self.verified.read().unwrap_or_else(|e| e.into_inner()).get(&digest) {
            return Some(p.clone());
        }
        let cell = self.checking.lock().unwrap_or_else(|e| e.into_inner()).entry(digest).or_default().clone();
        let found = cell.get_or_init(|| self.verify(token)).clone();
        self.checking.lock().unwrap_or_else(|e| e.into_inner()).remove(&digest);
        if let Some(p) = &found {
            let mut cache = self.verified.write().unwrap_or_else(|e| e.into_inner());
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(digest, p.clone());
        }
        found
    }

    /// The argon2 check itself.
    fn verify(&self, token: &str) -> Option<Principal> {
        use argon2::PasswordVerifier;
        let (id, secret) = Self::split(token)?;
        let (entry, hash) = self.entries.get(id)?;
        argon2().verify_password(secret.as_bytes(), hash.as_ref()?).ok()?;
        Some(entry.principal.clone())
    }

    /// The principal id and secret of a `lsn_` token.
    pub fn split(token: &str) -> Option<(&str, &str)> {
        token.strip_prefix("lsn_")?.split_once('_')
    }
}

/// Failed token checks, counted per client address and per principal named: past `max` in
/// `FAILURE_WINDOW` a key is refused (429) without an argon2 run until the window ends, so
/// guessing costs the server little and the guesser much.
pub struct Failures {
    max: u32,
    seen: std::sync::Mutex<HashMap<String, (std::time::Instant, u32)>>,
}

pub const FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

impl Failures {
    /// At most `max` failures per key per minute (`auth_failures_per_minute`).
    pub fn new(max: u32) -> Self {
        Failures { max, seen: std::sync::Mutex::new(HashMap::new()) }
    }

    /// Seconds until `keys` may try again, if any of them is over the limit.
    pub fn blocked(&self, keys: &[String]) -> Option<u64> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| seen.get(k))
            .filter(|(since, n)| *n >= self.max && since.elapsed() < FAILURE_WINDOW)
            .map(|(since, _)| (FAILURE_WINDOW - since.elapsed()).as_secs() + 1)
            .max()
    }

    /// Counts a failure against each key.
    pub fn fail(&self, keys: &[String]) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (since, _)| since.elapsed() < FAILURE_WINDOW);
        }
        for k in keys {
            let e = seen.entry(k.clone()).or_insert((std::time::Instant::now(), 0));
            if e.0.elapsed() >= FAILURE_WINDOW {
                *e = (std::time::Instant::now(), 0);
            }
            e.1 += 1;
        }
    }
}

/// The demo's principals: one per role, acting as the demo scenario's officers.
pub fn demo_principals() -> Vec<Principal> {
    let officer = |id: &str, agency: &str, roles: Vec<ApiRole>| Principal {
        id: id.to_string(),
        agency: AgencyId::parse(agency).expect("valid"),
        officer: Some(OfficerId::parse(id).expect("valid")),
        roles,
    };
    let account = |id: &str, agency: &str, roles: Vec<ApiRole>| Principal {
        id: id.to_string(),
        agency: AgencyId::parse(agency).expect("valid"),
        officer: None,
        roles,
    };
    vec![
        officer("O-USBP-0001", "USBP-SAN-DIEGO", vec![ApiRole::FieldOfficer]),
        officer("O-ERO-SND-0001", "ICE-ERO-SND", vec![ApiRole::Supervisor, ApiRole::FieldOfficer]),
        officer("O-TX-ANG-0001", "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE", vec![ApiRole::JailStaff]),
        officer("O-FL-COL-0001", "FL-COLLIER-COUNTY-SHERIFFS-OFFICE", vec![ApiRole::Officer287g, ApiRole::JailStaff]),
        officer("O-CA-SD-0001", "CA-SAN-DIEGO-COUNTY-SHERIFFS-OFFICE", vec![ApiRole::JailStaff]),
        account("oversight-crcl", "DHS-CRCL", vec![ApiRole::Oversight]),
        account("registry-admin", "ICE-ERO", vec![ApiRole::Administrator]),
    ]
}
