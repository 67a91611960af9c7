//! JWT bearer tokens from agencies' identity providers: Liaison is an OAuth 2.0 resource
//! server for the OIDC issuers its configuration names.
//!
//! A token is accepted when its header names a key (`kid`) in one configured issuer's JWKS,
//! its signature verifies under that key with an asymmetric algorithm (RS*, PS*, ES256/384,
//! EdDSA; never `none` or HMAC), `iss` is that issuer, `aud` includes the configured audience,
//! and `exp` (required) and `nbf` hold with a minute's leeway. The claims only name who is
//! asking: the principal, with its agency and roles, is looked up server-side by
//! (`iss`, `sub`) in the tokens file, never taken from the token (stack-notes §4.4).
//!
//! Keys come from a JWKS file per issuer that the operator keeps current (e.g. a timer that
//! fetches the issuer's `jwks_uri`); a token naming an unknown key makes the server re-read a
//! file that changed since it was last read, so key rotation needs no restart.

use anyhow::{Context as _, Result, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use service::Principal;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::SystemTime;

/// One trusted issuer, as configured (`[[oidc]]` in the TOML file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` value, e.g. `https://login.agency.example/tenant/v2.0`.
    pub issuer: String,
    /// The `aud` value tokens for Liaison carry.
    pub audience: String,
    /// The issuer's JSON Web Key Set, as fetched from its `jwks_uri`.
    pub jwks_file: PathBuf,
}

/// Which issuer's subject a principal is (an entry of the tokens file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSubject {
    pub issuer: String,
    pub subject: String,
}

struct Issuer {
    config: IssuerConfig,
    keys: RwLock<Keys>,
}

struct Keys {
    set: JwkSet,
    modified: Option<SystemTime>,
}

fn read_keys(c: &IssuerConfig) -> Result<Keys> {
    let path = &c.jwks_file;
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading JWKS {}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text).with_context(|| format!("JWKS {}", path.display()))?;
    for k in &set.keys {
        if k.common.key_id.is_none() {
            bail!("JWKS {}: every key needs a kid", path.display());
        }
        if matches!(k.algorithm, AlgorithmParameters::OctetKey(_)) {
            bail!("JWKS {}: symmetric (oct) keys are not accepted", path.display());
        }
    }
    Ok(Keys { set, modified })
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

/// Why a JWT was refused (logged at debug level; the caller only learns "not valid").
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    UnknownKey,
    Invalid(String),
    UnknownSubject,
}

/// The configured issuers and the principals their subjects map to.
pub struct Oidc {
    issuers: Vec<Issuer>,
    principals: HashMap<OidcSubject, Principal>,
}

impl Oidc {
    pub fn new(configs: &[IssuerConfig], principals: HashMap<OidcSubject, Principal>) -> Result<Oidc> {
        let mut issuers = Vec::new();
        for c in configs {
            if c.issuer.is_empty() || c.audience.is_empty() {
                bail!("an [[oidc]] issuer needs issuer and audience");
            }
            issuers.push(Issuer { config: c.clone(), keys: RwLock::new(read_keys(c)?) });
        }
        Ok(Oidc { issuers, principals })
    }

    /// The issuer holding key `kid`, re-reading JWKS files that changed when none does.
    fn find(&self, kid: &str) -> Option<(&Issuer, jsonwebtoken::jwk::Jwk)> {
        let look = |i: &Issuer| i.keys.read().expect("lock").set.find(kid).cloned();
        if let Some(found) = self.issuers.iter().find_map(|i| look(i).map(|k| (i, k))) {
            return Some(found);
        }
        for i in &self.issuers {
            let modified = std::fs::metadata(&i.config.jwks_file).and_then(|m| m.modified()).ok();
            if modified != i.keys.read().expect("lock").modified {
                match read_keys(&i.config) {
                    Ok(k) => *i.keys.write().expect("lock") = k,
                    Err(e) => tracing::warn!(error = %e, "JWKS not reloaded"),
                }
            }
        }
        self.issuers.iter().find_map(|i| look(i).map(|k| (i, k)))
    }

    /// The principal a JWT names, if the token is valid now.
    pub fn check(&self, token: &str) -> Result<Principal, Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed)?;
        let kid = header.kid.ok_or(Refusal::UnknownKey)?;
        let (issuer, jwk) = self.find(&kid).ok_or(Refusal::UnknownKey)?;
        if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(Refusal::Invalid("HMAC algorithms are not accepted".into()));
        }
        if let Some(alg) = jwk.common.key_algorithm
            && alg.to_string() != format!("{:?}", header.alg)
        {
            return Err(Refusal::Invalid(format!("key {kid} is for {alg}, not {:?}", header.alg)));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[issuer.config.issuer.as_str()]);
        v.set_audience(&[issuer.config.audience.as_str()]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = 60;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &v).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let who = OidcSubject { issuer: issuer.config.issuer.clone(), subject: data.claims.sub };
        self.principals.get(&who).cloned().ok_or(Refusal::UnknownSubject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    /// An Ed25519 key pair from a seed: the PKCS#8 document to sign with and the public JWK.
    fn key(seed: u8, kid: &str) -> (EncodingKey, serde_json::Value) {
        let seed = [seed; 32];
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
        der.extend_from_slice(&seed);
        use base64::Engine as _;
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public.as_bytes());
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"});
        (EncodingKey::from_ed_der(&der), jwk)
    }

    fn setup(dir: &std::path::Path, jwks: Vec<serde_json::Value>) -> Oidc {
        let file = dir.join("idp.jwks.json");
        std::fs::write(&file, json!({ "keys": jwks }).to_string()).unwrap();
        let cfg = IssuerConfig { issuer: "https://idp.test".into(), audience: "liaison".into(), jwks_file: file };
        let p = crate::auth::demo_principals().remove(0);
        let who = OidcSubject { issuer: "https://idp.test".into(), subject: "user-1".into() };
        Oidc::new(&[cfg], HashMap::from([(who, p)])).unwrap()
    }

    fn token(k: &EncodingKey, kid: &str, claims: serde_json::Value) -> String {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, k).unwrap()
    }

    fn claims(exp_from_now: i64) -> serde_json::Value {
        let now = jiff::Timestamp::now().as_second();
        json!({"iss": "https://idp.test", "aud": "liaison", "sub": "user-1", "exp": now + exp_from_now, "nbf": now - 5})
    }

    #[test]
    fn a_valid_token_names_its_registered_principal_and_nothing_else_passes() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, j1) = key(1, "k1");
        let (k2, _) = key(2, "k2");
        let oidc = setup(dir.path(), vec![j1]);
        let p = oidc.check(&token(&k1, "k1", claims(300))).unwrap();
        assert_eq!(p.id, "O-USBP-0001");
        let refused = |t: String| oidc.check(&t).unwrap_err();
        assert!(matches!(refused(token(&k1, "k1", claims(-300))), Refusal::Invalid(_)), "expired");
        let mut c = claims(300);
        c["aud"] = json!("someone-else");
        assert!(matches!(refused(token(&k1, "k1", c)), Refusal::Invalid(_)), "audience");
        let mut c = claims(300);
        c["iss"] = json!("https://evil.test");
        assert!(matches!(refused(token(&k1, "k1", c)), Refusal::Invalid(_)), "issuer");
        let mut c = claims(300);
        c["sub"] = json!("user-2");
        assert_eq!(refused(token(&k1, "k1", c)), Refusal::UnknownSubject);
        assert!(matches!(refused(token(&k2, "k1", claims(300))), Refusal::Invalid(_)), "another key's signature");
        assert_eq!(refused(token(&k2, "k2", claims(300))), Refusal::UnknownKey);
        let mut c = claims(300);
        c.as_object_mut().unwrap().remove("exp");
        assert!(matches!(refused(token(&k1, "k1", c)), Refusal::Invalid(_)), "no exp");
        assert_eq!(refused("not.a.jwt".into()), Refusal::Malformed);
        // alg "none" and HMAC with the public key as secret are refused.
        let none = format!("{}.{}.", b64(r#"{"alg":"none","kid":"k1"}"#), b64(&claims(300).to_string()));
        assert!(oidc.check(&none).is_err());
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let hs = jsonwebtoken::encode(&h, &claims(300), &EncodingKey::from_secret(b"x")).unwrap();
        assert!(matches!(refused(hs), Refusal::Invalid(_)));
    }

    fn b64(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn a_rotated_key_is_picked_up_from_the_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let (_, j1) = key(1, "k1");
        let (k2, j2) = key(2, "k2");
        let oidc = setup(dir.path(), vec![j1.clone()]);
        let t = token(&k2, "k2", claims(300));
        assert_eq!(oidc.check(&t).unwrap_err(), Refusal::UnknownKey);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("idp.jwks.json"), json!({ "keys": [j1, j2] }).to_string()).unwrap();
        assert_eq!(oidc.check(&t).unwrap().id, "O-USBP-0001");
    }
}
