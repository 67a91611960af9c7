//! A form for every workflow. Each form is a list of fields named by their place in the API's
//! request body (`location.lat`); what a select offers comes from the API's OpenAPI document,
//! so the form and the API cannot disagree. A submitted form becomes the same request the API
//! takes, parsed by the same types: an error names the field it belongs to and is shown
//! beside it. "Check with the law" decides the request as the writer would and records
//! nothing; "Record" sends it through the writer with an idempotency key made from the form's
//! nonce, so submitting one form twice records it once.

use crate::session::{Viewer, check_csrf};
use crate::{PageError, PageResult, W, shell};
use axum::http::HeaderMap;
use maud::{Markup, html};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use service::ApiRole::{self, *};
use service::{Command, ComplaintCommand, RegistryCommand, ServiceError};
use std::collections::HashMap;

/// The enumerations of the API's request types, by schema name.
pub struct Schema {
    enums: HashMap<String, Vec<String>>,
}

impl Schema {
    pub fn from_openapi() -> Self {
        let doc: Value = serde_json::from_str(&api::openapi()).expect("the OpenAPI document is JSON");
        let mut enums = HashMap::new();
        if let Some(schemas) = doc.pointer("/components/schemas").and_then(|s| s.as_object()) {
            for (name, s) in schemas {
                if let Some(values) = s.get("enum").and_then(|e| e.as_array()) {
                    enums.insert(name.clone(), values.iter().filter_map(|v| v.as_str().map(String::from)).collect());
                }
            }
        }
        Schema { enums }
    }

    fn options(&self, name: &str) -> &[String] {
        self.enums.get(name).map_or(&[], |v| v.as_slice())
    }
}

/// What a field holds and how it is entered.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    /// Free text over several lines.
    LongText,
    /// One value per line (a JSON array of strings).
    Lines,
    /// Whole numbers separated by commas or spaces (a JSON array of numbers).
    Numbers,
    Date,
    DateTime,
    Int,
    Float,
    Check,
    YesNo,
    /// One of an OpenAPI enumeration, by schema name.
    Enum(&'static str),
    /// One of these (value, label) pairs.
    Choice(&'static [(&'static str, &'static str)]),
    /// Any of an OpenAPI enumeration (a JSON array).
    Multi(&'static str),
    /// Operation participants: one per line, `AGENCY HEADCOUNT [DETAILED-TO]`.
    Participants,
}

struct Field {
    /// Where the value goes in the request body (`location.lat`), or, for the record a request
    /// is about, the path parameter's name (`subject`, `handoff`, `detainer`, `officer`).
    path: &'static str,
    label: &'static str,
    kind: Kind,
    required: bool,
    help: &'static str,
}

const fn f(path: &'static str, label: &'static str, kind: Kind, required: bool, help: &'static str) -> Field {
    Field { path, label, kind, required, help }
}

/// A workflow's form.
struct Workflow {
    slug: &'static str,
    /// Who may send its command (the same as `Command::roles`, which a test checks): the
    /// pages offer the form only to them.
    roles: &'static [ApiRole],
    title: &'static str,
    intro: &'static str,
    /// The field naming the record the request is about (not part of the body), if any.
    about: Option<&'static str>,
    fields: &'static [Field],
    /// Builds the command from the record it is about, the body, and the form's nonce (for
    /// new records' ids).
    build: fn(Option<&str>, Value, &Ctx) -> Result<Command, FieldError>,
}

/// What a command's builder needs besides the form.
struct Ctx {
    principal: String,
    nonce: String,
}

impl Ctx {
    fn new_id(&self, prefix: &str) -> String {
        service::new_id(prefix, &self.principal, Some(&self.nonce))
    }
}

/// An error that belongs to one field (or to the form, when `field` is empty).
#[derive(Debug)]
struct FieldError {
    field: String,
    message: String,
}

fn body<T: DeserializeOwned>(v: Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let message = e.into_inner().to_string();
        FieldError { field, message }
    })
}

fn about<T: TryFrom<String, Error = domain::IdError>>(field: &str, id: Option<&str>) -> Result<T, FieldError> {
    let id = id.ok_or_else(|| FieldError { field: field.into(), message: "required".into() })?;
    T::try_from(id.to_string()).map_err(|e| FieldError { field: field.into(), message: e.to_string() })
}

fn with_id(mut v: Value, prefix: &str, ctx: &Ctx) -> Value {
    if let Some(m) = v.as_object_mut()
        && !m.contains_key("id")
    {
        m.insert("id".into(), Value::String(ctx.new_id(prefix)));
    }
    v
}

const HANDOFF_ANSWERS: &[(&str, &str)] = &[("accept", "Accept custody"), ("reject", "Reject the offer")];
const DETAINER_STEPS: &[(&str, &str)] = &[
    ("answer", "The jail answers the detainer"),
    ("serve", "Served on the subject"),
    ("release_eligible", "Would be released now: start the hold clock"),
    ("assume_custody", "The issuing agency takes custody"),
    ("lift", "The issuing agency lifts the detainer"),
];
const OUTCOMES: &[(&str, &str)] = &[
    ("sustained", "Sustained: the act was wrongful"),
    ("not_sustained", "Not sustained: the facts do not show it either way"),
    ("unfounded", "Unfounded: it did not happen as alleged, or was lawful"),
    ("referred", "Referred to another body"),
];
const AGREEMENT_KINDS: &[(&str, &str)] = &[
    ("moa287g", "287(g) memorandum of agreement"),
    ("task_force_mou", "Task-force MOU"),
    ("detention_contract", "Detention contract"),
];

static WORKFLOWS: &[Workflow] = &[
    Workflow {
        slug: "subject",
        roles: &[FieldOfficer, Supervisor, JailStaff, Officer287g],
        title: "Register a person",
        intro: "A synthetic person's record. The id is chosen for you when left empty.",
        about: None,
        fields: &[
            f("id", "Record id", Kind::Text, false, "e.g. S-EX-0001; empty: chosen for you"),
            f("names", "Names", Kind::Lines, true, "one per line"),
            f("date_of_birth", "Date of birth", Kind::Date, false, ""),
            f("a_number", "A-number", Kind::Text, false, "A followed by 8 or 9 digits"),
        ],
        build: |_, v, ctx| Ok(Command::RegisterSubject(body(with_id(v, "S", ctx))?)),
    },
    Workflow {
        slug: "encounter",
        roles: &[FieldOfficer, Supervisor, Officer287g],
        title: "Record an encounter or arrest",
        intro: "Where it happened decides the state, county, time zone and border zone: the law establishes them from the location.",
        about: None,
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("location.lat", "Latitude", Kind::Float, true, "WGS84 degrees"),
            f("location.lon", "Longitude", Kind::Float, true, "WGS84 degrees"),
            f("method", "Method of location (I-213)", Kind::Enum("MethodCode"), true, ""),
            f("authority", "Authority claimed", Kind::Enum("AuthorityClaimed"), true, ""),
            f("suspicion_factors", "Articulable facts", Kind::Multi("SuspicionFactor"), false, ""),
            f("arrest", "An arrest", Kind::Check, false, ""),
            f(
                "escape_risk",
                "Why the person was likely to escape before a warrant (warrantless arrests)",
                Kind::Text,
                false,
                "8 U.S.C. 1357(a)(2)",
            ),
            f("operation", "Operation", Kind::Text, false, "its id, if part of one"),
            f("at_fixed_checkpoint", "At a fixed checkpoint", Kind::Check, false, ""),
            f("in_jail", "In a jail", Kind::Check, false, ""),
        ],
        build: |_, v, ctx| Ok(Command::RecordEncounter(body(with_id(v, "E", ctx))?)),
    },
    Workflow {
        slug: "booking",
        roles: &[JailStaff],
        title: "Book into a jail",
        intro: "A booking on a criminal charge; the person's identity and status are checked at booking.",
        about: None,
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("facility", "Facility", Kind::Text, true, "e.g. F-TX-ANG-JAIL"),
            f("charge", "Charge", Kind::Text, true, ""),
        ],
        build: |_, v, _| Ok(Command::BookIntoJail(body(v)?)),
    },
    Workflow {
        slug: "identity-verification",
        roles: &[Supervisor, JailStaff, Officer287g],
        title: "Verify identity",
        intro: "Say whether the booked person is one of the check's candidates, and on what that rests.",
        about: Some("subject"),
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("same_as", "Same person as (candidate record)", Kind::Text, false, "empty: none of the candidates"),
            f("basis", "Basis", Kind::Text, true, "documents seen, records compared"),
        ],
        build: |id, v, _| Ok(Command::VerifyIdentity { subject: about("subject", id)?, verification: body(v)? }),
    },
    Workflow {
        slug: "handoff",
        roles: &[FieldOfficer, Supervisor, JailStaff, Officer287g],
        title: "Offer custody",
        intro: "The custodian offers the person to another agency; custody moves only when that agency accepts.",
        about: None,
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("receiving_agency", "Receiving agency", Kind::Text, true, "e.g. ICE-ERO-SND"),
            f("receiving_facility", "Receiving facility", Kind::Text, false, ""),
            f("expires_in_seconds", "Offer open for (seconds)", Kind::Int, false, "empty: the server's window"),
            f("note", "Note", Kind::Text, false, ""),
        ],
        build: |_, v, ctx| Ok(Command::OfferHandoff(body(with_id(v, "H", ctx))?)),
    },
    Workflow {
        slug: "handoff-answer",
        roles: &[FieldOfficer, Supervisor, JailStaff, Officer287g],
        title: "Answer a handoff offer",
        intro: "Accepting moves custody to your agency in the same commit that closes the offer.",
        about: Some("handoff"),
        fields: &[
            f("handoff", "Handoff", Kind::Text, true, ""),
            f("answer", "Answer", Kind::Choice(HANDOFF_ANSWERS), true, ""),
            f("facility", "Facility (when accepting)", Kind::Text, false, ""),
            f("reason", "Reason (when rejecting)", Kind::Text, false, ""),
        ],
        build: |id, v, _| Ok(Command::AnswerHandoff { handoff: about("handoff", id)?, answer: body(v)? }),
    },
    Workflow {
        slug: "detainer",
        roles: &[FieldOfficer, Supervisor],
        title: "Issue a detainer",
        intro: "A Form I-247A to the agency that holds the person. A pending citizenship claim blocks it until a supervisor decides.",
        about: None,
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("recipient_agency", "To (the holding agency)", Kind::Text, true, ""),
            f("form", "Form", Kind::Enum("DetainerForm"), true, ""),
            f("probable_cause", "Probable cause (I-247A box 1)", Kind::Multi("ProbableCauseBasis"), true, ""),
            f("warrant.form", "Accompanying warrant", Kind::Enum("WarrantForm"), false, ""),
            f("warrant.signed_by", "Warrant signed by (officer)", Kind::Text, false, ""),
            f("warrant.signed_at", "Warrant signed at (UTC)", Kind::DateTime, false, ""),
            f("notification_only", "Ask only to be told of the release", Kind::Check, false, ""),
        ],
        build: |_, v, ctx| Ok(Command::IssueDetainer(body(with_id(v, "D", ctx))?)),
    },
    Workflow {
        slug: "detainer-step",
        roles: &[FieldOfficer, Supervisor, JailStaff, Officer287g],
        title: "A detainer's next step",
        intro: "The jail answers as its state's law allows and requires; the law refuses an answer it forbids.",
        about: Some("detainer"),
        fields: &[
            f("detainer", "Detainer", Kind::Text, true, ""),
            f("step", "Step", Kind::Choice(DETAINER_STEPS), true, ""),
            f("answer", "The jail's answer", Kind::Enum("DetainerAnswer"), false, "for the answer step"),
            f("facility", "Facility", Kind::Text, false, "when taking custody"),
            f("code", "Lift code (NIEM)", Kind::Enum("LiftCode"), false, "when lifting"),
        ],
        build: |id, v, _| Ok(Command::UpdateDetainer { detainer: about("detainer", id)?, update: body(v)? }),
    },
    Workflow {
        slug: "citizenship-claim",
        roles: &[FieldOfficer, Supervisor, JailStaff, Officer287g],
        title: "Record a citizenship claim",
        intro: "Until a supervisor decides a US citizenship claim, detainers and holds on the person are refused.",
        about: Some("subject"),
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("country", "Country claimed", Kind::Text, true, "ISO code, e.g. US"),
            f("evidence", "Evidence offered", Kind::Multi("CitizenshipEvidence"), true, ""),
        ],
        build: |id, v, _| Ok(Command::ClaimCitizenship { subject: about("subject", id)?, claim: body(v)? }),
    },
    Workflow {
        slug: "citizenship-determination",
        roles: &[Supervisor],
        title: "Decide a citizenship claim",
        intro: "A supervisor of ICE or CBP decides, and says on what.",
        about: Some("subject"),
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("us_citizen", "A US citizen?", Kind::YesNo, true, ""),
            f("basis", "Basis", Kind::Text, true, "documents examined, records checked"),
        ],
        build: |id, v, _| Ok(Command::DetermineCitizenship { subject: about("subject", id)?, determination: body(v)? }),
    },
    Workflow {
        slug: "release",
        roles: &[FieldOfficer, Supervisor, JailStaff, Officer287g],
        title: "Release",
        intro: "The custodian releases the person; the law says what an open detainer is owed.",
        about: Some("subject"),
        fields: &[
            f("subject", "Subject record", Kind::Text, true, ""),
            f("code", "Release reason (NIEM; ICE and CBP)", Kind::Enum("ReleaseReasonCode"), false, ""),
            f("reason", "Reason", Kind::Text, true, ""),
        ],
        build: |id, v, _| Ok(Command::Release { subject: about("subject", id)?, release: body(v)? }),
    },
    Workflow {
        slug: "operation",
        roles: &[Supervisor],
        title: "Plan an operation",
        intro: "Who deploys where, with how many people, and for whom they work.",
        about: None,
        fields: &[
            f("name", "Name", Kind::Text, true, ""),
            f("city", "City", Kind::Text, true, ""),
            f("state", "State", Kind::Text, true, "e.g. IL"),
            f("starts_on", "Starts", Kind::Date, true, ""),
            f("ends_on", "Ends", Kind::Date, false, ""),
            f("participants", "Participants", Kind::Participants, true, "one per line: AGENCY HEADCOUNT [DETAILED-TO]"),
        ],
        build: |_, v, ctx| Ok(Command::PlanOperation(body(with_id(v, "OP", ctx))?)),
    },
    Workflow {
        slug: "agreement",
        roles: &[Administrator],
        title: "Record an agreement",
        intro: "A 287(g) memorandum, a task-force MOU or a detention contract. Entering a 287(g) agreement is decided by the state's law.",
        about: None,
        fields: &[
            f("id", "Agreement id", Kind::Text, true, ""),
            f("terms.kind", "Kind", Kind::Choice(AGREEMENT_KINDS), true, ""),
            f("terms.model", "287(g) model", Kind::Enum("Model287g"), false, "for a 287(g) agreement"),
            f("terms.beds", "Beds", Kind::Int, false, "for a detention contract"),
            f("parties", "Parties", Kind::Lines, true, "agency ids, one per line"),
            f("signed_on", "Signed on", Kind::Date, true, ""),
            f("source_url", "Published at", Kind::Text, false, ""),
        ],
        build: |_, v, _| Ok(Command::Registry(RegistryCommand::RecordAgreement(body(v)?))),
    },
    Workflow {
        slug: "officer",
        roles: &[Administrator],
        title: "Register an officer",
        intro: "An agent, deputy or Guard member of an agency (the administrator's when none is named).",
        about: None,
        fields: &[
            f("id", "Officer id", Kind::Text, true, "e.g. O-TX-ANG-0002"),
            f("name", "Name", Kind::Text, true, ""),
            f("role", "Role", Kind::Enum("Role"), true, ""),
            f("agency", "Agency", Kind::Text, false, ""),
        ],
        build: |_, v, _| Ok(Command::Registry(RegistryCommand::RegisterOfficer(body(v)?))),
    },
    Workflow {
        slug: "complaint",
        roles: &[FieldOfficer, Supervisor, JailStaff, Officer287g, Oversight, Administrator],
        title: "File a complaint",
        intro: "A complaint names the events of the log it concerns (their numbers, shown on every timeline and in the audit). It is known to oversight and to your agency, and every step of its handling is recorded in the ledger.",
        about: None,
        fields: &[
            f("events", "Events complained of", Kind::Numbers, true, "event numbers, separated by commas"),
            f("text", "The complaint", Kind::LongText, true, "what happened, and what was wrong with it"),
        ],
        build: |_, v, ctx| Ok(Command::Complaint(ComplaintCommand::File(body(with_id(v, "C", ctx))?))),
    },
    Workflow {
        slug: "complaint-assignment",
        roles: &[Oversight],
        title: "Assign a complaint",
        intro: "Oversight gives the complaint to an investigator.",
        about: Some("complaint"),
        fields: &[
            f("complaint", "Complaint", Kind::Text, true, ""),
            f("assignee", "Investigator", Kind::Text, true, "name or id"),
        ],
        build: |id, v, _| {
            Ok(Command::Complaint(ComplaintCommand::Assign {
                complaint: about("complaint", id)?,
                assignment: body(v)?,
            }))
        },
    },
    Workflow {
        slug: "complaint-resolution",
        roles: &[Oversight],
        title: "Resolve a complaint",
        intro: "The outcome and its reasons, recorded in the ledger.",
        about: Some("complaint"),
        fields: &[
            f("complaint", "Complaint", Kind::Text, true, ""),
            f("outcome", "Outcome", Kind::Choice(OUTCOMES), true, ""),
            f("resolution", "Reasons", Kind::LongText, true, ""),
        ],
        build: |id, v, _| {
            Ok(Command::Complaint(ComplaintCommand::Resolve {
                complaint: about("complaint", id)?,
                resolution: body(v)?,
            }))
        },
    },
];

fn workflow(slug: &str) -> Option<&'static Workflow> {
    WORKFLOWS.iter().find(|w| w.slug == slug)
}

/// Whether `p` may send the form `slug` (the pages offer only those).
pub fn offered(slug: &str, p: &service::Principal) -> bool {
    workflow(slug).is_some_and(|w| p.has_any(w.roles))
}

/// The form's values as a request body (and the record it is about), or the first field that
/// cannot be read.
fn to_body(w: &Workflow, values: &[(String, String)]) -> Result<(Option<String>, Value), FieldError> {
    let mut root = Map::new();
    let mut about_id = None;
    for field in w.fields {
        let all: Vec<&str> = values.iter().filter(|(k, _)| k == field.path).map(|(_, v)| v.trim()).collect();
        let one = all.first().copied().unwrap_or("");
        if Some(field.path) == w.about {
            about_id = (!one.is_empty()).then(|| one.to_string());
            continue;
        }
        let err = |m: String| FieldError { field: field.path.into(), message: m };
        let value = match field.kind {
            _ if one.is_empty() && !matches!(field.kind, Kind::Multi(_) | Kind::Check) => None,
            Kind::Text | Kind::LongText | Kind::Date | Kind::Enum(_) | Kind::Choice(_) => {
                Some(Value::String(one.into()))
            }
            Kind::Numbers => Some(Value::Array(
                one.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|x| !x.is_empty())
                    .map(|x| {
                        x.parse::<u64>().map(Value::from).map_err(|_| err(format!("{x:?} is not an event number")))
                    })
                    .collect::<Result<_, _>>()?,
            )),
            Kind::DateTime => {
                let dt: jiff::civil::DateTime =
                    one.parse().map_err(|_| err(format!("{one:?} is not a date and time")))?;
                let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| err(e.to_string()))?.timestamp();
                Some(Value::String(ts.to_string()))
            }
            Kind::Lines => Some(Value::Array(
                one.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| Value::String(l.into())).collect(),
            )),
            Kind::Int => {
                Some(Value::from(one.parse::<i64>().map_err(|_| err(format!("{one:?} is not a whole number")))?))
            }
            Kind::Float => {
                let x: f64 = one.parse().map_err(|_| err(format!("{one:?} is not a number")))?;
                Some(
                    serde_json::Number::from_f64(x)
                        .map(Value::Number)
                        .ok_or_else(|| err("not a finite number".into()))?,
                )
            }
            Kind::Check => Some(Value::Bool(all.iter().any(|v| *v == "true" || *v == "on"))),
            Kind::YesNo => Some(Value::Bool(match one {
                "yes" => true,
                "no" => false,
                _ => return Err(err("answer yes or no".into())),
            })),
            Kind::Multi(_) => {
                let items: Vec<Value> =
                    all.iter().filter(|v| !v.is_empty()).map(|v| Value::String((*v).into())).collect();
                (!items.is_empty() || field.required).then_some(Value::Array(items))
            }
            Kind::Participants => Some(Value::Array(participants(one).map_err(err)?)),
        };
        if let Some(value) = value {
            set(&mut root, field.path, value);
        }
    }
    Ok((about_id, Value::Object(root)))
}

fn participants(text: &str) -> Result<Vec<Value>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let (agency, count, detailed) = match parts.as_slice() {
                [a, n] => (a, n, None),
                [a, n, d] => (a, n, Some(d)),
                _ => return Err(format!("{l:?}: write AGENCY HEADCOUNT [DETAILED-TO]")),
            };
            let headcount: u32 =
                count.parse().map_err(|_| format!("{l:?}: the headcount {count:?} is not a number"))?;
            let mut m = Map::new();
            m.insert("agency".into(), Value::String((*agency).into()));
            m.insert("headcount".into(), Value::from(headcount));
            if let Some(d) = detailed {
                m.insert("detailed_to".into(), Value::String((*d).into()));
            }
            Ok(Value::Object(m))
        })
        .collect()
}

fn set(root: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            root.insert(path.into(), value);
        }
        Some((head, rest)) => {
            let child = root.entry(head).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = child {
                set(m, rest, value);
            }
        }
    }
}

/// What a form page shows besides its fields.
#[derive(Default)]
struct Outcome {
    field_error: Option<FieldError>,
    error: Option<ServiceError>,
    decision: Option<law::Decision>,
    checked: bool,
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

fn render(
    web: &crate::Web,
    v: &Viewer,
    w: &Workflow,
    values: &[(String, String)],
    out: &Outcome,
    nonce: &str,
) -> Markup {
    let value = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    let has = |k: &str, x: &str| values.iter().any(|(n, v)| n == k && v == x);
    let err_for = |k: &str| {
        out.field_error
            .as_ref()
            .filter(|e| e.field == k || e.field.starts_with(&format!("{k}[")))
            .map(|e| e.message.clone())
    };
    let form_error = out
        .field_error
        .as_ref()
        .filter(|e| !w.fields.iter().any(|f| e.field == f.path || e.field.starts_with(&format!("{}[", f.path))));
    shell::page(
        Some(v),
        w.title,
        "/forms",
        html! {
            p.intro { (w.intro) }
            @if let Some(e) = form_error { div.notice.error role="alert" { p { "The form is not valid: " @if !e.field.is_empty() { code { (e.field) } ": " } (e.message) } } }
            @if out.field_error.is_some() && form_error.is_none() { div.notice.error role="alert" { p { "Some fields need attention: see the messages beside them." } } }
            @if let Some(e) = &out.error { div.notice.error role="alert" { p { strong { (if out.checked { "The law or the record would refuse this: " } else { "Not recorded: " }) } (e.message) } } }
            @if out.checked && out.error.is_none() { div.notice.ok role="status" { p { "Checked: this would be recorded. Nothing has been recorded yet." } } }
            @if let Some(d) = &out.decision { (shell::decision(d, shell::zone_of(d))) }
            form.record method="post" action={"/forms/" (w.slug)} novalidate {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="nonce" value=(nonce);
                @for field in w.fields {
                    @let id = format!("f-{}", field.path.replace('.', "-"));
                    @let err = err_for(field.path);
                    @let described = if err.is_some() { format!("{id}-err {id}-help") } else { format!("{id}-help") };
                    div.field.invalid[err.is_some()] {
                        @match field.kind {
                            Kind::Check => {
                                label.check { input id=(id) type="checkbox" name=(field.path) value="true" checked[has(field.path, "true")] aria-describedby=(described); " " (field.label) }
                            }
                            Kind::Multi(schema) => {
                                fieldset aria-describedby=(described) {
                                    legend { (field.label) @if field.required { span.req { " (required)" } } }
                                    @for o in web.schema.options(schema) {
                                        label.check { input type="checkbox" name=(field.path) value=(o) checked[has(field.path, o)]; " " (o.replace('_', " ")) }
                                    }
                                }
                            }
                            _ => {
                                label for=(id) { (field.label) @if field.required { span.req { " (required)" } } }
                                (input(web, field, &id, value(field.path), &described, err.is_some()))
                            }
                        }
                        @if let Some(e) = &err { p.err id={(id) "-err"} { (e) } }
                        p.help id={(id) "-help"} { (field.help) }
                    }
                }
                div.buttons {
                    button.secondary type="submit" name="action" value="check" { "Check with the law" }
                    button type="submit" name="action" value="record" { "Record" }
                }
            }
        },
    )
}

fn input(web: &crate::Web, field: &Field, id: &str, value: &str, described: &str, invalid: bool) -> Markup {
    let inv = invalid.then_some("true");
    match field.kind {
        Kind::Enum(schema) => html! {
            select id=(id) name=(field.path) aria-describedby=(described) aria-invalid=[inv] {
                option value="" { "—" }
                @for o in web.schema.options(schema) { option value=(o) selected[value == o] { (o.replace('_', " ")) } }
            }
        },
        Kind::Choice(options) => html! {
            select id=(id) name=(field.path) aria-describedby=(described) aria-invalid=[inv] {
                option value="" { "—" }
                @for (o, l) in options { option value=(o) selected[value == *o] { (l) } }
            }
        },
        Kind::YesNo => html! {
            select id=(id) name=(field.path) aria-describedby=(described) aria-invalid=[inv] {
                option value="" { "—" }
                option value="yes" selected[value == "yes"] { "Yes" }
                option value="no" selected[value == "no"] { "No" }
            }
        },
        Kind::Lines | Kind::Participants | Kind::LongText => html! {
            textarea id=(id) name=(field.path) rows="3" aria-describedby=(described) aria-invalid=[inv] { (value) }
        },
        _ => {
            let t = match field.kind {
                Kind::Date => "date",
                Kind::DateTime => "datetime-local",
                Kind::Int | Kind::Float => "text",
                _ => "text",
            };
            let mode = matches!(field.kind, Kind::Int | Kind::Float).then_some("decimal");
            html! { input id=(id) type=(t) name=(field.path) value=(value) inputmode=[mode] maxlength="2000" aria-describedby=(described) aria-invalid=[inv]; }
        }
    }
}

/// The list of workflows.
pub async fn hub(v: Viewer) -> Markup {
    shell::page(
        Some(&v),
        "Record",
        "/forms",
        html! {
            p.intro { "Every record goes through the law first: check a request with the law, then record it. These are the records your role may make." }
            ul.cards {
                @for w in WORKFLOWS.iter().filter(|w| v.principal.has_any(w.roles)) {
                    li { a href={"/forms/" (w.slug)} { strong { (w.title) } } p.muted { (w.intro) } }
                }
            }
        },
    )
}

pub async fn form(
    axum::extract::State(web): W,
    v: Viewer,
    axum::extract::Path(slug): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>,
) -> PageResult {
    let w = workflow(&slug).ok_or_else(|| PageError::new(404, "Not found", "no such form").for_viewer(&v))?;
    Ok(render(&web, &v, w, &q, &Outcome::default(), &nonce()))
}

pub async fn submit(
    axum::extract::State(web): W,
    v: Viewer,
    headers: HeaderMap,
    axum::extract::Path(slug): axum::extract::Path<String>,
    form: Result<axum::Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    let w = workflow(&slug).ok_or_else(|| PageError::new(404, "Not found", "no such form").for_viewer(&v))?;
    let values =
        form.map(|axum::Form(f)| f).map_err(|e| PageError::new(400, "Not valid", e.to_string()).for_viewer(&v))?;
    let get = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    check_csrf(&v, &headers, get("csrf").as_deref())?;
    let nonce =
        get("nonce").filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())).unwrap_or_else(nonce);
    let record = get("action").as_deref() == Some("record");
    let ctx = Ctx { principal: v.principal.id.clone(), nonce: nonce.clone() };
    let mut out = Outcome { checked: !record, ..Default::default() };
    let cmd = match to_body(w, &values).and_then(|(id, body)| (w.build)(id.as_deref(), body, &ctx)) {
        Ok(cmd) => cmd,
        Err(e) => {
            out.field_error = Some(e);
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&web, &v, w, &values, &out, &nonce))
                .into_response());
        }
    };
    if !record {
        match web.st.preview(v.principal.clone(), cmd).await {
            Ok(d) => out.decision = d,
            Err(mut e) => {
                out.decision = e.decision.take().map(|d| *d);
                out.error = Some(e);
            }
        }
        return Ok(render(&web, &v, w, &values, &out, &nonce).into_response());
    }
    let key = format!("{}:web:{nonce}", v.principal.id);
    let hash = store::leaf_hash(format!("web {slug}\n{values:?}").as_bytes());
    match web.st.writer.run(v.principal.clone(), cmd, Some((key, hash))).await {
        Ok(c) => Ok(done(&v, w, c).into_response()),
        Err(mut e) => {
            out.decision = e.decision.take().map(|d| *d);
            let status =
                axum::http::StatusCode::from_u16(e.status).unwrap_or(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            out.error = Some(e);
            Ok((status, render(&web, &v, w, &values, &out, &nonce)).into_response())
        }
    }
}

/// What was recorded: the events, where they are in the log, and the law's decision.
fn done(v: &Viewer, w: &Workflow, c: api::writer::Committed) -> Markup {
    let subjects: Vec<String> = c.done.events.iter().filter_map(event_subject).collect();
    shell::page(
        Some(v),
        w.title,
        "/forms",
        html! {
            div.notice.ok role="status" {
                p { strong { "Recorded" } @if c.done.pending.replayed { " (this form was already recorded; nothing new was added)" } ": events "
                    (c.done.pending.first_seq) "–" (c.done.pending.last_seq) ", covered by the signed checkpoint of " (c.checkpoint.checkpoint.size) " events." }
            }
            @if let Some(d) = &c.done.decision { (shell::decision(d, shell::zone_of(d))) }
            @if !c.done.events.is_empty() {
                ul { @for e in &c.done.events { li { (e.type_name().replace('_', " ")) } } }
            }
            p {
                @for s in &subjects { a.button href={"/subjects/" (s)} { "Open " (s) } " " }
                a.button.secondary href="/" { "Operations board" }
            }
        },
    )
}

fn event_subject(e: &domain::Event) -> Option<String> {
    let v = serde_json::to_value(e).ok()?;
    let obj = v.as_object()?.values().find_map(|x| x.as_object())?;
    obj.get("subject")
        .and_then(|s| s.as_str())
        .map(String::from)
        .or_else(|| obj.get("id").and_then(|s| s.as_str()).filter(|s| s.starts_with("S-")).map(String::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form filled in as its users would, per workflow.
    fn sample(slug: &str) -> Vec<(&'static str, &'static str)> {
        match slug {
            "subject" => vec![("names", "A")],
            "encounter" => vec![
                ("subject", "S-1"),
                ("location.lat", "32.6"),
                ("location.lon", "-117"),
                ("method", "PB"),
                ("authority", "interrogation_1357a1"),
            ],
            "booking" => vec![("subject", "S-1"), ("facility", "F-1"), ("charge", "c")],
            "identity-verification" => vec![("subject", "S-1"), ("basis", "b")],
            "handoff" => vec![("subject", "S-1"), ("receiving_agency", "ICE-ERO-SND")],
            "handoff-answer" => vec![("handoff", "H-1"), ("answer", "accept")],
            "detainer" => vec![
                ("subject", "S-1"),
                ("recipient_agency", "A-1"),
                ("form", "I-247A"),
                ("probable_cause", "final_order_of_removal"),
            ],
            "detainer-step" => vec![("detainer", "D-1"), ("step", "serve")],
            "citizenship-claim" => vec![("subject", "S-1"), ("country", "US"), ("evidence", "us_passport")],
            "citizenship-determination" => vec![("subject", "S-1"), ("us_citizen", "yes"), ("basis", "b")],
            "release" => vec![("subject", "S-1"), ("reason", "r")],
            "operation" => vec![
                ("name", "n"),
                ("city", "c"),
                ("state", "TX"),
                ("starts_on", "2026-01-01"),
                ("participants", "ICE-ERO-SND 3"),
            ],
            "agreement" => vec![
                ("id", "A-1"),
                ("terms.kind", "task_force_mou"),
                ("parties", "ICE-ERO"),
                ("signed_on", "2026-01-01"),
            ],
            "officer" => vec![("id", "O-1"), ("name", "n"), ("role", "jail_staff")],
            "complaint" => vec![("events", "1, 2"), ("text", "t")],
            "complaint-assignment" => vec![("complaint", "C-1"), ("assignee", "a")],
            "complaint-resolution" => vec![("complaint", "C-1"), ("outcome", "unfounded"), ("resolution", "r")],
            other => panic!("no sample for {other}"),
        }
    }

    #[test]
    fn every_form_builds_its_command_and_is_offered_to_exactly_the_roles_that_may_send_it() {
        let ctx = Ctx { principal: "p".into(), nonce: "0".repeat(32) };
        for w in WORKFLOWS {
            let values: Vec<(String, String)> = sample(w.slug).into_iter().map(|(k, v)| (k.into(), v.into())).collect();
            let cmd = to_body(w, &values)
                .and_then(|(id, body)| (w.build)(id.as_deref(), body, &ctx))
                .unwrap_or_else(|e| panic!("{}: {e:?}", w.slug));
            let mut want = cmd.roles().to_vec();
            // A detainer's steps belong to either side: the form is offered to both.
            if w.slug == "detainer-step" {
                let answer: Vec<(String, String)> =
                    vec![("detainer".into(), "D-1".into()), ("step".into(), "answer".into())];
                let (id, body) = to_body(w, &answer).unwrap();
                want.extend((w.build)(id.as_deref(), body, &ctx).unwrap().roles());
            }
            want.sort();
            want.dedup();
            let mut have = w.roles.to_vec();
            have.sort();
            assert_eq!(have, want, "{}", w.slug);
        }
    }
}
