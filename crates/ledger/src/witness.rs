//! Witnessed checkpoints: C2SP tlog-cosignature (Ed25519 `cosignature/v1`) and the rules of
//! a C2SP tlog-witness `add-checkpoint` call, without I/O.
//!
//! A witness keeps, per log origin, the size and root of the latest checkpoint it cosigned.
//! It cosigns a new checkpoint only if the log's own signature verifies and a consistency
//! proof shows the new tree extends the one it saw: a log that forks or truncates itself
//! cannot get both of its histories cosigned by the same witness.
//!
//! Cosignature line: `— <witness name> base64(key id || u64 BE timestamp || Ed25519 signature)`
//! over `cosignature/v1\ntime <timestamp>\n<checkpoint body>`; the key id is
//! `SHA-256(name || "\n" || 0x04 || public key)[:4]`.

use crate::Hash;
use crate::checkpoint::{Checkpoint, SignedCheckpoint, VerifyingKey};
use crate::merkle::verify_consistency;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _};
use sha2::{Digest, Sha256};

const SIG_PREFIX: &str = "\u{2014} ";
/// Most consistency proof lines a request may carry (tlog-witness).
pub const PROOF_LINES_MAX: usize = 63;

/// The key id of an Ed25519 cosigner key (signature type 0x04).
pub fn cosigner_key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x04");
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The message a `cosignature/v1` signs.
fn cosigned_message(c: &Checkpoint, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{}", c.body())
}

/// A witness's signing key and name.
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner").field("name", &self.name).field("key", &"<secret>").finish()
    }
}

impl Cosigner {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Self {
        Cosigner { name: name.to_string(), key: SigningKey::from_bytes(seed) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key string: `name+hex(key id)+base64(0x04 || public key)`.
    pub fn verifier_key(&self) -> String {
        WitnessKey { name: self.name.clone(), key: self.key.verifying_key() }.to_string()
    }

    /// The cosignature line for `c` at `time` (seconds since the epoch).
    pub fn cosign(&self, c: &Checkpoint, time: u64) -> String {
        let sig = self.key.sign(cosigned_message(c, time).as_bytes()).to_bytes();
        let mut raw = cosigner_key_id(&self.name, &self.key.verifying_key()).to_vec();
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&sig);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A witness as a log or a verifier knows it: its name and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessKey {
    pub name: String,
    pub key: VerifyingKey,
}

impl std::fmt::Display for WitnessKey {
    /// The verifier key string: `name+hex(key id)+base64(0x04 || public key)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut k = vec![4u8];
        k.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex::encode(cosigner_key_id(&self.name, &self.key)), B64.encode(k))
    }
}

impl WitnessKey {
    /// Reads a cosigner verifier key string (`name+keyid+base64(0x04 || key)`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = s.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("a witness key is name+keyid+base64 key".into());
        };
        let raw = B64.decode(key).map_err(|_| "the witness key is not base64".to_string())?;
        let bytes: [u8; 32] = match raw.split_first() {
            Some((4, rest)) => rest.try_into().map_err(|_| "the witness key is not 32 bytes".to_string())?,
            _ => return Err("the witness key is not an Ed25519 cosigner (type 4) key".into()),
        };
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| "the witness key is not an Ed25519 key".to_string())?;
        if hex::encode(cosigner_key_id(name, &key)) != id {
            return Err("the witness key's id does not match its name and key".into());
        }
        Ok(WitnessKey { name: name.to_string(), key })
    }

    /// The time of this witness's cosignature of `c` among a note's signature `lines`, if one
    /// verifies.
    pub fn cosigned(&self, c: &Checkpoint, lines: &[&str]) -> Option<u64> {
        let id = cosigner_key_id(&self.name, &self.key);
        lines.iter().find_map(|line| {
            let rest = line.strip_prefix(SIG_PREFIX)?;
            let (name, b64) = rest.rsplit_once(' ')?;
            let raw = B64.decode(b64.trim()).ok()?;
            if name != self.name || raw.len() != 4 + 8 + 64 || raw[..4] != id {
                return None;
            }
            let time = u64::from_be_bytes(raw[4..12].try_into().ok()?);
            let sig = Signature::from_bytes(raw[12..].try_into().ok()?);
            self.key.verify(cosigned_message(c, time).as_bytes(), &sig).ok().map(|()| time)
        })
    }
}

/// The signature lines of a note (after its blank line).
pub fn signature_lines(note: &str) -> Vec<&str> {
    note.split_once("\n\n").map_or(vec![], |(_, sigs)| sigs.lines().filter(|l| !l.is_empty()).collect())
}

/// An `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint note, with every signature it carries.
    pub note: String,
}

impl AddCheckpoint {
    pub fn to_body(&self) -> String {
        let mut s = format!("old {}\n", self.old);
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.note);
        s
    }

    pub fn parse(body: &str) -> Result<Self, Refusal> {
        let bad = |why: &str| Refusal::BadRequest(why.to_string());
        let (head, note) = body.split_once("\n\n").ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| *n == "0" || !n.starts_with('0'))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad("the first line is not \"old <size>\""))?;
        let proof = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|b| Hash::try_from(b).ok())
                    .ok_or_else(|| bad("a proof line is not a base64 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > PROOF_LINES_MAX {
            return Err(bad("more than 63 proof lines"));
        }
        Ok(AddCheckpoint { old, proof, note: note.to_string() })
    }
}

/// Why a witness refuses, with the HTTP status tlog-witness gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unknown log {0}")]
    UnknownLog(String),
    #[error("the checkpoint is not signed by the log's key")]
    Forbidden,
    /// The old size is not the latest this witness cosigned (which is given), or the same
    /// size comes with another root (a fork).
    #[error("this witness last cosigned size {0}")]
    Conflict(u64),
    #[error("the consistency proof does not verify: the log does not extend what this witness saw")]
    Unprocessable,
    /// The witness could not do its part (e.g. save its state): nothing was cosigned.
    #[error("the witness failed: {0}")]
    Failed(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::UnknownLog(_) => 404,
            Refusal::Forbidden => 403,
            Refusal::Conflict(_) => 409,
            Refusal::Unprocessable => 422,
            Refusal::Failed(_) => 500,
        }
    }
}

/// Decides an `add-checkpoint` call. `logs` maps each known origin to its key; `seen` is
/// the (size, root) this witness last cosigned for the request's origin. On success, the
/// caller persists the returned checkpoint as the new `seen` (atomically with the check)
/// and answers with `cosigner.cosign(..)`.
pub fn add_checkpoint(
    req: &AddCheckpoint,
    log_key: impl Fn(&str) -> Option<VerifyingKey>,
    seen: impl Fn(&str) -> Option<(u64, Hash)>,
) -> Result<Checkpoint, Refusal> {
    // The note with each of its signature lines alone (the log's may not be the first).
    let body = req.note.split_once("\n\n").map(|b| b.0).ok_or_else(|| Refusal::BadRequest("no signature".into()))?;
    let signed: Vec<SignedCheckpoint> = signature_lines(&req.note)
        .iter()
        .filter_map(|l| SignedCheckpoint::parse(&format!("{body}\n\n{l}\n")).ok())
        .collect();
    let c = &signed.first().ok_or_else(|| Refusal::BadRequest("not a signed checkpoint".into()))?.checkpoint;
    let key = log_key(&c.origin).ok_or_else(|| Refusal::UnknownLog(c.origin.clone()))?;
    if !signed.iter().any(|s| s.key_name == c.origin && s.verify(&key).is_ok()) {
        return Err(Refusal::Forbidden);
    }
    if req.old > c.size {
        return Err(Refusal::BadRequest(format!("old size {} is above the checkpoint's {}", req.old, c.size)));
    }
    let last = seen(&c.origin);
    let last_size = last.map_or(0, |l| l.0);
    if req.old != last_size {
        return Err(Refusal::Conflict(last_size));
    }
    match last {
        None | Some((0, _)) => {
            if !req.proof.is_empty() {
                return Err(Refusal::BadRequest("a proof from size 0 must be empty".into()));
            }
        }
        Some((size, root)) if size == c.size => {
            if root != c.root {
                return Err(Refusal::Conflict(size));
            }
        }
        Some((size, root)) => {
            if !verify_consistency(&root, size, &c.root, c.size, &req.proof) {
                return Err(Refusal::Unprocessable);
            }
        }
    }
    Ok(c.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signer;

    #[test]
    fn a_cosignature_verifies_and_names_its_time() {
        let log = Signer::from_seed("liaison/test", &[1; 32]);
        let c = log.sign(Checkpoint { origin: "liaison/test".into(), size: 5, root: [3; 32] });
        let w = Cosigner::from_seed("witness.example/w1", &[2; 32]);
        let line = w.cosign(&c.checkpoint, 1_700_000_000);
        let key = WitnessKey::parse(&w.verifier_key()).unwrap();
        let note = format!("{}{line}", c.to_note());
        assert_eq!(key.cosigned(&c.checkpoint, &signature_lines(&note)), Some(1_700_000_000));
        let other = Checkpoint { size: 6, ..c.checkpoint.clone() };
        assert_eq!(key.cosigned(&other, &signature_lines(&note)), None);
        let req = AddCheckpoint { old: 0, proof: vec![], note: note.clone() };
        assert_eq!(AddCheckpoint::parse(&req.to_body()).unwrap(), req);
    }
}
