//! Reading the batch input: the company list, then each kept company's file, row by row.
//!
//! Reading a run's input from the source bucket: the companies to keep, then each kept
//! company's file (several fetched ahead, handed over in list order), row by row, into output
//! rows. What cannot be read (a row, a file that is not a company file, an empty file, a missing
//! file) is counted with its place; only a missing company list stops the run.

use std::collections::BTreeMap;

use futures_util::{Stream, StreamExt};

use super::error::BatchError;
use super::layout;
use super::transform::{check_header, parse_row};
use crate::aws::{AwsError, Clients};

/// Company files fetched ahead of the one being read.
const PREFETCH: usize = 8;

/// Most problems kept with their place (all are counted).
const MAX_EXAMPLES: usize = 50;

/// A row or file that could not be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// `s3://bucket/key:line` (or without `:line` for a whole file).
    pub place: String,
    /// Why.
    pub reason: String,
}

/// What a run read.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Rows kept, per company.
    pub per_company: BTreeMap<String, u64>,
    /// Rows that could not be read.
    pub bad_rows: u64,
    /// Files that could not be read (not a company file, empty, missing).
    pub bad_files: u64,
    /// The first problems, with their places.
    pub problems: Vec<Problem>,
}

impl Extracted {
    /// Rows kept in all.
    pub fn rows(&self) -> u64 {
        self.per_company.values().sum()
    }

    fn problem(&mut self, place: String, reason: String) {
        if self.problems.len() < MAX_EXAMPLES {
            self.problems.push(Problem { place, reason });
        }
    }
}

/// The companies `CompanyNames/top_companies.txt` lists (trimmed, blank lines skipped, each
/// once, in file order).
///
/// # Errors
/// The list missing or unreadable: the run cannot go on.
pub async fn company_list(clients: &Clients, bucket: &str) -> Result<Vec<String>, BatchError> {
    let place = format!("s3://{bucket}/{}", layout::COMPANY_LIST);
    let (_, body) = clients
        .get_object(bucket, layout::COMPANY_LIST)
        .await
        .map_err(|e| {
            BatchError::Input(match e.message.contains("NoSuchKey") {
                true => format!("{place} is missing: the run cannot know which companies to keep"),
                false => format!("{place} cannot be read: {}", brief(&e.message)),
            })
        })?;
    let text = String::from_utf8(body).map_err(|_| {
        BatchError::Input(format!(
            "s3://{bucket}/{}: not UTF-8 text",
            layout::COMPANY_LIST
        ))
    })?;
    let mut seen = std::collections::HashSet::new();
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|c| !c.is_empty() && seen.insert(c.to_string()))
        .map(str::to_string)
        .collect())
}

/// Each of `companies` with its file's content (or why it could not be fetched), in order, with
/// up to [`PREFETCH`] fetched ahead.
pub fn files<'a>(
    clients: &'a Clients,
    bucket: &'a str,
    companies: &'a [String],
) -> impl Stream<Item = (&'a String, Result<Vec<u8>, AwsError>)> + 'a {
    futures_util::stream::iter(companies)
        .map(move |company| async move {
            let fetched = clients
                .get_object(bucket, &layout::stock_key(company))
                .await;
            (company, fetched.map(|(_, body)| body))
        })
        .buffered(PREFETCH)
}

impl Extracted {
    /// Reads one company's fetched file: its readable rows appended to `rows` as output rows,
    /// everything else counted with its place.
    pub fn read(
        &mut self,
        bucket: &str,
        company: &str,
        fetched: Result<Vec<u8>, AwsError>,
        rows: &mut Vec<u8>,
    ) {
        let place = format!("s3://{bucket}/{}", layout::stock_key(company));
        match fetched {
            Ok(body) => read_file(company, &place, &body, self, rows),
            Err(e) => {
                self.bad_files += 1;
                let why = match e.message.contains("NoSuchKey") {
                    true => "there is no such file".to_string(),
                    false => brief(&e.message).to_string(),
                };
                self.problem(
                    place,
                    format!("listed in {} but {why}", layout::COMPANY_LIST),
                );
            }
        }
    }
}

/// The first line of an SDK error, at most 200 characters (the rest is the raw response).
fn brief(message: &str) -> &str {
    let line = message.lines().next().unwrap_or_default();
    let end = line.char_indices().nth(200).map_or(line.len(), |(i, _)| i);
    &line[..end]
}

/// One company file: rows into `rows`, counts into `out`.
fn read_file(company: &str, place: &str, body: &[u8], out: &mut Extracted, rows: &mut Vec<u8>) {
    let Ok(text) = std::str::from_utf8(body) else {
        out.bad_files += 1;
        out.problem(
            place.to_string(),
            "not a company file: not UTF-8 text".into(),
        );
        return;
    };
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        out.bad_files += 1;
        out.problem(place.to_string(), "empty file".into());
        return;
    };
    if let Err(reason) = check_header(header) {
        out.bad_files += 1;
        out.problem(place.to_string(), reason);
        return;
    }
    let mut kept = 0;
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_row(line) {
            Ok(bar) => {
                bar.write_output(company, rows);
                kept += 1;
            }
            Err(reason) => {
                out.bad_rows += 1;
                out.problem(format!("{place}:{}", n + 2), reason);
            }
        }
    }
    *out.per_company.entry(company.to_string()).or_default() += kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_and_files_are_counted_with_their_place() {
        let mut out = Extracted::default();
        let mut rows = Vec::new();
        let good = "Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10.5,10.4,100\n\
                    2020-01-03,10,x,9,10.5,10.4,100\n2020-01-06,10,11,9,9.5,9.4,200\n";
        for (company, body) in [
            ("ACME", good.as_bytes()),
            ("NOPE", b"{\"json\": true}".as_slice()),
            ("VOID", b"".as_slice()),
        ] {
            let place = format!("s3://b/Stocks/{company}.csv");
            read_file(company, &place, body, &mut out, &mut rows);
        }
        assert_eq!(String::from_utf8(rows).unwrap().lines().count(), 2);
        assert_eq!(out.rows(), 2);
        assert_eq!(out.bad_rows, 1);
        assert_eq!(out.bad_files, 2);
        assert_eq!(out.problems[0].place, "s3://b/Stocks/ACME.csv:3");
        assert!(out.problems[1].reason.contains("not a company file"));
        assert_eq!(out.problems[2].reason, "empty file");
        assert_eq!(out.per_company.get("NOPE"), None);
    }
}
