//! Packing records into SQS messages, and messages into batch calls.
//!
//! Packing encoded records into SQS messages and messages into `SendMessageBatch` calls, within
//! the queue's maximum message size and SQS's 10 entries per batch.

use crate::envelope;

/// Most entries in one `SendMessageBatch`.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// Groups encoded records (see [`envelope::encode_record`]) into message bodies of at most
/// `max_bytes` each, keeping order. A single record larger than that gets a message of its own
/// (SQS then rejects it loudly rather than tickflow dropping it).
pub fn messages(elements: Vec<String>, max_bytes: usize) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 2; // the brackets
    for element in elements {
        let added = element.len() + usize::from(!current.is_empty());
        if !current.is_empty() && size + added > max_bytes {
            bodies.push(envelope::join(&current));
            current.clear();
            size = 2;
        }
        size += element.len() + usize::from(!current.is_empty());
        current.push(element);
    }
    if !current.is_empty() {
        bodies.push(envelope::join(&current));
    }
    bodies
}

/// Groups bodies into batches of at most [`MAX_BATCH_ENTRIES`] whose total size stays within
/// `max_batch_bytes` (SQS limits the sum of a batch like one message).
pub fn batches(bodies: Vec<String>, max_batch_bytes: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut size = 0;
    for body in bodies {
        let start_new = match out.last() {
            None => true,
            Some(batch) => batch.len() == MAX_BATCH_ENTRIES || size + body.len() > max_batch_bytes,
        };
        if start_new {
            out.push(Vec::new());
            size = 0;
        }
        size += body.len();
        out.last_mut().expect("a batch was just pushed").push(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn nothing_lost_or_reordered_and_limits_hold(
            records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..200),
            max in 400usize..4_000,
        ) {
            let elements: Vec<String> = records.iter().map(|r| envelope::encode_record(r)).collect();
            let bodies = messages(elements, max);
            let mut decoded = Vec::new();
            for body in &bodies {
                let records = envelope::decode(body).unwrap();
                // Only a record too large on its own may exceed the limit, alone in its message.
                prop_assert!(
                    body.len() <= max || records.len() == 1,
                    "body of {} bytes over {} with {} records", body.len(), max, records.len()
                );
                decoded.extend(records);
            }
            prop_assert_eq!(&decoded, &records);
            let groups = batches(bodies.clone(), max);
            prop_assert_eq!(groups.concat(), bodies);
            for group in groups {
                prop_assert!(!group.is_empty() && group.len() <= MAX_BATCH_ENTRIES);
                prop_assert!(group.len() == 1 || group.iter().map(String::len).sum::<usize>() <= max);
            }
        }
    }
}
