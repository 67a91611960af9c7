//! The page shell (header, navigation, main) and the components every page shares: a legal
//! decision in plain language, a table, a notice.

use crate::session::Viewer;
use law::{Decision, Effect, ReasonKind};
use maud::{DOCTYPE, Markup, html};
use service::{ApiRole, Principal};

/// One place in the navigation: its path, its label, and who sees it listed.
pub struct NavItem {
    pub path: &'static str,
    pub label: &'static str,
    pub shown: fn(&Principal) -> bool,
}

fn anyone(_: &Principal) -> bool {
    true
}

fn auditor(p: &Principal) -> bool {
    p.has_any(&[ApiRole::Oversight, ApiRole::Administrator])
}

/// The navigation, in order. A page not listed here is reached from another page.
pub const NAV: &[NavItem] = &[
    NavItem { path: "/", label: "Operations board", shown: anyone },
    NavItem { path: "/subjects", label: "Subjects", shown: anyone },
    NavItem { path: "/forms", label: "Record", shown: anyone },
    NavItem { path: "/agreements", label: "287(g) agreements", shown: anyone },
    NavItem { path: "/operations", label: "Operations", shown: anyone },
    NavItem { path: "/complaints", label: "Complaints", shown: anyone },
    NavItem { path: "/oversight/audit", label: "Oversight", shown: auditor },
    NavItem { path: "/law", label: "Ask the law", shown: anyone },
    NavItem { path: "/planner", label: "Planner", shown: anyone },
    NavItem { path: "/public", label: "Public numbers", shown: anyone },
];

/// The roles of a principal, as words.
pub fn role_names(p: &Principal) -> String {
    p.roles.iter().map(|r| role_name(*r)).collect::<Vec<_>>().join(", ")
}

pub fn role_name(r: ApiRole) -> &'static str {
    match r {
        ApiRole::FieldOfficer => "Field officer",
        ApiRole::Supervisor => "Supervisor",
        ApiRole::JailStaff => "Jail staff",
        ApiRole::Officer287g => "287(g) officer",
        ApiRole::Oversight => "Oversight",
        ApiRole::Administrator => "Registry administrator",
    }
}

/// A whole page. `active` is the navigation path to mark as current.
pub fn page(v: Option<&Viewer>, title: &str, active: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Liaison" }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Liaison" }
                    @if let Some(v) = v {
                        nav aria-label="Main" {
                            ul {
                                @for item in NAV.iter().filter(|i| (i.shown)(&v.principal)) {
                                    li { a href=(item.path) aria-current=[(item.path == active).then_some("page")] { (item.label) } }
                                }
                            }
                        }
                        div.who {
                            span { (role_names(&v.principal)) " · " (v.principal.id) " · " (v.principal.agency) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
                footer.foot { p { "Every person in demo data is synthetic. Every read of a person's record is logged." } }
            }
        }
    }
}

/// A legal decision in plain language: the effect, each reason with its rule and citation,
/// the obligations with their deadlines, the hold clock, the place and the border zone.
pub fn decision(d: &Decision, zone: &str) -> Markup {
    let (class, verdict) = match d.effect {
        Effect::Allow => ("allow", "Permitted"),
        Effect::AllowWithFlags => ("flag", "Permitted, with warnings to read"),
        Effect::Deny => ("deny", "Not permitted"),
    };
    html! {
        section.decision.(class) aria-label="The law's decision" {
            p.verdict { strong { (verdict) } }
            ul.reasons {
                @for r in &d.reasons {
                    li {
                        span.kind { (match r.kind { ReasonKind::Permit => "Permits", ReasonKind::Deny => "Forbids", ReasonKind::Flag => "Warning", ReasonKind::Note => "Note" }) }
                        " " (r.explanation)
                        span.cite { " — " code { (r.rule_id) } ", " cite { (r.citation) } }
                    }
                }
            }
            @if !d.obligations.is_empty() {
                h3 { "Obligations" }
                ul.obligations {
                    @for o in &d.obligations {
                        li {
                            (o.duty)
                            @if let Some(due) = o.due { " — due " strong { (crate::local(due, zone)) } }
                            span.cite { " — " code { (o.rule_id) } ", " cite { (o.citation) } }
                        }
                    }
                }
            }
            @if let Some(h) = &d.hold { (hold(h, zone, None)) }
            @if let Some(p) = &d.place {
                p.muted { "Where: " (p.county) ", " (p.state) " (county " (p.county_fips) "), time zone " (p.time_zone) }
            }
            @if let Some(z) = &d.zone {
                p.muted {
                    "Border zone: " (format!("{:.1}", z.distance_to_boundary_miles)) " miles from the nearest boundary; the reasonable distance is "
                    (format!("{:.0}", z.reasonable_distance_miles)) " miles ("
                    (if z.within_reasonable_distance { "inside it" } else { "outside it" }) ")."
                }
            }
        }
    }
}

/// The zone a decision's times read in: its place's, else UTC.
pub fn zone_of(d: &Decision) -> &str {
    d.place.as_ref().map_or("UTC", |p| p.time_zone.as_str())
}

/// A hold clock: when the subject became release-eligible, the deadline applied and why, and
/// (with `now`) the time left, all in the facility's zone.
pub fn hold(h: &law::hold::HoldClock, zone: &str, now: Option<jiff::Timestamp>) -> Markup {
    html! {
        div.hold {
            p {
                "Hold clock: release-eligible " (crate::local(h.release_eligible_at, zone))
                "; the hold must end by " strong { (crate::local(h.deadline, zone)) }
                @if let Some(now) = now {
                    " (" span.timer data-deadline=(h.deadline.as_second()) { (crate::left(now, h.deadline)) } " left)"
                }
            }
            p.muted { (h.why) " I-247A reading: " (crate::local(h.i247a_deadline, zone)) "; 8 CFR 287.7(d) reading: " (crate::local(h.cfr_287_7d_deadline, zone)) "." }
        }
    }
}
