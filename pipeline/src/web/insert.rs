//! The SQL of one group commit: every kind's rows, the outbox, the log entries, the marker.
//!
//! One transaction of the web source's writer, as column arrays per table
//! (`INSERT ... SELECT FROM UNNEST(...)`, one statement per table whatever the group's size),
//! the events' records in the outbox, and a row in `write_groups` naming the group: after a
//! connection lost mid-commit, that row says whether the commit happened.

use std::sync::Arc;

use tokio_postgres::Client;

use super::outbox;
use super::tables::{LoggedRequest, Schema, GROUPS, REQUEST_LOG};
use crate::event::MarketEvent;

/// One transaction: every kind's rows, the log entries, and `group` in [`GROUPS`].
///
/// # Errors
/// The driver's error (the transaction is then rolled back, unless the connection was lost
/// during the commit: then nobody knows yet).
pub(super) async fn insert(
    client: &mut Client,
    schema: &Schema,
    group: uuid::Uuid,
    rows: &[(uuid::Uuid, Arc<[MarketEvent]>)],
    logs: &[LoggedRequest],
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let mut columns = Columns::default();
    for (request_id, events) in rows {
        for event in events.iter() {
            columns.push(*request_id, event);
        }
    }
    columns.insert(&tx, schema).await?;
    outbox::add(
        &tx,
        schema,
        rows.iter().flat_map(|(_, events)| events.iter()),
    )
    .await?;
    if !logs.is_empty() {
        insert_logs(&tx, schema, logs).await?;
    }
    let mark = format!(
        "INSERT INTO {} (group_id) VALUES ($1::text::uuid)",
        schema.qualified(GROUPS)
    );
    tx.execute(&mark, &[&group.to_string()]).await?;
    tx.commit().await
}

/// Whether `group` was committed (its row in [`GROUPS`] is there).
///
/// # Errors
/// The driver's error.
pub(super) async fn committed(
    client: &Client,
    schema: &Schema,
    group: uuid::Uuid,
) -> Result<bool, tokio_postgres::Error> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE group_id = $1::text::uuid)",
        schema.qualified(GROUPS)
    );
    let row = client.query_one(&sql, &[&group.to_string()]).await?;
    Ok(row.get(0))
}

#[derive(Default)]
struct Columns {
    forex: KindColumns,
    prices: KindColumns,
    news: KindColumns,
}

/// The columns of one table (`a`, `b`, `c`: the three numbers of its kind, in column order).
#[derive(Default)]
struct KindColumns {
    ids: Vec<String>,
    created: Vec<i64>,
    instrument: Vec<String>,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    volume: Vec<i64>,
    headline: Vec<String>,
    body: Vec<String>,
    requests: Vec<String>,
}

impl KindColumns {
    fn push(&mut self, request_id: uuid::Uuid, id: uuid::Uuid, created: i64, instrument: &str) {
        self.ids.push(id.to_string());
        self.created.push(created);
        self.instrument.push(instrument.to_string());
        self.requests.push(request_id.to_string());
    }
}

impl Columns {
    fn push(&mut self, request_id: uuid::Uuid, event: &MarketEvent) {
        let (id, at, instrument) = (event.id(), event.created_at(), event.instrument());
        match event {
            MarketEvent::Forex(e) => {
                let t = &mut self.forex;
                t.push(request_id, id, at, instrument);
                t.a.push(e.bid);
                t.b.push(e.ask);
                t.c.push(e.mid);
            }
            MarketEvent::StockPrice(e) => {
                let t = &mut self.prices;
                t.push(request_id, id, at, instrument);
                t.a.push(e.price);
                t.b.push(e.bid);
                t.c.push(e.ask);
                t.volume.push(i64::try_from(e.volume).unwrap_or(i64::MAX));
            }
            MarketEvent::StockNews(e) => {
                let t = &mut self.news;
                t.push(request_id, id, at, instrument);
                t.headline.push(e.headline.clone());
                t.body.push(e.body.clone());
                t.a.push(e.sentiment);
            }
        }
    }

    async fn insert(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        schema: &Schema,
    ) -> Result<(), tokio_postgres::Error> {
        const AT: &str = "timestamptz 'epoch' + c * interval '1 millisecond'";
        let (f, p, n) = (&self.forex, &self.prices, &self.news);
        if !f.ids.is_empty() {
            let sql = format!(
                "INSERT INTO {} (event_uuid, created_at, pair, bid, ask, mid, request_id) \
                 SELECT u::uuid, {AT}, i, a, b, m, r::uuid FROM UNNEST($1::text[], $2::int8[], \
                 $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::text[]) AS t(u, c, i, a, b, m, r)",
                schema.qualified("forex_rates")
            );
            tx.execute(
                &sql,
                &[
                    &f.ids,
                    &f.created,
                    &f.instrument,
                    &f.a,
                    &f.b,
                    &f.c,
                    &f.requests,
                ],
            )
            .await?;
        }
        if !p.ids.is_empty() {
            let sql = format!(
                "INSERT INTO {} (event_uuid, created_at, symbol, price, bid, ask, volume, request_id) \
                 SELECT u::uuid, {AT}, i, a, b, m, v, r::uuid FROM UNNEST($1::text[], $2::int8[], \
                 $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::int8[], $8::text[]) \
                 AS t(u, c, i, a, b, m, v, r)",
                schema.qualified("stock_prices")
            );
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
                &p.ids,
                &p.created,
                &p.instrument,
                &p.a,
                &p.b,
                &p.c,
                &p.volume,
                &p.requests,
            ];
            tx.execute(&sql, &params).await?;
        }
        if !n.ids.is_empty() {
            let sql = format!(
                "INSERT INTO {} (event_uuid, created_at, symbol, headline, body, sentiment, request_id) \
                 SELECT u::uuid, {AT}, i, h, b, s, r::uuid FROM UNNEST($1::text[], $2::int8[], \
                 $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[]) AS t(u, c, i, h, b, s, r)",
                schema.qualified("stock_news")
            );
            tx.execute(
                &sql,
                &[
                    &n.ids,
                    &n.created,
                    &n.instrument,
                    &n.headline,
                    &n.body,
                    &n.a,
                    &n.requests,
                ],
            )
            .await?;
        }
        Ok(())
    }
}

/// The log entries, in one statement.
async fn insert_logs(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &Schema,
    logs: &[LoggedRequest],
) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<String> = logs.iter().map(|l| l.request_id.to_string()).collect();
    let at: Vec<i64> = logs.iter().map(|l| l.at_ms).collect();
    let client: Vec<&str> = logs.iter().map(|l| l.client.as_str()).collect();
    let method: Vec<&str> = logs.iter().map(|l| l.method.as_str()).collect();
    let url: Vec<&str> = logs.iter().map(|l| l.url.as_str()).collect();
    let status: Vec<i16> = logs.iter().map(|l| l.status as i16).collect();
    let events: Vec<i32> = logs.iter().map(|l| l.events as i32).collect();
    let micros: Vec<i64> = logs
        .iter()
        .map(|l| i64::try_from(l.micros).unwrap_or(i64::MAX))
        .collect();
    let sql = format!(
        "INSERT INTO {} (request_id, at, client_addr, method, url, status, events, micros) \
         SELECT r::uuid, timestamptz 'epoch' + a * interval '1 millisecond', c, m, u, s, e, t \
         FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int2[], \
         $7::int4[], $8::int8[]) AS x(r, a, c, m, u, s, e, t)",
        schema.qualified(REQUEST_LOG)
    );
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] =
        [&ids, &at, &client, &method, &url, &status, &events, &micros];
    tx.execute(&sql, &params).await?;
    Ok(())
}
