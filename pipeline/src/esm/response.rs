//! Lambda's partial batch response, and how the mapping reads it.
//!
//! Lambda's partial batch response (`ReportBatchItemFailures`) and how the event source
//! mapping reads it.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// What a handler returns: the messages to leave for redelivery (Lambda's JSON shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// Failed messages; every other message of the batch succeeded.
    pub batch_item_failures: Vec<ItemFailure>,
}

/// One failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    /// The SQS message id.
    pub item_identifier: String,
}

impl BatchResponse {
    /// A response failing these message ids.
    pub fn failing<I: IntoIterator<Item = String>>(ids: I) -> Self {
        Self {
            batch_item_failures: ids
                .into_iter()
                .map(|item_identifier| ItemFailure { item_identifier })
                .collect(),
        }
    }
}

/// The messages to leave for redelivery, as AWS documents it: a handler error fails the whole
/// batch; so does a malformed response (an empty identifier, or one that names no message of
/// the batch); otherwise exactly the listed messages fail.
pub fn failed_ids<E>(batch_ids: &[&str], outcome: &Result<BatchResponse, E>) -> HashSet<String> {
    let all = || batch_ids.iter().map(|s| s.to_string()).collect();
    let Ok(response) = outcome else {
        return all();
    };
    let known: HashSet<&str> = batch_ids.iter().copied().collect();
    let mut failed = HashSet::new();
    for failure in &response.batch_item_failures {
        let id = failure.item_identifier.as_str();
        if id.is_empty() || !known.contains(id) {
            return all();
        }
        failed.insert(id.to_string());
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    const BATCH: [&str; 3] = ["m1", "m2", "m3"];

    #[test]
    fn only_listed_messages_fail() {
        let response: Result<_, ()> = Ok(BatchResponse::failing(["m2".to_string()]));
        assert_eq!(
            failed_ids(&BATCH, &response),
            HashSet::from(["m2".to_string()])
        );
        let none: Result<_, ()> = Ok(BatchResponse::default());
        assert!(failed_ids(&BATCH, &none).is_empty());
    }

    #[test]
    fn errors_and_malformed_responses_fail_the_whole_batch() {
        let error: Result<BatchResponse, &str> = Err("boom");
        assert_eq!(failed_ids(&BATCH, &error).len(), 3);
        for bad in ["", "m9"] {
            let response: Result<_, ()> = Ok(BatchResponse::failing([bad.to_string()]));
            assert_eq!(failed_ids(&BATCH, &response).len(), 3, "identifier {bad:?}");
        }
    }

    #[test]
    fn serialises_like_lambda() {
        let json = serde_json::to_string(&BatchResponse::failing(["m1".to_string()])).unwrap();
        assert_eq!(json, r#"{"batchItemFailures":[{"itemIdentifier":"m1"}]}"#);
    }
}
