//! Announcing exactly once: an object created once, whose S3 notification is the announcement.
//!
//! An announcement that neither a retried call can duplicate nor a lost answer can lose: the
//! announcement is an object created only if its key is free (`If-None-Match: *`), and S3's
//! event notification of that object on the topic subscribers read is what they receive. The
//! key names what is announced (a day's run status, an alert), so a redelivered message or a
//! restarted step that announces it again creates nothing; the body carries a token of this
//! call's own, so that a create whose answer was lost (and which the SDK's retry then meets) is
//! recognised as this call's announcement, not another's. The stream flow announces its lake
//! objects and price alerts the same way (see [`super::outbox`]).

use serde::Serialize;

use crate::aws::{AwsError, Claim, Clients};

/// The field of an announcement's body that holds its token (readers ignore it).
pub const TOKEN_FIELD: &str = "announcement";

/// Announces `body` as the object `key` of `bucket`, once: `true` when this call announced it,
/// `false` when it had been announced before (by a redelivered message, a restarted step).
///
/// # Errors
/// S3 refusing the create or the read-back after the SDK's retries: nothing is announced then
/// and the caller must leave its input for redelivery.
pub async fn announce(
    clients: &Clients,
    bucket: &str,
    key: &str,
    body: &impl Serialize,
) -> Result<bool, AwsError> {
    let claim = clients.claim(bucket, key, tokened(body)).await?;
    Ok(claim == Claim::Won)
}

/// `body` (a JSON object) with a token no other call writes, under [`TOKEN_FIELD`].
pub fn tokened(body: &impl Serialize) -> Vec<u8> {
    let mut value = serde_json::to_value(body).expect("announcements serialise");
    if let Some(fields) = value.as_object_mut() {
        let token = uuid::Uuid::new_v4().simple().to_string();
        fields.insert(TOKEN_FIELD.into(), serde_json::Value::String(token));
    }
    value.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Said {
        what: String,
    }

    #[test]
    fn a_token_tells_two_announcements_of_the_same_body_apart_and_readers_ignore_it() {
        let said = Said { what: "x".into() };
        let (a, b) = (tokened(&said), tokened(&said));
        assert_ne!(a, b);
        let read: Said = serde_json::from_slice(&a).expect("reads back");
        assert_eq!(read, said);
        let value: serde_json::Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(value[TOKEN_FIELD].as_str().map(str::len), Some(32));
    }
}
