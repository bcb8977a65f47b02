//! LocalStack lifecycle, topology provisioning and the doctor's round trips.

use std::time::Duration;

use tickflow_harness::commands::doctor;
use tickflow_harness::flows::stream::resources::topology::Topology;
use tickflow_harness::infra::localstack::{LocalStack, LocalStackConfig};
use tickflow_harness::Error;

use crate::support::{clients, within};

const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn provisioning_twice_is_idempotent_and_teardown_removes_everything() {
    let clients = clients().await;
    let topology = Topology::new();
    let first = within(LIMIT, "provision", topology.provision(&clients))
        .await
        .unwrap();
    let second = within(LIMIT, "provision again", topology.provision(&clients))
        .await
        .unwrap();
    // The second CreateStream fails with ResourceInUse (HTTP 400), which provisioning accepts;
    // the SDK interceptor still counts it as a failed Kinesis attempt.
    let kinesis = clients.calls.snapshot()[0].1;
    assert!(
        kinesis.calls >= 4 && kinesis.errors >= 1 && kinesis.throttles == 0,
        "{kinesis:?}"
    );
    assert_eq!(
        first, second,
        "a second provision must find the same resources"
    );

    let r = &first.resources;
    clients
        .s3
        .put_object()
        .bucket(&r.bucket)
        .key("x/y.jsonl")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    within(LIMIT, "teardown", topology.teardown(&clients, &first))
        .await
        .unwrap();

    nothing_left(&clients, &topology).await;
    // Tearing down what is gone is fine.
    within(LIMIT, "teardown again", topology.teardown(&clients, &first))
        .await
        .unwrap();
}

/// Asserts that no resource named for `topology`'s run exists.
async fn nothing_left(clients: &tickflow_pipeline::aws::Clients, topology: &Topology) {
    let stream = clients
        .kinesis
        .describe_stream_summary()
        .stream_name(topology.name("events"))
        .send()
        .await;
    assert!(stream.is_err(), "the stream still exists");
    for name in [
        "queue",
        "dlq",
        "sub-new-data",
        "sub-price-alert",
        "sub-run-status",
    ] {
        let queue = clients
            .sqs
            .get_queue_url()
            .queue_name(topology.name(name))
            .send()
            .await;
        assert!(queue.is_err(), "queue {name} still exists");
    }
    for bucket in ["lake", "state"] {
        let head = clients
            .s3
            .head_bucket()
            .bucket(topology.name(bucket))
            .send()
            .await;
        assert!(head.is_err(), "bucket {bucket} still exists");
    }
    let topics = clients.sns.list_topics().send().await.unwrap();
    let ours = format!("tickflow-{}-", topology.run_id);
    let left: Vec<_> = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .filter(|arn| arn.contains(&ours))
        .collect();
    assert!(left.is_empty(), "topics still exist: {left:?}");
}

#[tokio::test]
async fn a_provisioning_that_fails_half_way_leaves_nothing_behind() {
    let clients = clients().await;
    // Capitals are fine in stream and queue names, not in a bucket's: the stream and the
    // queues are made, then the lake bucket is refused.
    let topology = Topology::with_run_id(format!(
        "X{}",
        tickflow_harness::infra::topology::new_run_id()
    ));
    let error = within(LIMIT, "provision", topology.provision(&clients))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("s3"), "{error}");
    nothing_left(&clients, &topology).await;
}

#[tokio::test]
async fn teardown_goes_on_past_a_deletion_that_fails_and_names_it() {
    let clients = clients().await;
    let topology = Topology::new();
    let mut provisioned = within(LIMIT, "provision", topology.provision(&clients))
        .await
        .unwrap();
    let real = std::mem::replace(
        &mut provisioned.resources.topics.new_data,
        "not-an-arn!".into(),
    );
    let error = within(LIMIT, "teardown", topology.teardown(&clients, &provisioned))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("DeleteTopic"), "{error}");
    // Everything else went; then the real topic too.
    clients
        .sns
        .delete_topic()
        .topic_arn(real)
        .send()
        .await
        .unwrap();
    nothing_left(&clients, &topology).await;
}

#[tokio::test]
async fn doctor_round_trips_every_service() {
    let clients = clients().await;
    let checks = within(
        LIMIT,
        "doctor",
        doctor::check_all(&clients, &Topology::new()),
    )
    .await;
    let services: Vec<_> = checks.iter().map(|c| c.service).collect();
    assert_eq!(
        services,
        [
            "topology",
            "kinesis",
            "sqs",
            "s3",
            "sns",
            "cloudwatch",
            "topology"
        ]
    );
    for check in &checks {
        assert!(
            check.result.is_ok(),
            "{} {}: {:?}",
            check.service,
            check.check,
            check.result
        );
    }
    assert!(doctor::render_table(&checks).contains("kinesis    put/get across 2 shards"));
}

#[tokio::test]
async fn two_topologies_side_by_side_do_not_interfere() {
    let clients = clients().await;
    let (a, b) = (Topology::new(), Topology::new());
    let pa = within(LIMIT, "provision a", a.provision(&clients))
        .await
        .unwrap();
    let pb = within(LIMIT, "provision b", b.provision(&clients))
        .await
        .unwrap();
    assert_ne!(pa.resources.queue_url, pb.resources.queue_url);

    clients
        .sqs
        .send_message()
        .queue_url(&pa.resources.queue_url)
        .message_body("only for a")
        .send()
        .await
        .unwrap();
    clients
        .s3
        .put_object()
        .bucket(&pa.resources.bucket)
        .key("only-a.txt")
        .body(b"a".to_vec().into())
        .send()
        .await
        .unwrap();

    let in_b = clients
        .sqs
        .receive_message()
        .queue_url(&pb.resources.queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(in_b.messages().is_empty(), "b's queue received a's message");
    let listed_b = clients
        .s3
        .list_objects_v2()
        .bucket(&pb.resources.bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed_b.key_count(), Some(0), "b's bucket holds a's object");
    let in_a = clients
        .sqs
        .receive_message()
        .queue_url(&pa.resources.queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(in_a.messages().len(), 1);

    within(LIMIT, "teardown a", a.teardown(&clients, &pa))
        .await
        .unwrap();
    within(LIMIT, "teardown b", b.teardown(&clients, &pb))
        .await
        .unwrap();
}

#[tokio::test]
async fn unreachable_endpoint_is_a_clear_error() {
    let config = LocalStackConfig {
        endpoint: Some("http://127.0.0.1:9".to_string()),
        ..LocalStackConfig::default()
    };
    let error = match LocalStack::start(&config).await {
        Ok(_) => panic!("a closed port must not be reported as LocalStack"),
        Err(e) => e,
    };
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("http://127.0.0.1:9"), "{message}");
    assert!(message.contains("AWS_ENDPOINT_URL"), "{message}");
}
