//! What a stream scenario's run plans, within caps.
//!
//! What a stream run plans before it starts, read off its schedules as a run would read them
//! (each due time asked of the plan, not reasoned about): when its last arrival is due, and how
//! many calls a web source makes.

use super::file::StreamFile;
use super::sections::SourceKind;
use crate::flows::flow::{Planned, PlannedFigure};
use crate::flows::stream::input::arrival::{LoadPlan, MAX_SECS};
use crate::flows::stream::input::web::settings::MAX_CALLS;

/// The run `file` plans: a generated feed's last arrival, a web source's last call and its
/// calls (a replay's items are known only as they are read: its feed refuses one due beyond
/// the cap; a web source scheduled until a duration plans no count of calls).
pub fn planned(file: &StreamFile) -> Planned {
    let (arrivals_secs, calls) = match file.source_kind() {
        SourceKind::Generate => (last_arrival(&file.load_plan(), file.generate.events), None),
        SourceKind::Web => {
            let settings = file.web.clone().unwrap_or_default();
            let load = file.load.as_ref();
            let calls = settings.calls(load);
            let until_duration = calls == u64::MAX;
            let scheduled = calls.saturating_add(settings.refused.total());
            (
                last_arrival(&settings.schedule(load), Some(scheduled)),
                (!until_duration).then_some(calls),
            )
        }
        SourceKind::Replay => (None, None),
    };
    let mut figures = Vec::new();
    if let Some(secs) = arrivals_secs {
        figures.push(PlannedFigure {
            what: "arrivals_secs",
            value: secs,
            cap: MAX_SECS,
        });
    }
    if let Some(calls) = calls {
        figures.push(PlannedFigure {
            what: "calls",
            value: calls as f64,
            cap: MAX_CALLS as f64,
        });
    }
    Planned { figures }
}

/// When the last of `items` is due on `plan`, or its duration if that ends first.
fn last_arrival(plan: &LoadPlan, items: Option<u64>) -> Option<f64> {
    let last = items
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| plan.due(i))
        .map(|d| d.as_secs_f64());
    match (last, plan.duration_secs) {
        (Some(last), Some(end)) => Some(last.min(end)),
        (last, end) => last.or(end),
    }
}
