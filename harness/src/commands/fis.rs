//! A scenario's fault schedule as an AWS Fault Injection Service experiment template.
//!
//! The same schedule on AWS: the rules AWS FIS has an action for become that action in an
//! experiment template (the shape `aws fis create-experiment-template --cli-input-json` takes:
//! `description`, `targets`, `actions`, `stopConditions`, `roleArn`, `tags`), each on the IAM
//! role the pipeline's stages run as; every other rule is named with why FIS cannot express it.
//! FIS's API fault actions pick a share of the role's calls for a while, not call indices or
//! passes, so only rules that draw a `ratio` translate; of the services tickflow calls, only
//! Kinesis takes them (`aws:fis:inject-api-*` with `service = kinesis`, and Kinesis's own
//! `aws:kinesis:inject-api-provisioned-throughput-exception` and
//! `aws:kinesis:inject-api-expired-iterator-exception`).

use serde_json::{json, Map, Value};
use tickflow_pipeline::chaos::{FaultKind, FaultRule, Service};

/// The roles and length an exported experiment runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct FisSettings {
    /// The role FIS runs the experiment as (`roleArn`).
    pub experiment_role_arn: String,
    /// The role the pipeline's stages call AWS as: the actions' target.
    pub pipeline_role_arn: String,
    /// How long each action injects, seconds (FIS takes one minute to 12 hours).
    pub duration_secs: u64,
}

/// A rule FIS cannot express, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotExported {
    /// Its place: `faults.schedule.N`.
    pub rule: String,
    /// Why.
    pub why: String,
}

/// The experiment template for `schedule` of scenario `name`, and every rule left out.
pub fn export(
    name: &str,
    schedule: &[FaultRule],
    settings: &FisSettings,
) -> (Value, Vec<NotExported>) {
    let mut actions = Map::new();
    let mut left_out = Vec::new();
    for (i, rule) in schedule.iter().enumerate() {
        match action(rule, settings.duration_secs) {
            Ok(action) => {
                actions.insert(format!("rule{i}"), action);
            }
            Err(why) => left_out.push(NotExported {
                rule: format!("faults.schedule.{i}"),
                why,
            }),
        }
    }
    let template = json!({
        "description": format!("tickflow scenario {name}: its fault schedule as FIS actions"),
        "targets": {
            "PipelineRole": {
                "resourceType": "aws:iam:role",
                "resourceArns": [settings.pipeline_role_arn],
                "selectionMode": "ALL"
            }
        },
        "actions": actions,
        "stopConditions": [{ "source": "none" }],
        "roleArn": settings.experiment_role_arn,
        "tags": { "Name": format!("tickflow-{name}") }
    });
    (template, left_out)
}

/// FIS's action for `rule`, or why there is none.
fn action(rule: &FaultRule, duration_secs: u64) -> Result<Value, String> {
    let id = action_id(rule)?;
    if !rule.calls.is_empty() || rule.ratio <= 0.0 {
        return Err(
            "it lists call indices; FIS injects into a share of calls for a while \
                    (give the rule a ratio)"
                .into(),
        );
    }
    if rule.from_call.is_some() || rule.to_call.is_some() || rule.limit.is_some() {
        return Err(
            "it bounds the calls it hits (from_call, to_call or limit); FIS bounds an \
                    action by its duration only"
                .into(),
        );
    }
    let percentage = (rule.ratio * 100.0).round().clamp(1.0, 100.0) as u64;
    let mut parameters = Map::new();
    if id.starts_with("aws:fis:") {
        parameters.insert("service".into(), "kinesis".into());
    }
    let operations = rule.operation.clone().unwrap_or_else(|| match rule.kind {
        FaultKind::ExpiredIterator => "GetRecords".into(),
        _ => "PutRecords,GetRecords,GetShardIterator,ListShards".into(),
    });
    parameters.insert("operations".into(), operations.into());
    parameters.insert("percentage".into(), percentage.to_string().into());
    parameters.insert("duration".into(), iso_duration(duration_secs).into());
    Ok(json!({
        "actionId": id,
        "description": format!(
            "{} kinesis {} ratio {}",
            rule.kind.name(),
            rule.operation.as_deref().unwrap_or("*"),
            rule.ratio
        ),
        "parameters": parameters,
        "targets": { "Roles": "PipelineRole" }
    }))
}

/// The FIS action for a rule's kind and service, or why there is none.
fn action_id(rule: &FaultRule) -> Result<&'static str, String> {
    let kind = rule.kind;
    if kind.is_database_fault() {
        return Err(format!(
            "{}: PostgreSQL is not an AWS service FIS faults (on RDS, aws:rds:reboot-db-instances \
             or aws:rds:failover-db-cluster come closest)",
            kind.name()
        ));
    }
    let why_not = match kind {
        FaultKind::Crash => Some("a crash point inside a tickflow stage; FIS stops instances and tasks, not a stage between two calls"),
        FaultKind::Outage => Some("an outage of the whole endpoint; FIS has no action that makes every AWS API unreachable"),
        FaultKind::SplitShard => Some("a shard split is a Kinesis UpdateShardCount call, not a fault FIS injects"),
        FaultKind::Timeout | FaultKind::Reset | FaultKind::Latency => Some("FIS's API actions answer with an error; none holds a call, drops its connection or loses its answer"),
        FaultKind::Duplicate | FaultKind::Delay => Some("a delivery fault acts on the messages a stage received (a copy sent back, a message hidden); FIS has no action that duplicates or delays SQS deliveries"),
        _ => None,
    };
    if let Some(why) = why_not {
        return Err(format!("{}: {why}", kind.name()));
    }
    if rule.service != Some(Service::Kinesis) {
        let service = rule.service.map_or("no service", |s| s.name());
        return Err(format!(
            "{} on {service}: FIS injects API errors into Kinesis and EC2 calls only",
            kind.name()
        ));
    }
    Ok(match kind {
        FaultKind::Throttle => "aws:kinesis:inject-api-provisioned-throughput-exception",
        FaultKind::ExpiredIterator => "aws:kinesis:inject-api-expired-iterator-exception",
        _ => "aws:fis:inject-api-internal-error",
    })
}

/// `secs` as an ISO 8601 duration within what FIS takes (one minute to 12 hours).
fn iso_duration(secs: u64) -> String {
    format!("PT{}S", secs.clamp(60, 12 * 3_600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FisSettings {
        FisSettings {
            experiment_role_arn: "arn:aws:iam::123456789012:role/fis".into(),
            pipeline_role_arn: "arn:aws:iam::123456789012:role/pipeline".into(),
            duration_secs: 300,
        }
    }

    fn call(kind: FaultKind, service: Service, operation: &str, ratio: f64) -> FaultRule {
        FaultRule {
            service: Some(service),
            operation: Some(operation.into()),
            ratio,
            ..FaultRule::new(kind)
        }
    }

    #[test]
    fn a_template_has_the_documented_shape_and_each_kinesis_ratio_rule_as_its_action() {
        let schedule = [
            call(FaultKind::Throttle, Service::Kinesis, "PutRecords", 0.25),
            call(
                FaultKind::ExpiredIterator,
                Service::Kinesis,
                "GetRecords",
                0.1,
            ),
            call(
                FaultKind::ServerError,
                Service::Kinesis,
                "GetRecords",
                0.005,
            ),
        ];
        let (template, left_out) = export("s", &schedule, &settings());
        assert!(left_out.is_empty(), "{left_out:?}");
        let keys: Vec<&str> = template
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "actions",
                "description",
                "roleArn",
                "stopConditions",
                "tags",
                "targets"
            ]
        );
        let target = &template["targets"]["PipelineRole"];
        assert_eq!(target["resourceType"], "aws:iam:role");
        assert_eq!(
            target["resourceArns"][0],
            "arn:aws:iam::123456789012:role/pipeline"
        );
        assert_eq!(target["selectionMode"], "ALL");
        assert_eq!(template["stopConditions"][0]["source"], "none");
        let actions = template["actions"].as_object().unwrap();
        assert_eq!(actions.len(), 3);
        let throttle = &actions["rule0"];
        assert_eq!(
            throttle["actionId"],
            "aws:kinesis:inject-api-provisioned-throughput-exception"
        );
        assert_eq!(throttle["parameters"]["percentage"], "25");
        assert_eq!(throttle["parameters"]["operations"], "PutRecords");
        assert_eq!(throttle["parameters"]["duration"], "PT300S");
        assert_eq!(throttle["targets"]["Roles"], "PipelineRole");
        assert_eq!(
            actions["rule1"]["actionId"],
            "aws:kinesis:inject-api-expired-iterator-exception"
        );
        let internal = &actions["rule2"];
        assert_eq!(internal["actionId"], "aws:fis:inject-api-internal-error");
        assert_eq!(internal["parameters"]["service"], "kinesis");
        assert_eq!(
            internal["parameters"]["percentage"], "1",
            "at least 1 percent"
        );
        // Every parameter is a string, as FIS takes them.
        for action in actions.values() {
            assert!(action["parameters"]
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_string));
        }
    }

    #[test]
    fn every_rule_fis_cannot_express_is_named_with_why() {
        let mut listed = call(FaultKind::Throttle, Service::Kinesis, "PutRecords", 0.0);
        listed.calls = vec![3];
        let mut crash = FaultRule::new(FaultKind::Crash);
        crash.at = vec![1];
        let schedule = [
            call(FaultKind::Throttle, Service::S3, "PutObject", 0.3),
            listed,
            call(FaultKind::Reset, Service::Kinesis, "PutRecords", 0.3),
            crash,
            FaultRule::new(FaultKind::Outage),
            FaultRule::new(FaultKind::DbTerminate),
            FaultRule::new(FaultKind::Duplicate),
        ];
        let (template, left_out) = export("s", &schedule, &settings());
        assert!(template["actions"].as_object().unwrap().is_empty());
        let rules: Vec<&str> = left_out.iter().map(|n| n.rule.as_str()).collect();
        assert_eq!(
            rules,
            (0..7)
                .map(|i| format!("faults.schedule.{i}"))
                .collect::<Vec<_>>()
        );
        for (n, needle) in left_out.iter().zip([
            "Kinesis and EC2 calls only",
            "call indices",
            "loses its answer",
            "crash point",
            "every AWS API",
            "PostgreSQL",
            "SQS deliveries",
        ]) {
            assert!(n.why.contains(needle), "{}: {}", n.rule, n.why);
        }
    }

    #[test]
    fn a_duration_is_held_within_what_fis_takes() {
        assert_eq!(iso_duration(5), "PT60S");
        assert_eq!(iso_duration(600), "PT600S");
        assert_eq!(iso_duration(u64::MAX), "PT43200S");
    }
}
