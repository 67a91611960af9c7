//! The public-data report: what ICE and CBP already publish, put together to answer "how
//! often does Border Patrol hand people to ICE?", "what do 287(g) partners do and how fast is
//! the program growing?" and "where are people held?", each figure naming its file and
//! table, and a methodology that says what each series cannot show.
//!
//! These are published aggregates of real data, so nothing is suppressed here; the ledger
//! report ([`crate::ledger`]) is where counts of people Liaison itself holds are protected.

use crate::map;
use crate::report::{Cell, Chart, Note, Report, Section, Series, Table, thousands};
use reference::ReferenceError;
use reference::stats::{self, AgreementRow, AorOffice, BookOuts, Facility, IceStats, Month, UsbpEncounters};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the public report reads.
pub struct PublicInputs {
    pub ice: IceStats,
    pub usbp: UsbpEncounters,
    pub facilities: Vec<Facility>,
    pub aors: Vec<AorOffice>,
    /// The two 287(g) snapshots, earlier first: (publication date, rows, file name).
    pub snapshots: [(&'static str, Vec<AgreementRow>); 2],
    pub book_outs: Vec<BookOuts>,
}

impl PublicInputs {
    /// The copies in `reference/`.
    pub fn bundled() -> Result<PublicInputs, ReferenceError> {
        let aors = stats::aor_offices()?;
        let codes: Vec<&str> = aors.iter().map(|a| a.code.as_str()).collect();
        Ok(PublicInputs {
            ice: IceStats::bundled()?,
            usbp: UsbpEncounters::bundled()?,
            facilities: stats::facilities(stats::ICE_DETENTION_FACILITIES_CSV, &codes)?,
            snapshots: stats::agreement_snapshots()?,
            book_outs: stats::book_outs(stats::ICE_BOOK_OUTS_BY_REASON_CSV)?,
            aors,
        })
    }
}

const MONTHLY: &str = "reference/ice_detention_monthly.csv";
const FACILITIES: &str = "reference/ice_detention_facilities.csv";
const ENCOUNTERS: &str = "reference/cbp_usbp_encounters_monthly_by_sector.csv";
const BOOK_OUTS: &str = "reference/ice_final_book_outs_by_reason.csv";

fn count(v: Option<f64>) -> Cell {
    v.map_or(Cell::Missing, |v| Cell::Count(v.round() as u64))
}

fn share(part: Option<f64>, whole: Option<f64>) -> Cell {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0.0 => Cell::Percent(100.0 * p / w),
        _ => Cell::Missing,
    }
}

/// The workbook tables a metric's figures came from, one per fiscal year.
fn sources(ice: &IceStats, metric: &str) -> String {
    let mut by_table: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((m, fy), s) in &ice.sources {
        if m == metric {
            by_table.entry(&s.file).or_default().push(format!("FY{fy} \"{}\"", s.table));
        }
    }
    let files: Vec<String> = by_table.iter().map(|(f, t)| format!("{f} ({})", t.join("; "))).collect();
    format!("{MONTHLY}, from ICE's detention statistics workbooks: {}", files.join(", "))
}

pub fn report(inp: &PublicInputs) -> Report {
    let mut summary = Vec::new();
    let mut methodology = vec![Note {
        heading: "What this report is".into(),
        text: "Figures ICE and CBP published, copied unmodified into Liaison's reference/ folder (see \
               reference/PROVENANCE.md for each file's origin, hash and licence) and tabulated here without \
               adjustment. They are published aggregates, so no cell is suppressed; counts of people that \
               Liaison itself records are in the ledger report, under small-cell suppression."
            .into(),
    }];
    let sections = vec![
        book_ins(inp, &mut summary, &mut methodology),
        detention(inp, &mut summary, &mut methodology),
        book_outs(inp, &mut summary, &mut methodology),
        agreements(inp, &mut summary, &mut methodology),
        encounters(inp, &mut summary, &mut methodology),
        facilities(inp, &mut summary, &mut methodology),
    ];
    Report {
        id: "public".into(),
        title: "Immigration enforcement coordination: the public record".into(),
        computed_from: vec![
            format!("{MONTHLY}: ICE detention statistics FY2019–FY2024 (year-end workbooks)"),
            format!("{FACILITIES}: ICE's facility lists FY2019–FY2024"),
            format!("{BOOK_OUTS}: ICE final book-outs by release reason FY2023–FY2024 (transcribed)"),
            format!(
                "reference/ice_287g_participating_agencies_{}pm.csv and _{}am.csv: ICE's 287(g) sheets",
                inp.snapshots[0].0, inp.snapshots[1].0
            ),
            format!("{ENCOUNTERS}: DHS OHSS Border Patrol encounters by sector and month"),
        ],
        summary,
        sections,
        methodology,
    }
}

fn book_ins(inp: &PublicInputs, summary: &mut Vec<String>, notes: &mut Vec<Note>) -> Section {
    use stats::Agency::{Cbp, Ice};
    let ice = &inp.ice;
    let months: Vec<Month> =
        ice.months().into_iter().filter(|m| ice.month("initial_book_ins", *m, None).is_some()).collect();
    let get = |m: Month, a| ice.month("initial_book_ins", m, a);
    let rows = months
        .iter()
        .map(|&m| {
            let partial = ice.partial.contains(&("initial_book_ins".to_string(), m));
            vec![
                Cell::text(m.to_string()),
                Cell::text(format!("FY{}", m.fiscal_year())),
                count(get(m, Some(Cbp))),
                count(get(m, Some(Ice))),
                count(get(m, None)),
                share(get(m, Some(Cbp)), get(m, None)),
                Cell::text(if partial { "partial" } else { "complete" }),
            ]
        })
        .collect();
    let fys: BTreeSet<i16> = months.iter().map(|m| m.fiscal_year()).collect();
    let fy = |y: i16, a| ice.fy("initial_book_ins", y, a, None);
    let fy_rows: Vec<Vec<Cell>> = fys
        .iter()
        .map(|&y| {
            vec![
                Cell::text(format!("FY{y}")),
                count(fy(y, Some(Cbp))),
                count(fy(y, Some(Ice))),
                count(fy(y, None)),
                share(fy(y, Some(Cbp)), fy(y, None)),
            ]
        })
        .collect();
    if let (Some(&last), Some(&first)) = (fys.last(), fys.first())
        && let (Some(c), Some(t), Some(c0), Some(t0)) =
            (fy(last, Some(Cbp)), fy(last, None), fy(first, Some(Cbp)), fy(first, None))
    {
        summary.push(format!(
            "In FY{last} ICE booked {} people into detention for the first time; {} ({:.1}%) had been \
             arrested by CBP (Border Patrol or the Office of Field Operations), against {:.1}% in FY{first}.",
            thousands(t as u64),
            thousands(c as u64),
            100.0 * c / t,
            100.0 * c0 / t0
        ));
    }
    let partial: Vec<String> = ice
        .partial
        .iter()
        .filter(|(m, _)| m == "initial_book_ins")
        .map(|(_, mo)| {
            let through =
                ice.sources.get(&("initial_book_ins".into(), mo.fiscal_year())).map(|s| s.data_through.clone());
            format!("{mo} (data through {})", through.unwrap_or_default())
        })
        .collect();
    notes.push(Note {
        heading: "Initial book-ins and the CBP share".into(),
        text: format!(
            "An initial book-in is a person's first book-in into ICE detention in a stay (OHSS's definition); \
             transfers between facilities are not counted again. The arresting agency is the agency of the \
             arrest that led to it: CBP (Border Patrol and the Office of Field Operations together; ICE's \
             statistics do not separate them) or ICE. The CBP share is therefore how often people ICE detains \
             came from CBP, not how many Border Patrol apprehensions were handed to ICE: people CBP released, \
             returned or expelled never reach these tables. Months ICE published before they ended are marked \
             partial: {}. Each fiscal year comes from a different workbook edition (ICE revises figures and \
             re-posts files under the same name); the year-end edition is used.",
            if partial.is_empty() { "none".into() } else { partial.join(", ") }
        ),
    });
    let src = sources(ice, "initial_book_ins");
    Section {
        id: "book-ins".into(),
        title: "Initial book-ins by arresting agency: how often CBP hands people to ICE".into(),
        text: "People booked into ICE detention each month, by the agency that arrested them, and the share \
               arrested by CBP."
            .into(),
        charts: vec![Chart::Lines {
            title: "ICE initial book-ins per month by arresting agency, FY2019–FY2024".into(),
            unit: "people".into(),
            x: months.iter().map(Month::to_string).collect(),
            series: [("CBP", Some(Cbp)), ("ICE", Some(Ice)), ("Total", None)]
                .iter()
                .map(|(n, a)| Series { name: (*n).into(), values: months.iter().map(|&m| get(m, *a)).collect() })
                .collect(),
        }],
        tables: vec![
            Table {
                id: "book_ins_by_fiscal_year".into(),
                title: "Initial book-ins by arresting agency and fiscal year".into(),
                source: src.clone(),
                columns: ["Fiscal year", "CBP", "ICE", "Total", "CBP share"].map(String::from).to_vec(),
                rows: fy_rows,
                folded: false,
            },
            Table {
                id: "book_ins_by_month".into(),
                title: "Initial book-ins by arresting agency and month".into(),
                source: src,
                columns: ["Month", "Fiscal year", "CBP", "ICE", "Total", "CBP share", "Month complete"]
                    .map(String::from)
                    .to_vec(),
                rows,
                folded: true,
            },
        ],
    }
}

fn detention(inp: &PublicInputs, summary: &mut Vec<String>, notes: &mut Vec<Note>) -> Section {
    use stats::Agency::{Cbp, Ice};
    let ice = &inp.ice;
    let months: Vec<Month> = ice.months().into_iter().filter(|m| ice.month("adp", *m, None).is_some()).collect();
    let fys: BTreeSet<i16> = months.iter().map(|m| m.fiscal_year()).collect();
    let num = |v: Option<f64>, d| v.map_or(Cell::Missing, |v| Cell::Number(v, d));
    let rows: Vec<Vec<Cell>> = fys
        .iter()
        .map(|&y| {
            let mut row = vec![Cell::text(format!("FY{y}"))];
            for a in [Some(Cbp), Some(Ice), None] {
                row.push(num(ice.fy("adp", y, a, None), 0));
            }
            for a in [Some(Cbp), Some(Ice), None] {
                row.push(num(ice.fy("alos_days", y, a, None), 1));
            }
            row
        })
        .collect();
    if let Some(&y) = fys.last()
        && let (Some(adp), Some(c), Some(i)) = (
            ice.fy("adp", y, None, None),
            ice.fy("alos_days", y, Some(Cbp), None),
            ice.fy("alos_days", y, Some(Ice), None),
        )
    {
        summary.push(format!(
            "ICE held {} people on an average day in FY{y}; people arrested by CBP stayed {c:.1} days on \
             average, people arrested by ICE {i:.1}.",
            thousands(adp.round() as u64)
        ));
    }
    notes.push(Note {
        heading: "Average daily population and length of stay".into(),
        text: "ADP is ICE's average daily population over the period; ALOS is ICE's average length of stay, \
               computed over people booked out in the period (a stay still running is not in it), so ALOS lags \
               changes in practice. FY2019 splits ADP by criminality as \"Non-Criminal\"; from FY2020 ICE splits \
               it three ways (Convicted Criminal, Pending Criminal Charges, Other Immigration Violator): the \
               criminality series are not comparable across that break, and this report shows totals by agency \
               only. ICE folded its jail-arrest categories together in mid-2025; that break falls after the \
               FY2019–FY2024 window shipped here."
            .into(),
    });
    Section {
        id: "detention".into(),
        title: "Detention: average daily population and length of stay by arresting agency".into(),
        text: "How many people ICE held on an average day, by who arrested them, and how long they stayed.".into(),
        charts: vec![Chart::Lines {
            title: "ICE average daily population by arresting agency".into(),
            unit: "people on an average day".into(),
            x: months.iter().map(Month::to_string).collect(),
            series: [("CBP", Some(Cbp)), ("ICE", Some(Ice)), ("Total", None)]
                .iter()
                .map(|(n, a)| Series {
                    name: (*n).into(),
                    values: months.iter().map(|&m| ice.month("adp", m, *a)).collect(),
                })
                .collect(),
        }],
        tables: vec![Table {
            id: "detention_by_fiscal_year".into(),
            title: "ADP and ALOS (days) by arresting agency and fiscal year".into(),
            source: format!("{}; {}", sources(ice, "adp"), sources(ice, "alos_days")),
            columns: ["Fiscal year", "ADP CBP", "ADP ICE", "ADP Total", "ALOS CBP", "ALOS ICE", "ALOS Total"]
                .map(String::from)
                .to_vec(),
            rows,
            folded: false,
        }],
    }
}

fn book_outs(inp: &PublicInputs, summary: &mut Vec<String>, notes: &mut Vec<Note>) -> Section {
    let years: BTreeSet<i16> = inp.book_outs.iter().map(|b| b.fiscal_year).collect();
    let reasons: Vec<String> = {
        let mut seen = Vec::new();
        for b in &inp.book_outs {
            if !seen.contains(&b.reason) {
                seen.push(b.reason.clone());
            }
        }
        seen
    };
    let get = |y: i16, r: &str| inp.book_outs.iter().find(|b| b.fiscal_year == y && b.reason == r).map(|b| b.value);
    let rows = reasons
        .iter()
        .map(|r| {
            let mut row = vec![Cell::text(r.clone())];
            row.extend(years.iter().map(|&y| get(y, r).map_or(Cell::Missing, Cell::Count)));
            row
        })
        .collect();
    let releases = |y: i16| reasons.iter().filter(|r| !r.starts_with("Total")).filter_map(|r| get(y, r)).sum::<u64>();
    if let Some(&y) = years.last()
        && let Some(t) = get(y, "Total final book-outs")
    {
        summary.push(format!(
            "Of ICE's {} final book-outs in FY{y}, {} ({:.0}%) were releases (bond, recognizance, \
             supervision, parole); the rest were removals and other exits.",
            thousands(t),
            thousands(releases(y)),
            100.0 * releases(y) as f64 / t as f64
        ));
    }
    notes.push(Note {
        heading: "Book-outs by reason".into(),
        text: "ICE's \"Final Book Outs by Release Reason\" table is not in the monthly file Liaison ships; its \
               FY2023 and FY2024 totals are transcribed (reference/ice_final_book_outs_by_reason.csv). \
               \"Bonded Out\" adds bond set by ICE and by an immigration judge. The table's definition changed \
               between the years: FY2023's total appears to count only releases, so no FY2023 removal share \
               can be computed from it."
            .into(),
    });
    Section {
        id: "book-outs".into(),
        title: "Book-outs by release reason".into(),
        text: "How people left ICE detention, by ICE's release reasons.".into(),
        charts: vec![Chart::Bars {
            title: "ICE releases by reason".into(),
            unit: "people".into(),
            labels: years.iter().map(|y| format!("FY{y}")).collect(),
            series: reasons
                .iter()
                .filter(|r| !r.starts_with("Total"))
                .map(|r| Series {
                    name: r.clone(),
                    values: years.iter().map(|&y| get(y, r).map(|v| v as f64)).collect(),
                })
                .collect(),
        }],
        tables: vec![Table {
            id: "book_outs_by_reason".into(),
            title: "Final book-outs by release reason and fiscal year".into(),
            source: format!(
                "{BOOK_OUTS} ({})",
                inp.book_outs.first().map(|b| b.source.as_str()).unwrap_or("ICE detention statistics")
            ),
            columns: std::iter::once("Release reason".to_string())
                .chain(years.iter().map(|y| format!("FY{y}")))
                .collect(),
            rows,
            folded: false,
        }],
    }
}

/// An agreement's identity across snapshots: state, the agency's name as printed (trimmed,
/// case and inner spaces folded), and the model.
fn key(r: &AgreementRow) -> (String, String, &'static str) {
    let name = r.agency.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    (r.state.to_string(), name, r.model.code())
}

fn agreements(inp: &PublicInputs, summary: &mut Vec<String>, notes: &mut Vec<Note>) -> Section {
    const MODELS: [&str; 3] = ["JEM", "TFM", "WSO"];
    let [(d0, old), (d1, new)] = &inp.snapshots;
    let keys = |rows: &[AgreementRow]| rows.iter().map(key).collect::<BTreeSet<_>>();
    let (k0, k1) = (keys(old), keys(new));
    let agencies = |rows: &[AgreementRow]| {
        let mut m: BTreeMap<(String, String), BTreeSet<&'static str>> = BTreeMap::new();
        for r in rows {
            let (s, n, model) = key(r);
            m.entry((s, n)).or_default().insert(model);
        }
        m
    };
    let (a0, a1) = (agencies(old), agencies(new));
    let states: BTreeSet<String> = k0.iter().chain(&k1).map(|k| k.0.clone()).collect();
    let mut rows = Vec::new();
    let mut totals = [0u64; 11];
    for st in &states {
        let n = |ks: &BTreeSet<(String, String, &str)>, model: Option<&str>| {
            ks.iter().filter(|k| &k.0 == st && model.is_none_or(|m| k.2 == m)).count() as u64
        };
        let added = k1.iter().filter(|k| &k.0 == st && !k0.contains(*k)).count() as u64;
        let ended = k0.iter().filter(|k| &k.0 == st && !k1.contains(*k)).count() as u64;
        let changed =
            a1.iter().filter(|((s, n), m)| s == st && a0.get(&(s.clone(), n.clone())).is_some_and(|o| o != *m)).count()
                as u64;
        let mut v: Vec<u64> = MODELS.iter().map(|m| n(&k0, Some(m))).collect();
        v.push(n(&k0, None));
        v.extend(MODELS.iter().map(|m| n(&k1, Some(m))));
        v.push(n(&k1, None));
        v.extend([added, ended, changed]);
        for (t, x) in totals.iter_mut().zip(&v) {
            *t += x;
        }
        let mut row = vec![Cell::text(st.clone())];
        row.extend(v.into_iter().map(Cell::Count));
        rows.push(row);
    }
    let mut total_row = vec![Cell::text("Total")];
    total_row.extend(totals.iter().map(|&t| Cell::Count(t)));
    rows.push(total_row);
    summary.push(format!(
        "ICE's 287(g) sheet listed {} agreements on {d1} against {} on {d0}: {} new, {} no longer listed, and \
         {} agencies whose models changed.",
        totals[7], totals[3], totals[8], totals[9], totals[10]
    ));
    let by_state: BTreeMap<String, u32> =
        states.iter().map(|s| (s.clone(), k1.iter().filter(|k| &k.0 == s).count() as u32)).collect();
    let mut by_county: BTreeMap<String, u32> = BTreeMap::new();
    let mut unplaced = 0;
    for r in new {
        match r.county.as_deref().and_then(|c| map::county_fips(r.state, c)) {
            Some(f) => *by_county.entry(f.to_string()).or_default() += 1,
            None => unplaced += 1,
        }
    }
    let typos: Vec<String> =
        old.iter().chain(new).filter(|r| r.signed.is_none()).map(|r| format!("{:?}", r.signed_text)).collect();
    notes.push(Note {
        heading: "287(g) agreements and their growth".into(),
        text: format!(
            "ICE's sheet lists the agreements in force when it is published; one published on {d0} ({} rows) and \
             one on {d1} ({} rows) are compared. An agreement is matched across them by state, agency name as \
             printed and model, so a renamed agency counts as one ended and one new; agreements signed and ended \
             between the two are in neither; \"no longer listed\" is not proof of termination. The county map \
             places {} of the {} rows of {d1} by their COUNTY cell and the Census county names; {unplaced} rows \
             (mostly municipal and state agencies, printed #N/A) are counted by state only. Signing dates ICE \
             typed in a form that cannot be read are kept as printed: {}.",
            old.len(),
            new.len(),
            new.len() - unplaced,
            new.len(),
            if typos.is_empty() { "none".into() } else { typos.join(", ") }
        ),
    });
    let mut columns = vec!["State".to_string()];
    for d in [d0, d1] {
        columns.extend(MODELS.iter().map(|m| format!("{m} {d}")));
        columns.push(format!("Total {d}"));
    }
    columns.extend(["New", "No longer listed", "Model changes"].map(String::from));
    Section {
        id: "agreements-287g".into(),
        title: "287(g) agreements by state, county and model, and their growth".into(),
        text: format!(
            "Agreements between ICE and state and local agencies under INA §287(g), 8 U.S.C. §1357(g): the Jail \
             Enforcement Model (JEM), the Task Force Model (TFM) and Warrant Service Officers (WSO), as ICE \
             listed them on {d0} and {d1}."
        ),
        charts: vec![
            Chart::Map {
                title: format!("287(g) agreements by state, {d1}"),
                unit: "agreements".into(),
                by_county: false,
                values: by_state,
            },
            Chart::Map {
                title: format!("287(g) agreements by county, {d1}"),
                unit: "agreements".into(),
                by_county: true,
                values: by_county,
            },
            Chart::Bars {
                title: "287(g) agreements by model in each snapshot".into(),
                unit: "agreements".into(),
                labels: vec![d0.to_string(), d1.to_string()],
                series: MODELS
                    .iter()
                    .enumerate()
                    .map(|(i, m)| Series {
                        name: (*m).into(),
                        values: vec![Some(totals[i] as f64), Some(totals[4 + i] as f64)],
                    })
                    .collect(),
            },
        ],
        tables: vec![Table {
            id: "agreements_287g_by_state".into(),
            title: "287(g) agreements by state and model in each snapshot, and the change".into(),
            source: format!(
                "reference/ice_287g_participating_agencies_{d0}pm.csv and reference/ice_287g_participating_agencies_{d1}am.csv (ICE's 287(g) participating agencies sheets)"
            ),
            columns,
            rows,
            folded: false,
        }],
    }
}

fn encounters(inp: &PublicInputs, summary: &mut Vec<String>, notes: &mut Vec<Note>) -> Section {
    let u = &inp.usbp;
    let months: Vec<Month> = u.by_month.keys().copied().collect();
    let national: Vec<Option<f64>> =
        months.iter().map(|m| Some(u.by_month[m].values().map(|&v| v as f64).sum())).collect();
    let fys: BTreeSet<i16> = months.iter().map(|m| m.fiscal_year()).collect();
    let sectors: Vec<String> = u.sector_state.keys().cloned().collect();
    let per = |s: &str, fy: i16| -> u64 {
        months
            .iter()
            .filter(|m| m.fiscal_year() == fy)
            .filter_map(|m| u.by_month[m].get(s))
            .map(|&v| u64::from(v))
            .sum()
    };
    let recent: Vec<i16> = fys.iter().rev().take(6).rev().copied().collect();
    let rows = sectors
        .iter()
        .map(|s| {
            let mut row = vec![Cell::text(s.clone()), Cell::text(u.sector_region.get(s).cloned().unwrap_or_default())];
            row.extend(fys.iter().map(|&fy| Cell::Count(per(s, fy))));
            row
        })
        .collect();
    let last = months.last().copied();
    let complete_fy = |fy: i16| months.iter().filter(|m| m.fiscal_year() == fy).count() == 12;
    let fy_total = |fy: i16| sectors.iter().map(|s| per(s, fy)).sum::<u64>();
    if let [.., a, b] = recent.iter().filter(|&&fy| complete_fy(fy)).copied().collect::<Vec<_>>()[..] {
        summary.push(format!(
            "Border Patrol encounters (apprehensions and expulsions) were {} in FY{a} and {} in FY{b}.",
            thousands(fy_total(a)),
            thousands(fy_total(b))
        ));
    }
    notes.push(Note {
        heading: "Border Patrol encounters".into(),
        text: format!(
            "Border Patrol only (Title 8 apprehensions and Title 42 expulsions); the Office of Field Operations' \
             encounters at ports are not included. OHSS rounds each figure to the nearest 10, so sectors do \
             not add exactly to regions or the nation. The file runs to {}; a fiscal year with fewer than 12 \
             months is partial. An encounter is an event, not a person: one person encountered twice counts twice.",
            last.map(|m| m.to_string()).unwrap_or_default()
        ),
    });
    Section {
        id: "encounters".into(),
        title: "Border Patrol encounters by sector and month".into(),
        text: "Apprehensions and expulsions by Border Patrol, nationwide per month and by sector per fiscal year."
            .into(),
        charts: vec![Chart::Lines {
            title: "Border Patrol encounters per month, nationwide".into(),
            unit: "encounters".into(),
            x: months.iter().map(Month::to_string).collect(),
            series: vec![Series { name: "Nationwide".into(), values: national.clone() }],
        }],
        tables: vec![
            Table {
                id: "encounters_by_sector_and_fiscal_year".into(),
                title: "Border Patrol encounters by sector and fiscal year".into(),
                source: format!("{ENCOUNTERS} (DHS OHSS, KHSM CBP Encounters, sheet \"Monthly Rgn and Sector\")"),
                columns: ["Sector", "Region"]
                    .map(String::from)
                    .into_iter()
                    .chain(fys.iter().map(|fy| format!("FY{fy}{}", if complete_fy(*fy) { "" } else { " (partial)" })))
                    .collect(),
                rows,
                folded: true,
            },
            Table {
                id: "encounters_by_month".into(),
                title: "Border Patrol encounters per month, nationwide".into(),
                source: format!("{ENCOUNTERS} (sum of the sector rows)"),
                columns: vec!["Month".into(), "Encounters".into()],
                rows: months.iter().zip(&national).map(|(m, v)| vec![Cell::text(m.to_string()), count(*v)]).collect(),
                folded: true,
            },
        ],
    }
}

fn facilities(inp: &PublicInputs, summary: &mut Vec<String>, notes: &mut Vec<Note>) -> Section {
    let fy = inp.facilities.iter().map(|f| f.fiscal_year).max().unwrap_or(2024);
    let year: Vec<&Facility> = inp.facilities.iter().filter(|f| f.fiscal_year == fy).collect();
    let unusable = year.iter().filter(|f| f.aor.is_none()).count();
    const SIZES: [(&str, f64, f64); 4] = [
        ("ADP under 10", 0.0, 10.0),
        ("10–99", 10.0, 100.0),
        ("100–499", 100.0, 500.0),
        ("500 or more", 500.0, f64::MAX),
    ];
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    let mut adp_series = Vec::new();
    for AorOffice { code, field_office: office, .. } in &inp.aors {
        let here: Vec<&&Facility> = year.iter().filter(|f| f.aor.as_deref() == Some(code)).collect();
        let adp: f64 = here.iter().map(|f| f.adp_total).sum();
        let mut row = vec![Cell::text(format!("{code} ({office})")), Cell::Count(here.len() as u64)];
        row.extend(SIZES.iter().map(|(_, lo, hi)| {
            Cell::Count(here.iter().filter(|f| f.adp_total >= *lo && f.adp_total < *hi).count() as u64)
        }));
        row.push(Cell::Number(adp, 0));
        rows.push(row);
        labels.push(code.clone());
        adp_series.push(Some(adp));
    }
    let total: f64 = year.iter().map(|f| f.adp_total).sum();
    let biggest = year.iter().max_by(|a, b| a.adp_total.total_cmp(&b.adp_total));
    if let Some(b) = biggest {
        summary.push(format!(
            "ICE's FY{fy} facility list names {} facilities holding {} people on an average day; the \
             largest, {} ({}, {}), held {:.0}.",
            year.len(),
            thousands(total.round() as u64),
            b.name,
            b.city,
            b.state,
            b.adp_total
        ));
    }
    notes.push(Note {
        heading: "Detention facilities".into(),
        text: format!(
            "ICE's facility list covers facilities with at least one person detained when the data were pulled, \
             and leaves out hold rooms, hospitals and other short-stay places, so it undercounts the places \
             people are held. A facility's ADP here is the sum of ICE's four criminality-by-sex columns; ALOS \
             values are kept as printed (some are implausible, e.g. over 1,000 days). {unusable} FY{fy} rows have \
             part of an address where the area of responsibility should be; they count in the totals and the \
             facility table but in no AOR."
        ),
    });
    let list = year
        .iter()
        .map(|f| {
            vec![
                Cell::text(f.name.clone()),
                Cell::text(f.city.clone()),
                Cell::text(f.state.clone()),
                Cell::text(f.aor.clone().unwrap_or_else(|| "(unreadable)".into())),
                Cell::text(f.kind.clone()),
                Cell::Number(f.adp_total, 1),
                f.alos_days.map_or(Cell::Missing, |v| Cell::Number(v, 1)),
            ]
        })
        .collect();
    Section {
        id: "facilities".into(),
        title: format!("Detention facilities by area of responsibility and size, FY{fy}"),
        text: "Where ICE held people: facilities per field office's area of responsibility (AOR), by size.".into(),
        charts: vec![Chart::Bars {
            title: format!("Average daily population by area of responsibility, FY{fy}"),
            unit: "people on an average day".into(),
            labels,
            series: vec![Series { name: "ADP".into(), values: adp_series }],
        }],
        tables: vec![
            Table {
                id: "facilities_by_aor".into(),
                title: format!("Facilities by AOR and size, FY{fy}"),
                source: format!("{FACILITIES} (ICE detention statistics, sheet \"Facilities FY{}\")", fy % 100),
                columns: ["Area of responsibility", "Facilities"]
                    .map(String::from)
                    .into_iter()
                    .chain(SIZES.iter().map(|s| s.0.to_string()))
                    .chain(["ADP".to_string()])
                    .collect(),
                rows,
                folded: false,
            },
            Table {
                id: "facilities".into(),
                title: format!("Every facility on ICE's FY{fy} list"),
                source: format!("{FACILITIES} (ICE detention statistics, sheet \"Facilities FY{}\")", fy % 100),
                columns: ["Facility", "City", "State", "AOR", "Type", "ADP", "ALOS (days)"].map(String::from).to_vec(),
                rows: list,
                folded: true,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell<'a>(t: &'a Table, row: &str, col: &str) -> &'a Cell {
        let c = t.columns.iter().position(|c| c == col).unwrap();
        &t.rows.iter().find(|r| r[0] == Cell::text(row)).unwrap()[c]
    }

    /// The figures ICE printed come through unchanged (PROVENANCE.md's example check).
    #[test]
    fn fy2024_book_ins_match_ices_own_totals() {
        let r = report(&PublicInputs::bundled().unwrap());
        let t = &r.sections[0].tables[0];
        assert_eq!(cell(t, "FY2024", "Total"), &Cell::Count(277_913));
        assert_eq!(cell(t, "FY2024", "CBP"), &Cell::Count(187_298));
        assert_eq!(cell(t, "FY2024", "ICE"), &Cell::Count(90_615));
        assert!(r.summary[0].contains("187,298 (67.4%)"), "{}", r.summary[0]);
    }

    #[test]
    fn the_287g_growth_adds_up() {
        let r = report(&PublicInputs::bundled().unwrap());
        let t = &r.sections.iter().find(|s| s.id == "agreements-287g").unwrap().tables[0];
        let total = t.rows.last().unwrap();
        let n = |i: usize| total[i].value().unwrap();
        // 2025 total + new - no longer listed = 2026 total, matched on (state, agency, model).
        assert_eq!(n(4) + n(9) - n(10), n(8));
        // Rows of the sheet that repeat an agreement key are counted once.
        assert!(n(8) <= 1843.0 && n(8) > 1700.0, "{}", n(8));
    }

    #[test]
    fn every_table_names_its_source_and_every_section_has_a_chart() {
        let r = report(&PublicInputs::bundled().unwrap());
        for s in &r.sections {
            assert!(!s.charts.is_empty(), "{}", s.id);
            for t in &s.tables {
                assert!(t.source.contains("reference/"), "{}: {}", t.id, t.source);
                assert!(t.rows.iter().all(|row| row.len() == t.columns.len()), "{}", t.id);
                let names: BTreeSet<&String> = t.columns.iter().collect();
                assert_eq!(names.len(), t.columns.len(), "{}: a CSV header names each column once", t.id);
            }
        }
        assert!(r.methodology.len() >= 6);
    }
}
