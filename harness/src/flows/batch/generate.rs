//! The batch flow's input, generated deterministically by seed as the seed's dataset is laid
//! out: one `Date,Open,High,Low,Close,Adj Close,Volume` file per company (daily bars of geometric
//! Brownian motion, trading days only), the list of companies to keep, and the bad input a
//! scenario asks for. Beside the files it keeps what the run must produce (rows per company,
//! a sample of rows to check the derived columns against), computed here, independently of the
//! pipeline.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tickflow_pipeline::batch::layout;

use super::content::{row_text, Content, Contents};

/// Most companies a run may have.
pub const MAX_COMPANIES: u32 = 10_000;
/// Most trading days per company (about 80 years).
pub const MAX_DAYS: u32 = 20_000;

/// `[batch]`: what to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BatchSettings {
    /// Company files.
    pub companies: u32,
    /// Trading days per company (10 years is about 2,520).
    pub days: u32,
    /// The first trading day (`YYYY-MM-DD`).
    pub start: String,
    /// Companies listed in `top_companies.txt` (default: all).
    pub kept: Option<u32>,
    /// Rows made unreadable (a field missing, a date that is not a date, a price that is not a
    /// number), spread over the kept companies.
    pub malformed_rows: u32,
    /// Kept companies whose file is not a CSV at all.
    pub not_csv_files: u32,
    /// Kept companies whose file is empty.
    pub empty_files: u32,
    /// Leave `top_companies.txt` out: the run must fail and leave the table unchanged.
    pub missing_company_list: bool,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            companies: 50,
            days: 2_520,
            start: "2014-01-02".into(),
            kept: None,
            malformed_rows: 0,
            not_csv_files: 0,
            empty_files: 0,
            missing_company_list: false,
        }
    }
}

impl BatchSettings {
    /// Companies listed in `top_companies.txt`.
    pub fn kept(&self) -> u32 {
        self.kept.unwrap_or(self.companies)
    }

    /// Problems, as (dotted key, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push((format!("batch.{key}"), message));
        if !(1..=MAX_COMPANIES).contains(&self.companies) {
            bad("companies", format!("must be within [1, {MAX_COMPANIES}]"));
        }
        if !(1..=MAX_DAYS).contains(&self.days) {
            bad("days", format!("must be within [1, {MAX_DAYS}]"));
        }
        if NaiveDate::parse_from_str(&self.start, "%Y-%m-%d").is_err() {
            bad("start", format!("{:?} is not YYYY-MM-DD", self.start));
        }
        if self.kept() > self.companies {
            bad("kept", format!("at most `companies` ({})", self.companies));
        }
        let bad_files = u64::from(self.not_csv_files) + u64::from(self.empty_files);
        if bad_files > u64::from(self.kept()) {
            bad(
                "not_csv_files",
                "bad files are kept companies: at most `kept` in all".into(),
            );
        }
        let good = u64::from(self.kept()).saturating_sub(bad_files);
        if u64::from(self.malformed_rows) > good * u64::from(self.days) / 2 {
            bad(
                "malformed_rows",
                "at most half the rows of the good kept files".into(),
            );
        }
        problems
    }
}

/// What the run must produce from the generated input.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Company files in the input.
    pub files: u32,
    /// Companies listed to keep.
    pub kept: u32,
    /// Rows per kept, readable company.
    pub per_company: BTreeMap<String, u64>,
    /// Rows made unreadable.
    pub bad_rows: u64,
    /// Files that cannot be read.
    pub bad_files: u64,
    /// Whether the run must fail (no company list).
    pub failure: bool,
    /// What every kept company's rows must hold, column by column (filled as the files are
    /// made or read).
    pub content: Contents,
}

impl Expected {
    /// Rows the table must hold.
    pub fn rows(&self) -> u64 {
        self.per_company.values().sum()
    }
}

/// One object to upload.
pub struct InputFile {
    /// Its key in the source bucket.
    pub key: String,
    /// Its content.
    pub body: Vec<u8>,
}

/// The company names, `CO0001`..., in order.
pub fn company(i: u32) -> String {
    format!("CO{:04}", i + 1)
}

/// Generates the input of `settings` from `seed`: what the run must produce (its content
/// excepted), and the files one at a time (each with what its rows must become in the table),
/// in a deterministic order, so that no run holds its whole input in memory.
pub fn generate(
    settings: &BatchSettings,
    seed: u64,
) -> (Expected, impl Iterator<Item = (InputFile, Contents)>) {
    let days = trading_days(settings);
    let kept = settings.kept();
    // Checked settings keep these within `kept`; saturate anyway.
    let bad_files = settings
        .not_csv_files
        .saturating_add(settings.empty_files)
        .min(kept);
    let good = kept - bad_files;
    let malformed = malformed_rows(settings, good, seed);
    let mut expected = Expected {
        files: settings.companies,
        kept,
        failure: settings.missing_company_list,
        ..Expected::default()
    };
    if !expected.failure {
        expected.bad_rows = malformed.len() as u64;
        expected.bad_files = u64::from(bad_files);
        for i in 0..good {
            let broken = malformed.iter().filter(|(c, _)| *c == i).count() as u64;
            expected
                .per_company
                .insert(company(i), days.len() as u64 - broken);
        }
    }
    let not_csv = settings.not_csv_files;
    let loaded = !expected.failure;
    let companies = (0..settings.companies).map(move |i| {
        let name = company(i);
        let key = layout::stock_key(&name);
        // Kept companies first: the good ones, then the not-CSV ones, then the empty ones.
        let mut contents = Contents::new();
        let body = if i >= good && i < good + not_csv {
            let json = format!("{{\"company\": \"{name}\", \"note\": \"not a CSV file\"}}\n");
            json.into_bytes()
        } else if i >= good + not_csv && i < kept {
            Vec::new()
        } else {
            let broken: BTreeSet<u32> = malformed
                .iter()
                .filter(|(c, _)| *c == i)
                .map(|(_, r)| *r)
                .collect();
            let seed = seed ^ u64::from(i).wrapping_mul(0x9e37);
            let (body, content) = company_file(&name, &days, seed, &broken);
            if loaded && i < good {
                contents.insert(name, content);
            }
            body
        };
        (InputFile { key, body }, contents)
    });
    let list = (!settings.missing_company_list).then(|| {
        let names: String = (0..kept).map(|i| format!("{}\n", company(i))).collect();
        let file = InputFile {
            key: layout::COMPANY_LIST.into(),
            body: names.into_bytes(),
        };
        (file, Contents::new())
    });
    (expected, companies.chain(list))
}

/// The trading days (Monday to Friday) from `start`.
fn trading_days(settings: &BatchSettings) -> Vec<String> {
    let mut day = NaiveDate::parse_from_str(&settings.start, "%Y-%m-%d")
        .unwrap_or(NaiveDate::from_ymd_opt(2014, 1, 2).expect("a valid date"));
    let mut days = Vec::with_capacity(settings.days as usize);
    while days.len() < settings.days as usize {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            days.push(day.format("%Y-%m-%d").to_string());
        }
        day = day.succ_opt().unwrap_or(day);
    }
    days
}

/// Which (company, row) pairs are made unreadable: distinct, drawn from the good companies.
fn malformed_rows(settings: &BatchSettings, good: u32, seed: u64) -> BTreeSet<(u32, u32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d61_6c66);
    let mut picked = BTreeSet::new();
    while picked.len() < settings.malformed_rows as usize && good > 0 {
        picked.insert((
            rng.random_range(0..good),
            rng.random_range(0..settings.days),
        ));
    }
    picked
}

/// One company's file, and what its readable rows must become in the table.
fn company_file(
    name: &str,
    days: &[String],
    seed: u64,
    broken: &BTreeSet<u32>,
) -> (Vec<u8>, Content) {
    use std::io::Write as _;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut close: f64 = rng.random_range(10.0..500.0);
    let mut out = Vec::with_capacity(days.len() * 56);
    let mut content = Content::default();
    let _ = writeln!(out, "{}", layout::CSV_HEADER);
    for (row, date) in days.iter().enumerate() {
        let gap: f64 = rng.random_range(-0.005..0.005);
        let open = round4(close * (1.0 + gap));
        let ret: f64 = rng.random_range(-0.03..0.031);
        let next = round4(open * (1.0 + ret)).max(0.01);
        let high = round4(open.max(next) * (1.0 + rng.random_range(0.0..0.01)));
        let low = round4(open.min(next) * (1.0 - rng.random_range(0.0..0.01))).max(0.0001);
        let volume: u64 = rng.random_range(100_000..10_000_000);
        let adj = next * 0.98;
        close = next;
        if broken.contains(&(row as u32)) {
            let _ = match row % 3 {
                0 => writeln!(
                    out,
                    "{date},{open:.4},{high:.4},{low:.4},{next:.4},{volume}"
                ),
                1 => writeln!(
                    out,
                    "{}/{}/{},{open:.4},{high:.4},{low:.4},{next:.4},{adj:.4},{volume}",
                    &date[8..],
                    &date[5..7],
                    &date[..4]
                ),
                _ => writeln!(
                    out,
                    "{date},{open:.4},{high:.4},{low:.4},n/a,{adj:.4},{volume}"
                ),
            };
            continue;
        }
        let _ = writeln!(
            out,
            "{date},{open:.4},{high:.4},{low:.4},{next:.4},{adj:.4},{volume}"
        );
        // From the text written, as the pipeline reads it.
        let prices = [open, high, low, next].map(|v| format!("{v:.4}"));
        let value = |text: &str| text.parse::<f64>().unwrap_or(f64::NAN);
        let row = row_text(
            name,
            date,
            [&prices[0], &prices[1], &prices[2], &prices[3]],
            &volume.to_string(),
            value(&prices[0]),
            value(&prices[3]),
        );
        content.add(row.as_bytes());
    }
    (out, content)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::batch::transform::{check_header, parse_row};

    fn settings() -> BatchSettings {
        BatchSettings {
            companies: 6,
            days: 300,
            kept: Some(5),
            malformed_rows: 7,
            not_csv_files: 1,
            empty_files: 1,
            ..BatchSettings::default()
        }
    }

    #[test]
    fn the_files_hold_what_expected_says_and_the_same_seed_gives_the_same_files() {
        let (mut expected, files) = generate(&settings(), 3);
        let files: Vec<InputFile> = files
            .map(|(file, contents)| {
                super::super::content::merge(&mut expected.content, contents);
                file
            })
            .collect();
        let again: Vec<InputFile> = generate(&settings(), 3).1.map(|(f, _)| f).collect();
        assert!(files
            .iter()
            .zip(&again)
            .all(|(a, b)| a.key == b.key && a.body == b.body));
        let mut readable = BTreeMap::new();
        let mut bad_rows = 0;
        for file in files.iter().filter(|f| f.key.starts_with(layout::STOCKS)) {
            let text = String::from_utf8(file.body.clone()).unwrap();
            let mut lines = text.lines();
            let Some(header) = lines.next() else { continue };
            if check_header(header).is_err() {
                continue;
            }
            let company = layout::company_of(&file.key).unwrap().to_string();
            let ok = lines.clone().filter(|l| parse_row(l).is_ok()).count() as u64;
            bad_rows += lines.filter(|l| parse_row(l).is_err()).count() as u64;
            readable.insert(company, ok);
        }
        // The sixth company is not kept: the expectation leaves it out, its file is readable.
        readable.remove(&company(5));
        assert_eq!(readable, expected.per_company);
        assert_eq!(bad_rows, 7);
        assert_eq!(expected.bad_files, 2);
        // What the table must hold: every readable row of the kept companies, read back as the
        // pipeline's output would write it.
        let mut table = super::super::content::LineDigest::default();
        for file in files.iter().filter(|f| f.key.starts_with(layout::STOCKS)) {
            let company = layout::company_of(&file.key).unwrap();
            if !expected.per_company.contains_key(company) {
                continue;
            }
            let mut out = Vec::new();
            for bar in String::from_utf8_lossy(&file.body)
                .lines()
                .filter_map(|l| parse_row(l).ok())
            {
                bar.write_output(company, &mut out);
            }
            table.feed(&out);
        }
        assert_eq!(table.finish(), expected.content);
        let list = files
            .iter()
            .find(|f| f.key == layout::COMPANY_LIST)
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&list.body).lines().count(), 5);
    }

    #[test]
    fn impossible_settings_are_refused() {
        let bad = BatchSettings {
            kept: Some(9),
            companies: 3,
            start: "tomorrow".into(),
            ..BatchSettings::default()
        };
        let keys: Vec<String> = bad.check().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["batch.start", "batch.kept"].map(String::from));
    }
}
