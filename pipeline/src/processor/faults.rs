//! Faults in the handler: poison records and slow or failing invocations.
//!
//! Failures the harness asks the handler to have, so that redelivery and dead-lettering are
//! exercised for real.
//!
//! Both choices are pure functions of a seed and what a message carries (never of the id SQS
//! gives a message, which LocalStack draws at random), so the harness knows in advance which
//! events are poison without sharing any state with the handler, and the same seed fails the
//! same messages.

use uuid::Uuid;

use crate::esm::SqsMessage;

/// Which messages the handler fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandlerFaults {
    /// Share of events the handler always fails on (a bug it has): their messages end in the
    /// DLQ after `maxReceiveCount` receives.
    pub poison_ratio: f64,
    /// Share of messages that fail on their first `transient_receives` receives (they succeed
    /// on a later one), drawn from the smallest event id a message carries (from its body when
    /// it carries none).
    pub transient_ratio: f64,
    /// How many receives a transient failure lasts.
    pub transient_receives: u32,
    /// Seeds both choices.
    pub seed: u64,
}

impl Default for HandlerFaults {
    fn default() -> Self {
        Self {
            poison_ratio: 0.0,
            transient_ratio: 0.0,
            transient_receives: 1,
            seed: 0,
        }
    }
}

/// Why the handler failed a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The message carries a poison event.
    Poison,
    /// A transient failure on first delivery.
    Transient,
}

impl HandlerFaults {
    /// Whether the handler chokes on event `id`.
    pub fn is_poison(&self, id: &Uuid) -> bool {
        self.poison_ratio > 0.0 && draw(self.seed, id.as_bytes()) < self.poison_ratio
    }

    /// Whether (and why) the handler fails `message`, which carries `events`.
    pub fn failure(&self, message: &SqsMessage, events: &[Uuid]) -> Option<Failure> {
        if events.iter().any(|id| self.is_poison(id)) {
            return Some(Failure::Poison);
        }
        if self.transient_ratio <= 0.0 || message.receive_count > self.transient_receives {
            return None;
        }
        let key = match events.iter().min() {
            Some(id) => draw(self.seed ^ 0x5bd1_e995, id.as_bytes()),
            None => draw(self.seed ^ 0x5bd1_e995, message.body.as_bytes()),
        };
        (key < self.transient_ratio).then_some(Failure::Transient)
    }
}

fn draw(seed: u64, bytes: &[u8]) -> f64 {
    crate::draw::uniform(seed, &[bytes])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, receive_count: u32) -> SqsMessage {
        SqsMessage {
            message_id: id.into(),
            receipt_handle: String::new(),
            body: String::new(),
            receive_count,
        }
    }

    #[test]
    fn poison_share_is_close_to_the_ratio_and_stable() {
        let faults = HandlerFaults {
            poison_ratio: 0.1,
            seed: 4,
            ..HandlerFaults::default()
        };
        let poisoned = (0..10_000u128)
            .filter(|i| faults.is_poison(&Uuid::from_u128(*i)))
            .count();
        assert!((800..1_200).contains(&poisoned), "{poisoned}");
        let again = (0..10_000u128)
            .filter(|i| faults.is_poison(&Uuid::from_u128(*i)))
            .count();
        assert_eq!(poisoned, again);
    }

    #[test]
    fn transient_failures_happen_on_first_delivery_only() {
        let faults = HandlerFaults {
            poison_ratio: 0.0,
            transient_ratio: 1.0,
            seed: 1,
            ..HandlerFaults::default()
        };
        assert_eq!(
            faults.failure(&message("m", 1), &[]),
            Some(Failure::Transient)
        );
        assert_eq!(faults.failure(&message("m", 2), &[]), None);
        let lasting = HandlerFaults {
            transient_receives: 3,
            ..faults
        };
        assert!(lasting.failure(&message("m", 3), &[]).is_some());
        assert_eq!(lasting.failure(&message("m", 4), &[]), None);
        let none = HandlerFaults::default();
        assert_eq!(none.failure(&message("m", 1), &[Uuid::nil()]), None);
    }

    #[test]
    fn transient_failures_follow_the_events_not_the_message_id() {
        let faults = HandlerFaults {
            poison_ratio: 0.0,
            transient_ratio: 0.3,
            seed: 8,
            ..HandlerFaults::default()
        };
        let mut failed = 0;
        for i in 0..2_000u128 {
            let events = [Uuid::from_u128(3 * i + 2), Uuid::from_u128(3 * i + 1)];
            let first = faults.failure(&message("random-a", 1), &events);
            // Another SQS message id, the same events in another order: the same decision.
            let reversed = [events[1], events[0]];
            assert_eq!(first, faults.failure(&message("random-b", 1), &reversed));
            failed += usize::from(first.is_some());
        }
        assert!((500..700).contains(&failed), "{failed}");
    }
}
