//! The ledger entry: an event wrapped in its envelope, and the entry's canonical bytes.
//!
//! The envelope carries the sequence number (= Merkle leaf index), the hash of the previous
//! entry (the hash chain), both time axes (valid time: when it happened; recorded time: when
//! the ledger learnt it), the actor, the idempotency key of the command that produced it, and
//! the sequence number of the entry it corrects, if any.
//!
//! Canonical bytes are `serde_json` output with the fields in declaration order and no
//! whitespace. Version 1 always begins `{"v":1,"seq":N,"prev":"<64 hex>",`, which lets the
//! verifier check order and chaining without parsing the whole entry.

use crate::Hash;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The envelope format version written by this code.
pub const ENTRY_VERSION: u32 = 1;

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Entry<E> {
    pub v: u32,
    pub seq: u64,
    /// The hash of the entry before (hex).
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub prev: Hash,
    pub recorded_at: Timestamp,
    pub valid_at: Timestamp,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// With an idempotency key: the hash of the request it answered (hex), which a retry under
    /// the same key must match. Kept in the entry so the store's copy of it can be checked.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex_hash_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[0-9a-f]{64}$"))]
    pub request_hash: Option<Hash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<u64>,
    pub event: E,
    /// The legal decision that permitted the event, with its inputs, reasons, citations and
    /// the hash of the rules in force (absent for events no law decides, e.g. reference data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub decision: Option<serde_json::Value>,
}

impl<E: Serialize> Entry<E> {
    /// The canonical bytes that are hashed into the log.
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes = serde_json::to_vec(self).expect("entries serialize");
        debug_assert!(bytes.starts_with(b"{\"v\":1,\"seq\":"));
        bytes
    }
}

/// RFC 6962 leaf hash: `SHA-256(0x00 || bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// The sequence number and previous hash read from the fixed prefix of version-1 bytes.
pub fn read_prefix(bytes: &[u8]) -> Option<(u64, Hash)> {
    let rest = bytes.strip_prefix(b"{\"v\":1,\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 {
        return None;
    }
    let seq: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = rest[digits..].strip_prefix(b",\"prev\":\"")?;
    let hex_part = rest.get(..64)?;
    if rest.get(64) != Some(&b'"') {
        return None;
    }
    let mut prev = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut prev).ok()?;
    Some((seq, prev))
}

mod hex_hash_opt {
    use crate::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Option<Hash>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => super::hex_hash::serialize(h, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Hash>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                let mut h = [0u8; 32];
                hex::decode_to_slice(&s, &mut h)
                    .map_err(|_| serde::de::Error::custom("request_hash must be 64 lowercase hex digits"))?;
                Ok(h)
            })
            .transpose()
    }
}

mod hex_hash {
    use crate::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = String::deserialize(d)?;
        let mut h = [0u8; 32];
        hex::decode_to_slice(&s, &mut h)
            .map_err(|_| serde::de::Error::custom("prev must be 64 lowercase hex digits"))?;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_round_trips() {
        let e = Entry {
            v: 1,
            seq: 42,
            prev: [7; 32],
            recorded_at: Timestamp::UNIX_EPOCH,
            valid_at: Timestamp::UNIX_EPOCH,
            actor: "x".into(),
            idempotency_key: None,
            request_hash: None,
            corrects: None,
            event: serde_json::json!({"type": "t"}),
            decision: None,
        };
        let b = e.to_bytes();
        assert_eq!(read_prefix(&b), Some((42, [7; 32])));
        assert_eq!(serde_json::from_slice::<Entry<serde_json::Value>>(&b).unwrap(), e);
        assert_eq!(read_prefix(b"{\"v\":1,\"seq\":x"), None);
    }
}
