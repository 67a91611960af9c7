//! The rules beyond authority: detainer issuance, the citizenship safeguard, the hold clock,
//! the state-law gate, the border zone, reasonable suspicion and custody. Each reason cites
//! its source; reference.md's closing list (R1-R14) names the rules.

use crate::hold::hold_clock;
use crate::jurisdiction::{RuleEffect, holds};
use crate::place::Where;
use crate::{Action, Decision, Effect, Law, Obligation, Reason, ReasonKind, Request};
use domain::custody::CustodyBasis;
use domain::detainer::{DetainerForm, ProbableCauseBasis};
use domain::encounter::SuspicionFactor;
use jiff::SignedDuration;
use jiff::tz::TimeZone;
use std::collections::BTreeSet;

/// What the rules found: reasons that decide or warn, and duties the actor must discharge.
pub(crate) struct Findings {
    reasons: Vec<Reason>,
    obligations: Vec<Obligation>,
}

/// A duty: something the actor must do for the action to be lawful (a notice, a copy, a
/// report, a release by a deadline). Duties are not warnings and do not flag a decision.
fn duty(r: &mut Findings, id: &str, cite: &str, what: &str, due: Option<jiff::Timestamp>) {
    r.obligations.push(Obligation { rule_id: id.into(), citation: cite.into(), duty: what.into(), due });
}

fn deny(r: &mut Findings, id: &str, cite: &str, why: &str) {
    r.reasons.push(Reason::new(ReasonKind::Deny, id, cite, why));
}
fn flag(r: &mut Findings, id: &str, cite: &str, why: &str) {
    r.reasons.push(Reason::new(ReasonKind::Flag, id, cite, why));
}
fn note(r: &mut Findings, id: &str, cite: &str, why: &str) {
    r.reasons.push(Reason::new(ReasonKind::Note, id, cite, why));
}

/// Decides a request: authority first, then the rules of the action.
pub fn decide(law: &Law, req: &Request) -> Decision {
    let at = match crate::place::check_bounds(req.now, req.context)
        .and_then(|()| crate::place::establish(&law.jurisdictions, req.context))
    {
        Ok(at) => at,
        Err(e) => return unreadable_facts(law, e),
    };
    let juris = &at.jurisdictions;
    let forbids = law.jurisdictions.forbids_287g(&juris.iter().map(String::as_str).collect::<Vec<_>>());
    let (allowed, reasons) = law.policies.authorize(req, forbids);
    let mut f = Findings { reasons, obligations: Vec::new() };
    let mut hold = None;
    let mut zone = None;
    match req.action {
        Action::IssueDetainer => detainer_issuance(req, &mut f),
        Action::HoldOnDetainer => {
            citizenship_safeguard(req, &mut f);
            hold = hold_rules(req, &at, &mut f);
            let limit_passed = hold.as_ref().is_some_and(|c| req.now > c.deadline);
            state_gate(law, req, &at, "hold_on_detainer", limit_passed, &mut f);
        }
        Action::NotifyRelease | Action::TransferToIce => {
            citizenship_safeguard(req, &mut f);
            state_gate(law, req, &at, req.action.as_str(), false, &mut f);
        }
        Action::DisclosePersonalInfo | Action::GrantInterviewAccess => {
            state_gate(law, req, &at, req.action.as_str(), false, &mut f)
        }
        Action::FieldArrest => {
            field_arrest(req, &mut f);
            state_gate(law, req, &at, "field_arrest", false, &mut f);
        }
        Action::EnterDwelling => enter_dwelling(req, &mut f),
        Action::SearchVehicle => {
            zone = border_zone(law, req, &at, &mut f);
            vehicle_search(req, &mut f);
        }
        // A state's gate on interviews applies to the act, whoever performs it: an ICE officer
        // interviewing a person in a California, Illinois, Oregon or Washington jail needs what
        // the jail would need to admit the interview.
        Action::InterviewInJail if req.context.in_jail => {
            state_gate(law, req, &at, "grant_interview_access", false, &mut f)
        }
        Action::AnswerDetainer => hold = answer_detainer(law, req, &at, &mut f),
        Action::Enter287gAgreement | Action::Terminate287gAgreement => {
            state_gate(law, req, &at, req.action.as_str(), false, &mut f)
        }
        Action::FieldStop | Action::Interrogate => reasonable_suspicion(req, &mut f),
        Action::BoardVehicle => {
            zone = border_zone(law, req, &at, &mut f);
            reasonable_suspicion(req, &mut f);
        }
        Action::AccessPrivateLand => zone = border_zone(law, req, &at, &mut f),
        Action::TakeCustody => {
            one_custodian(req, &mut f);
            hold = custody_at_release(req, &at, &mut f);
        }
        Action::ServeWarrantInJail => hold = warrant_at_release(req, &at, &mut f),
        Action::ReleaseFromCustody => release_rules(law, req, &at, &mut f),
        _ => {}
    }
    custody_duration(req, &mut f);
    let Findings { reasons, obligations } = f;
    let effect = if !allowed || reasons.iter().any(|r| r.kind == ReasonKind::Deny) {
        Effect::Deny
    } else if reasons.iter().any(|r| r.kind == ReasonKind::Flag) {
        Effect::AllowWithFlags
    } else {
        Effect::Allow
    };
    Decision { effect, reasons, obligations, hold, zone, place: at.place, rules_hash: law.rules_hash.clone() }
}

/// Facts the law cannot read as given are refused, never guessed at.
fn unreadable_facts(law: &Law, e: crate::place::FactError) -> Decision {
    Decision {
        effect: Effect::Deny,
        reasons: vec![Reason::new(
            ReasonKind::Deny,
            "R0-facts-from-the-place",
            "Liaison: where an action happens is established from its location (reference/geo; issue 11)",
            &e.to_string(),
        )],
        obligations: Vec::new(),
        hold: None,
        zone: None,
        place: None,
        rules_hash: law.rules_hash.clone(),
    }
}

/// R3: a detainer needs a signed I-200 or I-205, probable cause of removability on I-247A's
/// bases, and a subject in the recipient's custody on a criminal arrest (ICE Policy 10074.2;
/// 8 CFR 287.7; Gonzalez v. ICE, 416 F. Supp. 3d 995 (C.D. Cal. 2019)).
fn detainer_issuance(req: &Request, r: &mut Findings) {
    citizenship_safeguard(req, r);
    if req.context.identity_unverified {
        deny(
            r,
            "R6-identity-verification",
            "Gonzalez v. ICE, 416 F. Supp. 3d 995 (C.D. Cal. 2019) (database checks alone are not probable cause); Liaison safeguard (issue 4)",
            "The subject's identity check was ambiguous: a person must verify who the subject is, and record it, before any detainer.",
        );
    }
    let Some(d) = &req.context.detainer else {
        deny(r, "R3-detainer-missing", "8 CFR 287.7(a)", "No detainer was given to decide on.");
        return;
    };
    let cutoff: jiff::Timestamp = "2017-04-02T00:00:00Z".parse().expect("valid");
    if d.form != DetainerForm::I247a && req.now >= cutoff {
        deny(
            r,
            "R3-form-I-247A",
            "ICE Policy 10074.2 (2017)",
            "Forms I-247, I-247D, I-247N and I-247X may not be issued after April 2, 2017; use Form I-247A.",
        );
    }
    if d.warrant.is_none() {
        deny(
            r,
            "R3-warrant-required",
            "ICE Policy 10074.2 (2017)",
            "A detainer must be accompanied by a signed Form I-200 or I-205.",
        );
    }
    let never = [ProbableCauseBasis::InvestigationInitiated, ProbableCauseBasis::ForeignBirthNoDatabaseMatch];
    let valid: BTreeSet<_> = d.probable_cause.iter().filter(|b| !never.contains(b)).collect();
    if d.probable_cause.iter().any(|b| never.contains(b)) {
        let cite = "ICE Policy 10074.2 (2017); Gonzalez v. ICE, 416 F. Supp. 3d 995 (C.D. Cal. 2019); Miranda-Olivares v. Clackamas County (D. Or. 2014)";
        let why = "The initiation of an investigation, or foreign birth with no database match, is never probable cause; it is disregarded.";
        if valid.is_empty() {
            deny(r, "R3-never-probable-cause", cite, why)
        } else {
            note(r, "R3-never-probable-cause", cite, why)
        }
    }
    if valid.is_empty() && !d.transferred_for_proceeding {
        deny(
            r,
            "R3-probable-cause-required",
            "Form I-247A (02/17), box 1; ICE Policy 10074.2 (2017); Morales v. Chadbourne, 793 F.3d 208, 217 (1st Cir. 2015)",
            "At least one I-247A probable-cause basis of removability is required.",
        );
    }
    if valid.len() == 1 && valid.contains(&ProbableCauseBasis::BiometricAndRecordsCheck) {
        flag(
            r,
            "R3-database-only-basis",
            "Gonzalez v. ICE, 416 F. Supp. 3d 995 (C.D. Cal. 2019)",
            "Probable cause rests on database checks alone, which Gonzalez held insufficient.",
        );
    }
    let in_custody = req
        .context
        .custody
        .as_ref()
        .is_some_and(|c| c.agency == d.recipient_agency && c.basis == CustodyBasis::CriminalArrest);
    if !in_custody {
        deny(
            r,
            "R3-criminal-custody",
            "ICE Policy 10074.2 (2017); 8 CFR 287.7(a)",
            "A detainer may be issued only for a subject in the recipient agency's custody on a criminal arrest.",
        );
    }
}

/// R6: a claim or evidence of US citizenship suspends detainer and hold actions until a
/// supervisor records a determination.
fn citizenship_safeguard(req: &Request, r: &mut Findings) {
    if req.context.us_citizen_determined {
        deny(
            r,
            "R6-us-citizen",
            "8 U.S.C. 1357(a)(1)-(2) and 8 CFR 287.7(a) reach aliens only; ICE Directive 16001.2 (2015); Morales v. Chadbourne, 793 F.3d 208 (1st Cir. 2015)",
            "A supervisor determined that the subject is a US citizen: no detainer, hold or transfer for immigration purposes. Lift any open detainer (NIEM lift code U).",
        );
    }
    if req.context.citizenship_claim_pending {
        deny(
            r,
            "R6-citizenship-safeguard",
            "ICE Directive 16001.2, Investigating the Potential U.S. Citizenship of Individuals Encountered by ICE (2015); reference.md R6; Morales v. Chadbourne, 793 F.3d 208 (1st Cir. 2015)",
            "A US-citizenship claim or evidence is pending: detainer and hold actions are suspended until a supervisor records a determination.",
        );
    }
}

/// The citation of a form's hold request.
fn form_cite(form: DetainerForm) -> &'static str {
    match form {
        DetainerForm::I247a => "Form I-247A (02/17), request 2; 8 CFR 287.7(d)",
        DetainerForm::I247 => "Form I-247 (12/12); 8 CFR 287.7(d)",
        DetainerForm::I247d => "Form I-247D (2015); 8 CFR 287.7(d)",
        DetainerForm::I247n => "Form I-247N (2015); 8 CFR 287.7(a)",
        DetainerForm::I247x => "Form I-247X (2015); 8 CFR 287.7(a)",
    }
}

/// R4: the hold clock of a detainer, from the form that asked: `None` when there is no clock
/// (no detainer, no release-eligible time, a form that asks no hold). With `deny_outside`,
/// a hold before release eligibility or past the applied limit is denied (the hold action);
/// otherwise they are warnings (custody taken or a warrant served at release).
fn hold_rules(req: &Request, at: &Where, r: &mut Findings) -> Option<crate::hold::HoldClock> {
    let Some(d) = &req.context.detainer else {
        deny(r, "R4-no-detainer", "8 CFR 287.7(d)", "A hold needs a detainer.");
        return None;
    };
    if d.notification_only || !crate::hold::form_asks_hold(d.form) {
        deny(
            r,
            "R4-notification-only",
            form_cite(d.form),
            "This request asks for no hold (notification only, or a legacy I-247N or I-247X): nothing permits keeping the person past release.",
        );
        return None;
    }
    if d.release_eligible_at.is_none() {
        deny(
            r,
            "R4-not-release-eligible",
            "8 CFR 287.7(d)",
            "The hold clock starts when the subject would otherwise be released; no release-eligible time is recorded.",
        );
        return None;
    }
    hold_window(req, at, d, Side::Custodian { refuse_outside: true }, r)
}

/// Whose duty the hold window sets.
#[derive(Clone, Copy)]
enum Side {
    /// The agency keeping the person: it must release by the deadline. With
    /// `refuse_outside`, a hold before release eligibility or past the limit is denied (the
    /// hold itself, or an answer that honors it); otherwise those are only warned of.
    Custodian { refuse_outside: bool },
    /// The agency taking the person at release: it must take custody by the deadline.
    Receiver,
}

/// The hold window's clock and what it says at `req.now`.
fn hold_window(
    req: &Request,
    at: &Where,
    d: &crate::DetainerFacts,
    side: Side,
    r: &mut Findings,
) -> Option<crate::hold::HoldClock> {
    let deny_outside = matches!(side, Side::Custodian { refuse_outside: true });
    let t0 = d.release_eligible_at?;
    let Some(clock) = hold_clock(t0, &at.time_zone, d.form) else {
        deny(
            r,
            "R4-time-out-of-range",
            "8 CFR 287.7(d)",
            "The release-eligible time is beyond the calendar the hold clock can count.",
        );
        return None;
    };
    if at.time_zone_assumed {
        flag(
            r,
            "R4-time-zone-assumed",
            "8 CFR 287.7(d) (Saturdays, Sundays and holidays are local days)",
            &format!(
                "No location or time zone was given; the clock counts days in {}, the state's main zone, which may not be the facility's. Give the facility's location.",
                at.time_zone_name
            ),
        );
    }
    let cite = form_cite(d.form);
    let limits = format!(
        "{}. Form I-247A's 48 clock hours end {}; 8 CFR 287.7(d)'s 48 hours excluding weekends and holidays end {}.",
        clock.why, clock.i247a_deadline, clock.cfr_287_7d_deadline
    );
    if req.now > clock.deadline {
        let seizure = "Miranda-Olivares v. Clackamas County, No. 3:12-cv-02317-ST (D. Or. Apr. 11, 2014); Morales v. Chadbourne, 793 F.3d 208, 217 (1st Cir. 2015)";
        let why = format!(
            "The hold's limit ended at {}: keeping the person longer is a new seizure without probable cause. {limits}",
            clock.deadline
        );
        if deny_outside {
            deny(r, "R4-hold-limit-passed", &format!("{cite}; {seizure}"), &why);
        }
        flag(
            r,
            "R4-new-seizure",
            &format!("{seizure}; Galarza v. Szalczyk, 745 F.3d 634 (3d Cir. 2014)"),
            "A hold past the limit is a new warrantless seizure for which the holding agency is liable: release now and report.",
        );
    } else if req.now < t0 {
        if deny_outside {
            deny(
                r,
                "R4-not-yet-release-eligible",
                "8 CFR 287.7(d)",
                "The subject is not yet release-eligible: there is no hold yet.",
            );
        }
    } else {
        if req.now > clock.i247a_deadline {
            flag(
                r,
                "R4-clock-hours-passed",
                cite,
                &format!(
                    "More than 48 clock hours have passed since release eligibility; only the regulation's limit, {}, still permits the hold.",
                    clock.deadline
                ),
            );
        }
        match side {
            Side::Custodian { .. } => duty(
                r,
                "R4-hold-clock",
                cite,
                &format!("Release the person by {} unless DHS assumes custody. {limits}", clock.deadline),
                Some(clock.deadline),
            ),
            Side::Receiver => duty(
                r,
                "R4-take-custody-by",
                cite,
                &format!(
                    "Take custody by {}: past it the custodian must release the person, and keeping them is a new seizure. {}.",
                    clock.deadline, clock.why
                ),
                Some(clock.deadline),
            ),
        }
    }
    Some(clock)
}

/// R9 (custody continuity: "no gaps without a recorded release") with R4 and R5 for a release
/// from custody (NIEM book-out). A release is a fact the custodian records
/// whatever the decision says, so that custody is never lost track of; no rule here denies
/// it. The decision says what the release owes an open detainer (reference.md §3: a detainer
/// asks notice before release and a hold of at most 48 hours; §7: state law may require
/// both, or forbid them) and, for ICE and CBP, what authority the release code rests on.
fn release_rules(law: &Law, req: &Request, at: &Where, r: &mut Findings) {
    if req.context.us_citizen_determined {
        note(
            r,
            "R9-release-us-citizen",
            "8 U.S.C. 1357(a) and 8 CFR 287.7(a) reach aliens only; reference.md R6",
            "A supervisor determined that the subject is a US citizen: no immigration hold or transfer may keep them.",
        );
    }
    if let Some(d) = &req.context.detainer {
        release_with_detainer(law, req, at, d, r);
    }
    if req.agency.kind.is_federal_immigration()
        && let Some(code) = req.context.release_code
    {
        release_authority(code, r);
    }
}

/// The state or local rule in force for `action` along the jurisdiction chain (the first that
/// applies), and whether one of its exceptions holds. `None`: only the federal baseline
/// speaks.
fn local_rule<'l>(
    law: &'l Law,
    req: &Request,
    juris: &[String],
    action: Action,
) -> Option<(&'l crate::jurisdiction::Rule, bool)> {
    let on = req.now.to_zoned(TimeZone::UTC).date();
    let asserted = asserted_conditions(req);
    juris
        .iter()
        .filter(|id| id.as_str() != "US")
        .filter_map(|id| law.jurisdictions.get(id))
        .flat_map(|j| j.rules.iter())
        .find(|x| applies(x, action.as_str(), on, &asserted, req.context.courthouse.as_ref()))
        .map(|rule| (rule, rule.unless_any.iter().any(|c| holds(c, &asserted))))
}

fn asserted_conditions(req: &Request) -> BTreeSet<String> {
    let mut asserted = req.context.conditions.clone();
    if req.context.detainer.as_ref().is_some_and(|d| d.warrant.is_some()) {
        asserted.insert("detainer_has_warrant".into());
    }
    if req.context.warrant == Some(crate::FieldWarrant::Judicial) {
        asserted.insert("judicial_warrant".into());
    }
    asserted
}

/// Whether `rule` governs `action` on day `on` under the asserted conditions.
fn applies(
    rule: &crate::jurisdiction::Rule,
    action: &str,
    on: jiff::civil::Date,
    asserted: &BTreeSet<String>,
    courthouse: Option<&crate::Courthouse>,
) -> bool {
    let near = |n: &crate::jurisdiction::NearCourt| {
        courthouse.is_some_and(|c| n.kinds.contains(&c.kind) && c.distance_feet <= n.within_feet)
    };
    rule.action == action
        && rule.in_force(on)
        && rule.applies_if.iter().all(|c| holds(c, asserted))
        && rule.near_court.as_ref().is_none_or(near)
}

fn unverified(rule: &crate::jurisdiction::Rule) -> &'static str {
    if rule.unverified { " [UNVERIFIED]" } else { "" }
}

/// What releasing a subject owes an open detainer: the hold (unless its window has passed)
/// and the notice before release, each as the custodian's state requires, allows or forbids.
fn release_with_detainer(law: &Law, req: &Request, at: &Where, d: &crate::DetainerFacts, r: &mut Findings) {
    let juris = &at.jurisdictions;
    let notice_given = d.release_eligible_at.is_some();
    if !d.notification_only {
        let window_ended = d
            .release_eligible_at
            .and_then(|t0| hold_clock(t0, &at.time_zone, d.form))
            .filter(|clock| req.now > clock.deadline);
        match (window_ended, local_rule(law, req, juris, Action::HoldOnDetainer)) {
            (Some(clock), _) => note(
                r,
                "R9-release-hold-window-ended",
                "Form I-247A; 8 CFR 287.7(d); Miranda-Olivares v. Clackamas County (D. Or. 2014)",
                &format!(
                    "The detainer's hold window ended at {}: the release is what the law requires.",
                    clock.deadline
                ),
            ),
            (None, Some((rule, false))) if rule.effect == RuleEffect::Require => flag(
                r,
                &format!("{}:release", rule.id),
                &rule.citation,
                &format!(
                    "State law requires honoring this detainer{}: releasing rather than holding it for DHS (at most 48 hours) or handing the subject over needs its reason on record.",
                    unverified(rule)
                ),
            ),
            (None, Some((rule, false))) if rule.effect == RuleEffect::Deny => note(
                r,
                &rule.id,
                &rule.citation,
                &format!("State law forbids holding on this detainer{}: release when otherwise due.", unverified(rule)),
            ),
            _ => note(
                r,
                "R9-release-detainer-is-a-request",
                "8 CFR 287.7(a), (d); Galarza v. Szalczyk, 745 F.3d 634 (3d Cir. 2014)",
                "The detainer is a request: the custodian may release.",
            ),
        }
    }
    match local_rule(law, req, juris, Action::NotifyRelease) {
        Some((rule, false)) if rule.effect == RuleEffect::Deny => note(
            r,
            &rule.id,
            &rule.citation,
            &format!("State law forbids telling DHS of the release{}: no notice is owed.", unverified(rule)),
        ),
        _ if notice_given => note(
            r,
            "R9-release-notice-given",
            "Form I-247A; 8 CFR 287.7(a)",
            "DHS was told the subject was release-eligible before the release.",
        ),
        Some((rule, false)) if rule.effect == RuleEffect::Require => flag(
            r,
            &format!("{}:release", rule.id),
            &rule.citation,
            &format!(
                "State law requires telling DHS before the release{}, and no notice is recorded: record the subject release-eligible on the detainer first.",
                unverified(rule)
            ),
        ),
        _ => flag(
            r,
            "R9-release-notice-requested",
            "Form I-247A; 8 CFR 287.7(a)",
            "The detainer asks DHS to be told before the release (at least 48 hours ahead, if possible), and no notice is recorded: record the subject release-eligible on the detainer first.",
        ),
    }
}

/// The authority an ICE or CBP release rests on, by its NIEM release reason code. The
/// statutes are the INA's; whether a person is one 8 U.S.C. 1226(c) requires be detained
/// (who may not be released on bond or recognizance) is not recorded in Liaison, so such a
/// release is flagged for that check rather than decided.
fn release_authority(code: domain::custody::ReleaseReasonCode, r: &mut Findings) {
    use domain::custody::ReleaseReasonCode as C;
    let mandatory = |r: &mut Findings| {
        flag(
            r,
            "R9-release-mandatory-detention",
            "8 U.S.C. 1226(c); Jennings v. Rodriguez, 583 U.S. 281 (2018)",
            "Bond and recognizance are not available to a person 8 U.S.C. 1226(c) requires be detained; Liaison does not record that status: confirm it before release.",
        )
    };
    match code {
        C::Bond | C::BondLackOfFunds | C::BondLackOfSpace => {
            note(
                r,
                "R9-release-bond",
                "8 U.S.C. 1226(a)(2)(A); 8 CFR 236.1(c)(8)",
                "Release on bond (at least $1,500) while removal is decided.",
            );
            mandatory(r);
        }
        C::Recognizance | C::RecognizanceLackOfFunds | C::RecognizanceLackOfSpace => {
            note(
                r,
                "R9-release-recognizance",
                "8 U.S.C. 1226(a)(2)(B) (conditional parole); 8 CFR 236.1(c)(8)",
                "Release on the person's own recognizance while removal is decided.",
            );
            mandatory(r);
        }
        C::Supervision | C::SupervisionLackOfFunds | C::SupervisionLackOfSpace => note(
            r,
            "R9-release-order-of-supervision",
            "8 U.S.C. 1231(a)(3), (a)(6); 8 CFR 241.4, 241.5; Zadvydas v. Davis, 533 U.S. 678 (2001)",
            "Release under an order of supervision after a final order of removal.",
        ),
        C::Paroled | C::ParoledLackOfFunds | C::ParoledLackOfSpace => note(
            r,
            "R9-release-parole",
            "8 U.S.C. 1182(d)(5)(A); 8 CFR 212.5",
            "Parole, case by case, for urgent humanitarian reasons or significant public benefit.",
        ),
        C::Deported => {
            note(r, "R9-release-removed", "8 U.S.C. 1231(a)(1)", "Removal under a final order ends custody.")
        }
        C::VoluntaryDeparture | C::VoluntaryDepartureLackOfFunds | C::VoluntaryDepartureLackOfSpace => {
            note(r, "R9-release-voluntary-departure", "8 U.S.C. 1229c", "Voluntary departure ends custody.")
        }
        C::Withdrawal | C::WithdrawalLackOfFunds | C::WithdrawalLackOfSpace => note(
            r,
            "R9-release-withdrawal",
            "8 U.S.C. 1225(a)(4)",
            "Withdrawal of the application for admission ends custody at departure.",
        ),
        C::ProceedingsTerminated => note(
            r,
            "R9-release-proceedings-terminated",
            "8 CFR 1239.2",
            "Removal proceedings were terminated: no case remains to detain for.",
        ),
        C::Transferred | C::UsMarshalsOrOtherAgency => flag(
            r,
            "R9-release-to-another-agency",
            "reference.md R9 (one custodian at a time)",
            "A transfer to another agency records no receiving custodian when booked out as a release: where the receiver works in Liaison, offer a handoff instead.",
        ),
        C::Died | C::Escaped => {
            note(r, "R9-release-book-out", "NIEM im:ReleaseReasonCode", "A book-out that no release decision governs.")
        }
        C::Lfnd | C::Lspc => note(
            r,
            "R9-release-code-unexplained",
            "NIEM im:ReleaseReasonCode; reference.md §9",
            "NIEM lists this code without a published meaning; it is recorded as given.",
        ),
    }
}

/// The rules in force for `action` on the day: the first jurisdictions along the chain that
/// have any (most local first), or the federal baseline. Notes say which applied and why.
fn rules_in_force<'l>(
    law: &'l Law,
    req: &Request,
    at: &Where,
    action: &str,
    r: &mut Findings,
) -> Vec<&'l crate::jurisdiction::Rule> {
    let on = req.now.to_zoned(at.time_zone.clone()).date();
    let asserted = asserted_conditions(req);
    let juris = &at.jurisdictions;
    let mut found = Vec::new();
    for id in juris {
        let Some(j) = law.jurisdictions.get(id) else {
            note(
                r,
                "R5-no-entry",
                "reference/jurisdictions.toml",
                &format!("No rules are recorded for {id}; the federal baseline applies."),
            );
            continue;
        };
        found.extend(j.rules.iter().filter(|x| applies(x, action, on, &asserted, req.context.courthouse.as_ref())));
    }
    if !found.is_empty() {
        return found;
    }
    let who = if juris.is_empty() {
        "no jurisdiction was given".to_string()
    } else {
        format!("{} has no rule in force for {action}", juris.join("/"))
    };
    let baseline = law.jurisdictions.get("US").expect("checked at load");
    found.extend(baseline.rules.iter().filter(|x| x.action == action && x.in_force(on)));
    let tail = if found.is_empty() { "no state or federal rule limits it" } else { "the federal baseline applies" };
    if !found.is_empty() || !juris.is_empty() {
        note(r, "R5-federal-baseline", "reference/jurisdictions.toml", &format!("{who}; {tail}."));
    }
    found
}

/// R5: the jurisdiction's rules in force on the day for `action`, or the federal baseline.
/// `limit_passed`: the hold's limit has passed, so no mandate to honor reaches it.
fn state_gate(law: &Law, req: &Request, at: &Where, action: &str, limit_passed: bool, r: &mut Findings) {
    let asserted = asserted_conditions(req);
    for rule in rules_in_force(law, req, at, action, r) {
        apply_rule(rule, &asserted, limit_passed, at, r);
    }
}

/// The day a rule's duty falls due, as the start of that day where the act happens.
fn due(rule: &crate::jurisdiction::Rule, at: &Where) -> Option<jiff::Timestamp> {
    rule.due_by.and_then(|d| d.to_zoned(at.time_zone.clone()).ok()).map(|z| z.timestamp())
}

fn unverified_decided(rule: &crate::jurisdiction::Rule, r: &mut Findings) {
    if rule.unverified {
        flag(
            r,
            &format!("{}:unverified", rule.id),
            &rule.citation,
            "An UNVERIFIED rule decided this case (reference.md marks its text or date not verified): have it checked before relying on it.",
        );
    }
}

/// The duties of `rule` that fall on the actor: `acted` when the act is done, otherwise the
/// request is declined or the act refused.
fn rule_duties(rule: &crate::jurisdiction::Rule, acted: bool, r: &mut Findings) {
    use crate::jurisdiction::DutyWhen as W;
    for f in &rule.flags {
        let (when, text) = crate::jurisdiction::duty(f);
        if matches!((when, acted), (W::Answering, _) | (W::Acting, true) | (W::Declining, false)) {
            duty(r, &format!("{}:{f}", rule.id), &rule.citation, text, None);
        }
    }
}

fn apply_rule(
    rule: &crate::jurisdiction::Rule,
    asserted: &BTreeSet<String>,
    limit_passed: bool,
    at: &Where,
    r: &mut Findings,
) {
    let why = format!("{}{}", rule.explanation, unverified(rule));
    let missing: Vec<&String> = rule.requires_all.iter().filter(|c| !holds(c, asserted)).collect();
    if !missing.is_empty() {
        let m: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        deny(r, &rule.id, &rule.citation, &format!("{why} Missing: {}.", m.join(", ")));
        unverified_decided(rule, r);
        rule_duties(rule, false, r);
        return;
    }
    let exception = rule.unless_any.iter().find(|c| holds(c, asserted));
    let decided = match (rule.effect, exception) {
        (RuleEffect::Deny, None) => {
            deny(r, &rule.id, &rule.citation, &why);
            true
        }
        (RuleEffect::Deny, Some(e)) => {
            note(r, &rule.id, &rule.citation, &format!("{why} Exception applies: {e}."));
            false
        }
        (RuleEffect::Require, None) if limit_passed => {
            note(r, &rule.id, &rule.citation, &format!("{why} The mandate does not reach past the hold's limit."));
            false
        }
        (RuleEffect::Require, None) => {
            r.reasons.push(Reason::new(ReasonKind::Permit, &rule.id, &rule.citation, &why));
            duty(r, &rule.id, &rule.citation, &format!("Mandatory: {why}"), due(rule, at));
            true
        }
        (RuleEffect::Require, Some(e)) => {
            note(r, &rule.id, &rule.citation, &format!("{why} Not required here: {e}."));
            false
        }
        (RuleEffect::Allow, _) => {
            r.reasons.push(Reason::new(ReasonKind::Permit, &rule.id, &rule.citation, &why));
            false
        }
        (RuleEffect::Warn, _) => {
            flag(r, &rule.id, &rule.citation, &why);
            true
        }
    };
    if decided {
        unverified_decided(rule, r);
    }
    let refused = rule.effect == RuleEffect::Deny && exception.is_none();
    rule_duties(rule, !refused, r);
}

/// R5: declining what `action` names (a hold, a notice): unlawful where state law mandates
/// it and none of its exceptions holds (never past the hold's limit); what a state that
/// forbids it requires; otherwise the custodian's choice, since a detainer is a request.
fn declining(law: &Law, req: &Request, at: &Where, action: &str, limit_passed: bool, r: &mut Findings) {
    let asserted = asserted_conditions(req);
    for rule in rules_in_force(law, req, at, action, r) {
        let why = format!("{}{}", rule.explanation, unverified(rule));
        let exception = rule.unless_any.iter().find(|c| holds(c, &asserted));
        match (rule.effect, exception) {
            (RuleEffect::Require, None) if !limit_passed => {
                deny(r, &rule.id, &rule.citation, &format!("State law requires honoring this request: {why}"));
                unverified_decided(rule, r);
            }
            (RuleEffect::Deny, None) => {
                r.reasons.push(Reason::new(
                    ReasonKind::Permit,
                    &rule.id,
                    &rule.citation,
                    &format!("State law forbids it, so declining is what the law requires: {why}"),
                ));
                rule_duties(rule, false, r);
            }
            (_, Some(e)) => note(
                r,
                &rule.id,
                &rule.citation,
                &format!("{why} An exception holds ({e}): declining is the custodian's choice."),
            ),
            _ => note(
                r,
                &rule.id,
                &rule.citation,
                &format!("{why} A detainer is a request (8 CFR 287.7(a)): the custodian may decline."),
            ),
        }
    }
}

/// The jail's answer to a detainer (honor, decline, notify only), decided against the same
/// rules as the hold and the notice it promises or refuses. Mandate states deny a decline
/// except for their stated exceptions; states that forbid holds deny honoring.
fn answer_detainer(law: &Law, req: &Request, at: &Where, r: &mut Findings) -> Option<crate::hold::HoldClock> {
    use domain::detainer::DetainerAnswer as A;
    let Some(answer) = req.context.detainer_answer else {
        deny(r, "R5-answer-missing", "8 CFR 287.7(a)", "No answer (honor, decline or notify_only) was given.");
        return None;
    };
    let Some(d) = &req.context.detainer else {
        deny(r, "R5-detainer-missing", "8 CFR 287.7(a)", "An answer needs the detainer it answers.");
        return None;
    };
    let asks_hold = !d.notification_only && crate::hold::form_asks_hold(d.form);
    let mut clock = None;
    if asks_hold && d.release_eligible_at.is_some() {
        clock = hold_window(req, at, d, Side::Custodian { refuse_outside: answer == A::Honor }, r);
    }
    let limit_passed = clock.as_ref().is_some_and(|c| req.now > c.deadline);
    match answer {
        A::Honor => {
            citizenship_safeguard(req, r);
            if asks_hold {
                state_gate(law, req, at, "hold_on_detainer", limit_passed, r);
            }
            state_gate(law, req, at, "notify_release", false, r);
        }
        A::NotifyOnly => {
            citizenship_safeguard(req, r);
            state_gate(law, req, at, "notify_release", false, r);
            if asks_hold {
                declining(law, req, at, "hold_on_detainer", limit_passed, r);
            }
        }
        A::Decline => {
            if asks_hold {
                declining(law, req, at, "hold_on_detainer", limit_passed, r);
            }
            // Once the hold's window has ended the person is released: the notice it asked
            // for is spent.
            declining(law, req, at, "notify_release", limit_passed, r);
        }
    }
    clock
}

/// R7: reasonable suspicion for stops (Brignoni-Ponce; the Vasquez Perdomo factors), or a
/// fixed checkpoint (Martinez-Fuerte).
fn reasonable_suspicion(req: &Request, r: &mut Findings) {
    if req.context.at_fixed_checkpoint && matches!(req.action, Action::FieldStop | Action::BoardVehicle) {
        note(
            r,
            "R7-fixed-checkpoint",
            "United States v. Martinez-Fuerte, 428 U.S. 543, 562-566 (1976)",
            "A stop and brief questioning at a reasonably located fixed checkpoint needs no individualized suspicion; a search still does (United States v. Ortiz, 422 U.S. 891 (1975)).",
        );
        return;
    }
    use SuspicionFactor as F;
    let never_alone = [F::ApparentRaceOrEthnicity, F::LanguageOrAccent, F::PresenceAtLocationType, F::TypeOfWork];
    let f = &req.context.suspicion_factors;
    if !f.is_empty() && !f.iter().all(|x| never_alone.contains(x)) {
        r.reasons.push(Reason::new(
            ReasonKind::Permit,
            "R7-articulable-suspicion",
            "United States v. Brignoni-Ponce, 422 U.S. 873, 884-885 (1975); 8 CFR 287.8(b)(2)",
            "Specific articulable facts beyond appearance, language, place or work are recorded: reasonable suspicion for a brief stop.",
        ));
    }
    if f.is_empty() {
        deny(
            r,
            "R7-articulable-suspicion",
            "United States v. Brignoni-Ponce, 422 U.S. 873 (1975); 8 CFR 287.8(b)(2)",
            "A stop needs reasonable suspicion based on specific articulable facts; none were recorded.",
        );
    } else if f.iter().all(|x| never_alone.contains(x)) {
        deny(
            r,
            "R7-insufficient-factors",
            "United States v. Brignoni-Ponce, 422 U.S. 873 (1975); Vasquez Perdomo v. Noem, No. 2:25-cv-5605 (C.D. Cal. TRO Jul. 11, 2025), stayed, Noem v. Vasquez Perdomo, No. 25A169 (U.S. Sep. 8, 2025)",
            "Apparent race or ethnicity, language or accent, presence at a type of location, or type of work never suffice alone. (The Vasquez Perdomo TRO is stayed; Liaison keeps the rule as policy.)",
        );
    }
}

/// R7: an arrest in the field. With an administrative warrant (I-200, I-205) or a judicial
/// one, the warrant is its authority; without one, 8 U.S.C. 1357(a)(2) needs reason to believe
/// the person is removable (articulable facts, checked as for a stop) and a recorded reason to
/// believe they are likely to escape before a warrant can be obtained. In a home, only a
/// judicial warrant or consent will do (Payton v. New York).
fn field_arrest(req: &Request, r: &mut Findings) {
    use crate::FieldWarrant as W;
    match req.context.warrant {
        Some(w @ (W::I200 | W::I205)) => r.reasons.push(Reason::new(
            ReasonKind::Permit,
            "R7-arrest-on-administrative-warrant",
            if w == W::I200 {
                "8 U.S.C. 1226(a); 8 CFR 236.1(b), 287.8(c)(2)(ii)"
            } else {
                "8 U.S.C. 1231(a); 8 CFR 241.2"
            },
            "The arrest executes an administrative warrant of arrest or removal.",
        )),
        Some(W::Judicial) => r.reasons.push(Reason::new(
            ReasonKind::Permit,
            "R7-arrest-on-judicial-warrant",
            "U.S. Const. amend. IV",
            "The arrest executes a warrant signed by a judge.",
        )),
        None => {
            reasonable_suspicion(req, r);
            if req.context.escape_risk.as_deref().is_none_or(|s| s.trim().is_empty()) {
                deny(
                    r,
                    "R7-1357a2-likely-to-escape",
                    "8 U.S.C. 1357(a)(2); 8 CFR 287.8(c)(2)(ii)",
                    "A warrantless arrest needs, besides reason to believe the person is removable, a recorded reason to believe they are likely to escape before a warrant can be obtained; none was recorded. Obtain an I-200 warrant.",
                );
            } else {
                note(
                    r,
                    "R7-1357a2-likely-to-escape",
                    "8 U.S.C. 1357(a)(2); 8 CFR 287.8(c)(2)(ii)",
                    "A reason to believe the person is likely to escape before a warrant can be obtained is recorded.",
                );
            }
        }
    }
    if req.context.dwelling {
        home_entry(req, r);
    }
}

/// Entering a home needs a judicial warrant or consent; an administrative warrant never
/// suffices (Payton v. New York; 8 CFR 287.8(f)(2)).
fn enter_dwelling(req: &Request, r: &mut Findings) {
    home_entry(req, r);
}

fn home_entry(req: &Request, r: &mut Findings) {
    let cite = "Payton v. New York, 445 U.S. 573, 590 (1980); 8 CFR 287.8(f)(2)";
    match (req.context.warrant, req.context.consent) {
        (Some(crate::FieldWarrant::Judicial), _) => r.reasons.push(Reason::new(
            ReasonKind::Permit,
            "R8-home-judicial-warrant",
            cite,
            "A judicial warrant permits entering the home.",
        )),
        (_, true) => {
            r.reasons.push(Reason::new(
                ReasonKind::Permit,
                "R8-home-consent",
                "Schneckloth v. Bustamonte, 412 U.S. 218 (1973); 8 CFR 287.8(f)(2)",
                "Voluntary consent permits entering the home.",
            ));
            duty(r, "R8-home-consent-record", "8 CFR 287.8(f)(2)", "Record who consented, when and to what.", None);
        }
        (Some(_), false) => deny(
            r,
            "R8-home-administrative-warrant",
            cite,
            "An administrative warrant (I-200, I-205) never permits entering a home: a judicial warrant or consent is needed.",
        ),
        (None, false) => {
            deny(r, "R8-home-warrant-or-consent", cite, "Entering a home needs a judicial warrant or consent.")
        }
    }
}

/// Searching a vehicle is not boarding it: a search needs probable cause or consent, even
/// within the reasonable distance of the border (Almeida-Sanchez; Ortiz); a fixed
/// checkpoint's stop and questioning is not a search (Martinez-Fuerte).
fn vehicle_search(req: &Request, r: &mut Findings) {
    if req.context.probable_cause {
        r.reasons.push(Reason::new(
            ReasonKind::Permit,
            "R7-vehicle-search-probable-cause",
            "Carroll v. United States, 267 U.S. 132 (1925); United States v. Ortiz, 422 U.S. 891, 896-897 (1975)",
            "Probable cause permits searching the vehicle.",
        ));
    } else if req.context.consent {
        r.reasons.push(Reason::new(
            ReasonKind::Permit,
            "R7-vehicle-search-consent",
            "Schneckloth v. Bustamonte, 412 U.S. 218 (1973)",
            "Voluntary consent permits searching the vehicle.",
        ));
    } else {
        deny(
            r,
            "R7-vehicle-search-probable-cause",
            "Almeida-Sanchez v. United States, 413 U.S. 266, 273 (1973); United States v. Ortiz, 422 U.S. 891, 896-897 (1975)",
            "A vehicle search needs probable cause or consent, even within 100 miles of the border and at a fixed checkpoint; 8 U.S.C. 1357(a)(3) does not dispense with it.",
        );
    }
}

/// R7: 8 U.S.C. 1357(a)(3) within a reasonable distance / 25 miles of the external boundary.
fn border_zone(law: &Law, req: &Request, at: &Where, r: &mut Findings) -> Option<crate::zone::ZoneReport> {
    let Some(p) = req.context.location else {
        deny(
            r,
            "R7-location-required",
            "8 U.S.C. 1357(a)(3); 8 CFR 287.1",
            "Where the action happens must be recorded to check the border zone.",
        );
        return None;
    };
    let off_outline = at.place.as_ref().is_some_and(|p| p.off_outline);
    let z = law.boundary.report(p.lat(), p.lon(), off_outline, law.zone_settings, req.context.sector_distance_miles);
    let d = format!(
        "{:.1} miles from the external boundary (reasonable distance {:.1})",
        z.distance_to_boundary_miles, z.reasonable_distance_miles
    );
    if req.action == Action::SearchVehicle {
        // A search rests on probable cause or consent wherever it happens; the distance is
        // reported, not decisive.
        note(
            r,
            "R7-1357a3-reasonable-distance",
            "8 U.S.C. 1357(a)(3); 8 CFR 287.1(a)(2)",
            &format!("For the record: {d}."),
        );
    } else if req.action == Action::BoardVehicle {
        if z.within_reasonable_distance {
            note(
                r,
                "R7-1357a3-reasonable-distance",
                "8 U.S.C. 1357(a)(3); 8 CFR 287.1(a)(2)",
                &format!("Within the reasonable distance: {d}."),
            );
        } else {
            deny(
                r,
                "R7-1357a3-reasonable-distance",
                "8 U.S.C. 1357(a)(3); 8 CFR 287.1(a)(2)",
                &format!("Warrantless boarding only within the reasonable distance; {d}."),
            );
        }
    } else if req.context.dwelling {
        deny(
            r,
            "R7-1357a3-not-dwellings",
            "8 U.S.C. 1357(a)(3); 8 CFR 287.8(f)(2)",
            "Access is to private lands, never dwellings, without a warrant or consent.",
        );
    } else if z.within_private_land_distance {
        note(r, "R7-1357a3-25-miles", "8 U.S.C. 1357(a)(3)", &format!("Private lands within 25 miles: {d}."));
    } else {
        deny(
            r,
            "R7-1357a3-25-miles",
            "8 U.S.C. 1357(a)(3)",
            &format!("Warrantless access to private lands only within 25 miles; {d}."),
        );
    }
    Some(z)
}

/// R9: one custodian at a time.
fn one_custodian(req: &Request, r: &mut Findings) {
    if let Some(c) = req.context.custody.as_ref().filter(|c| c.agency != req.agency.id && !req.context.custody_offered)
    {
        deny(
            r,
            "R9-one-custodian",
            "reference.md R9",
            &format!("The subject is in the custody of {}; custody moves only by an accepted handoff.", c.agency),
        );
    }
}

/// R4 for custody taken on a detainer at release: the hold's clock runs until DHS takes the
/// person, so the receiving agency must take custody before the custodian's limit ends.
fn custody_at_release(req: &Request, at: &Where, r: &mut Findings) -> Option<crate::hold::HoldClock> {
    let d = req.context.detainer.as_ref()?;
    hold_window(req, at, d, Side::Receiver, r)
}

/// R4 for an administrative warrant served on a person in jail at release (the 287(g) warrant
/// service model): DHS has 48 hours from the arrest to take custody, or the person is
/// released, unless an intergovernmental service agreement lets the jail keep them
/// (reference.md §2.2, from ICE's announcement of the program [S]). The clock starts at the
/// detainer's release-eligible time when there is one, otherwise at the arrest.
fn warrant_at_release(req: &Request, at: &Where, r: &mut Findings) -> Option<crate::hold::HoldClock> {
    let t0 = req.context.detainer.as_ref().and_then(|d| d.release_eligible_at).unwrap_or(req.now);
    let clock = crate::hold::warrant_clock(t0, &at.time_zone)?;
    let cite = "287(g) Warrant Service Officer model (ICE announcement, May 6, 2019, reference.md §2.2 [S]); 8 U.S.C. 1357(g)(1)";
    if req.now > clock.deadline {
        flag(
            r,
            "R4-warrant-48-hours-passed",
            cite,
            &format!(
                "DHS did not take custody within 48 hours of the arrest (by {}): release the person unless an IGSA applies.",
                clock.deadline
            ),
        );
    } else {
        duty(
            r,
            "R4-warrant-48-hours",
            cite,
            &format!(
                "DHS must take custody by {}, 48 hours after the arrest; otherwise release the person, unless an intergovernmental service agreement lets the jail keep them.",
                clock.deadline
            ),
            Some(clock.deadline),
        );
    }
    Some(clock)
}

/// Border Patrol short-term custody beyond the 72-hour standard is flagged.
fn custody_duration(req: &Request, r: &mut Findings) {
    if let Some(c) = req.context.custody.as_ref().filter(|c| c.agency_is_border_patrol)
        && req.now.duration_since(c.since) > SignedDuration::from_hours(72)
    {
        flag(
            r,
            "R9-cbp-72-hour-standard",
            "CBP National Standards on Transport, Escort, Detention, and Search (TEDS), Oct. 2015, § 4.1 (UNVERIFIED: not in reference.md)",
            "The subject has been in Border Patrol short-term custody for more than 72 hours.",
        );
    }
}
