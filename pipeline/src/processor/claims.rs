//! Which records the processor has written, and which it is writing now.
//!
//! Which records the processor has durably written, and which an invocation is writing right
//! now, by key (an event's id; for a record bound for the quarantine, a digest of its bytes). A
//! key counts as done only once its write is durable: a message that carries a key another
//! invocation is still writing (a duplicate, or its visibility ran out while that write
//! waited) is [`Busy`]: the handler waits for that write to end instead of deleting it as a
//! duplicate, so a write that then fails loses nothing, and one that succeeds is not repeated.

use std::collections::HashSet;

use uuid::Uuid;

/// Ids written and ids being written.
#[derive(Debug, Default)]
pub struct Claims {
    durable: HashSet<Uuid>,
    pending: HashSet<Uuid>,
}

/// Another invocation is writing one of a message's events: wait for that write to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl Claims {
    /// Claims a message's event ids (in order) for an invocation that already holds `own`:
    /// for each id, whether to write it (`true`, now pending and added to `own`) or skip it as a
    /// duplicate (`false`: durable, or already in `own`, or earlier in the message).
    ///
    /// # Errors
    /// [`Busy`] when another invocation is writing one of them; nothing is claimed then.
    pub fn claim(&mut self, ids: &[Uuid], own: &mut HashSet<Uuid>) -> Result<Vec<bool>, Busy> {
        if ids
            .iter()
            .any(|id| self.pending.contains(id) && !own.contains(id))
        {
            return Err(Busy);
        }
        Ok(ids
            .iter()
            .map(|id| {
                let take = !self.durable.contains(id) && own.insert(*id);
                if take {
                    self.pending.insert(*id);
                }
                take
            })
            .collect())
    }

    /// The write of `ids` is durable: they are done.
    pub fn confirm(&mut self, ids: &HashSet<Uuid>) {
        for id in ids {
            self.pending.remove(id);
            self.durable.insert(*id);
        }
    }

    /// The write of `ids` failed: they are free to be written by the redelivery.
    pub fn release(&mut self, ids: &HashSet<Uuid>) {
        for id in ids {
            self.pending.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u128>) -> Vec<Uuid> {
        range.map(Uuid::from_u128).collect()
    }

    #[test]
    fn an_id_another_invocation_is_writing_makes_the_message_busy_until_it_is_durable() {
        let mut claims = Claims::default();
        let (mut first, mut second) = (HashSet::new(), HashSet::new());
        assert_eq!(claims.claim(&ids(0..3), &mut first), Ok(vec![true; 3]));
        // The same message redelivered while the first write waits: not a duplicate yet.
        assert_eq!(claims.claim(&ids(0..3), &mut second), Err(Busy));
        assert!(second.is_empty(), "a busy message claims nothing");
        claims.confirm(&first);
        assert_eq!(claims.claim(&ids(0..3), &mut second), Ok(vec![false; 3]));
    }

    #[test]
    fn a_failed_write_frees_its_ids_for_the_redelivery() {
        let mut claims = Claims::default();
        let (mut first, mut second) = (HashSet::new(), HashSet::new());
        claims.claim(&ids(0..3), &mut first).unwrap();
        claims.release(&first);
        assert_eq!(claims.claim(&ids(0..3), &mut second), Ok(vec![true; 3]));
    }

    #[test]
    fn duplicates_within_an_invocation_are_written_once() {
        let mut claims = Claims::default();
        let mut own = HashSet::new();
        let twice = [Uuid::from_u128(1), Uuid::from_u128(1), Uuid::from_u128(2)];
        assert_eq!(claims.claim(&twice, &mut own), Ok(vec![true, false, true]));
        // Another message of the same batch with one of them: a duplicate, not busy.
        assert_eq!(
            claims.claim(&[Uuid::from_u128(2), Uuid::from_u128(3)], &mut own),
            Ok(vec![false, true])
        );
    }
}
