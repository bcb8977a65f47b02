//! The Athena/Glue table for the lake's layout, so the data can be queried where it lands.

/// `CREATE EXTERNAL TABLE` for the lake in `bucket`, with partition projection so that new
/// `dt`/`hour` partitions need no `MSCK REPAIR TABLE`.
pub fn create_table(table: &str, bucket: &str) -> String {
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` (
  `event_uuid` string,
  `event_name` string,
  `event_subtype` string,
  `created_at` bigint,
  `created_datetime` string,
  `processed_at` string,
  `pair` string,
  `symbol` string,
  `price` double,
  `bid` double,
  `ask` double,
  `mid` double,
  `volume` bigint,
  `headline` string,
  `body` string,
  `sentiment` double
)
PARTITIONED BY (`event_type` string, `dt` string, `hour` string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://{bucket}/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.event_type.type' = 'enum',
  'projection.event_type.values' = 'forex,stock_price,stock_news',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2',
  'storage.location.template' = 's3://{bucket}/event_type=${{event_type}}/dt=${{dt}}/hour=${{hour}}/'
);
"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_partitions_and_location() {
        let ddl = super::create_table("market_events", "lake");
        assert!(ddl.contains("PARTITIONED BY (`event_type` string, `dt` string, `hour` string)"));
        assert!(ddl.contains("LOCATION 's3://lake/'"));
        assert!(ddl.contains("s3://lake/event_type=${event_type}/dt=${dt}/hour=${hour}/"));
    }
}
