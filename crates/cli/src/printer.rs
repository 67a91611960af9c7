//! All output goes through one printer: a human line or a JSON document, never both.
//! Progress bars go to stderr and only when it is a terminal and `--json` is off.

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::{IsTerminal, Write};

pub struct Printer {
    pub json: bool,
}

impl Printer {
    /// Prints the result of a command.
    pub fn emit(&self, human: &str, json: Value) {
        let mut out = std::io::stdout().lock();
        let text = if self.json { serde_json::to_string_pretty(&json).expect("json") } else { human.to_string() };
        // A closed pipe (e.g. `| head`) is not an error worth a panic.
        let _ = writeln!(out, "{}", text.trim_end());
    }

    /// A line printed as soon as it is true (e.g. an acknowledged import batch), flushed.
    pub fn line(&self, human: &str, json: Value) {
        let mut out = std::io::stdout().lock();
        let text = if self.json { json.to_string() } else { human.to_string() };
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// A value as it is spelled in JSON (`allow_with_flags`, not `AllowWithFlags`): enums print
    /// the way people write them in requests, scenarios and flags.
    pub fn name<T: serde::Serialize>(v: &T) -> String {
        match serde_json::to_value(v) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(_) => String::new(),
        }
    }

    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.json || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("{msg:12} {bar:40} {pos}/{len} ({per_sec}, {eta})").expect("template"),
        );
        bar.set_message(what.to_string());
        bar
    }
}
