//! The baseline and canary Deployments, built from production's, and what their state
//! means: pure functions, no API calls.
//!
//! The pods of both keep production's pod labels (so production's Service sends them its
//! traffic) plus [`ROLE_LABEL`] and [`RUN_LABEL`]; each Deployment's selector includes
//! those two, so neither ever selects production's pods, nor the other's.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::StageError;

/// `baseline` or `canary`, on the pods and the Deployments.
pub const ROLE_LABEL: &str = "kanary.io/role";
/// The run's id, on the pods and the Deployments.
pub const RUN_LABEL: &str = "kanary.io/run";
/// The production Deployment's name, on kanary's Deployments (finds leftovers).
pub const TARGET_LABEL: &str = "kanary.io/target";
/// `kanary`, on kanary's Deployments (the recommended label's value).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "kanary";
/// The image a Deployment was made to run (annotation).
pub const IMAGE_ANNOTATION: &str = "kanary.io/image";

/// Which of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Production's image, freshly started.
    Baseline,
    /// The new image.
    Canary,
}

impl Role {
    /// The label value and name suffix.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Baseline => "baseline",
            Role::Canary => "canary",
        }
    }

    /// The Deployment's name: `<production>-baseline`, `<production>-canary`. Metric
    /// queries select the pods by these names (`pod=~"web-canary-.*"`).
    pub fn name(self, production: &str) -> String {
        format!("{production}-{}", self.as_str())
    }
}

/// What the two Deployments are made from.
#[derive(Debug, Clone)]
pub struct Blueprint<'a> {
    /// The production Deployment, as read.
    pub production: &'a Deployment,
    /// The container whose image changes.
    pub container: &'a str,
    /// The canary's image.
    pub image: &'a str,
    /// Pods per Deployment.
    pub replicas: i32,
    /// The run id ([`RUN_LABEL`]).
    pub run_id: &'a str,
    /// Labels set on the pods of both, over production's (e.g. `track=canary`, so that
    /// production's `track: stable` selector, HPA and PodDisruptionBudget ignore them).
    pub pod_labels: &'a BTreeMap<String, String>,
}

/// Production's name, namespace, and the image its `container` runs; an error names the
/// containers there are when `container` is not one of them.
pub fn production_image(production: &Deployment, container: &str) -> Result<String, StageError> {
    let name = production.metadata.name.as_deref().unwrap_or_default();
    let containers = production
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    match containers.iter().find(|c| c.name == container) {
        Some(c) => c.image.clone().ok_or_else(|| {
            StageError::Invalid(format!(
                "deployment {name}: container {container} has no image"
            ))
        }),
        None => Err(StageError::Invalid(format!(
            "deployment {name} has no container '{container}' (its containers: {})",
            containers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The Deployment for `role`: production's pod template (with the canary's image for the
/// canary), the labels above, `replicas` pods, nothing of production's identity
/// (uid, resourceVersion, status, owner references, revision annotations).
pub fn build(blueprint: &Blueprint<'_>, role: Role) -> Result<Deployment, StageError> {
    let production = blueprint.production;
    let production_name = production.metadata.name.clone().unwrap_or_default();
    let namespace = production.metadata.namespace.clone();
    let production_image = production_image(production, blueprint.container)?;
    let image = match role {
        Role::Baseline => production_image.clone(),
        Role::Canary => blueprint.image.to_string(),
    };

    let mut template: PodTemplateSpec = production.spec.template.clone();
    let template_meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    let pod_labels = template_meta.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in blueprint.pod_labels {
        pod_labels.insert(k.clone(), v.clone());
    }
    pod_labels.insert(ROLE_LABEL.into(), role.as_str().into());
    pod_labels.insert(RUN_LABEL.into(), blueprint.run_id.into());
    let pod_labels = pod_labels.clone();
    if let Some(spec) = template.spec.as_mut() {
        for c in spec.containers.iter_mut() {
            if c.name == blueprint.container {
                c.image = Some(image.clone());
            }
        }
    }

    // The selector: production's equality terms as they hold on the new pods, and the
    // two kanary labels, which no production pod carries. Production's set-based terms
    // are left out: the two labels alone make the selector exclusive.
    let mut match_labels: BTreeMap<String, String> = production
        .spec
        .selector
        .match_labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| pod_labels.contains_key(k))
        .map(|(k, _)| {
            let v = pod_labels.get(&k).cloned().unwrap_or_default();
            (k, v)
        })
        .collect();
    match_labels.insert(ROLE_LABEL.into(), role.as_str().into());
    match_labels.insert(RUN_LABEL.into(), blueprint.run_id.into());

    let mut labels = BTreeMap::new();
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string());
    labels.insert(TARGET_LABEL.to_string(), production_name.clone());
    labels.insert(ROLE_LABEL.to_string(), role.as_str().to_string());
    labels.insert(RUN_LABEL.to_string(), blueprint.run_id.to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert(IMAGE_ANNOTATION.to_string(), image);

    Ok(Deployment {
        metadata: ObjectMeta {
            name: Some(role.name(&production_name)),
            namespace,
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: DeploymentSpec {
            replicas: Some(blueprint.replicas),
            selector: LabelSelector {
                match_labels: Some(match_labels),
                match_expressions: None,
            },
            template,
            strategy: production.spec.strategy.clone(),
            min_ready_seconds: production.spec.min_ready_seconds,
            progress_deadline_seconds: production.spec.progress_deadline_seconds,
            revision_history_limit: Some(0),
            paused: None,
        },
        status: None,
    })
}

/// Whether `selector` selects pods labelled `labels` (Kubernetes' label-selector rules:
/// every `matchLabels` pair and every `matchExpressions` requirement must hold; an empty
/// selector selects everything).
pub fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let equal = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions = selector.match_expressions.iter().flatten().all(|r| {
        let value = labels.get(&r.key);
        let values = r.values.as_deref().unwrap_or_default();
        match r.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // An operator the API server would have refused: select nothing.
            _ => false,
        }
    });
    equal && expressions
}

/// A label selector string (`a=b,c=d`) for list and watch calls.
pub fn selector_string(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Where a Deployment's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// All replicas updated and available.
    Done,
    /// Still rolling out: what it waits for.
    Waiting(String),
    /// It will not finish (the progress deadline passed, or a replica set cannot create
    /// pods).
    Failed(String),
}

/// `kubectl rollout status`'s reading of a Deployment (its `DeploymentStatusViewer`): the
/// controller must have seen the latest generation; then the progress deadline, updated,
/// old and available replicas, in that order.
pub fn rollout(deployment: &Deployment) -> Rollout {
    let name = deployment.metadata.name.as_deref().unwrap_or_default();
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = deployment.status.as_ref() else {
        return Rollout::Waiting(format!("deployment {name} has no status yet"));
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Rollout::Waiting(format!(
            "waiting for the deployment controller to see {name}'s generation {generation}"
        ));
    }
    for c in status.conditions.iter().flatten() {
        if c.type_.as_deref() == Some("Progressing")
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        {
            return Rollout::Failed(format!(
                "deployment {name} exceeded its progress deadline{}",
                c.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
        if c.type_.as_deref() == Some("ReplicaFailure") && c.status.as_deref() == Some("True") {
            return Rollout::Failed(format!(
                "deployment {name}: {}{}",
                c.reason.as_deref().unwrap_or("ReplicaFailure"),
                c.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
    }
    let wanted = deployment.spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted {
        Rollout::Waiting(format!(
            "{name}: {updated} of {wanted} new replicas have been updated"
        ))
    } else if replicas > updated {
        Rollout::Waiting(format!(
            "{name}: {} old replicas are pending termination",
            replicas - updated
        ))
    } else if available < updated {
        Rollout::Waiting(format!(
            "{name}: {available} of {updated} updated replicas are available"
        ))
    } else {
        Rollout::Done
    }
}

/// Waiting reasons that do not go away by waiting: the image cannot be pulled, the
/// container keeps crashing, or its configuration is broken.
const FATAL_WAITING_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// The first pod that cannot become ready, with its reason: `pod web-canary-x-y: container
/// app: ImagePullBackOff: Back-off pulling image "repo:B"`.
pub fn pod_failure(pods: &[Pod]) -> Option<String> {
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let Some(status) = pod.status.as_ref() else {
            continue;
        };
        if status.phase.as_deref() == Some("Failed") {
            return Some(format!(
                "pod {name} failed: {}",
                status
                    .message
                    .as_deref()
                    .or(status.reason.as_deref())
                    .unwrap_or("no reason given")
            ));
        }
        let containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for c in containers {
            let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
            let Some(waiting) = waiting else { continue };
            let reason = waiting.reason.as_deref().unwrap_or_default();
            if FATAL_WAITING_REASONS.contains(&reason) {
                let mut text = format!("pod {name}: container {}: {reason}", c.name);
                if let Some(message) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
                    text.push_str(&format!(": {message}"));
                }
                let last_exit = c
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .map(|t| t.exit_code);
                if let Some(code) = last_exit {
                    text.push_str(&format!(
                        " (restarted {} times, last exit code {code})",
                        c.restart_count
                    ));
                }
                return Some(text);
            }
        }
    }
    None
}

/// A label value (the run id): at most 63 characters, alphanumerics with `-`, `_`, `.`
/// inside, as Kubernetes requires.
pub fn check_label_value(field: &str, value: &str) -> Result<(), StageError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let edges = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if value.is_empty()
        || value.len() > 63
        || !value.chars().all(ok_char)
        || !edges(value.chars().next())
        || !edges(value.chars().last())
    {
        return Err(StageError::Invalid(format!(
            "{field}: '{value}' is not a valid Kubernetes label value (at most 63 characters: \
             letters, digits, '-', '_', '.', starting and ending with a letter or digit)"
        )));
    }
    Ok(())
}

/// A Deployment name: a DNS subdomain whose `-baseline` / `-canary` names still fit.
pub fn check_deployment_name(field: &str, name: &str) -> Result<(), StageError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.');
    let edges = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    // Pod names append `-<10-char hash>-<5 chars>`; the hostname limit is 63.
    let longest = name.len() + "-baseline".len();
    if name.is_empty()
        || !name.chars().all(ok_char)
        || !edges(name.chars().next())
        || !edges(name.chars().last())
    {
        return Err(StageError::Invalid(format!(
            "{field}: '{name}' is not a valid Kubernetes name (lower-case letters, digits, \
             '-' and '.', starting and ending with a letter or digit)"
        )));
    }
    if longest > 253 {
        return Err(StageError::Invalid(format!(
            "{field}: '{name}' is too long: '{name}-baseline' must fit in 253 characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn production() -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod", "uid": "u-1",
                         "resourceVersion": "42", "generation": 7,
                         "annotations": {"deployment.kubernetes.io/revision": "7"}},
            "spec": {
                "replicas": 10,
                "selector": {"matchLabels": {"app": "web", "track": "stable"}},
                "template": {
                    "metadata": {"labels": {"app": "web", "track": "stable", "tier": "fe"},
                                 "annotations": {"prometheus.io/scrape": "true"}},
                    "spec": {"containers": [
                        {"name": "app", "image": "repo/web:A"},
                        {"name": "sidecar", "image": "envoy:1"}
                    ]}
                },
                "progressDeadlineSeconds": 120
            },
            "status": {"replicas": 10, "availableReplicas": 10}
        }))
        .expect("a valid Deployment")
    }

    fn blueprint<'a>(p: &'a Deployment, labels: &'a BTreeMap<String, String>) -> Blueprint<'a> {
        Blueprint {
            production: p,
            container: "app",
            image: "repo/web:B",
            replicas: 1,
            run_id: "r1",
            pod_labels: labels,
        }
    }

    fn image(d: &Deployment, container: &str) -> String {
        d.spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.containers.iter().find(|c| c.name == container))
            .and_then(|c| c.image.clone())
            .unwrap_or_default()
    }

    #[test]
    fn baseline_runs_production_image_and_canary_the_new_one() {
        let p = production();
        let none = BTreeMap::new();
        let b = build(&blueprint(&p, &none), Role::Baseline).expect("baseline");
        let c = build(&blueprint(&p, &none), Role::Canary).expect("canary");
        assert_eq!(b.metadata.name.as_deref(), Some("web-baseline"));
        assert_eq!(c.metadata.name.as_deref(), Some("web-canary"));
        assert_eq!(image(&b, "app"), "repo/web:A");
        assert_eq!(image(&c, "app"), "repo/web:B");
        assert_eq!(image(&c, "sidecar"), "envoy:1");
        assert_eq!(c.spec.replicas, Some(1));
        assert_eq!(c.metadata.namespace.as_deref(), Some("prod"));
        // Nothing of production's identity.
        assert_eq!(c.metadata.uid, None);
        assert_eq!(c.metadata.resource_version, None);
        assert!(c.status.is_none());
        assert_eq!(c.spec.progress_deadline_seconds, Some(120));
    }

    #[test]
    fn pods_keep_production_labels_and_selectors_are_exclusive() {
        let p = production();
        let none = BTreeMap::new();
        let b = build(&blueprint(&p, &none), Role::Baseline).expect("baseline");
        let c = build(&blueprint(&p, &none), Role::Canary).expect("canary");
        let labels = |d: &Deployment| {
            d.spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
                .unwrap_or_default()
        };
        let cl = labels(&c);
        assert_eq!(cl.get("app").map(String::as_str), Some("web"));
        assert_eq!(cl.get("tier").map(String::as_str), Some("fe"));
        assert_eq!(cl.get(ROLE_LABEL).map(String::as_str), Some("canary"));
        assert_eq!(cl.get(RUN_LABEL).map(String::as_str), Some("r1"));
        // Each selector selects its own pods, not the other's, not production's.
        let production_pods = labels(&p);
        assert!(selects(&c.spec.selector, &cl));
        assert!(!selects(&c.spec.selector, &labels(&b)));
        assert!(!selects(&c.spec.selector, &production_pods));
        assert!(!selects(&b.spec.selector, &production_pods));
        // Production's selector matches them: the warning case.
        assert!(selects(&p.spec.selector, &cl));
    }

    #[test]
    fn pod_label_overrides_keep_production_selector_off() {
        let p = production();
        let labels = BTreeMap::from([("track".to_string(), "canary".to_string())]);
        let c = build(&blueprint(&p, &labels), Role::Canary).expect("canary");
        let cl = c
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        assert_eq!(cl.get("track").map(String::as_str), Some("canary"));
        assert!(!selects(&p.spec.selector, &cl));
        // The canary's own selector follows the override, so it still matches its pods.
        assert!(selects(&c.spec.selector, &cl));
    }

    #[test]
    fn a_missing_container_names_the_ones_there_are() {
        let p = production();
        let none = BTreeMap::new();
        let mut bp = blueprint(&p, &none);
        bp.container = "api";
        let e = build(&bp, Role::Canary).expect_err("no such container");
        assert_eq!(
            e.to_string(),
            "deployment web has no container 'api' (its containers: app, sidecar)"
        );
    }

    #[test]
    fn selector_expressions() {
        let s: LabelSelector = serde_json::from_value(json!({
            "matchExpressions": [
                {"key": "app", "operator": "In", "values": ["web", "api"]},
                {"key": "track", "operator": "NotIn", "values": ["canary"]},
                {"key": "tier", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        }))
        .expect("selector");
        let l = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(selects(&s, &l(&[("app", "web"), ("tier", "fe")])));
        assert!(!selects(&s, &l(&[("app", "db"), ("tier", "fe")])));
        assert!(!selects(
            &s,
            &l(&[("app", "web"), ("tier", "fe"), ("track", "canary")])
        ));
        assert!(!selects(&s, &l(&[("app", "web")])));
        assert!(!selects(
            &s,
            &l(&[("app", "web"), ("tier", "x"), ("legacy", "1")])
        ));
        assert!(selects(&LabelSelector::default(), &l(&[])));
    }

    #[test]
    fn rollout_reads_like_kubectl() {
        let d = |generation: i64, status: serde_json::Value| -> Deployment {
            serde_json::from_value(json!({
                "metadata": {"name": "web-canary", "generation": generation},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": status
            }))
            .expect("deployment")
        };
        assert_eq!(
            rollout(&d(2, json!({"observedGeneration": 1}))),
            Rollout::Waiting(
                "waiting for the deployment controller to see web-canary's generation 2".into()
            )
        );
        assert_eq!(
            rollout(&d(
                1,
                json!({"observedGeneration": 1, "updatedReplicas": 1, "replicas": 1})
            )),
            Rollout::Waiting("web-canary: 1 of 2 new replicas have been updated".into())
        );
        assert_eq!(
            rollout(&d(
                1,
                json!({"observedGeneration": 1, "updatedReplicas": 2, "replicas": 3})
            )),
            Rollout::Waiting("web-canary: 1 old replicas are pending termination".into())
        );
        assert_eq!(
            rollout(&d(
                1,
                json!({"observedGeneration": 1, "updatedReplicas": 2, "replicas": 2,
                       "availableReplicas": 1})
            )),
            Rollout::Waiting("web-canary: 1 of 2 updated replicas are available".into())
        );
        assert_eq!(
            rollout(&d(
                1,
                json!({"observedGeneration": 1, "updatedReplicas": 2, "replicas": 2,
                       "availableReplicas": 2})
            )),
            Rollout::Done
        );
        assert_eq!(
            rollout(&d(
                1,
                json!({"observedGeneration": 1, "conditions": [
                    {"type": "Progressing", "status": "False",
                     "reason": "ProgressDeadlineExceeded",
                     "message": "ReplicaSet \"web-canary-5d\" has timed out progressing."}]})
            )),
            Rollout::Failed(
                "deployment web-canary exceeded its progress deadline: ReplicaSet \
                 \"web-canary-5d\" has timed out progressing."
                    .into()
            )
        );
    }

    #[test]
    fn pod_failures_name_pod_container_and_reason() {
        let pods: Vec<Pod> = serde_json::from_value(json!([
            {"metadata": {"name": "web-canary-1"}, "status": {"phase": "Running",
              "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                                     "image": "x", "imageID": "", "state": {"running": {}}}]}},
            {"metadata": {"name": "web-canary-2"}, "status": {"phase": "Pending",
              "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                "image": "repo/web:B", "imageID": "",
                "state": {"waiting": {"reason": "ImagePullBackOff",
                                      "message": "Back-off pulling image \"repo/web:B\""}}}]}}
        ]))
        .expect("pods");
        assert_eq!(
            pod_failure(&pods).as_deref(),
            Some(
                "pod web-canary-2: container app: ImagePullBackOff: Back-off pulling image \
                 \"repo/web:B\""
            )
        );
        let crash: Vec<Pod> = serde_json::from_value(json!([
            {"metadata": {"name": "web-canary-3"}, "status": {"phase": "Running",
              "containerStatuses": [{"name": "app", "ready": false, "restartCount": 3,
                "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}
        ]))
        .expect("pods");
        assert_eq!(
            pod_failure(&crash).as_deref(),
            Some(
                "pod web-canary-3: container app: CrashLoopBackOff (restarted 3 times, last \
                 exit code 1)"
            )
        );
        // ContainerCreating is a normal wait.
        let creating: Vec<Pod> = serde_json::from_value(json!([
            {"metadata": {"name": "p"}, "status": {"phase": "Pending",
              "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
        ]))
        .expect("pods");
        assert_eq!(pod_failure(&creating), None);
    }

    #[test]
    fn names_and_label_values_are_checked() {
        assert!(check_label_value("runId", "a1-b_c.d").is_ok());
        assert!(check_label_value("runId", "-a").is_err());
        assert!(check_label_value("runId", &"a".repeat(64)).is_err());
        assert!(check_deployment_name("deployment", "web").is_ok());
        let e = check_deployment_name("deployment", "Web").expect_err("upper case");
        assert!(
            e.to_string()
                .starts_with("deployment: 'Web' is not a valid")
        );
    }
}
