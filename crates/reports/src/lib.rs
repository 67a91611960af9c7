//! Reports for the public: what ICE and CBP publish (`public`), and what the ledger shows
//! (`ledger`), with disclosure control (`suppress`). Pure: every function takes parsed data
//! and returns a [`report::Report`], which `render` writes as one offline HTML file, JSON or
//! CSV; `map` draws the US county map both the reports and the web app use.

pub mod ledger;
pub mod map;
pub mod public;
pub mod render;
pub mod report;
pub mod suppress;

pub use report::{Cell, Chart, Report, Table};
