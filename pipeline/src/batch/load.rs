//! Loading the output into PostgreSQL with `COPY`, one transaction per run.
//!
//! Loading the output into PostgreSQL the way the database is fastest: `COPY ... FROM STDIN` in
//! one transaction, fed while the files are read. The rule for a run that loads again: the
//! table's rows of the companies the run lists are replaced (deleted, then copied, in the same
//! transaction), so re-running the same batch does not duplicate rows, and a failed run leaves
//! the table as it was (its transaction is never committed).

use std::pin::Pin;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{CopyInSink, Transaction};

use super::error::BatchError;
use super::layout::{self, COLUMNS, TABLE};

/// Bytes per `COPY` chunk in [`replace_rows`].
const CHUNK: usize = 1 << 20;

/// An open load: a transaction that has deleted the companies' earlier rows and is copying.
pub struct Loader<'a> {
    tx: Transaction<'a>,
    sink: Pin<Box<CopyInSink<Bytes>>>,
}

fn db(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> BatchError {
    BatchError::database(what)
}

impl<'a> Loader<'a> {
    /// Creates the table if needed, begins the transaction, deletes `companies`' rows and starts
    /// `COPY` (CSV with a header line).
    ///
    /// # Errors
    /// Any database error.
    pub async fn begin(
        client: &'a mut tokio_postgres::Client,
        companies: &[String],
    ) -> Result<Self, BatchError> {
        ensure_table(client).await?;
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
        let sink = Box::pin(tx.copy_in(&copy).await.map_err(db("COPY"))?);
        Ok(Self { tx, sink })
    }

    /// Sends CSV bytes (the header first).
    ///
    /// # Errors
    /// The server refusing the data.
    pub async fn send(&mut self, bytes: Bytes) -> Result<(), BatchError> {
        self.sink.send(bytes).await.map_err(db("COPY data"))
    }

    /// Ends `COPY` and commits; returns the rows copied.
    ///
    /// # Errors
    /// The server refusing the data or the commit (nothing is committed then).
    pub async fn commit(mut self) -> Result<u64, BatchError> {
        let rows = self.sink.as_mut().finish().await.map_err(db("COPY"))?;
        self.tx.commit().await.map_err(db("COMMIT"))?;
        Ok(rows)
    }
}

/// Creates the table unless it exists. Two sessions creating it at once race in PostgreSQL's
/// catalog even with `IF NOT EXISTS` (the loser sees a unique violation on the table's type, or
/// "type already exists"): a create that failed while the table now exists found it made by
/// the other session, which is all it asked for.
///
/// # Errors
/// The create failing with no table made.
pub async fn ensure_table(client: &tokio_postgres::Client) -> Result<(), BatchError> {
    let Err(error) = client.batch_execute(&layout::create_table()).await else {
        return Ok(());
    };
    let made = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&TABLE])
        .await
        .is_ok_and(|row| row.get::<_, bool>(0));
    if made {
        tracing::info!(%error, "the table was created by another session meanwhile");
        return Ok(());
    }
    Err(db("creating the table")(error))
}

/// Replaces `companies`' rows of the table with `csv` (a header line, then rows), in one
/// transaction; returns the rows copied.
///
/// # Errors
/// Any database error; the transaction is rolled back then.
pub async fn replace_rows(
    client: &mut tokio_postgres::Client,
    companies: &[String],
    csv: &[u8],
) -> Result<u64, BatchError> {
    let mut loader = Loader::begin(client, companies).await?;
    for chunk in csv.chunks(CHUNK) {
        loader.send(Bytes::copy_from_slice(chunk)).await?;
    }
    loader.commit().await
}
