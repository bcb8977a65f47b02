//! The batch flow's input read from a directory of real company files.
//!
//! The batch flow's input replayed from a directory of real company files instead of generated:
//! the seed's layout (`Stocks/*.csv`, `CompanyNames/top_companies.txt`) or a flat folder of
//! `*.csv` files (with `top_companies.txt` beside them, or none: every file's company is kept).
//!
//! What the run must produce is worked out here by reading every file with rules of its own
//! (the seed's header, seven fields, a `YYYY-MM-DD` date, positive prices, a whole volume, a high
//! not below the low), not with the pipeline's parser, so that a parser bug shows as a failed
//! check. A directory the flow cannot take (missing, no company file, a company name the table or
//! an S3 key cannot hold, a value longer than the table's columns) is an error before anything is
//! uploaded, naming the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use tickflow_pipeline::batch::layout;

use super::content::{row_text, Content};
use super::generate::{Expected, InputFile};
use crate::error::{Error, Result};

/// The table's columns are `VARCHAR(56)`.
const COLUMN_WIDTH: usize = 56;
/// Most files a directory may hold (as many as the generator may make).
const MAX_FILES: usize = super::generate::MAX_COMPANIES as usize;

/// A directory of company files, found and checked.
#[derive(Debug, Clone)]
pub struct ReplayDir {
    /// The directory.
    pub root: PathBuf,
    /// Each company and its file, by company.
    files: BTreeMap<String, PathBuf>,
    /// The company list, when the directory has one.
    list: Option<PathBuf>,
}

impl ReplayDir {
    /// Finds the company files and the company list under `root`.
    ///
    /// # Errors
    /// `root` missing or not a directory, no `*.csv` file in it, too many, or a file name that
    /// is not a usable company name.
    pub fn open(root: &Path) -> Result<Self> {
        let input = |what: String| Error::Input(format!("batch replay {}: {what}", root.display()));
        if !root.is_dir() {
            return Err(input("not a directory".into()));
        }
        let stocks = root.join(layout::STOCKS.trim_end_matches('/'));
        let folder = if stocks.is_dir() { stocks } else { root.into() };
        let mut files = BTreeMap::new();
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| input(format!("reading {}: {e}", folder.display())))?;
        for entry in entries {
            let path = entry
                .map_err(|e| input(format!("reading {}: {e}", folder.display())))?
                .path();
            if !path.is_file() || path.extension().is_none_or(|x| x != "csv") {
                continue;
            }
            let company = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            check_company(&company).map_err(|why| input(format!("{}: {why}", path.display())))?;
            files.insert(company, path);
        }
        if files.is_empty() {
            return Err(input(format!(
                "no *.csv company file in {}",
                folder.display()
            )));
        }
        if files.len() > MAX_FILES {
            return Err(input(format!(
                "{} company files, at most {MAX_FILES}",
                files.len()
            )));
        }
        let list = [
            root.join(layout::COMPANY_LIST),
            root.join("top_companies.txt"),
        ]
        .into_iter()
        .find(|p| p.is_file());
        Ok(Self {
            root: root.into(),
            files,
            list,
        })
    }

    /// The companies the run keeps: the list's (trimmed, blank lines skipped, each once), or
    /// every file's when there is no list.
    ///
    /// # Errors
    /// The list unreadable or not UTF-8.
    fn kept(&self) -> Result<Vec<String>> {
        let Some(list) = &self.list else {
            return Ok(self.files.keys().cloned().collect());
        };
        let text = std::fs::read_to_string(list)
            .map_err(|e| Error::Input(format!("{}: {e}", list.display())))?;
        let mut seen = BTreeSet::new();
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|c| !c.is_empty() && seen.insert(*c))
            .map(str::to_string)
            .collect())
    }

    /// What the run must produce from this directory, every file read once.
    ///
    /// # Errors
    /// A file unreadable, or a value the table cannot hold (the load would fail where the
    /// harness cannot predict it): the error names the file and line.
    pub fn expected(&self) -> Result<Expected> {
        let kept = self.kept()?;
        let mut expected = Expected {
            files: self.files.len() as u32,
            kept: kept.len() as u32,
            ..Expected::default()
        };
        for company in &kept {
            let Some(path) = self.files.get(company) else {
                expected.bad_files += 1; // listed, no such file
                continue;
            };
            let body = std::fs::read(path)
                .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
            match read_company(company, &body)
                .map_err(|(line, why)| Error::Input(format!("{}:{line}: {why}", path.display())))?
            {
                None => expected.bad_files += 1,
                Some(file) => {
                    expected.bad_rows += file.bad_rows;
                    expected.per_company.insert(company.clone(), file.good);
                    expected.content.insert(company.clone(), file.content);
                }
            }
        }
        Ok(expected)
    }

    /// The objects to upload, read one at a time: every company file, and the company list
    /// (written from the files when the directory has none).
    pub fn into_files(self) -> impl Iterator<Item = Result<InputFile>> {
        let read = |path: &Path, key: String| {
            std::fs::read(path)
                .map(|body| InputFile { key, body })
                .map_err(|e| Error::Input(format!("{}: {e}", path.display())))
        };
        let list = match &self.list {
            Some(path) => read(path, layout::COMPANY_LIST.into()),
            None => Ok(InputFile {
                key: layout::COMPANY_LIST.into(),
                body: self
                    .files
                    .keys()
                    .flat_map(|c| [c.as_str(), "\n"])
                    .collect::<String>()
                    .into_bytes(),
            }),
        };
        let stocks = self
            .files
            .into_iter()
            .map(move |(company, path)| read(&path, layout::stock_key(&company)));
        stocks.chain(std::iter::once(list))
    }
}

/// A company name is a file stem that an S3 key, the output CSV and the table can all hold.
fn check_company(company: &str) -> std::result::Result<(), String> {
    if company.is_empty() || company.len() > COLUMN_WIDTH {
        return Err(format!(
            "a company name must be 1 to {COLUMN_WIDTH} bytes, {company:?} is not"
        ));
    }
    if company
        .chars()
        .any(|c| c == ',' || c == '"' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "company name {company:?} holds a comma, quote, space or control character"
        ));
    }
    Ok(())
}

/// What one readable company file holds.
#[derive(Debug, PartialEq)]
struct CompanyFile {
    good: u64,
    bad_rows: u64,
    content: Content,
}

/// Reads one company file: `None` when it is not a company file (not UTF-8, empty, another
/// header), else its good and bad rows.
///
/// # Errors
/// `(line, why)`: a good row with a value longer than the table's columns.
fn read_company(
    company: &str,
    body: &[u8],
) -> std::result::Result<Option<CompanyFile>, (usize, String)> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Ok(None);
    };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let header = lines.next().unwrap_or_default();
    if header.trim_start_matches('\u{feff}') != layout::CSV_HEADER {
        return Ok(None);
    }
    let mut file = CompanyFile {
        good: 0,
        bad_rows: 0,
        content: Content::default(),
    };
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some(bar) = bar(line) else {
            file.bad_rows += 1;
            continue;
        };
        if let Some(long) = bar.longest_text().filter(|t| t.len() > COLUMN_WIDTH) {
            let why = format!(
                "{long:?} is longer than the table's VARCHAR({COLUMN_WIDTH}): the load would fail"
            );
            return Err((i + 2, why));
        }
        let [open, high, low, close, volume] = bar.texts;
        let row = row_text(
            company,
            bar.date,
            [open, high, low, close],
            volume,
            bar.open,
            bar.close,
        );
        file.content.add(row.as_bytes());
        file.good += 1;
    }
    Ok(Some(file))
}

/// A row's fields the table stores, and the two prices the derived columns come from.
struct Row<'a> {
    date: &'a str,
    texts: [&'a str; 5],
    open: f64,
    close: f64,
}

impl Row<'_> {
    /// The longest value the row puts in the table, the derived columns as written (`{:.6}`).
    fn longest_text(&self) -> Option<String> {
        let change = self.close - self.open;
        let derived = [
            format!("{:.6}", change / self.open * 100.0),
            format!("{change:.6}"),
        ];
        self.texts
            .iter()
            .map(|t| t.to_string())
            .chain(derived)
            .chain([self.date.to_string()])
            .max_by_key(String::len)
    }
}

/// One data row, when it is a daily bar.
fn bar(line: &str) -> Option<Row<'_>> {
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() != 7 {
        return None;
    }
    let date = fields[0];
    if date.len() != 10 || NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return None;
    }
    let positive = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0);
    let (open, high, low, close) = (
        positive(fields[1])?,
        positive(fields[2])?,
        positive(fields[3])?,
        positive(fields[4])?,
    );
    fields[6].parse::<u64>().ok()?;
    (high >= low).then_some(Row {
        date,
        texts: [fields[1], fields[2], fields[3], fields[4], fields[6]],
        open,
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Date,Open,High,Low,Close,Adj Close,Volume";

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        dir
    }

    #[test]
    fn a_flat_folder_keeps_every_company_and_counts_what_cannot_be_read() {
        let good = format!(
            "{HEADER}\n2020-01-02,10,11,9,10.5,10.4,100\n2020-01-03,10,x,9,10.5,10.4,100\n\n\
             2020-01-06,10,11,9,9.5,9.4,200\r\n2020-02-30,10,11,9,9.5,9.4,200\n"
        );
        let d = dir(&[
            ("ACME.csv", &good),
            ("NOPE.csv", "{\"json\": true}"),
            ("VOID.csv", ""),
            ("notes.txt", "ignored"),
        ]);
        let replay = ReplayDir::open(d.path()).unwrap();
        let expected = replay.expected().unwrap();
        assert_eq!(expected.per_company, BTreeMap::from([("ACME".into(), 2)]));
        assert_eq!((expected.bad_rows, expected.bad_files), (2, 2));
        assert_eq!((expected.files, expected.kept), (3, 3));
        // The rows as the table holds them: the file's text, then the derived values.
        let mut table = Content::default();
        table.add(b"2020-01-02,10,11,9,10.5,100,5.000000,0.500000,ACME");
        table.add(b"2020-01-06,10,11,9,9.5,200,-5.000000,-0.500000,ACME");
        assert_eq!(expected.content, BTreeMap::from([("ACME".into(), table)]));
        let keys: Vec<String> = replay
            .clone()
            .into_files()
            .map(|f| f.unwrap().key)
            .collect();
        assert_eq!(
            keys,
            [
                "Stocks/ACME.csv",
                "Stocks/NOPE.csv",
                "Stocks/VOID.csv",
                "CompanyNames/top_companies.txt"
            ]
        );
        let list = replay.into_files().last().unwrap().unwrap().body;
        assert_eq!(String::from_utf8(list).unwrap(), "ACME\nNOPE\nVOID\n");
    }

    #[test]
    fn the_seed_layout_keeps_the_listed_companies_and_a_listed_missing_file_is_bad() {
        let file = format!("{HEADER}\n2020-01-02,10,11,9,10.5,10.4,100\n");
        let d = dir(&[
            ("Stocks/A.csv", &file),
            ("Stocks/B.csv", &file),
            ("CompanyNames/top_companies.txt", " A \n\nGHOST\nA\n"),
        ]);
        let expected = ReplayDir::open(d.path()).unwrap().expected().unwrap();
        assert_eq!(expected.per_company, BTreeMap::from([("A".into(), 1)]));
        assert_eq!(
            (expected.bad_files, expected.kept, expected.files),
            (1, 2, 2)
        );
    }

    #[test]
    fn the_harness_rules_agree_with_the_pipeline_on_each_kind_of_row() {
        use tickflow_pipeline::batch::transform::parse_row;
        for row in [
            "2020-01-02,100,110,95,105,104.5,123456",
            "2020-01-02,100,110,95,105,104.5",
            "02/01/2020,100,110,95,105,104.5,1",
            "2020-01-02,abc,110,95,105,104.5,1",
            "2020-01-02,0,110,95,105,104.5,1",
            "2020-01-02,100,110,95,NaN,104.5,1",
            "2020-01-02,100,110,95,105,104.5,1.5",
            "2020-01-02,100,90,95,105,104.5,1",
            "2020-01-02,100,110,95,105,,7",
            "2020-02-30,100,110,95,105,104.5,1",
            "2020-1-02,100,110,95,105,104.5,1",
        ] {
            assert_eq!(bar(row).is_some(), parse_row(row).is_ok(), "{row}");
        }
    }

    #[test]
    fn a_directory_the_flow_cannot_take_is_an_error_naming_the_place() {
        let missing = ReplayDir::open(Path::new("/no/such/dir")).unwrap_err();
        assert!(missing.to_string().contains("not a directory"), "{missing}");
        let empty = dir(&[("readme.md", "x")]);
        let none = ReplayDir::open(empty.path()).unwrap_err();
        assert!(none.to_string().contains("no *.csv company file"), "{none}");
        let spaced = dir(&[("two words.csv", HEADER)]);
        let name = ReplayDir::open(spaced.path()).unwrap_err();
        assert!(name.to_string().contains("two words.csv"), "{name}");
        let long = format!(
            "{HEADER}\n2020-01-02,1{},11,9,10.5,10.4,100\n",
            "0".repeat(60)
        );
        let wide = dir(&[("W.csv", &long)]);
        let error = ReplayDir::open(wide.path())
            .unwrap()
            .expected()
            .unwrap_err();
        assert!(
            error.to_string().contains("W.csv:2") && error.to_string().contains("VARCHAR(56)"),
            "{error}"
        );
    }
}
