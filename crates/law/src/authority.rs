//! Authority by actor, decided by Cedar (`policies/`).
//!
//! The law crate derives, for the moment of the request, which authorities an officer holds
//! (federal officer classes, 287(g) models under active agreements, current training, Title 32
//! orders) and passes them as entity attributes; the policies are plain permit/forbid rules
//! over those facts. Agreements are data, never one linked policy each (stack-notes §1.4).

use crate::{Action, Reason, ReasonKind, Request};
use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityUid, PolicyId, PolicySet,
    RestrictedExpression, Schema, ValidationMode, Validator,
};
use domain::agreement::{AgreementKind, AgreementStatus};
use domain::officer::AuthoritySource;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// The loaded policies, their schema, and each policy's id, citation and explanation.
pub struct Policies {
    pub set: PolicySet,
    pub schema: Schema,
    pub notes: BTreeMap<PolicyId, (String, String, String)>,
    authorizer: Authorizer,
    /// For each action, only the policies whose scope can match it: Cedar evaluates every
    /// policy it is given, so slicing by action keeps a request to the two or three that apply.
    by_action: HashMap<Action, PolicySet>,
    action_uids: HashMap<Action, EntityUid>,
    officer_uid: EntityUid,
    case_uid: EntityUid,
    /// The four contexts (in jail or not; state forbids 287(g) or not).
    contexts: Vec<Context>,
    /// Entity slices by the facts they encode: the policies read only these facts, so two
    /// requests with the same facts share one slice (its transitive closure computed once).
    slices: Mutex<HashMap<EntitiesKey, Arc<Entities>>>,
}

/// Everything the officer and case entities say.
#[derive(Clone, PartialEq, Eq, Hash)]
struct EntitiesKey {
    agency_kind: &'static str,
    role: String,
    federal: Vec<&'static str>,
    models: Vec<&'static str>,
    training_current: bool,
    title32: bool,
    custody: bool,
}

/// Most entity slices kept (`SLICES_MAX`); the facts have few combinations in practice.
const SLICES_MAX: usize = 4_096;

/// Why the policies could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("Cedar schema: {0}")]
    Schema(String),
    #[error("Cedar policies: {0}")]
    Parse(String),
    #[error("Cedar validation failed:\n{0}")]
    Invalid(String),
    #[error("policy {0} lacks an @id, @citation or @explanation annotation")]
    Unannotated(String),
}

impl Policies {
    /// Parses the schema and policies and validates them strictly.
    pub fn load(schema_text: &str, policy_text: &str) -> Result<Self, PolicyError> {
        let (schema, _) = Schema::from_cedarschema_str(schema_text).map_err(|e| PolicyError::Schema(e.to_string()))?;
        let set = PolicySet::from_str(policy_text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        let v = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        if !v.validation_passed() {
            let errs: Vec<String> = v.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid(errs.join("\n")));
        }
        let mut notes = BTreeMap::new();
        for p in set.policies() {
            let get = |k| p.annotation(k).map(str::to_string);
            match (get("id"), get("citation"), get("explanation")) {
                (Some(id), Some(c), Some(e)) => notes.insert(p.id().clone(), (id, c, e)),
                _ => return Err(PolicyError::Unannotated(p.id().to_string())),
            };
        }
        let mut by_action = HashMap::new();
        for a in Action::ALL {
            let uid = action_uid(a);
            let mut slice = PolicySet::new();
            for p in set.policies() {
                let applies = match p.action_constraint() {
                    ActionConstraint::Any => true,
                    ActionConstraint::Eq(u) => u == uid,
                    ActionConstraint::In(us) => us.contains(&uid),
                };
                if applies {
                    slice.add(p.clone()).expect("ids are unique in the full set");
                }
            }
            by_action.insert(a, slice);
        }
        let contexts = [(false, false), (false, true), (true, false), (true, true)]
            .into_iter()
            .map(|(in_jail, forbids)| {
                Context::from_pairs([
                    ("in_jail".to_string(), RestrictedExpression::new_bool(in_jail)),
                    ("state_forbids_287g".to_string(), RestrictedExpression::new_bool(forbids)),
                ])
                .expect("literal context")
            })
            .collect();
        Ok(Policies {
            set,
            schema,
            notes,
            authorizer: Authorizer::new(),
            by_action,
            action_uids: Action::ALL.into_iter().map(|a| (a, action_uid(a))).collect(),
            officer_uid: uid("Officer", "officer"),
            case_uid: uid("Case", "case"),
            contexts,
            slices: Mutex::new(HashMap::new()),
        })
    }

    fn entities(&self, key: EntitiesKey) -> Arc<Entities> {
        let mut slices = self.slices.lock().expect("no panics while held");
        if let Some(e) = slices.get(&key) {
            return e.clone();
        }
        let s = |x: &str| RestrictedExpression::new_string(x.to_string());
        let set = |xs: &[&'static str]| RestrictedExpression::new_set(xs.iter().map(|x| s(x)));
        let officer = Entity::new(
            self.officer_uid.clone(),
            HashMap::from([
                ("agency_kind".to_string(), s(key.agency_kind)),
                ("role".to_string(), s(&key.role)),
                ("federal_authorities".to_string(), set(&key.federal)),
                ("models_287g".to_string(), set(&key.models)),
                ("training_current".to_string(), RestrictedExpression::new_bool(key.training_current)),
                ("title32".to_string(), RestrictedExpression::new_bool(key.title32)),
            ]),
            HashSet::new(),
        )
        .expect("attributes are literals");
        let case = Entity::new(
            self.case_uid.clone(),
            HashMap::from([("actor_agency_has_custody".to_string(), RestrictedExpression::new_bool(key.custody))]),
            HashSet::new(),
        )
        .expect("attributes are literals");
        let e = Arc::new(Entities::from_entities([officer, case], None).expect("two distinct entities"));
        if slices.len() >= SLICES_MAX {
            slices.clear();
        }
        slices.insert(key, e.clone());
        e
    }

    /// Asks Cedar whether the officer may take the action; returns the determining policies.
    pub fn authorize(&self, req: &Request, state_forbids_287g: bool) -> (bool, Vec<Reason>) {
        let facts = OfficerFacts::derive(req);
        let key = EntitiesKey {
            agency_kind: kind_name(req.agency.kind),
            role: format!("{:?}", req.officer.role),
            federal: facts.federal.keys().copied().collect(),
            models: facts.models.keys().copied().collect(),
            training_current: facts.training_current,
            title32: facts.title32,
            custody: req.context.actor_agency_has_custody(),
        };
        let entities = self.entities(key);
        let context = self.contexts[usize::from(req.context.in_jail) * 2 + usize::from(state_forbids_287g)].clone();
        let request = cedar_policy::Request::new(
            self.officer_uid.clone(),
            self.action_uids[&req.action].clone(),
            self.case_uid.clone(),
            context,
            None,
        )
        .expect("request without schema check");
        let response = self.authorizer.is_authorized(&request, &self.by_action[&req.action], &entities);
        let allowed = response.decision() == CedarDecision::Allow;
        let kind = if allowed { ReasonKind::Permit } else { ReasonKind::Deny };
        let mut reasons: Vec<Reason> = response
            .diagnostics()
            .reason()
            .filter_map(|id| self.notes.get(id))
            .map(|(id, c, e)| Reason::new(kind, id, c, e))
            .collect();
        // Cedar reports its determining policies as a set: order them so that the same
        // question always gets the same answer, byte for byte.
        reasons.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
        if !allowed && reasons.is_empty() && !facts.models.is_empty() && facts.training_current {
            // A 287(g) officer whose model does not delegate the function: the model's own
            // agreement is what decides (reference.md §2.2; the MOA section numbers were not
            // retrieved, §2.3).
            let moa = |m: &str| match m {
                "JEM" => {
                    "Jail Enforcement Model MOA: delegated functions inside the jail only (section UNVERIFIED, reference.md §2.3)"
                }
                "WSO" => {
                    "Warrant Service Officer MOA: serving and executing I-200/I-205 warrants in the jail only (section UNVERIFIED, reference.md §2.3)"
                }
                _ => "Task Force Model MOA: field functions (2025 function list UNVERIFIED, reference.md §2.2)",
            };
            let models: Vec<&str> = facts.models.keys().copied().collect();
            let cite = models.iter().map(|m| moa(m)).collect::<Vec<_>>().join("; ");
            reasons.push(Reason::new(
                ReasonKind::Deny,
                "R1-287g-model-does-not-delegate",
                &format!("8 U.S.C. 1357(g)(5); {cite}"),
                &format!(
                    "The officer's 287(g) model ({}) does not delegate {}: each agreement sets out the specific powers delegated.",
                    models.join(", "),
                    req.action.as_str()
                ),
            ));
        }
        if !allowed && reasons.is_empty() {
            reasons.push(Reason::new(
                ReasonKind::Deny,
                "R1-no-authority",
                "8 U.S.C. 1357(a), (g); 8 CFR 287.5, 287.7(b), 241.2",
                &format!("No authority permits {} to {}: {}", req.officer.id, req.action.as_str(), facts.describe()),
            ));
        }
        (allowed, reasons)
    }
}

fn uid(kind: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(
        cedar_policy::EntityTypeName::from_str(&format!("Liaison::{kind}")).expect("valid type"),
        cedar_policy::EntityId::new(id),
    )
}

fn action_uid(a: Action) -> EntityUid {
    EntityUid::from_type_name_and_id(
        cedar_policy::EntityTypeName::from_str("Liaison::Action").expect("valid type"),
        cedar_policy::EntityId::new(a.as_str()),
    )
}

fn kind_name(k: domain::agency::AgencyKind) -> &'static str {
    use domain::agency::AgencyKind as K;
    match k {
        K::IceEro => "ice_ero",
        K::IceHsi => "ice_hsi",
        K::CbpBorderPatrol => "cbp_border_patrol",
        K::CbpOfo => "cbp_ofo",
        K::StateLocalLe => "state_local_le",
        K::NationalGuard => "national_guard",
        K::Oversight => "oversight",
    }
}

/// What an officer holds at the moment of the request.
pub struct OfficerFacts {
    pub federal: BTreeMap<&'static str, ()>,
    pub models: BTreeMap<&'static str, ()>,
    pub training_current: bool,
    pub title32: bool,
    notes: Vec<String>,
}

impl OfficerFacts {
    pub fn derive(req: &Request) -> Self {
        let now = req.now;
        let mut f = OfficerFacts {
            federal: BTreeMap::new(),
            models: BTreeMap::new(),
            training_current: false,
            title32: false,
            notes: vec![],
        };
        for d in &req.officer.designations {
            if d.granted_at > now || d.expires_at.is_some_and(|e| e <= now) {
                f.notes.push(format!("designation {:?} not in force", d.authority));
                continue;
            }
            match &d.authority {
                AuthoritySource::Cfr287_5 => _ = f.federal.insert("cfr_287_5", ()),
                AuthoritySource::Cfr287_7b => _ = f.federal.insert("cfr_287_7b", ()),
                AuthoritySource::Cfr241_2 => _ = f.federal.insert("cfr_241_2", ()),
                AuthoritySource::Title32 => f.title32 = true,
                AuthoritySource::Agreement287g { agreement } => {
                    let found = req.agreements.iter().find(|a| &a.id == agreement);
                    match found {
                        Some(a) if a.status != AgreementStatus::Active => {
                            f.notes.push(format!("agreement {agreement} is {:?}", a.status))
                        }
                        Some(a) if !a.parties.contains(&req.agency.id) => {
                            f.notes.push(format!("agreement {agreement} is not the officer's agency's"))
                        }
                        Some(a) => {
                            if let AgreementKind::Moa287g { model } = a.kind {
                                f.models.insert(model.code(), ());
                            }
                        }
                        None => f.notes.push(format!("agreement {agreement} is unknown")),
                    }
                }
            }
        }
        f.training_current =
            req.officer.training.iter().any(|t| t.completed_at <= now && t.valid_until.is_none_or(|v| now < v));
        if !f.models.is_empty() && !f.training_current {
            f.notes.push("287(g) training is not current".into());
        }
        f
    }

    fn describe(&self) -> String {
        if self.notes.is_empty() { "no designation covers this action".into() } else { self.notes.join("; ") }
    }
}
