//! Legal decisions recorded with events: the inputs are read from the state the batch sees,
//! the law decides, a refused action is not appended, and a permitted one carries its
//! decision (inputs, effect, rule ids, citations, rules hash) into the ledger. The law's
//! sources are kept in the store under that hash, so any past decision can be replayed under
//! the rules that made it (`liaison policy explain`).

use crate::ServiceError;
use domain::agency::AgencyKind;
use domain::{Record, RecordKey, RecordKind, Timestamp};
use law::{Action, Context, CustodyFacts, Decision, Effect, Inputs, Law, OwnedSources};
use store::Batch;

/// Reads one record of current state.
pub(crate) fn get(b: &mut dyn Batch, kind: RecordKind, id: &str) -> Result<Option<Record>, ServiceError> {
    Ok(b.record(&RecordKey::new(kind, id))?)
}

/// The inputs of a decision by `officer` on `action`, from the state `b` sees.
pub fn inputs(
    b: &mut dyn Batch,
    officer: &str,
    action: Action,
    context: Context,
    now: Timestamp,
) -> Result<Inputs, ServiceError> {
    let Some(Record::Officer(officer)) = get(b, RecordKind::Officer, officer)? else {
        return Err(ServiceError::not_found("officer", officer));
    };
    let Some(Record::Agency(agency)) = get(b, RecordKind::Agency, officer.agency.as_str())? else {
        return Err(ServiceError::not_found("agency", officer.agency.as_str()));
    };
    let mut agreements = Vec::new();
    for d in &officer.designations {
        if let domain::officer::AuthoritySource::Agreement287g { agreement } = &d.authority
            && let Some(Record::Agreement(a)) = get(b, RecordKind::Agreement, agreement.as_str())?
        {
            agreements.push(a);
        }
    }
    Ok(Inputs { officer, agency, agreements, action, context, now })
}

/// Who holds `subject`, as the law needs to know it.
pub fn custody_facts(b: &mut dyn Batch, subject: &str) -> Result<Option<CustodyFacts>, ServiceError> {
    let Some(Record::Custody(c)) = get(b, RecordKind::Custody, subject)? else {
        return Ok(None);
    };
    let Some(c) = c.custodian else { return Ok(None) };
    let kind = match get(b, RecordKind::Agency, c.agency.as_str())? {
        Some(Record::Agency(a)) => Some(a.kind),
        _ => None,
    };
    Ok(Some(CustodyFacts {
        agency_is_border_patrol: kind == Some(AgencyKind::CbpBorderPatrol),
        agency: c.agency,
        basis: c.basis,
        since: c.since,
    }))
}

/// Decides; refuses a denied action; keeps the law's sources; returns the decision and its
/// recorded form for the event.
pub fn decide_and_keep(
    b: &mut dyn Batch,
    law: &Law,
    mut inputs: Inputs,
) -> Result<(Decision, serde_json::Value), ServiceError> {
    let action = inputs.action.as_str();
    // Where the act happens is established from its place; stated facts that contradict it
    // are refused, and the established ones are what the ledger keeps.
    let at = law::place::check_bounds(inputs.now, &inputs.context)
        .and_then(|()| law::place::establish(&law.jurisdictions, &inputs.context))
        .map_err(|e| ServiceError::invalid(format!("where the {action} happens: {e}")))?;
    inputs.context.jurisdictions = at.jurisdictions;
    if at.place.is_some() {
        inputs.context.time_zone = Some(at.time_zone_name);
    }
    let (d, rec) = law.record(inputs);
    if d.effect == Effect::Deny {
        return Err(ServiceError::denied_by_law(action, d));
    }
    if !b.has_law_version(&rec.rules_hash)? {
        let sources = serde_json::to_string(&OwnedSources::bundled()).expect("json");
        b.put_law_version(&rec.rules_hash, &sources)?;
    }
    Ok((d, serde_json::to_value(rec).expect("json")))
}
