//! The 287(g) registry as administrators keep it: officers, their designations and training,
//! and agreements. These records are what the law engine reads to decide whether an officer
//! may act (8 U.S.C. 1357(g); reference.md §2), so they change only by recorded events.
//!
//! Who may write: an administrator of ICE or CBP (which run the 287(g) program) for any
//! agency; an administrator of another agency only for its own officers and for agreements
//! its agency is a party to.

use crate::commands::{Planned, agency};
use crate::decide::get;
use crate::{Principal, ServiceError, text};
use domain::agreement::{Agreement, AgreementKind, AgreementStatus};
use domain::officer::{AuthoritySource, Designation, Officer, Role, TrainingRecord};
use domain::*;
use serde::{Deserialize, Serialize};
use store::Batch;
use utoipa::ToSchema;

/// Register an officer (agent, deputy, Guard member) of an agency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfficer {
    pub id: OfficerId,
    /// The officer's agency (default: the administrator's).
    #[serde(default)]
    pub agency: Option<AgencyId>,
    #[schema(schema_with = text::short)]
    pub name: String,
    pub role: Role,
}

/// Grant an officer authority (8 CFR 287.5, 287.7(b), 241.2, a 287(g) agreement, Title 32).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDesignation {
    pub authority: AuthoritySource,
    /// The scope as written in the grant (e.g. "jail: Collier County Jail").
    #[schema(schema_with = text::medium)]
    pub scope: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

/// Record a completed training course.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTraining {
    #[schema(schema_with = text::short)]
    pub course: String,
    #[schema(value_type = String, format = DateTime)]
    pub completed_at: Timestamp,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<Timestamp>,
}

/// Record an agreement (287(g) memorandum, task-force MOU, detention contract).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgreement {
    pub id: AgreementId,
    /// `{"kind": "moa287g", "model": "jail_enforcement_model"}`, `{"kind": "task_force_mou"}` or
    /// `{"kind": "detention_contract", "beds": 200}`.
    pub terms: AgreementKind,
    pub parties: Vec<AgencyId>,
    #[schema(value_type = String, format = Date)]
    pub signed_on: jiff::civil::Date,
    #[serde(default)]
    #[schema(schema_with = text::long)]
    pub source_url: Option<String>,
}

/// End an agreement: `superseded`, `removed` or `terminated` (ended agreements stay ended).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementStatusChange {
    pub status: AgreementStatus,
}

/// Registry writes.
#[derive(Debug, Clone)]
pub enum RegistryCommand {
    RegisterOfficer(NewOfficer),
    GrantDesignation { officer: OfficerId, designation: NewDesignation },
    RecordTraining { officer: OfficerId, training: NewTraining },
    RecordAgreement(NewAgreement),
    ChangeAgreementStatus { agreement: AgreementId, change: AgreementStatusChange },
}

impl RegistryCommand {
    /// Its free-text fields with their limits (see `commands::text`).
    pub(crate) fn texts(&self) -> Vec<(&'static str, &str, usize)> {
        match self {
            RegistryCommand::RegisterOfficer(n) => vec![("name", &n.name, text::SHORT)],
            RegistryCommand::GrantDesignation { designation: d, .. } => vec![("scope", &d.scope, text::MEDIUM)],
            RegistryCommand::RecordTraining { training: t, .. } => vec![("course", &t.course, text::SHORT)],
            RegistryCommand::RecordAgreement(n) => {
                n.source_url.iter().map(|u| ("source_url", u.as_str(), text::LONG)).collect()
            }
            RegistryCommand::ChangeAgreementStatus { .. } => vec![],
        }
    }
}

/// Whether `p` administers the registry for all agencies (ICE and CBP run the 287(g) program).
fn program_administrator(b: &mut dyn Batch, p: &Principal) -> Result<bool, ServiceError> {
    Ok(agency(b, &p.agency)?.kind.is_federal_immigration())
}

/// The officer, if `p` may change their record; "not found" otherwise.
fn officer_for(b: &mut dyn Batch, p: &Principal, id: &OfficerId) -> Result<Officer, ServiceError> {
    match get(b, RecordKind::Officer, id.as_str())? {
        Some(Record::Officer(o)) if o.agency == p.agency || program_administrator(b, p)? => Ok(o),
        // The registry is public: the caller knows the officer exists, so the answer says why.
        Some(Record::Officer(o)) => Err(ServiceError::forbidden(format!(
            "officer {id} is of {}; only that agency or ICE and CBP administrators change the record",
            o.agency
        ))),
        _ => Err(ServiceError::not_found("officer", id.as_str())),
    }
}

fn agreement_for(b: &mut dyn Batch, p: &Principal, id: &AgreementId) -> Result<Agreement, ServiceError> {
    match get(b, RecordKind::Agreement, id.as_str())? {
        Some(Record::Agreement(a)) if a.parties.contains(&p.agency) || program_administrator(b, p)? => Ok(a),
        Some(_) => Err(ServiceError::forbidden(format!(
            "only a party to agreement {id} or an ICE or CBP administrator changes it"
        ))),
        _ => Err(ServiceError::not_found("agreement", id.as_str())),
    }
}

fn not_blank(what: &str, s: &str) -> Result<(), ServiceError> {
    if s.trim().is_empty() {
        return Err(ServiceError::invalid(format!("{what} must not be empty")));
    }
    Ok(())
}

/// The law's decision on a 287(g) agreement's local party entering into it or ending it
/// (8 U.S.C. 1357(g); state bars and duties in `reference/jurisdictions.toml`). The question is
/// the agency's, asked of its signatory; where it happens is the agency's state. Whether the
/// agency "operates a county jail" (Texas Gov. Code ch. 753, Fla. Stat. 908.11) is read from
/// its being a sheriff's office, since the registry does not record who runs which jail.
fn agreement_decision(
    b: &mut dyn Batch,
    law: &law::Law,
    p: &Principal,
    a: &Agreement,
    action: law::Action,
    now: Timestamp,
) -> Result<Option<(law::Decision, serde_json::Value)>, ServiceError> {
    if !matches!(a.kind, AgreementKind::Moa287g { .. }) {
        return Ok(None);
    }
    let mut decision = None;
    for party in &a.parties {
        let local = agency(b, party)?;
        if local.kind.is_federal_immigration() {
            continue;
        }
        let signatory = Officer {
            id: OfficerId::parse(&format!("SIGNATORY-{}", local.id).chars().take(128).collect::<String>())
                .map_err(|e| ServiceError::invalid(e.to_string()))?,
            agency: local.id.clone(),
            name: format!("signatory of {} (recorded by {})", local.name, p.id),
            role: Role::Supervisor,
            designations: vec![],
            training: vec![],
        };
        let mut context =
            law::Context { jurisdictions: local.state.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        let name = local.name.to_ascii_lowercase();
        if local.kind == domain::agency::AgencyKind::StateLocalLe && name.contains("sheriff") {
            context.conditions.insert("operates_county_jail".into());
        }
        let inputs = law::Inputs { officer: signatory, agency: local, agreements: vec![], action, context, now };
        decision = Some(crate::decide::decide_and_keep(b, law, inputs)?);
    }
    Ok(decision)
}

pub(crate) fn plan(
    b: &mut dyn Batch,
    law: &law::Law,
    p: &Principal,
    cmd: &RegistryCommand,
    now: Timestamp,
) -> Result<Planned, ServiceError> {
    let mut decision = None;
    let event = match cmd {
        RegistryCommand::RegisterOfficer(n) => {
            not_blank("the officer's name", &n.name)?;
            let home = n.agency.clone().unwrap_or_else(|| p.agency.clone());
            if home != p.agency && !program_administrator(b, p)? {
                return Err(ServiceError::forbidden(format!(
                    "an administrator of {} registers only its own officers",
                    p.agency
                )));
            }
            agency(b, &home)?;
            let officer = Officer {
                id: n.id.clone(),
                agency: home,
                name: n.name.clone(),
                role: n.role,
                designations: vec![],
                training: vec![],
            };
            Event::OfficerRegistered { officer }
        }
        RegistryCommand::GrantDesignation { officer, designation: d } => {
            officer_for(b, p, officer)?;
            not_blank("the designation's scope", &d.scope)?;
            if d.expires_at.is_some_and(|t| t <= now) {
                return Err(ServiceError::invalid("expires_at must be in the future"));
            }
            if let AuthoritySource::Agreement287g { agreement } = &d.authority
                && get(b, RecordKind::Agreement, agreement.as_str())?.is_none()
            {
                return Err(ServiceError::not_found("agreement", agreement.as_str()));
            }
            let designation = Designation {
                authority: d.authority.clone(),
                scope: d.scope.clone(),
                granted_at: now,
                expires_at: d.expires_at,
            };
            Event::DesignationGranted { officer: officer.clone(), designation }
        }
        RegistryCommand::RecordTraining { officer, training: t } => {
            officer_for(b, p, officer)?;
            not_blank("the course", &t.course)?;
            if t.completed_at > now {
                return Err(ServiceError::invalid("completed_at must not be in the future"));
            }
            if t.valid_until.is_some_and(|v| v <= t.completed_at) {
                return Err(ServiceError::invalid("valid_until must be after completed_at"));
            }
            let training =
                TrainingRecord { course: t.course.clone(), completed_at: t.completed_at, valid_until: t.valid_until };
            Event::TrainingRecorded { officer: officer.clone(), training }
        }
        RegistryCommand::RecordAgreement(n) => {
            if n.parties.len() < 2 {
                return Err(ServiceError::invalid("an agreement needs at least two parties"));
            }
            if !n.parties.contains(&p.agency) && !program_administrator(b, p)? {
                return Err(ServiceError::forbidden(format!(
                    "an administrator of {} records only agreements it is a party to",
                    p.agency
                )));
            }
            let mut federal = false;
            for party in &n.parties {
                federal |= agency(b, party)?.kind.is_federal_immigration();
            }
            if let AgreementKind::Moa287g { .. } = n.terms
                && !federal
            {
                return Err(ServiceError::invalid(
                    "a 287(g) agreement needs ICE (or another DHS immigration component) as a party",
                ));
            }
            let agreement = Agreement {
                id: n.id.clone(),
                kind: n.terms.clone(),
                parties: n.parties.clone(),
                signed_on: n.signed_on,
                status: AgreementStatus::Active,
                source_url: n.source_url.clone(),
            };
            decision = agreement_decision(b, law, p, &agreement, law::Action::Enter287gAgreement, now)?;
            Event::AgreementRecorded { agreement }
        }
        RegistryCommand::ChangeAgreementStatus { agreement, change } => {
            let a = agreement_for(b, p, agreement)?;
            if change.status == AgreementStatus::Terminated {
                decision = agreement_decision(b, law, p, &a, law::Action::Terminate287gAgreement, now)?;
            }
            Event::AgreementStatusChanged { agreement: agreement.clone(), status: change.status }
        }
    };
    Ok((vec![event], decision))
}
