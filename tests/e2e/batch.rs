//! The batch flow's load step against a real PostgreSQL: one transaction per run, so a failed
//! load leaves the table as it was, and loading the same batch again replaces rows instead of
//! duplicating them.

use tickflow_harness::postgres;
use tickflow_pipeline::batch::layout::{COLUMNS, TABLE};
use tickflow_pipeline::batch::load::replace_rows;

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut out = COLUMNS.join(",").into_bytes();
    out.push(b'\n');
    for row in rows {
        out.extend_from_slice(row.as_bytes());
        out.push(b'\n');
    }
    out
}

async fn count(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {TABLE}"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_failed_load_leaves_the_table_as_it_was_and_a_second_load_replaces_its_rows() {
    let url = &postgres::shared::shared()
        .unwrap_or_else(|e| panic!("the batch tests need PostgreSQL: {e}"))
        .url;
    let mut client = postgres::connect(url).await.unwrap();
    let schema = format!("tickflow_test_{}", std::process::id());
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .await
        .unwrap();
    let companies = ["ACME".to_string()];
    let good = csv(&[
        "2020-01-02,10,11,9,10.5,100,5.000000,0.500000,ACME",
        "2020-01-03,10,11,9,9.5,100,-5.000000,-0.500000,ACME",
    ]);
    assert_eq!(replace_rows(&mut client, &companies, &good).await, Ok(2));
    assert_eq!(
        replace_rows(&mut client, &companies, &good).await,
        Ok(2),
        "the same batch again"
    );
    assert_eq!(count(&client).await, 2, "replaced, not duplicated");

    // A value too long for VARCHAR(56), after a good row: the whole load is rolled back.
    let too_long = "x".repeat(57);
    let bad = csv(&[
        "2020-01-06,10,11,9,10.5,100,5.000000,0.500000,ACME",
        &format!("2020-01-07,10,11,9,10.5,{too_long},5.000000,0.500000,ACME"),
    ]);
    let error = replace_rows(&mut client, &companies, &bad)
        .await
        .unwrap_err();
    assert!(error.contains("COPY"), "{error}");
    let dates: Vec<String> = client
        .query(&format!("SELECT stock_date FROM {TABLE} ORDER BY 1"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(dates, ["2020-01-02", "2020-01-03"], "the table as it was");
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
