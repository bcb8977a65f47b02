//! Infrastructure faults on a deterministic schedule.
//!
//! Infrastructure faults on a deterministic schedule: AWS calls that fail, hang or lose their
//! answer, stages that crash, an emulator that goes away.
//!
//! A [`Chaos`] holds a run's fault rules and decides, per AWS call, whether a fault fires: a pure
//! function of the seed, the service, the operation and the call's index (counted per service
//! and operation), so the same seed gives the same decisions and a recorded list of fired faults
//! replays exactly ([`rules_from_fired`]). The decision is taken by an SDK interceptor and carried
//! out by a wrapper around the SDK's HTTP client ([`inject`]), so it works against any endpoint,
//! real AWS included. Stages ask [`Chaos::crash_point`] at the moment a crash hurts most.

mod decide;
mod fired;
mod inject;
mod reply;
pub mod rule;

pub use decide::{Chaos, Delivery, Injection};
pub use fired::{fired_signature, rules_from_fired, Fired};
pub use inject::{FaultInterceptor, FaultyHttpClient};
pub use rule::{Call, FaultKind, FaultRule, Service, Stage};

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio_rule(kind: FaultKind, service: Service, ratio: f64) -> FaultRule {
        FaultRule {
            service: Some(service),
            ratio,
            ..FaultRule::new(kind)
        }
    }

    /// Whether `stage` crashes at its next pass through its crash point (it must not stall).
    fn passes(chaos: &Chaos, stage: Stage) -> bool {
        use futures_util::FutureExt as _;
        chaos
            .crash_point(stage)
            .now_or_never()
            .expect("the stage went on")
    }

    #[test]
    fn a_stall_wedges_the_stage_at_its_pass_for_good_and_replays() {
        use futures_util::FutureExt as _;
        let rules = vec![FaultRule {
            stage: Some(Stage::Bridge),
            at: vec![2],
            ..FaultRule::new(FaultKind::Stall)
        }];
        let chaos = Chaos::new(1, rules);
        assert!(!passes(&chaos, Stage::Bridge));
        assert_eq!(
            chaos.crash_point(Stage::Bridge).now_or_never(),
            None,
            "wedged"
        );
        assert!(!passes(&chaos, Stage::Processor), "another stage goes on");
        let replay = Chaos::new(9, rules_from_fired(&chaos.fired()));
        assert!(!passes(&replay, Stage::Bridge));
        assert_eq!(replay.crash_point(Stage::Bridge).now_or_never(), None);
        assert_eq!(chaos.fired_by_rule(), [1]);
    }

    fn run(chaos: &Chaos, calls: usize) -> Vec<Option<FaultKind>> {
        (0..calls)
            .map(|i| {
                let op = if i % 3 == 0 { "PutObject" } else { "GetObject" };
                chaos.on_call(Service::S3, op).map(|inj| inj.kind)
            })
            .collect()
    }

    #[test]
    fn same_seed_same_decisions_another_seed_others() {
        let rules = vec![ratio_rule(FaultKind::Throttle, Service::S3, 0.2)];
        let a = run(&Chaos::new(1, rules.clone()), 3_000);
        assert_eq!(a, run(&Chaos::new(1, rules.clone()), 3_000));
        assert_ne!(a, run(&Chaos::new(2, rules), 3_000));
        let fired = a.iter().flatten().count();
        assert!((500..700).contains(&fired), "{fired}");
    }

    #[test]
    fn limits_and_operations_bound_what_fires_and_the_first_rule_wins() {
        let mut put = ratio_rule(FaultKind::ServerError, Service::S3, 1.0);
        put.operation = Some("PutObject".into());
        put.limit = Some(5);
        let all = ratio_rule(FaultKind::Latency, Service::S3, 1.0);
        let chaos = Chaos::new(
            3,
            vec![
                put,
                FaultRule {
                    latency_ms: 1,
                    ..all
                },
            ],
        );
        let kinds = run(&chaos, 90);
        let errors = kinds
            .iter()
            .filter(|k| **k == Some(FaultKind::ServerError))
            .count();
        assert_eq!(errors, 5);
        assert!(
            kinds.iter().all(Option::is_some),
            "the second rule takes the rest"
        );
        assert_eq!(chaos.on_call(Service::Sqs, "ReceiveMessage"), None);
    }

    #[test]
    fn the_fired_list_replays_exactly() {
        let rules = vec![
            ratio_rule(FaultKind::Reset, Service::S3, 0.1),
            FaultRule {
                stage: Some(Stage::Bridge),
                at: vec![2, 4],
                ..FaultRule::new(FaultKind::Crash)
            },
        ];
        let first = Chaos::new(11, rules);
        let decisions = run(&first, 500);
        let crashes: Vec<bool> = (0..5).map(|_| passes(&first, Stage::Bridge)).collect();
        assert_eq!(crashes, [false, true, false, true, false]);

        let replay = Chaos::new(99, rules_from_fired(&first.fired()));
        assert_eq!(
            run(&replay, 500),
            decisions,
            "another seed, the same faults"
        );
        let again: Vec<bool> = (0..5).map(|_| passes(&replay, Stage::Bridge)).collect();
        assert_eq!(again, crashes);
        assert_eq!(
            fired_signature(&replay.fired()),
            fired_signature(&first.fired())
        );
    }

    #[test]
    fn delivery_faults_are_decided_by_the_seed_and_replay_exactly() {
        let rules = vec![
            FaultRule {
                stage: Some(Stage::Etl),
                ratio: 0.3,
                ..FaultRule::new(FaultKind::Duplicate)
            },
            FaultRule {
                stage: Some(Stage::Etl),
                at: vec![2],
                for_secs: 3.0,
                ..FaultRule::new(FaultKind::Delay)
            },
        ];
        let deliveries = |chaos: &Chaos| -> Vec<Option<Delivery>> {
            (0..40).map(|_| chaos.on_delivery(Stage::Etl)).collect()
        };
        let first = Chaos::new(5, rules.clone());
        let decided = deliveries(&first);
        assert_eq!(decided, deliveries(&Chaos::new(5, rules)), "the same seed");
        let duplicates = decided
            .iter()
            .filter(|d| **d == Some(Delivery::Duplicate))
            .count();
        assert!((4..=20).contains(&duplicates), "{duplicates} of 40");
        assert_eq!(first.on_delivery(Stage::Analysis), None, "another stage");
        let replay = Chaos::new(99, rules_from_fired(&first.fired()));
        assert_eq!(
            deliveries(&replay),
            decided,
            "another seed, the same faults"
        );
        assert_eq!(
            fired_signature(&replay.fired()),
            fired_signature(&first.fired())
        );
    }

    #[test]
    fn expired_iterators_only_hit_get_records() {
        let rule = ratio_rule(FaultKind::ExpiredIterator, Service::Kinesis, 1.0);
        let chaos = Chaos::new(0, vec![rule]);
        assert_eq!(chaos.on_call(Service::Kinesis, "PutRecords"), None);
        assert!(chaos.on_call(Service::Kinesis, "GetRecords").is_some());
    }
}
