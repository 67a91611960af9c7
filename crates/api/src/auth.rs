//! Bearer tokens for the embedded default: each principal has one token, kept only as an
//! argon2id hash in the tokens file. A token reads `lsn_<principal>_<secret>`: the principal
//! part finds the hash, argon2 checks the secret. A verified token is remembered by its
//! SHA-256 for the life of the process, so argon2's deliberate cost is paid once per token,
//! not once per request.
//!
//! Real deployments also accept JWTs from agencies' identity providers ([`crate::oidc`]); a
//! principal is then found by its issuer and subject, listed in the same file.

use anyhow::{Context as _, Result, bail};
use domain::{AgencyId, OfficerId};
use serde::{Deserialize, Serialize};
use service::{ApiRole, Principal};
use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use crate::oidc::{IssuerConfig, Oidc, OidcSubject};

/// One entry of the tokens file: a principal, and how it proves who it is (a Liaison token, a
/// JWT from an OIDC issuer, or both).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub principal: Principal,
    /// `argon2id$<salt hex>$<hash hex>`.
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

fn derive(secret: &str, salt: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    argon2().hash_password_into(secret.as_bytes(), salt, &mut out).expect("argon2 with valid parameters");
    out
}

/// A new random token for `principal` and the entry that stores its hash.
pub fn issue(principal: Principal) -> (String, TokenEntry) {
    let mut secret = [0u8; 24];
    let mut salt = [0u8; 16];
    getrandom(&mut secret);
    getrandom(&mut salt);
    let secret = hex::encode(secret);
    let token = format!("lsn_{}_{secret}", principal.id);
    let token_hash = format!("argon2id${}${}", hex::encode(salt), hex::encode(derive(&secret, &salt)));
    (token, TokenEntry { principal, token_hash: Some(token_hash), oidc: None })
}

fn getrandom(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source");
}

/// The principals and how to check their tokens.
pub struct Tokens {
    entries: HashMap<String, TokenEntry>,
    verified: RwLock<HashMap<[u8; 32], Principal>>,
    /// One argon2 check at a time: many connections presenting a new token at once wait for
    /// the first check instead of each paying for their own.
    checking: std::sync::Mutex<()>,
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
            if map.insert(e.principal.id.clone(), e).is_some() {
                bail!("a principal is listed twice in the tokens file");
            }
        }
        Ok(Tokens {
            entries: map,
            verified: RwLock::new(HashMap::new()),
            checking: std::sync::Mutex::new(()),
            oidc: None,
        })
    }

    /// Accepts JWTs from `issuers` for the principals that name an OIDC subject.
    pub fn enable_oidc(&mut self, issuers: &[IssuerConfig]) -> Result<()> {
        let mut subjects = HashMap::new();
        for e in self.entries.values() {
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

    /// The principal of a token already verified by this process (cheap; no argon2).
    pub fn cached(&self, token: &str) -> Option<Principal> {
        self.verified.read().expect("lock").get(&store::leaf_hash(token.as_bytes())).cloned()
    }

    /// The principal a bearer token belongs to, or `None`. Costs an argon2 check the first
    /// time a token is seen; call it off the async threads.
    pub fn check(&self, token: &str) -> Option<Principal> {
        let digest = store::leaf_hash(token.as_bytes());
        if let Some(p) = self.verified.read().expect("lock").get(&digest) {
            return Some(p.clone());
        }
        let _one_at_a_time = self.checking.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = self.verified.read().expect("lock").get(&digest) {
            return Some(p.clone());
        }
        let rest = token.strip_prefix("lsn_")?;
        let (id, secret) = rest.split_once('_')?;
        let entry = self.entries.get(id)?;
        let mut parts = entry.token_hash.as_deref()?.split('$');
        let (Some("argon2id"), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let (salt, hash) = (hex::decode(salt).ok()?, hex::decode(hash).ok()?);
        let got = derive(secret, &salt);
        // Constant-time comparison.
        let diff = got.iter().zip(hash.iter()).fold(got.len() ^ hash.len(), |acc, (a, b)| acc | usize::from(a ^ b));
        if diff != 0 {
            return None;
        }
        let mut cache = self.verified.write().expect("lock");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(digest, entry.principal.clone());
        Some(entry.principal.clone())
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
        account("oversight-crcl", "DHS-CRCL", vec![ApiRole::Oversight]),
        account("registry-admin", "ICE-ERO", vec![ApiRole::Administrator]),
    ]
}
