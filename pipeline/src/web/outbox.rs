//! The outbox: every stored event's record, in commit order, and how far the relay has sent it.
//!
//! The transactional outbox between the web source's database and Kinesis: each group commit
//! adds its events' records to `outbox` in the same transaction as their rows, numbered by a
//! sequence; the relay reads them in that order and keeps its position in `relayed`. One
//! writer commits at a time, so the numbers of a later commit are all above an earlier one's:
//! a position is a prefix of what was committed, and nothing committed is passed over.

use tokio_postgres::{Client, GenericClient};

use super::tables::{Schema, OUTBOX, RELAYED};
use crate::event::MarketEvent;

/// Adds `events`' records, in order, inside the group commit's transaction.
///
/// # Errors
/// The driver's error.
pub(super) async fn add<'e>(
    tx: &impl GenericClient,
    schema: &Schema,
    events: impl Iterator<Item = &'e MarketEvent>,
) -> Result<(), tokio_postgres::Error> {
    let records: Vec<Vec<u8>> = events.map(MarketEvent::to_json).collect();
    if records.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {} (record) SELECT r FROM UNNEST($1::bytea[]) WITH ORDINALITY AS t(r, n) \
         ORDER BY n",
        schema.qualified(OUTBOX)
    );
    tx.execute(&sql, &[&records]).await?;
    Ok(())
}

/// Up to `limit` records numbered above `after`, in order.
///
/// # Errors
/// The driver's error.
pub(super) async fn after(
    client: &Client,
    schema: &Schema,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Vec<u8>)>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT seq, record FROM {} WHERE seq > $1 ORDER BY seq LIMIT $2",
        schema.qualified(OUTBOX)
    );
    let rows = client.query(&sql, &[&after, &limit]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The relay's saved position (0: nothing relayed yet).
///
/// # Errors
/// The driver's error.
pub(super) async fn position(
    client: &Client,
    schema: &Schema,
) -> Result<i64, tokio_postgres::Error> {
    let sql = format!("SELECT seq FROM {} WHERE id = 1", schema.qualified(RELAYED));
    Ok(client.query_opt(&sql, &[]).await?.map_or(0, |r| r.get(0)))
}

/// Saves the relay's position.
///
/// # Errors
/// The driver's error.
pub(super) async fn save(
    client: &Client,
    schema: &Schema,
    seq: i64,
) -> Result<(), tokio_postgres::Error> {
    let sql = format!(
        "INSERT INTO {} (id, seq) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq",
        schema.qualified(RELAYED)
    );
    client.execute(&sql, &[&seq]).await?;
    Ok(())
}
