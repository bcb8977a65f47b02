//! Loading the output into PostgreSQL the way the database is fastest: `COPY ... FROM STDIN` in
//! one transaction. The rule for a run that loads again: the table's rows of the companies the
//! run loads are replaced (deleted, then copied, in the same transaction), so re-running the same
//! batch does not duplicate rows, and a failed run leaves the table as it was.

use bytes::Bytes;
use futures_util::SinkExt;

use super::layout::{self, COLUMNS, TABLE};

/// Bytes per `COPY` chunk.
const CHUNK: usize = 1 << 20;

/// Replaces `companies`' rows of the table with `csv` (a header line, then rows), in one
/// transaction; returns the rows copied.
///
/// # Errors
/// Any database error; the transaction is rolled back then.
pub async fn replace_rows(
    client: &mut tokio_postgres::Client,
    companies: &[String],
    csv: &[u8],
) -> Result<u64, String> {
    fn db(what: &'static str) -> impl Fn(tokio_postgres::Error) -> String {
        move |e| format!("{what}: {e}")
    }
    client
        .batch_execute(&layout::create_table())
        .await
        .map_err(db("creating the table"))?;
    let tx = client.transaction().await.map_err(db("BEGIN"))?;
    tx.execute(
        &format!("DELETE FROM {TABLE} WHERE company_name = ANY($1)"),
        &[&companies],
    )
    .await
    .map_err(db("deleting the companies' earlier rows"))?;
    let copy = format!(
        "COPY {TABLE} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)",
        COLUMNS.join(", ")
    );
    let sink = tx.copy_in(&copy).await.map_err(db("COPY"))?;
    futures_util::pin_mut!(sink);
    for chunk in csv.chunks(CHUNK) {
        sink.send(Bytes::copy_from_slice(chunk))
            .await
            .map_err(db("COPY data"))?;
    }
    let rows = sink.finish().await.map_err(db("COPY"))?;
    tx.commit().await.map_err(db("COMMIT"))?;
    Ok(rows)
}
