//! A message an event source mapping received, as its handler sees it.

/// A received message as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    /// SQS message id (what a partial batch response names).
    pub message_id: String,
    /// For deletion.
    pub receipt_handle: String,
    /// The body.
    pub body: String,
    /// `ApproximateReceiveCount`: 1 on first delivery.
    pub receive_count: u32,
}
