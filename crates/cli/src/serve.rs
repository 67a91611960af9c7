//! `liaison serve`, and the API half of `liaison demo`: demo principals with one token per
//! role, and an example `curl` for each workflow.

use crate::printer::Printer;
use anyhow::{Context as _, Result};
use api::auth::{TokenEntry, Tokens, issue};
use service::{ApiRole, Principal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// `liaison serve`: flags override `LIAISON_*` variables, which override the config file.
pub fn serve(
    db: Option<String>,
    addr: Option<String>,
    tokens: Option<PathBuf>,
    config: Option<PathBuf>,
    signing_key: Option<PathBuf>,
) -> Result<ExitCode> {
    let mut env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("LIAISON_")).collect();
    let config_file = config.or_else(|| std::env::var_os("LIAISON_CONFIG").map(PathBuf::from));
    env.extend(db.map(|v| ("LIAISON_DB".to_string(), v)));
    env.extend(addr.map(|v| ("LIAISON_ADDR".to_string(), v)));
    env.extend(tokens.map(|v| ("LIAISON_TOKENS".to_string(), v.display().to_string())));
    env.extend(signing_key.map(|v| ("LIAISON_SIGNING_KEY".to_string(), v.display().to_string())));
    let config = api::Config::load(config_file.as_deref(), env.into_iter())?;
    api::init_logs(&config.log_format);
    runtime()?.block_on(api::serve(config, Some(Box::new(|st| web::pages(st, None)))))?;
    Ok(ExitCode::SUCCESS)
}

/// `liaison token`: issues a token for one principal into a tokens file.
pub fn token(
    p: &Printer,
    store: &api::Config,
    file: &Path,
    id: String,
    agency: String,
    officer: Option<String>,
    roles: Vec<String>,
) -> Result<ExitCode> {
    let roles = roles
        .iter()
        .map(|r| {
            serde_json::from_value(serde_json::Value::String(r.clone())).with_context(|| {
                let all: Vec<&str> = ApiRole::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role {r:?}; the roles are {}", all.join(", "))
            })
        })
        .collect::<Result<Vec<ApiRole>>>()?;
    let principal = Principal {
        id,
        agency: domain::AgencyId::parse(&agency)?,
        officer: officer.map(|o| domain::OfficerId::parse(&o)).transpose()?,
        roles,
    };
    // The principal names records of the store it will act on: they must exist, and an
    // officer must be of the principal's agency.
    let db = &store.db;
    let mut store = api::open_store(store)?;
    let key = |kind, id: &str| domain::RecordKey::new(kind, id);
    if store.record(&key(domain::RecordKind::Agency, principal.agency.as_str()))?.is_none() {
        anyhow::bail!("no agency {} in {db}", principal.agency);
    }
    if let Some(o) = &principal.officer {
        match store.record(&key(domain::RecordKind::Officer, o.as_str()))? {
            Some(domain::Record::Officer(off)) if off.agency == principal.agency => {}
            Some(domain::Record::Officer(off)) => {
                anyhow::bail!("officer {o} is of {}, not of {}", off.agency, principal.agency)
            }
            _ => anyhow::bail!("no officer {o} in {db}"),
        }
    }
    let mut entries: Vec<TokenEntry> = if file.exists() {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        serde_json::from_str(&text).with_context(|| format!("tokens file {}", file.display()))?
    } else {
        Vec::new()
    };
    let (token, entry) = issue(principal);
    entries.retain(|e| e.principal.id != entry.principal.id);
    entries.push(entry);
    Tokens::new(entries.clone())?;
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&entries)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("replacing {}", file.display()))?;
    p.emit(&token, serde_json::json!({ "token": token }));
    Ok(ExitCode::SUCCESS)
}

/// Each demo principal with its token (shown once, never stored).
type Shown = Vec<(Principal, String)>;

/// Issues a token per demo principal and writes the hashes beside the store (`PATH.tokens.json`).
pub fn demo_tokens(db: &Path) -> Result<(Shown, Vec<TokenEntry>, PathBuf)> {
    let mut shown = Vec::new();
    let mut entries = Vec::new();
    for p in api::auth::demo_principals() {
        let (token, entry) = issue(p.clone());
        shown.push((p, token));
        entries.push(entry);
    }
    let mut path = db.as_os_str().to_owned();
    path.push(".tokens.json");
    let path = PathBuf::from(path);
    std::fs::write(&path, serde_json::to_string_pretty(&entries)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((shown, entries, path))
}

/// The demo server's settings: the `LIAISON_*` variables `serve` reads (docs/api.md), except
/// the store, address, tokens and config file, which the demo chooses itself.
pub fn demo_config(db: String, signing_key: Option<PathBuf>) -> Result<api::Config> {
    let own = ["LIAISON_DB", "LIAISON_ADDR", "LIAISON_TOKENS", "LIAISON_SIGNING_KEY", "LIAISON_CONFIG"];
    let mut env: Vec<(String, String)> =
        std::env::vars().filter(|(k, _)| k.starts_with("LIAISON_") && !own.contains(&k.as_str())).collect();
    env.push(("LIAISON_DB".into(), db));
    env.extend(signing_key.map(|k| ("LIAISON_SIGNING_KEY".to_string(), k.display().to_string())));
    api::Config::load(None, env.into_iter())
}

/// Serves the demo store on `addr` until interrupted, after printing the tokens and examples.
///
/// `files` names where the tokens file goes (`FILES.tokens.json`); `config` says which store.
pub fn serve_demo(p: &Printer, files: &Path, config: api::Config, addr: &str) -> Result<()> {
    let (shown, entries, tokens_path) = demo_tokens(files)?;
    api::init_logs("text");
    let config =
        api::Config { addr: addr.to_string(), tokens: Some(tokens_path.clone()), log_format: "text".into(), ..config };
    runtime()?.block_on(async {
        let demo: Vec<Principal> = shown.iter().map(|(p, _)| p.clone()).collect();
        let pages: api::Pages = Box::new(move |st| web::pages(st, Some(demo)));
        let server = api::start_with(&config, Tokens::new(entries)?, Some(pages)).await?;
        let base = format!("http://{}", server.addr);
        p.emit(&examples(&base, &shown, &tokens_path), serde_json::json!({ "url": base, "tokens": shown.iter().map(|(p, t)| serde_json::json!({"principal": p, "token": t})).collect::<Vec<_>>() }));
        api::shutdown_signal().await;
        server.stop().await
    })
}

fn examples(base: &str, shown: &[(Principal, String)], tokens_path: &Path) -> String {
    let mut t = format!(
        "\nOpen {base}/ in a browser: Liaison's web app. Sign in by picking a demo role on the sign-in page\n(field officer, supervisor, jail staff, 287(g) officer, oversight, registry administrator), or paste\none of the tokens below.\n\nThe coordination API is serving this store at {base} (OpenAPI: {base}/openapi.json).\nStop it with Ctrl-C: queued writes are committed first.\n\nOne bearer token per demo role (hashes in {}):\n",
        tokens_path.display()
    );
    let var = |r: ApiRole| r.as_str().to_uppercase();
    let mut named = std::collections::BTreeSet::new();
    for (p, token) in shown {
        // A second principal of a role is named after its agency's state too (JAIL_STAFF_CA).
        let mut name = var(p.roles[0]);
        if !named.insert(name.clone()) {
            name = format!("{name}_{}", p.agency.as_str().split('-').next().unwrap_or("2"));
        }
        t.push_str(&format!("  export {name}={token}   # {} of {}\n", p.id, p.agency));
    }
    let post = |who: &str, path: &str, key: &str, body: &str| {
        format!(
            "curl -s -X POST {base}{path} -H \"Authorization: Bearer ${who}\" -H 'Content-Type: application/json' -H 'Idempotency-Key: {key}' -d '{body}'\n"
        )
    };
    let get = |who: &str, path: &str| format!("curl -s '{base}{path}' -H \"Authorization: Bearer ${who}\"\n");
    t.push_str("\nWorkflows (run the exports above first):\n\n# register a synthetic person, then record an arrest near the border (the law decides)\n");
    t.push_str(&post("FIELD_OFFICER", "/v1/subjects", "ex-1", r#"{"id":"S-EX-0001","names":["Example Person"]}"#));
    t.push_str(&post("FIELD_OFFICER", "/v1/encounters", "ex-2", r#"{"subject":"S-EX-0001","location":{"lat":32.6,"lon":-117.0},"method":"PB","authority":"warrantless_arrest_1357a2","suspicion_factors":["recent_illegal_crossings_in_area","fleeing_or_hiding"],"arrest":true,"escape_risk":"ran toward the fence line","jurisdictions":["CA"]}"#));
    t.push_str("# offer custody to ICE ERO San Diego; ERO accepts\n");
    t.push_str(&post(
        "FIELD_OFFICER",
        "/v1/handoffs",
        "ex-3",
        r#"{"id":"H-EX-0001","subject":"S-EX-0001","receiving_agency":"ICE-ERO-SND"}"#,
    ));
    t.push_str(&post("SUPERVISOR", "/v1/handoffs/H-EX-0001/answer", "ex-4", r#"{"answer":"accept"}"#));
    t.push_str("# the subject's record and custody chain (each read is logged)\n");
    t.push_str(&get("SUPERVISOR", "/v1/subjects/S-EX-0001"));
    t.push_str(&get("SUPERVISOR", "/v1/subjects/S-EX-0001/custody-chain"));
    t.push_str(
        "# a jail books a person: the answer's identity_checked event is a match (confidence 90) with a demo subject\n",
    );
    t.push_str(&post(
        "JAIL_STAFF",
        "/v1/subjects",
        "ex-5",
        r#"{"id":"S-EX-0002","names":["Demo Person Two"],"date_of_birth":"1985-06-15"}"#,
    ));
    t.push_str(&post(
        "JAIL_STAFF",
        "/v1/bookings",
        "ex-6",
        r#"{"subject":"S-EX-0002","facility":"F-TX-ANG-JAIL","charge":"Tex. Penal Code 49.04 (DWI)"}"#,
    ));
    t.push_str("# (after an ambiguous check a person records who it is before any detainer)\n");
    t.push_str(&post(
        "JAIL_STAFF",
        "/v1/subjects/S-EX-0002/identity-verifications",
        "ex-6v",
        r#"{"same_as":"S-DEMO-0002","basis":"booking fingerprints compared with the A-file"}"#,
    ));
    t.push_str("# a US citizenship claim: the detainer is refused (R6) until an ICE supervisor determines it\n");
    t.push_str(&post(
        "JAIL_STAFF",
        "/v1/subjects/S-EX-0002/citizenship-claims",
        "ex-c1",
        r#"{"country":"US","evidence":["us_passport"]}"#,
    ));
    let detainer = r#"{"subject":"S-EX-0002","recipient_agency":"TX-ANGELINA-COUNTY-SHERIFFS-OFFICE","warrant":{"form":"I-200","signed_by":"O-ERO-SND-0001","signed_at":"2026-11-01T10:00:00Z"},"probable_cause":["pending_removal_proceedings"]}"#;
    t.push_str(&post("SUPERVISOR", "/v1/detainers", "ex-d1", detainer));
    t.push_str(&post(
        "SUPERVISOR",
        "/v1/subjects/S-EX-0002/citizenship-determinations",
        "ex-c2",
        r#"{"us_citizen":false,"basis":"passport belongs to another person; A-file shows birth abroad"}"#,
    ));
    t.push_str(&post("SUPERVISOR", "/v1/detainers", "ex-d2", detainer));
    t.push_str("# the detainer the demo issued to the jail, with its hold deadline\n");
    t.push_str(&get("JAIL_STAFF", "/v1/detainers/D-DEMO-0001"));
    t.push_str("# plan an operation, activate it; encounters naming it are counted in its view\n");
    t.push_str(&post("SUPERVISOR", "/v1/operations", "ex-7", r#"{"id":"OP-EX-0001","name":"Example deployment","city":"San Diego","state":"CA","starts_on":"2026-12-01","participants":[{"agency":"ICE-ERO-SND","headcount":20}]}"#));
    t.push_str(&post("SUPERVISOR", "/v1/operations/OP-EX-0001/status", "ex-8", r#"{"status":"active"}"#));
    t.push_str(&get("SUPERVISOR", "/v1/operations/OP-EX-0001"));
    t.push_str("# the 287(g) registry: an officer and their training (administrators)\n");
    t.push_str(&post("ADMINISTRATOR", "/v1/officers", "ex-9", r#"{"id":"O-EX-0001","agency":"TX-ANGELINA-COUNTY-SHERIFFS-OFFICE","name":"Deputy Example","role":"local_officer"}"#));
    t.push_str(&post(
        "ADMINISTRATOR",
        "/v1/officers/O-EX-0001/training",
        "ex-10",
        r#"{"course":"287(g) WSO online course","completed_at":"2026-10-15T00:00:00Z"}"#,
    ));
    t.push_str("# oversight: who read what, the 287(g) registry, the ledger's checkpoint and proofs\n");
    t.push_str(&get("OVERSIGHT", "/v1/audit/events?type=subject_record_read&limit=5"));
    t.push_str(&get("ADMINISTRATOR", "/v1/agreements?limit=2"));
    t.push_str(&get("OVERSIGHT", "/v1/ledger/checkpoint"));
    t.push_str(&get("OVERSIGHT", "/v1/ledger/proofs/consistency?old=10&new=20"));
    t
}

/// `liaison witness`: serves a witness until Ctrl-C.
pub fn witness(p: &Printer, name: &str, key: &Path, logs: &[String], state: &Path, addr: &str) -> Result<ExitCode> {
    let w = std::sync::Arc::new(api::witness::Witness::open(name, key, logs, state)?);
    p.emit(
        &format!(
            "witness {name} on {addr}\nverifier key: {}\n(give it to the log: LIAISON_WITNESSES=\"http://{addr} {}\")",
            w.verifier_key(),
            w.verifier_key()
        ),
        serde_json::json!({ "name": name, "addr": addr, "verifier_key": w.verifier_key() }),
    );
    api::witness::serve(w, addr)?;
    Ok(ExitCode::SUCCESS)
}
