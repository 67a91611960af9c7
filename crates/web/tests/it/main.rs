//! The web app over HTTP, against a real server on port 0 with a fresh SQLite store holding
//! the reference data and the demo scenario: sessions and their cookie, CSRF, the one 404,
//! field-level form errors, a preview that records nothing, a form recorded once however
//! often it is sent, and logged reads. The workflows in a browser are in `crates/web/e2e/`.

use std::collections::HashMap;
use store::{NewEvent, SqliteStore, Store};

struct Web {
    base: String,
    agent: ureq::Agent,
    rt: tokio::runtime::Runtime,
    server: Option<api::Server>,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Drop for Web {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.stop()).unwrap();
        }
    }
}

impl Web {
    fn start() -> Web {
        Self::start_as(true)
    }

    /// A demo server (`demo`: sign-in by picking a principal) or a real one (tokens only).
    fn start_as(demo: bool) -> Web {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("web.db");
        {
            let mut s = SqliteStore::create(&db).unwrap();
            let facts = reference::load(&reference::Sources::bundled()).unwrap();
            let events: Vec<NewEvent> =
                facts.into_iter().map(|f| NewEvent::new(f.valid_at, "system:reference", f.event)).collect();
            s.append(&events, None, jiff::Timestamp::now()).unwrap();
            let t0: jiff::Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
            for c in domain::demo::scenario(t0).into_iter().filter(|c| c.corrects_command.is_none()) {
                let events: Vec<NewEvent> =
                    c.events.into_iter().map(|(at, e)| NewEvent::new(at, c.actor.clone(), e)).collect();
                s.append(&events, Some(&c.idempotency_key), jiff::Timestamp::now()).unwrap();
            }
        }
        let mut entries = vec![];
        for p in api::auth::demo_principals() {
            entries.push(api::auth::issue(p).1);
        }
        let config = api::Config { addr: "127.0.0.1:0".into(), db: db.display().to_string(), ..api::Config::default() };
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let pages: api::Pages = Box::new(move |st| web::pages(st, demo.then(api::auth::demo_principals)));
        let server =
            rt.block_on(api::start_with(&config, api::auth::Tokens::new(entries).unwrap(), Some(pages))).unwrap();
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        Web { base: format!("http://{}", server.addr), agent, rt, server: Some(server), db, _dir: dir }
    }

    fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        Answer { status: r.status().as_u16(), headers, body: r.body_mut().read_to_string().unwrap_or_default() }
    }

    fn get(&self, cookie: &str, path: &str) -> Answer {
        Self::answer(self.agent.get(format!("{}{path}", self.base)).header("Cookie", cookie).call().unwrap())
    }

    /// POSTs a form as a browser on this site does (`Sec-Fetch-Site: same-origin`).
    fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_from(cookie, path, form, "same-origin")
    }

    fn post_from(&self, cookie: &str, path: &str, form: &[(&str, &str)], site: &str) -> Answer {
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        Self::answer(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("Cookie", cookie)
                .header("Sec-Fetch-Site", site)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(body.join("&").as_bytes())
                .unwrap(),
        )
    }

    /// Signs in as a demo principal; returns the session cookie (`name=value`).
    fn sign_in(&self, principal: &str) -> String {
        let a = self.post("", "/login", &[("principal", principal), ("next", "/")]);
        assert_eq!(a.status, 303, "{}", a.body);
        a.headers["set-cookie"].split(';').next().unwrap().to_string()
    }

    fn csrf(&self, cookie: &str) -> String {
        let page = self.get(cookie, "/forms");
        hidden(&page.body, "csrf")
    }

    fn events(&self) -> u64 {
        SqliteStore::open(&self.db).unwrap().size().unwrap()
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of a hidden input.
fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[test]
fn signing_in_sets_a_strict_http_only_secure_cookie_and_pages_need_it() {
    let w = Web::start();
    let a = w.get("", "/");
    assert_eq!((a.status, a.headers["location"].as_str()), (303, "/login?next=/"));
    let a = w.post("", "/login", &[("principal", "O-USBP-0001"), ("next", "/subjects")]);
    assert_eq!((a.status, a.headers["location"].as_str()), (303, "/subjects"));
    let cookie = &a.headers["set-cookie"];
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let session = cookie.split(';').next().unwrap();
    assert_eq!(w.get(session, "/").status, 200);
    assert!(w.get(session, "/").headers["content-security-policy"].contains("script-src 'self'"));
    // A wrong token, or a principal picked from another site, signs no one in.
    assert_eq!(w.post("", "/login", &[("token", "lsn_O-USBP-0001_wrong")]).status, 401);
    assert_eq!(w.post_from("", "/login", &[("principal", "O-USBP-0001")], "cross-site").status, 403);
    // Guessing a principal's token is cut short as on the API.
    let refused =
        (0..200).map(|_| w.post("", "/login", &[("token", "lsn_O-ERO-SND-0001_guess")]).status).find(|s| *s != 401);
    assert_eq!(refused, Some(429));
    // An off-site `next` goes home instead.
    let a = w.post("", "/login", &[("principal", "O-USBP-0001"), ("next", "//evil.example/")]);
    assert_eq!(a.headers["location"], "/");
}

#[test]
fn a_form_without_the_sessions_csrf_token_or_from_another_site_changes_nothing() {
    let w = Web::start();
    let s = w.sign_in("O-USBP-0001");
    let csrf = w.csrf(&s);
    let before = w.events();
    let form = |t: &'static str| vec![("names", "Csrf Person"), ("action", "record"), ("csrf", t)];
    assert_eq!(w.post(&s, "/forms/subject", &form("0000")).status, 403);
    let other = w.sign_in("O-ERO-SND-0001");
    let theirs = w.csrf(&other);
    assert_ne!(theirs, csrf);
    let mut f = form("x");
    f[2].1 = &theirs;
    assert_eq!(w.post(&s, "/forms/subject", &f).status, 403, "another session's token");
    f[2].1 = &csrf;
    assert_eq!(w.post_from(&s, "/forms/subject", &f, "cross-site").status, 403);
    assert_eq!(w.events(), before, "nothing was recorded");
    assert_eq!(w.post(&s, "/forms/subject", &f).status, 200);
    assert!(w.events() > before);
    // Signing out ends the session.
    assert_eq!(w.post(&s, "/logout", &[("csrf", &csrf)]).status, 303);
    assert_eq!(w.get(&s, "/").status, 303);
}

#[test]
fn a_record_the_viewer_may_not_know_is_the_same_404_as_none() {
    let w = Web::start();
    let s = w.sign_in("O-TX-ANG-0001");
    let hidden_subject = w.get(&s, "/subjects/S-DEMO-0003");
    let missing = w.get(&s, "/subjects/S-DEMO-0999");
    assert_eq!((hidden_subject.status, missing.status), (404, 404));
    assert_eq!(hidden_subject.body.replace("S-DEMO-0003", "X"), missing.body.replace("S-DEMO-0999", "X"));
    let own = w.sign_in("O-FL-COL-0001");
    assert_eq!(w.get(&own, "/subjects/S-DEMO-0003").status, 200);
    // The same question before a write: a form naming the hidden subject gets "not found".
    let csrf = w.csrf(&s);
    let a = w.post(
        &s,
        "/forms/citizenship-claim",
        &[
            ("subject", "S-DEMO-0003"),
            ("country", "US"),
            ("evidence", "us_passport"),
            ("action", "check"),
            ("csrf", &csrf),
        ],
    );
    assert!(a.body.contains("no subject &quot;S-DEMO-0003&quot; is visible to you"), "{}", a.body);
    // Oversight only: the audit.
    assert_eq!(w.get(&s, "/oversight/audit").status, 403);
}

#[test]
fn a_field_error_is_shown_beside_its_field_and_nothing_is_recorded() {
    let w = Web::start();
    let s = w.sign_in("O-USBP-0001");
    let csrf = w.csrf(&s);
    let before = w.events();
    let a = w.post(
        &s,
        "/forms/encounter",
        &[
            ("subject", "S-DEMO-0001"),
            ("location.lat", "north"),
            ("location.lon", "-117"),
            ("method", "PB"),
            ("authority", "interrogation_1357a1"),
            ("action", "record"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(a.status, 422);
    assert!(
        a.body.contains(r#"<p class="err" id="f-location-lat-err">&quot;north&quot; is not a number</p>"#),
        "{}",
        a.body
    );
    let a = w.post(
        &s,
        "/forms/encounter",
        &[
            ("subject", "S-DEMO-0001"),
            ("location.lat", "32.6"),
            ("location.lon", "-117"),
            ("method", "XX"),
            ("authority", "interrogation_1357a1"),
            ("action", "record"),
            ("csrf", &csrf),
        ],
    );
    assert!(a.body.contains(r#"id="f-method-err">unknown variant `XX`"#), "{}", a.body);
    assert_eq!(w.events(), before);
}

#[test]
fn checking_with_the_law_records_nothing_and_one_form_is_recorded_once() {
    let w = Web::start();
    let s = w.sign_in("O-USBP-0001");
    let form = w.get(&s, "/forms/subject");
    let (csrf, nonce) = (hidden(&form.body, "csrf"), hidden(&form.body, "nonce"));
    let before = w.events();
    let f =
        |action| vec![("names", "Once Person"), ("nonce", nonce.as_str()), ("csrf", csrf.as_str()), ("action", action)];
    let a = w.post(&s, "/forms/subject", &f("check"));
    assert!(a.body.contains("Checked: this would be recorded. Nothing has been recorded yet."), "{}", a.body);
    assert_eq!(w.events(), before, "a check appends nothing");
    let first = w.post(&s, "/forms/subject", &f("record"));
    assert!(first.body.contains("<strong>Recorded</strong>:"), "{}", first.body);
    let after = w.events();
    assert!(after > before);
    let again = w.post(&s, "/forms/subject", &f("record"));
    assert!(again.body.contains("this form was already recorded"), "{}", again.body);
    assert_eq!(w.events(), after, "the same form twice is one record");
}

#[test]
fn a_subject_page_is_a_logged_read_and_shows_decisions_in_local_time() {
    let w = Web::start();
    let s = w.sign_in("O-ERO-SND-0001");
    let before = w.events();
    let a = w.get(&s, "/subjects/S-DEMO-0001");
    assert_eq!(a.status, 200);
    assert_eq!(w.events(), before + 1, "the read is logged before the page is shown");
    assert!(a.body.contains("PDT") || a.body.contains("PST"), "times in the custodian's zone: {}", a.body);
    assert!(a.body.contains("inclusion proof"));
    assert!(a.body.contains("handoff H-DEMO-0001 offered by USBP-SAN-DIEGO to ICE-ERO-SND"), "{}", a.body);
    // As known before anything happened: nothing.
    let a = w.get(&s, "/subjects/S-DEMO-0001?as_of=2020-01-01T00:00");
    assert!(a.body.contains("Nothing recorded by then"), "{}", a.body);
    let a = w.get(&s, "/subjects/S-DEMO-0001?as_of=yesterday");
    assert_eq!(a.status, 400);
}

#[test]
fn a_complaint_may_name_only_events_the_filer_may_know_and_only_oversight_handles_it() {
    let w = Web::start();
    let jail = w.sign_in("O-TX-ANG-0001");
    let csrf = w.csrf(&jail);
    // Event 3465 is S-DEMO-0001's handoff (San Diego): not the Angelina jail's to know.
    let file = |s: &str, csrf: &str, events: &str| {
        w.post(
            s,
            "/forms/complaint",
            &[("events", events), ("text", "synthetic complaint"), ("action", "record"), ("csrf", csrf)],
        )
    };
    let a = file(&jail, &csrf, "3465");
    assert!(a.body.contains("no event &quot;3465&quot; is visible to you"), "{}", a.body);
    let a = file(&jail, &csrf, "99999999");
    assert!(a.body.contains("no event &quot;99999999&quot; is visible to you"), "{}", a.body);
    // Its own booking (S-DEMO-0002, event 3466) it may complain of; then only oversight
    // assigns it, and the jail sees its own complaint.
    let a = file(&jail, &csrf, "3466, 3466");
    assert!(a.body.contains("<strong>Recorded</strong>"), "{}", a.body);
    let id = a.body.split("/complaints/").nth(1).map(|r| r[..r.find('"').unwrap()].to_string());
    let list = w.get(&jail, "/complaints");
    let id = id.unwrap_or_else(|| {
        let at = list.body.find("href=\"/complaints/").unwrap() + 18;
        list.body[at..at + list.body[at..].find('"').unwrap()].to_string()
    });
    let a = w.post(
        &jail,
        "/forms/complaint-assignment",
        &[("complaint", &id), ("assignee", "me"), ("action", "record"), ("csrf", &csrf)],
    );
    assert!(a.body.contains("this request needs one of the roles: oversight"), "{}", a.body);
    let o = w.sign_in("oversight-crcl");
    let oc = w.csrf(&o);
    let a = w.post(
        &o,
        "/forms/complaint-resolution",
        &[("complaint", &id), ("outcome", "unfounded"), ("resolution", "r"), ("action", "record"), ("csrf", &oc)],
    );
    assert!(a.body.contains("a complaint is assigned before it is resolved"), "{}", a.body);
    let a = w.post(
        &o,
        "/forms/complaint-assignment",
        &[("complaint", &id), ("assignee", "Investigator"), ("action", "record"), ("csrf", &oc)],
    );
    assert!(a.body.contains("<strong>Recorded</strong>"), "{}", a.body);
    // Another agency: the same 404 as no complaint at all.
    let other = w.sign_in("O-FL-COL-0001");
    assert_eq!(w.get(&other, &format!("/complaints/{id}")).status, 404);
    assert_eq!(w.get(&other, "/complaints/C-NONE").status, 404);
}

#[test]
fn a_principal_removed_by_a_tokens_reload_loses_its_sessions_at_once() {
    let w = Web::start();
    let s = w.sign_in("O-USBP-0001");
    assert_eq!(w.get(&s, "/").status, 200);
    let kept: Vec<_> = api::auth::demo_principals()
        .into_iter()
        .filter(|p| p.id != "O-USBP-0001")
        .map(|p| api::auth::issue(p).1)
        .collect();
    w.server.as_ref().unwrap().reload_tokens(api::auth::Tokens::new(kept).unwrap()).unwrap();
    let a = w.get(&s, "/");
    assert_eq!((a.status, a.headers["location"].as_str()), (303, "/login?next=/"));
}

#[test]
fn only_a_demo_server_lets_one_sign_in_by_picking_a_principal() {
    let w = Web::start_as(false);
    let page = w.get("", "/login");
    assert!(!page.body.contains("name=\"principal\""), "{}", page.body);
    assert_eq!(w.post("", "/login", &[("principal", "O-USBP-0001")]).status, 401);
    // A token still signs in.
    let (token, entry) = api::auth::issue(api::auth::demo_principals().remove(0));
    let mut entries = vec![entry];
    entries.extend(api::auth::demo_principals().into_iter().skip(1).map(|p| api::auth::issue(p).1));
    w.server.as_ref().unwrap().reload_tokens(api::auth::Tokens::new(entries).unwrap()).unwrap();
    let a = w.post("", "/login", &[("token", &token)]);
    assert_eq!(a.status, 303, "{}", a.body);
}

#[test]
fn asking_the_law_decides_a_case_with_the_officers_designations_and_refuses_bad_facts() {
    let w = Web::start();
    let s = w.sign_in("O-TX-ANG-0001");
    let ask = |q: &str| {
        w.get(&s, &format!("/law?agency_kind=cbp_border_patrol&role=border_patrol_agent&action=field_stop&when=2026-03-04T15%3A00&facts=suspicion_factors+%3D+%5B%22recent_illegal_crossings_in_area%22%5D{q}"))
    };
    let a = ask("&lat=32.79&lon=-116.96");
    assert!(a.body.contains("<strong>Permitted</strong>"), "{}", a.body);
    assert!(a.body.contains("San Diego, CA (county 06073), time zone America/Los_Angeles"), "{}", a.body);
    let a = ask("&lat=32.79&lon=-116.96&designations=none");
    assert!(a.body.contains("<strong>Not permitted</strong>") && a.body.contains("R1-no-authority"), "{}", a.body);
    let a = ask("&lat=200&lon=-116.96");
    assert!(a.body.contains("latitude: &quot;200&quot; is not a number from -90 to 90"), "{}", a.body);
    let a = ask("&lat=31.7&lon=-106.5&state=CA");
    assert!(
        a.body.contains("The case cannot be decided"),
        "a stated jurisdiction that contradicts the place: {}",
        a.body
    );
    // Asking records nothing.
    let before = w.events();
    ask("&lat=32.79&lon=-116.96");
    assert_eq!(w.events(), before);
}

#[test]
fn pages_are_counted_in_the_servers_metrics() {
    let w = Web::start();
    let s = w.sign_in("O-USBP-0001");
    w.get(&s, "/forms/subject");
    let m = w.get("", "/metrics").body;
    assert!(m.contains(r#"route="/forms/{workflow}""#), "{m}");
}

#[test]
fn the_planner_runs_a_what_if_records_nothing_and_refuses_out_of_bounds_values() {
    let w = Web::start();
    let s = w.sign_in("O-TX-ANG-0001");
    let before = w.events();
    let a = w.get(&s, "/planner?scenario=baseline-fy2024&runs=2&beds=60000");
    assert_eq!(a.status, 200);
    assert!(a.body.contains("used over the last 90 days"), "the binding constraint: {}", a.body);
    assert_eq!(a.body.matches("<svg").count() - a.body.matches("class=\"map").count(), 2, "two charts");
    assert!(a.body.contains("id=\"planner-table\""));
    assert!(a.body.contains("value=\"60000\""), "the slider keeps the plan's value");
    assert_eq!(w.events(), before, "planning writes nothing");
    for (q, says) in [
        ("scenario=seeds-2025&beds=1", "Detention beds: &quot;1&quot; is not a number from 20000 to 150000"),
        ("scenario=seeds-2025&runs=11", "runs: &quot;11&quot; is not a whole number from 1 to 10"),
        ("scenario=nope", "scenario &quot;nope&quot; is not one of the bundled scenarios"),
        ("scenario=seeds-2025&ero_officers=NaN", "ERO deportation officers: &quot;NaN&quot;"),
    ] {
        let a = w.get(&s, &format!("/planner?{q}"));
        assert_eq!(a.status, 200, "{q}");
        assert!(a.body.contains(says), "{q}: {}", a.body);
        assert!(!a.body.contains("planner-table"), "{q}: nothing ran");
    }
    assert_eq!(w.get("", "/planner").status, 303, "signed out: to the sign-in page");
}

/// The public report needs no sign-in: its page, every table's CSV (the same rows as the
/// page), the offline file and the JSON; nothing else under /public.
#[test]
fn the_public_report_is_open_to_anyone_with_its_tables_as_csv() {
    let w = Web::start();
    let a = w.get("", "/public");
    assert_eq!(a.status, 200, "no sign-in needed");
    assert!(a.body.contains("how often CBP hands people to ICE"));
    assert!(a.body.contains("class=\"map"), "the county map");
    assert!(a.body.contains("Methodology"));
    assert!(!a.body.contains("Sign out"), "no navigation for a stranger");
    let csv = w.get("", "/public/book_ins_by_fiscal_year.csv");
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("Fiscal year,CBP,ICE,Total,CBP share\n"), "{}", csv.body);
    assert!(csv.body.contains("FY2024,187298,90615,277913,67.4\n"), "{}", csv.body);
    assert!(a.body.contains("href=\"/public/book_ins_by_fiscal_year.csv\""));
    let json = w.get("", "/public/public.json");
    assert_eq!(json.status, 200);
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(v["id"], "public");
    let html = w.get("", "/public/public.html");
    assert!(html.headers.iter().any(|(k, v)| k == "content-disposition" && v.contains("attachment")));
    assert!(html.body.contains("<style>") && !html.body.contains("<script"), "offline and script-free");
    for path in ["/public/nope.csv", "/public/..%2Fstyle.css", "/public/public.txt"] {
        assert_eq!(w.get("", path).status, 404, "{path}");
    }
    let s = w.sign_in("O-TX-ANG-0001");
    assert!(w.get(&s, "/public").body.contains("Sign out"), "signed in: the page keeps the navigation");
}

/// The ledger report is public too: its page, tables, offline file and checkpoint, and the
/// API's `/v1/reports/ledger`, with no sign-in and no token; it names no person, writes
/// nothing, and refuses a period that is not one.
#[test]
fn the_ledger_report_is_open_to_anyone_names_its_checkpoint_and_no_person() {
    let w = Web::start();
    let before = w.events();
    let q = "?from=2026-03-01&to=2026-04-30";
    let a = w.get("", &format!("/public/ledger{q}"));
    assert_eq!(a.status, 200, "no sign-in needed: {}", a.body);
    assert!(a.body.contains("Handoffs to ICE") && a.body.contains("Methodology"), "{}", a.body);
    assert!(!a.body.contains("S-DEMO") && !a.body.contains("S-SIM"), "no subject ids in a public release");
    let note = w.get("", &format!("/public/ledger/checkpoint.txt{q}"));
    assert_eq!(note.status, 200);
    let size = note.body.lines().nth(1).unwrap();
    let root = note.body.lines().nth(2).unwrap();
    assert!(
        a.body.contains(&format!("checkpoint of {size} events, Merkle root {root}")),
        "the page names its checkpoint"
    );
    let csv = w.get("", &format!("/public/ledger/handoffs_by_month.csv{q}"));
    assert!(csv.body.starts_with("Month,Border Patrol,"), "{}", csv.body);
    assert!(a.body.contains(&format!("href=\"/public/ledger/handoffs_by_month.csv{}\"", q.replace('&', "&amp;"))));
    let json = w.get("", &format!("/public/ledger/ledger.json{q}"));
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(v["id"], "ledger");
    let api = w.get("", &format!("/v1/reports/ledger{q}"));
    assert_eq!(api.status, 200, "no token needed: {}", api.body);
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["checkpoint"], note.body.as_str());
    assert_eq!(v["report"]["id"], "ledger");
    let public = w.get("", "/v1/reports/public");
    assert_eq!(public.status, 200);
    assert!(public.body.contains("\"id\": \"public\""));
    assert_eq!(w.get("", "/public/ledger?from=2026-05-01&to=2026-04-01").status, 422);
    assert_eq!(w.get("", "/public/ledger?from=May").status, 400);
    assert_eq!(w.get("", "/v1/reports/ledger?from=2000-01-01&to=2026-01-01").status, 422, "too long a period");
    assert_eq!(w.get("", &format!("/public/ledger/nope.csv{q}")).status, 404);
    assert_eq!(w.events(), before, "a release writes nothing");
}
