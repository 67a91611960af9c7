//! The demo scenario's legal questions (decided and recorded through `service`, the one
//! decide-then-record path), and `liaison policy explain`, which replays a recorded decision
//! under the rules that made it.

use crate::printer::Printer;
use anyhow::{Context as _, Result, anyhow, bail};
use domain::{Record, RecordKey, RecordKind, Timestamp};
use law::{Action, Context, Law, OwnedSources, RecordedDecision};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use store::{Batch, SqliteStore, Store};

/// `liaison policy explain --event N`: replays the decision recorded with event N under the
/// rules in force then, and under today's rules.
pub fn explain(p: &Printer, db: &Path, seq: u64) -> Result<ExitCode> {
    let mut store = SqliteStore::open(db).with_context(|| format!("opening store {}", db.display()))?;
    let entry = store.entries(seq, 1)?.into_iter().find(|e| e.seq == seq).ok_or_else(|| anyhow!("no event {seq}"))?;
    let entry = entry.decode()?;
    let Some(value) = entry.decision else {
        bail!("event {seq} ({}) carries no legal decision", entry.event.type_name());
    };
    let recorded: RecordedDecision = serde_json::from_value(value).context("reading the recorded decision")?;
    let sources = store
        .law_version(&recorded.rules_hash)?
        .ok_or_else(|| anyhow!("the rules {} are not kept in this store", recorded.rules_hash))?;
    let sources: OwnedSources = serde_json::from_str(&sources).context("reading the kept rules")?;
    let then = Law::load(&sources.as_sources()).context("loading the rules in force then")?;
    let replay = then.decide_inputs(&recorded.inputs);
    let replay_ids: Vec<String> = replay.reasons.iter().map(|r| r.rule_id.clone()).collect();
    let same =
        replay.effect == recorded.effect && replay_ids == recorded.rule_ids && replay.rules_hash == recorded.rules_hash;
    let today = Law::bundled().decide_inputs(&recorded.inputs);
    let mut text = format!(
        "event {seq}: {} by {} at {}\nrecorded: {} under rules {}\nreplayed under those rules: {} ({})\n",
        recorded.inputs.action.as_str(),
        recorded.inputs.officer.id,
        recorded.inputs.now,
        Printer::name(&recorded.effect),
        &recorded.rules_hash[..12],
        Printer::name(&replay.effect),
        if same { "identical" } else { "DIFFERS" },
    );
    for r in &replay.reasons {
        text.push_str(&format!(
            "  {} {} -- {}\n    {}\n",
            Printer::name(&r.kind),
            r.rule_id,
            r.citation,
            r.explanation
        ));
    }
    if today.rules_hash != recorded.rules_hash {
        text.push_str(&format!(
            "under today's rules ({}): {}\n",
            &today.rules_hash[..12],
            Printer::name(&today.effect)
        ));
    }
    p.emit(&text, json!({ "event": seq, "recorded": recorded, "replayed": replay, "identical": same, "today": today }));
    Ok(if same { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

/// The legal question each demo command asks: who acts, which action, on which facts.
pub fn demo_decision(
    b: &mut dyn Batch,
    law: &Law,
    key: &str,
    first: &domain::Event,
    at: Timestamp,
) -> Result<Option<serde_json::Value>> {
    use domain::Event as E;
    let juris = |s: &str| vec![s.to_string()];
    let q: Option<(&str, Action, Context)> = match (key, first) {
        ("demo-1-apprehension", E::EncounterRecorded { encounter: e }) => Some((
            "O-USBP-0001",
            Action::FieldArrest,
            Context {
                jurisdictions: juris("CA"),
                location: Some(e.location),
                suspicion_factors: e.suspicion_factors.clone(),
                escape_risk: e.escape_risk.clone(),
                ..Context::default()
            },
        )),
        ("demo-1-accept" | "demo-3-accept", E::HandoffAccepted { official, .. }) => {
            let subject = if key == "demo-1-accept" { "S-DEMO-0001" } else { "S-DEMO-0003" };
            let ctx =
                Context { custody: service::custody_facts(b, subject)?, custody_offered: true, ..Context::default() };
            Some((official.as_str(), Action::TakeCustody, ctx))
        }
        ("demo-2-detainer", E::DetainerIssued { detainer: d }) => Some((
            d.issuing_officer.as_str(),
            Action::IssueDetainer,
            Context {
                jurisdictions: juris("TX"),
                custody: service::custody_facts(b, d.subject.as_str())?,
                detainer: Some(d.into()),
                ..Context::default()
            },
        )),
        ("demo-2-release-eligible", E::SubjectReleaseEligible { detainer }) => {
            let mut facts = match b.record(&RecordKey::new(RecordKind::Detainer, detainer.as_str()))? {
                Some(Record::Detainer(d)) => Some(law::DetainerFacts::from(&d)),
                _ => None,
            };
            if let Some(f) = facts.as_mut() {
                f.release_eligible_at = Some(at);
            }
            let ctx = Context {
                jurisdictions: juris("TX"),
                in_jail: true,
                actor_has_custody: Some(true),
                custody: service::custody_facts(b, "S-DEMO-0002")?,
                detainer: facts,
                ..Context::default()
            };
            Some(("O-TX-ANG-0001", Action::HoldOnDetainer, ctx))
        }
        ("demo-2-assume", E::DetainerCustodyAssumed { official, .. }) => {
            let ctx = Context {
                custody: service::custody_facts(b, "S-DEMO-0002")?,
                custody_offered: true,
                ..Context::default()
            };
            Some((official.as_str(), Action::TakeCustody, ctx))
        }
        ("demo-3-287g-processing", E::EncounterRecorded { encounter: e }) => Some((
            e.officer.as_str(),
            Action::ProcessForRemoval,
            Context { jurisdictions: juris("FL"), in_jail: true, ..Context::default() },
        )),
        _ => None,
    };
    let Some((officer, action, ctx)) = q else { return Ok(None) };
    let officer = officer.to_string();
    let inputs = service::inputs(b, &officer, action, ctx, at)?;
    let (_, recorded) = service::decide_and_keep(b, law, inputs)?;
    Ok(Some(recorded))
}
