//! What a report is: sections of charts and tables of the same numbers, each table naming its
//! source, and a methodology. [`crate::render`] writes it as HTML, JSON or CSV.

use crate::suppress::{self, Mark};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `public` or `ledger`: file names and page addresses derive from it.
    pub id: String,
    pub title: String,
    /// What the whole report was computed from (files with their sources, or a checkpoint).
    pub computed_from: Vec<String>,
    /// The headline answers, each a sentence with its numbers.
    pub summary: Vec<String>,
    pub sections: Vec<Section>,
    pub methodology: Vec<Note>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub text: String,
    pub charts: Vec<Chart>,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub heading: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Unique in the report; the CSV file is `<id>.csv`.
    pub id: String,
    pub title: String,
    /// The file and table the numbers come from.
    pub source: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Long tables are folded in the HTML (and always complete in CSV and JSON).
    pub folded: bool,
}

/// Which totals a cross-tab publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Totals {
    /// Each row's cells split the row (one count per case), so rows have a total too.
    RowsAndColumns,
    /// The columns count different things (stages, kinds of act): only they are totalled.
    Columns,
}

impl Table {
    /// A cross-tab of counts of people or acts, with its totals, after small-cell suppression
    /// with complementary suppression ([`suppress`]): what it publishes cannot be
    /// differenced back to a withheld cell. `labels` name the leading text columns.
    pub fn crosstab(
        id: &str,
        title: &str,
        source: &str,
        labels: &[&str],
        columns: &[String],
        rows: Vec<(Vec<String>, Vec<u64>)>,
        totals: Totals,
    ) -> Table {
        let body: Vec<Vec<u64>> = rows.iter().map(|(_, v)| v.clone()).collect();
        let (r, c) = (body.len(), columns.len());
        let grid = match totals {
            Totals::RowsAndColumns => suppress::Grid::table(&body),
            Totals::Columns => suppress::Grid::columns(&body),
        };
        let marks = if r == 0 { vec![Mark::Shown; grid.values.len()] } else { suppress::suppress(&grid) };
        let cell = |k: usize| match marks[k] {
            Mark::Shown => Cell::Count(grid.values[k]),
            m => Cell::Withheld(m),
        };
        let with_total = totals == Totals::RowsAndColumns;
        let mut out = Vec::with_capacity(r + 1);
        for (i, (label, _)) in rows.iter().enumerate() {
            let mut row: Vec<Cell> = label.iter().map(Cell::text).collect();
            row.extend((0..c).map(|j| cell(i * c + j)));
            if with_total {
                row.push(cell(r * c + i));
            }
            out.push(row);
        }
        let mut total: Vec<Cell> = (0..labels.len()).map(|k| Cell::text(if k == 0 { "Total" } else { "" })).collect();
        let col_base = if with_total { r * c + r } else { r * c };
        if r == 0 {
            total.extend((0..c + usize::from(with_total)).map(|_| Cell::Count(0)));
        } else {
            total.extend((0..c).map(|j| cell(col_base + j)));
            if with_total {
                total.push(cell(col_base + c));
            }
        }
        out.push(total);
        let mut header: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        header.extend(columns.iter().cloned());
        if with_total {
            header.push("Total".into());
        }
        Table { id: id.into(), title: title.into(), source: source.into(), columns: header, rows: out, folded: r > 24 }
    }
}

/// One published cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    Text(String),
    Count(u64),
    /// A value with the number of decimals it is shown with.
    Number(f64, u8),
    /// A percentage, 0–100, shown with one decimal.
    Percent(f64),
    /// Withheld by small-cell suppression.
    Withheld(Mark),
    /// No figure exists (not published, or no denominator).
    Missing,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// As shown in a table: counts with thousands separators.
    pub fn shown(&self) -> String {
        match self {
            Cell::Count(n) => thousands(*n),
            _ => self.csv(),
        }
    }

    /// As written to CSV: plain numbers, percentages without the sign, withheld cells marked.
    pub fn csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Number(v, d) => format!("{v:.*}", *d as usize),
            Cell::Percent(p) => format!("{p:.1}"),
            Cell::Withheld(Mark::Primary) => format!("<{}", suppress::THRESHOLD),
            Cell::Withheld(_) => "c".into(),
            Cell::Missing => String::new(),
        }
    }

    /// Its value, for charts; withheld and missing cells have none.
    pub fn value(&self) -> Option<f64> {
        match self {
            Cell::Count(n) => Some(*n as f64),
            Cell::Number(v, _) | Cell::Percent(v) => Some(*v),
            _ => None,
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Chart {
    /// Lines over `x` (months, years).
    Lines { title: String, unit: String, x: Vec<String>, series: Vec<Series> },
    /// Bars per label, stacked when there is more than one series.
    Bars { title: String, unit: String, labels: Vec<String>, series: Vec<Series> },
    /// A US map: values by state (USPS code) or county (5-digit FIPS).
    Map { title: String, unit: String, by_county: bool, values: BTreeMap<String, u32> },
}
