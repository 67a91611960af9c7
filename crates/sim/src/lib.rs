//! The capacity simulator: a seeded, person-level discrete-event model of the national
//! pipeline (apprehension or arrest → handoff → detention → removal or release), on
//! Liaison's own law engine, calibrated on ICE's FY2019–FY2024 statistics.
//!
//! Pure: no clock, no I/O. The seed is an argument; the same scenario, inputs and seed give
//! the same bytes, whatever the number of threads. The CLI (`liaison simulate`) reads files,
//! draws the progress bar and writes the outputs.
//!
//! - [`scenario`]: scenario files, parameters with their sources, what-ifs;
//! - [`inputs`]: the public data the model is driven and scored by;
//! - [`law`]: the jail's answer to a detainer, from the law engine;
//! - [`model`]: the engine and its daily invariants;
//! - [`report`]: monthly series with uncertainty, fit against ICE's statistics, the answers;
//! - [`html`]: the report page with its SVG charts;
//! - [`calibrate`]: FY2019–FY2024 parameters derived from the data.

pub mod calibrate;
pub mod html;
pub mod inputs;
pub mod law;
pub mod model;
pub mod report;
pub mod scenario;

pub use inputs::Inputs;
pub use model::{Day, InvariantError, Run};
pub use scenario::{Scenario, ScenarioError};

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The seed of run `i` of a batch seeded with `seed` (SplitMix64 of both, so neighbouring
/// seeds give unrelated streams).
pub fn run_seed(seed: u64, i: u32) -> u64 {
    let mut z = seed ^ (u64::from(i).wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs the scenario `runs` times on up to `threads` threads. Run `i` is seeded with
/// `run_seed(seed, i)` and stored at index `i`, so the result does not depend on the threads.
/// `progress` gets the number of simulated days done across all runs.
pub fn run_many(
    sc: &Scenario,
    inputs: &Inputs,
    jail_law: &law::JailLaw,
    seed: u64,
    runs: u32,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Run>, InvariantError> {
    let next = AtomicUsize::new(0);
    let done = AtomicU32::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<Run, InvariantError>>>> =
        (0..runs).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, runs.max(1) as usize) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= runs as usize {
                        break;
                    }
                    let r = model::run(sc, inputs, jail_law, run_seed(seed, i as u32), &|_| {
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        progress(u64::from(n));
                    });
                    *slots[i].lock().expect("no run panics while holding its slot") = Some(r);
                }
            });
        }
    });
    slots.into_iter().map(|m| m.into_inner().expect("not poisoned").expect("every run index was taken")).collect()
}
