//! Signed checkpoints in the C2SP tlog-checkpoint format, signed as C2SP signed notes.
//!
//! A checkpoint commits to the log's origin, size and root:
//!
//! ```text
//! liaison/3f1c…
//! 4213
//! <base64 root>
//!
//! — liaison/3f1c… <base64(key id || Ed25519 signature)>
//! ```
//!
//! The key id is the first 4 bytes of `SHA-256(name || "\n" || 0x01 || public key)`, as the
//! signed-note spec defines for Ed25519. An agency that keeps a checkpoint can later prove the
//! log still extends it (a consistency proof) and was signed by the same key.

use crate::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _};
use sha2::{Digest, Sha256};

pub use ed25519_dalek::VerifyingKey;

const SIG_PREFIX: &str = "\u{2014} ";

/// An unsigned checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text that is signed (tlog-checkpoint body, ending in a newline).
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }
}

/// A checkpoint with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub key_name: String,
    pub key_id: [u8; 4],
    pub signature: [u8; 64],
}

/// Why a checkpoint note could not be read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("checkpoint was signed by key {found} but this log's key is {expected}")]
    WrongKey { expected: String, found: String },
    #[error("checkpoint signature does not verify")]
    BadSignature,
}

/// Computes the signed-note key id for an Ed25519 key.
pub fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n\x01");
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The signed-note verifier key string of an Ed25519 key under `name`:
/// `name+hex(key id)+base64(0x01 || public key)`.
pub fn verifier_key(name: &str, key: &VerifyingKey) -> String {
    let mut k = vec![1u8];
    k.extend_from_slice(key.as_bytes());
    format!("{name}+{}+{}", hex::encode(key_id(name, key)), B64.encode(k))
}

/// Reads a signed-note verifier key string back: its name and Ed25519 public key.
pub fn parse_verifier_key(s: &str) -> Result<(String, VerifyingKey), CheckpointError> {
    use CheckpointError::Malformed;
    let mut parts = s.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Malformed("a verifier key is name+keyid+base64 key"));
    };
    let raw = B64.decode(key).map_err(|_| Malformed("the verifier key is not base64"))?;
    let bytes: [u8; 32] = match raw.split_first() {
        Some((1, rest)) => rest.try_into().map_err(|_| Malformed("the verifier key is not 32 bytes"))?,
        _ => return Err(Malformed("the verifier key is not an Ed25519 (type 1) key")),
    };
    let vk = VerifyingKey::from_bytes(&bytes).map_err(|_| Malformed("the verifier key is not an Ed25519 key"))?;
    if hex::encode(key_id(name, &vk)) != id {
        return Err(Malformed("the verifier key's id does not match its name and key"));
    }
    Ok((name.to_string(), vk))
}

/// The log's signing key and name.
pub struct Signer {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("name", &self.name).field("key", &"<secret>").finish()
    }
}

impl Signer {
    /// Builds the signer from a 32-byte secret seed that the caller generated.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Self {
        Signer { name: name.to_string(), key: SigningKey::from_bytes(seed) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let signature = self.key.sign(checkpoint.body().as_bytes()).to_bytes();
        SignedCheckpoint {
            checkpoint,
            key_name: self.name.clone(),
            key_id: key_id(&self.name, &self.key.verifying_key()),
            signature,
        }
    }

    /// The signed-note verifier key string: `name+hex(key id)+base64(0x01 || public key)`.
    pub fn verifier_key(&self) -> String {
        verifier_key(&self.name, &self.key.verifying_key())
    }
}

impl SignedCheckpoint {
    /// The full signed note.
    pub fn to_note(&self) -> String {
        let mut sig = self.key_id.to_vec();
        sig.extend_from_slice(&self.signature);
        format!("{}\n{}{} {}\n", self.checkpoint.body(), SIG_PREFIX, self.key_name, B64.encode(sig))
    }

    /// Parses a signed note (one signature line is read: the first).
    pub fn parse(note: &str) -> Result<Self, CheckpointError> {
        use CheckpointError::Malformed;
        let (body, sigs) = note.split_once("\n\n").ok_or(Malformed("no blank line before the signatures"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|s| !s.is_empty()).ok_or(Malformed("missing origin line"))?;
        let size =
            lines.next().and_then(|s| s.parse::<u64>().ok()).ok_or(Malformed("second line is not a tree size"))?;
        let root_b64 = lines.next().ok_or(Malformed("missing root hash line"))?;
        let root: Hash = B64
            .decode(root_b64)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(Malformed("third line is not a base64 SHA-256 root"))?;
        let sig_line = sigs.lines().next().ok_or(Malformed("no signature line"))?;
        let rest =
            sig_line.strip_prefix(SIG_PREFIX).ok_or(Malformed("signature line does not start with an em dash"))?;
        let (name, sig_b64) = rest.rsplit_once(' ').ok_or(Malformed("signature line has no key name"))?;
        let raw = B64.decode(sig_b64).map_err(|_| Malformed("signature is not base64"))?;
        if raw.len() != 68 {
            return Err(Malformed("signature is not a 4-byte key id and a 64-byte Ed25519 signature"));
        }
        let checkpoint = Checkpoint { origin: origin.to_string(), size, root };
        if checkpoint.body() != format!("{body}\n") {
            return Err(Malformed("body is not exactly origin, size and root"));
        }
        Ok(SignedCheckpoint {
            checkpoint,
            key_name: name.to_string(),
            key_id: raw[..4].try_into().expect("4 bytes"),
            signature: raw[4..].try_into().expect("64 bytes"),
        })
    }

    /// Verifies the signature with the log's key.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        let expected = key_id(&self.key_name, key);
        if expected != self.key_id {
            return Err(CheckpointError::WrongKey { expected: hex::encode(expected), found: hex::encode(self.key_id) });
        }
        let sig = Signature::from_bytes(&self.signature);
        key.verify(self.checkpoint.body().as_bytes(), &sig).map_err(|_| CheckpointError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_round_trips_and_tampering_fails() {
        let s = Signer::from_seed("liaison/test", &[9; 32]);
        let c = s.sign(Checkpoint { origin: "liaison/test".into(), size: 3, root: [1; 32] });
        let note = c.to_note();
        let parsed = SignedCheckpoint::parse(&note).unwrap();
        assert_eq!(parsed, c);
        parsed.verify(&s.verifying_key()).unwrap();
        let forged = note.replace("\n3\n", "\n4\n");
        let forged = SignedCheckpoint::parse(&forged).unwrap();
        assert_eq!(forged.verify(&s.verifying_key()), Err(CheckpointError::BadSignature));
        let other = Signer::from_seed("liaison/test", &[8; 32]);
        assert!(matches!(parsed.verify(&other.verifying_key()), Err(CheckpointError::WrongKey { .. })));
        assert!(SignedCheckpoint::parse("garbage").is_err());
    }
}
