//! Delivery faults: messages a stage received delivered again, or late, for real.
//!
//! The at-least-once delivery SQS and S3's notifications document, made to happen on purpose.
//! When the schedule picks a message a stage received for the first time
//! ([`Chaos::on_delivery`]), a `duplicate` sends a copy of its body back to the queue
//! (delivered again later, as a message of its own) and lets the stage handle this one; a
//! `delay` hides it (`ChangeMessageVisibility`) for its seconds and keeps it from the stage now,
//! so that it comes back late; a `lose` deletes it unhandled (`DeleteMessage`), the loss the
//! judge must find. Each is a real SQS call on the stage's queue, not a simulation in the
//! stage.

use crate::aws::Clients;
use crate::chaos::{Chaos, Delivery, Stage};

use super::message::SqsMessage;

/// `batch` with the schedule's delivery faults for `stage` carried out on `queue_url`: the
/// messages the stage handles now (a delayed one is not among them).
pub(super) async fn apply(
    clients: &Clients,
    queue_url: &str,
    chaos: &Chaos,
    stage: Stage,
    batch: Vec<SqsMessage>,
) -> Vec<SqsMessage> {
    let mut now = Vec::with_capacity(batch.len());
    for message in batch {
        // A message's first delivery only: S3 and SQS send a notification again, and a
        // message held back by its handler comes back anyway.
        let fault = match message.receive_count {
            1 => chaos.on_delivery(stage),
            _ => None,
        };
        match fault {
            None => now.push(message),
            Some(Delivery::Duplicate) => {
                let sent = clients
                    .sqs
                    .send_message()
                    .queue_url(queue_url)
                    .message_body(&message.body)
                    .send()
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, stage = stage.name(), "a duplicate was not sent");
                }
                now.push(message);
            }
            Some(Delivery::Delay(secs)) => {
                let hidden = clients
                    .sqs
                    .change_message_visibility()
                    .queue_url(queue_url)
                    .receipt_handle(&message.receipt_handle)
                    .visibility_timeout(secs.ceil() as i32)
                    .send()
                    .await;
                match hidden {
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, stage = stage.name(), "a delay was not set");
                        now.push(message);
                    }
                }
            }
            Some(Delivery::Lose) => {
                let deleted = clients
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(&message.receipt_handle)
                    .send()
                    .await;
                if let Err(e) = deleted {
                    tracing::warn!(error = %e, stage = stage.name(), "a message to lose was not deleted");
                    now.push(message);
                } else {
                    tracing::warn!(stage = stage.name(), id = %message.message_id, "a message lost on purpose (fault schedule)");
                }
            }
        }
    }
    now
}
