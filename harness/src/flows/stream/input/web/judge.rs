//! The web source's invariants.
//!
//! The web source's invariants: every request answered as it had to be, every event of a 200
//! in the ledger (and nothing else in it), every one of them stored once in its table with
//! every column as served and the request that served it, nothing stored for a refused request,
//! and `request_log` holding exactly the requests that reached the server (as the server saw
//! them arrive, before it did anything), each with the events stored for it, and the
//! scheduler's requests as they were answered. A server that died at its crash point leaves
//! requests cut off: unanswered, unlogged, perhaps stored; what was stored for them must have
//! been sent on to Kinesis like any 200's events, and what was not stored must not have been.

use std::collections::{HashMap, HashSet};

use tickflow_pipeline::web::Arrival;

use super::client::{Answer, Calls};
use super::tables::ReadBack;
use crate::flows::stream::faults::Fate;
use crate::flows::stream::judge::reconcile::Ledger;
use crate::verdict::{Digest, Failure};

/// Examples a failure lists at most.
const EXAMPLES: usize = 3;
/// The checks [`judge`] makes, by name.
pub const CHECKS: [&str; 6] = [
    "web.answered",
    "web.refusals",
    "web.retry_after",
    "web.served",
    "web.rows",
    "web.request_log",
];

/// What the events served should be: id -> (digest, when known; the request that served it,
/// when known).
type Expected = HashMap<uuid::Uuid, (Option<Digest>, Option<uuid::Uuid>)>;

/// What the server's side knows of its run.
#[derive(Debug, Clone, Copy)]
pub struct ServerSide<'a> {
    /// The requests that reached the server, as they arrived.
    pub arrivals: &'a [Arrival],
    /// Log rows its writer could not store by the end.
    pub logs_lost: u64,
    /// Requests a crash of the server cut off (arrived, unlogged when it died).
    pub cut: &'a HashSet<uuid::Uuid>,
    /// Times the server died at its crash point and started again.
    pub restarts: u64,
}

/// Every web invariant `calls` (the scheduler's answers; `None` when anyone called, as under
/// `tickflow serve`), the `ledger`, the tables read `back` and the `server`'s side break.
pub fn judge(
    calls: Option<&Calls>,
    ledger: &Ledger,
    back: &ReadBack,
    server: &ServerSide,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    // Events stored for requests a crash cut off: owed to Kinesis though no 200 carried them.
    let stored_for_cut: HashSet<uuid::Uuid> = back
        .rows
        .iter()
        .filter(|(_, row)| server.cut.contains(&row.request_id))
        .map(|(id, _)| *id)
        .collect();
    let expected = match calls {
        Some(calls) => {
            failures.extend(answered(&calls.answers, server));
            failures.extend(refusals(&calls.answers));
            failures.extend(retry_after(&calls.answers));
            let (expected, problems) = served(&calls.answers, ledger, &stored_for_cut);
            failures.extend(problems);
            failures.extend(request_log(&calls.answers, back, server.cut));
            expected
        }
        None => from_ledger(ledger),
    };
    failures.extend(rows(&expected, back, ledger, &stored_for_cut));
    failures.extend(arrivals_logged(back, server));
    failures
}

/// `request_log` holds a row for each request that reached the server, saying how it arrived
/// (method, URL, client), and no other (a request a crash cut off may have none); each row's
/// events are those stored for its request.
fn arrivals_logged(back: &ReadBack, server: &ServerSide) -> Option<Failure> {
    let ServerSide {
        arrivals,
        logs_lost,
        cut,
        ..
    } = *server;
    type Seen<'a> = (&'a str, &'a str, &'a str);
    let mut logged: HashMap<uuid::Uuid, Vec<Seen>> = HashMap::new();
    for row in &back.log {
        let seen = (row.method.as_str(), row.url.as_str(), row.client.as_str());
        logged.entry(row.request_id).or_default().push(seen);
    }
    let mut wrong = Vec::new();
    for arrival in arrivals {
        let seen = (
            arrival.method.as_str(),
            arrival.url.as_str(),
            arrival.client.as_str(),
        );
        let rows = logged.entry(arrival.request_id).or_default();
        match rows.iter().position(|r| *r == seen) {
            Some(at) => {
                rows.swap_remove(at);
            }
            None if cut.contains(&arrival.request_id) => {}
            None => wrong.push(format!(
                "{} {} {} from {}: arrived, not logged as it arrived",
                arrival.request_id, arrival.method, arrival.url, arrival.client
            )),
        }
    }
    let never: usize = logged.values().map(Vec::len).sum();
    if never > 0 {
        wrong.push(format!("{never} rows for requests that never arrived"));
    }
    let mut stored: HashMap<uuid::Uuid, u32> = HashMap::new();
    for row in back.rows.values() {
        *stored.entry(row.request_id).or_default() += 1;
    }
    for row in &back.log {
        let held = stored.get(&row.request_id).copied().unwrap_or(0);
        let says = if row.status == 200 { row.events } else { 0 };
        if held != says || (row.status != 200 && row.events != 0) {
            wrong.push(format!(
                "{} logged {} with {} events, {held} stored for it",
                row.request_id, row.status, row.events
            ));
        }
    }
    if logs_lost > 0 {
        wrong.push(format!("{logs_lost} rows the writer could not store"));
    }
    (!wrong.is_empty()).then(|| {
        Failure::new(
            "web.request_log",
            format!(
                "a row for each of the {} requests that reached the server, as it arrived, with \
                 the events stored for it",
                arrivals.len()
            ),
            counted(&wrong, "; "),
        )
    })
}

/// How many `items` there are, and the first few: `3: a, b, c`.
fn counted(items: &[String], separator: &str) -> String {
    let shown = &items[..items.len().min(EXAMPLES)];
    format!("{}: {}", items.len(), shown.join(separator))
}

/// Every request got an answer (a 200 with a readable body), but those a crash of the server
/// cut off, and those that found it dead (they never reached it) while it started again.
fn answered(answers: &[Answer], server: &ServerSide) -> Option<Failure> {
    let arrived: HashSet<uuid::Uuid> = server.arrivals.iter().map(|a| a.request_id).collect();
    let excused = |a: &Answer| {
        server.cut.contains(&a.id) || (server.restarts > 0 && !arrived.contains(&a.id))
    };
    let unanswered: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.error.is_some() && !excused(a))
        .collect();
    (!unanswered.is_empty()).then(|| {
        let examples: Vec<String> = unanswered
            .iter()
            .take(EXAMPLES)
            .map(|a| format!("{} {}: {}", a.id, a.url, a.error.as_deref().unwrap_or("")))
            .collect();
        Failure::new(
            "web.answered",
            "every request answered",
            format!("{} not: {}", unanswered.len(), examples.join("; ")),
        )
    })
}

/// Every request that had to be refused got its status.
fn refusals(answers: &[Answer]) -> Option<Failure> {
    let wrong: Vec<String> = answers
        .iter()
        .filter_map(|a| {
            let required = a.ask.required_status()?;
            (a.status != Some(required)).then(|| {
                format!(
                    "{:?} {} answered {:?}, not {required}",
                    a.ask, a.url, a.status
                )
            })
        })
        .collect();
    (!wrong.is_empty()).then(|| {
        Failure::new(
            "web.refusals",
            "401 without the token or with a wrong one, 400 for a bad batch",
            counted(&wrong, "; "),
        )
    })
}

/// Every request refused for load or for the database (429, 503) was told when to come back:
/// a whole number of seconds in `Retry-After`.
fn retry_after(answers: &[Answer]) -> Option<Failure> {
    let wrong: Vec<String> = answers
        .iter()
        .filter(|a| matches!(a.status, Some(429 | 503)))
        .filter(|a| {
            a.retry_after
                .as_deref()
                .is_none_or(|v| v.trim().parse::<u32>().is_err())
        })
        .map(|a| {
            format!(
                "{} {} answered {:?} with Retry-After {:?}",
                a.id, a.url, a.status, a.retry_after
            )
        })
        .collect();
    (!wrong.is_empty()).then(|| {
        Failure::new(
            "web.retry_after",
            "every 429 and 503 says when to try again (Retry-After: seconds)",
            counted(&wrong, "; "),
        )
    })
}

/// The events 200s carried, checked against the ledger: each once, each in it with the same
/// bytes (when sent as served), and nothing in it that no 200 carried but the events stored
/// for requests a crash cut off.
fn served(
    answers: &[Answer],
    ledger: &Ledger,
    stored_for_cut: &HashSet<uuid::Uuid>,
) -> (Expected, Vec<Failure>) {
    let mut expected = Expected::new();
    let (mut twice, mut unsent, mut altered) = (Vec::new(), Vec::new(), Vec::new());
    for answer in answers {
        if answer.status != Some(200) && !answer.events.is_empty() {
            twice.push(format!(
                "{} carried events with status {:?}",
                answer.id, answer.status
            ));
        }
        for (id, digest) in &answer.events {
            if expected
                .insert(*id, (Some(*digest), Some(answer.id)))
                .is_some()
            {
                twice.push(format!("event {id} served twice"));
            }
            match ledger.get(id) {
                None => unsent.push(id.to_string()),
                Some(sent) if sent.fate == Fate::Clean && sent.digest != *digest => {
                    altered.push(id.to_string());
                }
                Some(_) => {}
            }
        }
    }
    let mut failures = Vec::new();
    let list = |v: &[String]| counted(v, ", ");
    if !twice.is_empty() {
        failures.push(Failure::new(
            "web.served",
            "each event served once, by a 200",
            list(&twice),
        ));
    }
    if !unsent.is_empty() || !altered.is_empty() {
        failures.push(Failure::new(
            "web.served",
            "every event of a 200 handed to Kinesis as served",
            format!(
                "not sent {}; sent altered {}",
                list(&unsent),
                list(&altered)
            ),
        ));
    }
    let extra = ledger
        .ids()
        .filter(|id| !expected.contains_key(id) && !stored_for_cut.contains(id))
        .count();
    if extra > 0 {
        failures.push(Failure::new(
            "web.served",
            "nothing sent to Kinesis that no 200 carried (but what a crash cut off after storing)",
            format!("{extra} events sent that no answer carried"),
        ));
    }
    (expected, failures)
}

/// What a run without the scheduler must have stored: what it sent.
fn from_ledger(ledger: &Ledger) -> Expected {
    ledger
        .ids()
        .map(|id| {
            let sent = ledger.get(id).expect("an id the ledger lists");
            let digest = (sent.fate == Fate::Clean).then_some(sent.digest);
            (*id, (digest, None))
        })
        .collect()
}

/// Every expected event stored with its columns and its request; nothing else stored but the
/// events of requests a crash cut off, each of them sent on to Kinesis.
fn rows(
    expected: &Expected,
    back: &ReadBack,
    ledger: &Ledger,
    stored_for_cut: &HashSet<uuid::Uuid>,
) -> Vec<Failure> {
    let (mut missing, mut differ, mut misattributed) = (Vec::new(), Vec::new(), Vec::new());
    for (id, (digest, request)) in expected {
        match back.rows.get(id) {
            None => missing.push(id.to_string()),
            Some(row) => {
                if digest.is_some_and(|d| d != row.digest) {
                    differ.push(id.to_string());
                }
                if request.is_some_and(|r| r != row.request_id) {
                    misattributed.push(id.to_string());
                }
            }
        }
    }
    let unexpected = back
        .rows
        .keys()
        .filter(|id| !expected.contains_key(id) && !stored_for_cut.contains(id))
        .count();
    let mut failures = Vec::new();
    let list = |v: &[String]| counted(v, ", ");
    let unrelayed: Vec<String> = stored_for_cut
        .iter()
        .filter(|id| !expected.contains_key(id) && ledger.get(id).is_none())
        .map(uuid::Uuid::to_string)
        .collect();
    if !unrelayed.is_empty() {
        failures.push(Failure::new(
            "web.rows",
            "every event stored for a request a crash cut off sent on to Kinesis",
            format!("stored and never sent {}", list(&unrelayed)),
        ));
    }
    if !missing.is_empty() || unexpected > 0 {
        failures.push(Failure::new(
            "web.rows",
            format!(
                "the {} events served, each in its table, and no other row",
                expected.len()
            ),
            format!(
                "missing {}; {unexpected} rows that no 200 served",
                list(&missing)
            ),
        ));
    }
    if !differ.is_empty() || !misattributed.is_empty() {
        failures.push(Failure::new(
            "web.rows",
            "every column as served, and the request that served it",
            format!(
                "columns differ {}; another request {}",
                list(&differ),
                list(&misattributed)
            ),
        ));
    }
    failures
}

/// `request_log` holds each request made once, with its URL, status and events, and nothing
/// else.
fn request_log(answers: &[Answer], back: &ReadBack, cut: &HashSet<uuid::Uuid>) -> Option<Failure> {
    let mut logged: HashMap<uuid::Uuid, Vec<&super::tables::LogRow>> = HashMap::new();
    for row in &back.log {
        logged.entry(row.request_id).or_default().push(row);
    }
    let mut wrong = Vec::new();
    for answer in answers.iter().filter(|a| a.status.is_some()) {
        match logged.remove(&answer.id).as_deref() {
            None | Some([]) if cut.contains(&answer.id) => {}
            None | Some([]) => wrong.push(format!("{} {} not logged", answer.id, answer.url)),
            Some([row]) => {
                let as_answered = row.url == answer.url
                    && row.method == "GET"
                    && Some(row.status) == answer.status
                    && row.events as usize == answer.events.len();
                if !as_answered {
                    wrong.push(format!(
                        "{} logged as {} {} {} ({} events), answered {:?} ({} events)",
                        answer.id,
                        row.method,
                        row.url,
                        row.status,
                        row.events,
                        answer.status,
                        answer.events.len()
                    ));
                }
            }
            Some(rows) => wrong.push(format!("{} logged {} times", answer.id, rows.len())),
        }
    }
    let others: usize = logged.values().map(Vec::len).sum();
    if others > 0 {
        wrong.push(format!("{others} rows for requests nobody made"));
    }
    (!wrong.is_empty()).then(|| {
        Failure::new(
            "web.request_log",
            "each request made logged once, as it was answered",
            counted(&wrong, "; "),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::client::Ask;
    use super::super::tables::{LogRow, StoredRow};
    use super::*;
    use crate::verdict::digest;
    use std::time::Duration;
    use tickflow_pipeline::source::{Generator, GeneratorConfig};

    /// A run of three 200s (two events each) and one 429, stored and logged as it should be.
    fn good_run() -> (Calls, Ledger, ReadBack) {
        let (calls, ledger, back, _) = good_run_arriving();
        (calls, ledger, back)
    }

    /// [`good_run`], with the requests as they arrived.
    fn good_run_arriving() -> (Calls, Ledger, ReadBack, Vec<Arrival>) {
        let events: Vec<_> = Generator::new(GeneratorConfig {
            events: 6,
            ..GeneratorConfig::default()
        })
        .collect();
        let mut ledger = Ledger::new();
        let mut back = ReadBack::default();
        let mut answers = Vec::new();
        for chunk in events.chunks(2) {
            let id = uuid::Uuid::new_v4();
            let mut served = Vec::new();
            for e in chunk {
                let json = e.to_json();
                ledger.record(e.id(), Fate::Clean, &json, 1, Duration::ZERO);
                let stored = StoredRow {
                    digest: digest(&json),
                    request_id: id,
                };
                back.rows.insert(e.id(), stored);
                served.push((e.id(), digest(&json)));
            }
            answers.push(answer(id, Ask::Scheduled, 200, served));
        }
        answers.push(Answer {
            retry_after: Some("1".into()),
            ..answer(uuid::Uuid::new_v4(), Ask::Scheduled, 429, Vec::new())
        });
        let mut arrivals = Vec::new();
        for a in &answers {
            back.log.push(LogRow {
                request_id: a.id,
                method: "GET".into(),
                url: a.url.clone(),
                client: "127.0.0.1:5000".into(),
                status: a.status.unwrap(),
                events: a.events.len() as u32,
            });
            arrivals.push(Arrival {
                request_id: a.id,
                method: "GET".into(),
                url: a.url.clone(),
                client: "127.0.0.1:5000".into(),
            });
        }
        (
            Calls {
                answers,
                ..Calls::default()
            },
            ledger,
            back,
            arrivals,
        )
    }

    static NONE_CUT: std::sync::LazyLock<HashSet<uuid::Uuid>> =
        std::sync::LazyLock::new(HashSet::new);

    /// The server's side of a run no crash cut into.
    fn side(arrivals: &[Arrival], logs_lost: u64) -> ServerSide<'_> {
        ServerSide {
            arrivals,
            logs_lost,
            cut: &NONE_CUT,
            restarts: 0,
        }
    }

    fn answer(id: uuid::Uuid, ask: Ask, status: u16, events: Vec<(uuid::Uuid, Digest)>) -> Answer {
        Answer {
            id,
            ask,
            url: "/logs?batch=2".into(),
            status: Some(status),
            error: None,
            latency_us: 100,
            events,
            retry_after: None,
        }
    }

    /// The checks that fail, the arrivals being the requests the log holds.
    fn checks(calls: &Calls, ledger: &Ledger, back: &ReadBack) -> Vec<String> {
        let arrivals: Vec<Arrival> = back
            .log
            .iter()
            .map(|r| Arrival {
                request_id: r.request_id,
                method: r.method.clone(),
                url: r.url.clone(),
                client: r.client.clone(),
            })
            .collect();
        judge(Some(calls), ledger, back, &side(&arrivals, 0))
            .into_iter()
            .map(|f| format!("{}: {}", f.check, f.actual))
            .collect()
    }

    #[test]
    fn a_run_stored_and_logged_as_served_passes() {
        let (calls, ledger, back, arrivals) = good_run_arriving();
        assert_eq!(checks(&calls, &ledger, &back), Vec::<String>::new());
        assert!(judge(None, &ledger, &back, &side(&arrivals, 0)).is_empty());
    }

    #[test]
    fn a_request_that_arrived_and_was_never_logged_fails_however_many_rows_there_are() {
        let (_, ledger, mut back, arrivals) = good_run_arriving();
        // The handler of the 429 was dropped: no row, though another row came twice.
        let copy = back.log[0].clone();
        back.log[3] = copy;
        let failures = judge(None, &ledger, &back, &side(&arrivals, 0));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0]
                .actual
                .contains("arrived, not logged as it arrived"),
            "{failures:?}"
        );
        assert!(
            failures[0]
                .actual
                .contains("1 rows for requests that never arrived"),
            "{failures:?}"
        );
        // A 200 logged with another count of events than were stored for it.
        let (_, ledger, mut back, arrivals) = good_run_arriving();
        back.log[0].events = 5;
        let failures = judge(None, &ledger, &back, &side(&arrivals, 0));
        assert!(
            failures[0]
                .actual
                .contains("logged 200 with 5 events, 2 stored for it"),
            "{failures:?}"
        );
        // A 200 whose rows were stored and whose log row is gone.
        let (_, ledger, mut back, arrivals) = good_run_arriving();
        back.log.remove(0);
        assert_eq!(judge(None, &ledger, &back, &side(&arrivals, 0)).len(), 1);
    }

    #[test]
    fn a_missing_altered_or_extra_row_fails() {
        let (calls, ledger, mut back) = good_run();
        let first = calls.answers[0].events[0].0;
        back.rows.remove(&first);
        assert!(checks(&calls, &ledger, &back)[0].starts_with("web.rows: missing 1"));
        let (calls, ledger, mut back) = good_run();
        let id = calls.answers[0].events[0].0;
        back.rows.get_mut(&id).unwrap().digest = digest(b"another price");
        assert!(checks(&calls, &ledger, &back)[0].contains("columns differ 1"));
        let (calls, ledger, mut back) = good_run();
        back.rows.get_mut(&id).unwrap().request_id = calls.answers[1].id;
        assert!(checks(&calls, &ledger, &back)[0].contains("another request 1"));
        let (calls, ledger, mut back) = good_run();
        let stray = StoredRow {
            digest: digest(b"x"),
            request_id: calls.answers[3].id,
        };
        back.rows.insert(uuid::Uuid::new_v4(), stray);
        assert!(checks(&calls, &ledger, &back)[0].contains("1 rows that no 200 served"));
    }

    #[test]
    fn an_event_sent_but_not_served_or_served_but_not_sent_fails() {
        let (calls, mut ledger, back) = good_run();
        ledger.record(uuid::Uuid::new_v4(), Fate::Clean, b"{}", 1, Duration::ZERO);
        assert!(checks(&calls, &ledger, &back)
            .iter()
            .any(|c| c.contains("1 events sent that no answer carried")));
        let (mut calls, ledger, back) = good_run();
        calls.answers[0]
            .events
            .push((uuid::Uuid::new_v4(), digest(b"y")));
        let found = checks(&calls, &ledger, &back);
        assert!(found.iter().any(|c| c.contains("not sent 1")), "{found:?}");
    }

    #[test]
    fn the_request_log_must_hold_each_request_once_as_answered() {
        let (calls, ledger, mut back) = good_run();
        back.log.pop();
        let found = checks(&calls, &ledger, &back);
        assert!(found.iter().any(|c| c.contains("not logged")), "{found:?}");
        let (calls, ledger, mut back) = good_run();
        back.log[3].status = 200;
        assert!(checks(&calls, &ledger, &back)
            .iter()
            .any(|c| c.contains("logged as GET")));
        let (calls, ledger, mut back) = good_run();
        let copy = back.log[0].clone();
        back.log.push(copy);
        assert!(checks(&calls, &ledger, &back)
            .iter()
            .any(|c| c.contains("logged 2 times")));
        let (calls, ledger, back, arrivals) = good_run_arriving();
        assert!(judge(Some(&calls), &ledger, &back, &side(&arrivals, 0)).is_empty());
        assert_eq!(
            judge(Some(&calls), &ledger, &back, &side(&arrivals, 1)).len(),
            1
        );
    }

    #[test]
    fn a_refusal_that_is_let_in_or_a_request_unanswered_fails() {
        let (mut calls, ledger, mut back) = good_run();
        let id = uuid::Uuid::new_v4();
        calls
            .answers
            .push(answer(id, Ask::WrongToken, 200, Vec::new()));
        back.log.push(LogRow {
            request_id: id,
            method: "GET".into(),
            url: "/logs?batch=2".into(),
            client: "127.0.0.1:5000".into(),
            status: 200,
            events: 0,
        });
        let found = checks(&calls, &ledger, &back);
        assert!(
            found.iter().any(|c| c.starts_with("web.refusals")),
            "{found:?}"
        );
        calls.answers[0].error = Some("connection reset".into());
        let found = checks(&calls, &ledger, &back);
        assert!(
            found.iter().any(|c| c.starts_with("web.answered")),
            "{found:?}"
        );
    }

    /// A run whose server died once: the first 200's request was cut off after its rows
    /// committed (no answer, no log row), and one request found the server down (it never
    /// arrived). Returns the run, its arrivals and the cut request.
    fn crashed_run() -> (Calls, Ledger, ReadBack, Vec<Arrival>, uuid::Uuid) {
        let (mut calls, ledger, mut back, mut arrivals) = good_run_arriving();
        let cut = calls.answers[0].id;
        calls.answers[0].status = None;
        calls.answers[0].error = Some("connection closed before the answer".into());
        calls.answers[0].events.clear();
        back.log.retain(|row| row.request_id != cut);
        let refused = Answer {
            status: None,
            error: Some("connection refused".into()),
            ..answer(uuid::Uuid::new_v4(), Ask::Scheduled, 200, Vec::new())
        };
        calls.answers.push(refused);
        arrivals.retain(|a| a.request_id != refused_id(&calls));
        (calls, ledger, back, arrivals, cut)
    }

    fn refused_id(calls: &Calls) -> uuid::Uuid {
        calls.answers.last().expect("a refused request").id
    }

    fn crashed_checks(
        calls: &Calls,
        ledger: &Ledger,
        back: &ReadBack,
        arrivals: &[Arrival],
        cut: &HashSet<uuid::Uuid>,
    ) -> Vec<String> {
        let server = ServerSide {
            arrivals,
            logs_lost: 0,
            cut,
            restarts: 1,
        };
        judge(Some(calls), ledger, back, &server)
            .into_iter()
            .map(|f| format!("{}: {}", f.check, f.actual))
            .collect()
    }

    #[test]
    fn what_a_crash_cut_off_after_storing_must_still_reach_kinesis() {
        let (calls, ledger, back, arrivals, cut) = crashed_run();
        let cut = HashSet::from([cut]);
        // Stored for the cut-off request, and sent on: no answer, no log row, no failure.
        assert_eq!(
            crashed_checks(&calls, &ledger, &back, &arrivals, &cut),
            Vec::<String>::new()
        );
        // Stored, and never sent (a server that queued its events in memory and died).
        let mut lost = Ledger::new();
        for id in ledger.ids() {
            if back.rows[id].request_id != *cut.iter().next().unwrap() {
                let sent = ledger.get(id).unwrap();
                lost.record(*id, sent.fate, b"x", 1, Duration::ZERO);
            }
        }
        let found = crashed_checks(&calls, &lost, &back, &arrivals, &cut);
        assert!(
            found
                .iter()
                .any(|c| c.starts_with("web.rows: stored and never sent 2")),
            "{found:?}"
        );
    }

    #[test]
    fn only_a_crash_excuses_a_request_unanswered_or_unlogged() {
        let (calls, ledger, back, arrivals, cut) = crashed_run();
        // The same run judged as if no crash had cut anything off.
        let found = crashed_checks(&calls, &ledger, &back, &arrivals, &HashSet::new());
        for check in ["web.answered", "web.request_log", "web.served", "web.rows"] {
            assert!(
                found.iter().any(|c| c.starts_with(check)),
                "{check}: {found:?}"
            );
        }
        // With no restart, a request that never arrived is not excused either.
        let server = ServerSide {
            arrivals: &arrivals,
            logs_lost: 0,
            cut: &HashSet::from([cut]),
            restarts: 0,
        };
        let failures = judge(Some(&calls), &ledger, &back, &server);
        let checks: Vec<&str> = failures.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(checks, ["web.answered"], "{failures:?}");
    }

    #[test]
    fn a_503_or_429_without_a_retry_after_in_seconds_fails() {
        let (mut calls, ledger, mut back) = good_run();
        for (status, header) in [(503, Some("1")), (429, Some("2"))] {
            let id = uuid::Uuid::new_v4();
            let mut refused = answer(id, Ask::Scheduled, status, Vec::new());
            refused.retry_after = header.map(str::to_string);
            calls.answers.push(refused);
            back.log.push(LogRow {
                request_id: id,
                method: "GET".into(),
                url: "/logs?batch=2".into(),
                client: "127.0.0.1:5000".into(),
                status,
                events: 0,
            });
        }
        let failing = |calls: &Calls| {
            checks(calls, &ledger, &back)
                .into_iter()
                .filter(|c| c.starts_with("web.retry_after"))
                .count()
        };
        assert_eq!(failing(&calls), 0);
        let last = calls.answers.len() - 1;
        calls.answers[last].retry_after = None;
        assert_eq!(failing(&calls), 1);
        calls.answers[last].retry_after = Some("soon".into());
        assert_eq!(failing(&calls), 1);
    }
}
