//! Reports for the public: what ICE and CBP publish, and what the ledger shows, with
//! disclosure control. Pure: every function takes parsed data (or file text) and returns a
//! [`Report`], which `render` writes as one offline HTML file, JSON or CSV.

pub mod map;
pub mod suppress;
