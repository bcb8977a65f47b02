//! Fuzz targets that run on the stable toolchain, inside `cargo test`.
//!
//! Fuzz targets that run on the stable toolchain, inside `cargo test`: each starts from a corpus
//! of valid inputs (shipped scenarios, data files, aggregates, bodies, lake rows), mutates them
//! (bytes, structure tokens, numbers swapped for the edges of every type) for a bounded time,
//! and fails on any panic, saving the input under `tests/fuzz/regressions/<target>/`. Every
//! saved input is replayed first, on every run.
//!
//! `TICKFLOW_FUZZ_SECS` sets the time per target (default 2; CI gives 30), `TICKFLOW_FUZZ_SEED`
//! the random seed (default: the clock; printed, so a run can be repeated).

mod mutate;
mod targets;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Inputs that went deep, kept to mutate further (beyond the seeds).
const MAX_CORPUS: usize = 512;
/// Longest input tried.
const MAX_INPUT: usize = 64 * 1024;

fn regressions(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions")
        .join(target)
}

thread_local! {
    static ATTEMPTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Silences panics inside an attempt (they are caught and reported); others print as usual.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !ATTEMPTING.with(|a| a.get()) {
                default(info);
            }
        }));
    });
}

/// Runs `target` on `data`; the panic message if it panicked.
fn attempt(target: fn(&[u8]) -> bool, data: &[u8]) -> Result<bool, String> {
    ATTEMPTING.with(|a| a.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| target(data)));
    ATTEMPTING.with(|a| a.set(false));
    outcome.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// A fuzz target: its name, the function, its seed inputs, and whether its inputs are TOML
/// (then half the mutations change one value of the document instead of its bytes).
struct Target {
    name: &'static str,
    run: fn(&[u8]) -> bool,
    seeds: Vec<Vec<u8>>,
    toml: bool,
}

fn fuzz(t: Target) {
    let Target {
        name,
        run: target,
        seeds,
        toml,
    } = t;
    quiet_panics();
    let secs: f64 = std::env::var("TICKFLOW_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let seed: u64 = std::env::var("TICKFLOW_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    let mut crashes = Vec::new();
    let dir = regressions(name);
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        replayed += 1;
        if let Err(message) = attempt(target, &data) {
            crashes.push(format!("{}: {message}", entry.path().display()));
        }
    }
    for s in &seeds {
        if let Err(message) = attempt(target, s) {
            crashes.push(format!("a seed input: {message}"));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut corpus = seeds.clone();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let (mut inputs, mut deep) = (0u64, 0u64);
    while Instant::now() < deadline && crashes.len() < 5 {
        let base = corpus.choose(&mut rng).cloned().unwrap_or_default();
        let structured = toml && rng.random_bool(0.5);
        let mut data = structured
            .then(|| mutate::toml_value(&base, &mut rng))
            .flatten()
            .unwrap_or_else(|| mutate::mutate(&base, &corpus, &mut rng));
        data.truncate(MAX_INPUT);
        inputs += 1;
        match attempt(target, &data) {
            Ok(true) => {
                deep += 1;
                if corpus.len() < MAX_CORPUS {
                    corpus.push(data);
                } else {
                    let i = rng.random_range(seeds.len()..MAX_CORPUS);
                    corpus[i] = data;
                }
            }
            Ok(false) => {}
            Err(message) => {
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join(format!("crash-{:x}", Md5::digest(&data)));
                std::fs::write(&file, &data).unwrap();
                crashes.push(format!("{}: {message}", file.display()));
            }
        }
    }
    println!(
        "fuzz {name}: {inputs} inputs in {secs} s ({deep} went deep), {replayed} regression inputs replayed, {} crashes (TICKFLOW_FUZZ_SEED={seed})",
        crashes.len()
    );
    assert!(
        crashes.is_empty(),
        "{name} panicked on:\n{}",
        crashes.join("\n")
    );
}

#[test]
fn scenario_files_validate_and_build_runs() {
    fuzz(Target {
        name: "scenario",
        run: targets::scenario,
        seeds: targets::seeds::scenario(),
        toml: true,
    });
}

#[test]
fn replay_sources_are_read_whole() {
    fuzz(Target {
        name: "replay",
        run: targets::replay,
        seeds: targets::seeds::replay(),
        toml: false,
    });
}

#[test]
fn kpl_records_deaggregate() {
    fuzz(Target {
        name: "kpl",
        run: targets::kpl,
        seeds: targets::seeds::kpl(),
        toml: false,
    });
}

#[test]
fn sqs_envelopes_decode() {
    fuzz(Target {
        name: "envelope",
        run: targets::envelope,
        seeds: targets::seeds::envelope(),
        toml: false,
    });
}

#[test]
fn price_files_read_or_say_why() {
    fuzz(Target {
        name: "price_file",
        run: targets::price_file,
        seeds: targets::seeds::price_file(),
        toml: false,
    });
}

#[test]
fn lake_keys_and_rows_parse() {
    fuzz(Target {
        name: "lake",
        run: targets::lake,
        seeds: targets::seeds::lake(),
        toml: false,
    });
}
