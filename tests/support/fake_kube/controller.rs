//! API defaults and validation for Deployments and Pods, and the simulated Deployment
//! controller (no ReplicaSets: pods are owned by the Deployment).
//!
//! Defaults follow `k8s.io/kubernetes/pkg/apis/apps/v1/defaults.go` (`replicas` 1,
//! `RollingUpdate` 25 %/25 %, `revisionHistoryLimit` 10, `progressDeadlineSeconds` 600) and
//! `pkg/apis/core/v1/defaults.go` (restart policy, DNS policy, termination message,
//! `imagePullPolicy` from the tag, port protocol). A rollout is two steps, like the
//! Deployment controller's `syncDeployment` then the kubelet: [`start_rollout`] replaces the
//! pods of other template hashes with new Pending pods and reports progress
//! (`observedGeneration`, `updatedReplicas`, `unavailableReplicas`); [`settle`], after the
//! behaviour's delay, gives the pods their final state and the Deployment its final status.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::selector::LabelSelector;
use super::store::{self, ApiError, EventType, Kind, State, invalid, name_of, now};
use super::{Behaviour, Shared};

/// At most this many pods per Deployment are simulated (a client asking for a million
/// replicas must not hang the fake); above it the Deployment never becomes available.
pub const MAX_PODS: i64 = 100;

/// The label the Deployment controller puts on its pods.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

fn set_default(map: &mut Value, key: &str, value: Value) {
    if let Some(m) = map.as_object_mut() {
        if m.get(key).is_none_or(Value::is_null) {
            m.insert(key.to_string(), value);
        }
    }
}

/// Applies the API defaults (what a GET returns for fields the client left out).
pub fn apply_defaults(kind: Kind, object: &mut Value) {
    match kind {
        Kind::Deployment => {
            let Some(spec) = object.get_mut("spec") else {
                return;
            };
            set_default(spec, "replicas", json!(1));
            set_default(
                spec,
                "strategy",
                json!({"type": "RollingUpdate",
                       "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
            );
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            if let Some(pod_spec) = spec.pointer_mut("/template/spec") {
                default_pod_spec(pod_spec);
            }
        }
        Kind::Pod => {
            if let Some(pod_spec) = object.get_mut("spec") {
                default_pod_spec(pod_spec);
            }
        }
    }
}

fn default_pod_spec(spec: &mut Value) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for list in ["initContainers", "containers"] {
        let Some(Value::Array(containers)) = spec.get_mut(list) else {
            continue;
        };
        for container in containers {
            set_default(
                container,
                "terminationMessagePath",
                json!("/dev/termination-log"),
            );
            set_default(container, "terminationMessagePolicy", json!("File"));
            set_default(container, "resources", json!({}));
            // `:latest` or no tag: Always; otherwise IfNotPresent (core/v1 defaults.go).
            let image = container.get("image").and_then(Value::as_str).unwrap_or("");
            let last = image.rsplit('/').next().unwrap_or(image);
            let tagged = (last.contains(':') && !last.ends_with(":latest")) || image.contains('@');
            let policy = if tagged { "IfNotPresent" } else { "Always" };
            set_default(container, "imagePullPolicy", json!(policy));
            if let Some(Value::Array(ports)) = container.get_mut("ports") {
                for port in ports {
                    set_default(port, "protocol", json!("TCP"));
                }
            }
        }
    }
}

/// Validation the apiserver does and a client can trip (`apps/validation`,
/// `core/validation`): a selector, template labels it matches, an immutable selector,
/// containers with names and images.
pub fn validate(
    kind: Kind,
    name: &str,
    object: &Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let (containers_field, containers) = match kind {
        Kind::Deployment => {
            let selector = object.pointer("/spec/selector");
            let match_labels = selector
                .and_then(|s| s.get("matchLabels"))
                .and_then(Value::as_object);
            let expressions = selector
                .and_then(|s| s.get("matchExpressions"))
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty());
            if match_labels.is_none_or(Map::is_empty) && expressions.is_none() {
                return Err(invalid(
                    kind,
                    name,
                    "spec.selector",
                    "FieldValueRequired",
                    "Required value",
                ));
            }
            let template_labels = object.pointer("/spec/template/metadata/labels");
            let matches = match_labels
                .is_none_or(|m| LabelSelector::from_match_labels(m).matches(template_labels))
                && expressions.is_none_or(|e| expressions_match(e, template_labels));
            if !matches {
                return Err(invalid(
                    kind,
                    name,
                    "spec.template.metadata.labels",
                    "FieldValueInvalid",
                    &format!(
                        "Invalid value: {}: `selector` does not match template `labels`",
                        go_map(template_labels)
                    ),
                ));
            }
            if let Some(old) = old {
                let old_selector = old.pointer("/spec/selector");
                if old_selector != selector {
                    return Err(invalid(
                        kind,
                        name,
                        "spec.selector",
                        "FieldValueInvalid",
                        &format!(
                            "Invalid value: {}: field is immutable",
                            selector.map_or("null".to_string(), Value::to_string)
                        ),
                    ));
                }
            }
            if let Some(replicas) = object.pointer("/spec/replicas").and_then(Value::as_i64) {
                if replicas < 0 {
                    return Err(invalid(
                        kind,
                        name,
                        "spec.replicas",
                        "FieldValueInvalid",
                        &format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                    ));
                }
            }
            (
                "spec.template.spec.containers",
                object.pointer("/spec/template/spec/containers"),
            )
        }
        Kind::Pod => ("spec.containers", object.pointer("/spec/containers")),
    };
    let containers = containers
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty());
    let Some(containers) = containers else {
        return Err(invalid(
            kind,
            name,
            containers_field,
            "FieldValueRequired",
            "Required value",
        ));
    };
    for (i, c) in containers.iter().enumerate() {
        for field in ["name", "image"] {
            if c.get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(invalid(
                    kind,
                    name,
                    &format!("{containers_field}[{i}].{field}"),
                    "FieldValueRequired",
                    "Required value",
                ));
            }
        }
    }
    if let Some(old) = old {
        if kind == Kind::Pod {
            // Pod spec updates may only change images (core/validation ValidatePodUpdate,
            // simplified: containers' images and activeDeadlineSeconds/tolerations aside).
            let strip = |v: Option<&Value>| {
                let mut v = v.cloned().unwrap_or(Value::Null);
                if let Some(Value::Array(cs)) = v.get_mut("containers") {
                    for c in cs {
                        if let Some(m) = c.as_object_mut() {
                            m.remove("image");
                        }
                    }
                }
                v
            };
            if strip(object.get("spec")) != strip(old.get("spec")) {
                return Err(invalid(
                    kind,
                    name,
                    "spec",
                    "FieldValueForbidden",
                    "Forbidden: pod updates may not change fields other than \
                     `spec.containers[*].image`",
                ));
            }
        }
    }
    Ok(())
}

/// Go's `%v` of a `map[string]string`, as the Invalid message prints the labels.
fn go_map(labels: Option<&Value>) -> String {
    let Some(m) = labels.and_then(Value::as_object) else {
        return "map[string]string(nil)".to_string();
    };
    let inner: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or("")))
        .collect();
    format!("map[string]string{{{}}}", inner.join(", "))
}

fn expressions_match(expressions: &[Value], labels: Option<&Value>) -> bool {
    expressions.iter().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let actual = labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => actual.is_some_and(|a| values.contains(&a)),
            "NotIn" => !actual.is_some_and(|a| values.contains(&a)),
            "Exists" => actual.is_some(),
            "DoesNotExist" => actual.is_none(),
            _ => false,
        }
    })
}

/// A pod template's hash label: 10 characters of the safe alphabet from FNV-1a of the
/// template JSON (upstream: `controller.ComputeHash`, FNV-32a then `SafeEncodeString`).
pub fn template_hash(template: &Value) -> String {
    store::safe_encode(store::fnv1a(template.to_string().as_bytes()), 10)
}

/// What [`settle`] needs to finish a rollout started by [`start_rollout`].
#[derive(Debug, Clone)]
pub struct Settle {
    uid: String,
    generation: i64,
    hash: String,
    /// When to settle after the start; `None` = never (Behaviour::Never).
    pub delay: Option<Duration>,
}

/// The outcome of a pod given its containers' behaviours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ready,
    Never,
    ImagePullBackOff,
    CrashLoopBackOff,
}

fn container_images(template_spec: &Value) -> Vec<(String, String)> {
    template_spec
        .get("containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c.get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        c.get("image")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn outcome(state: &State, template_spec: &Value) -> (Outcome, Option<Duration>) {
    let behaviours: Vec<Behaviour> = container_images(template_spec)
        .iter()
        .map(|(_, image)| state.behaviour(image))
        .collect();
    if behaviours.contains(&Behaviour::Never) {
        return (Outcome::Never, None);
    }
    if behaviours.contains(&Behaviour::ImagePullBackOff) {
        return (Outcome::ImagePullBackOff, Some(Duration::ZERO));
    }
    if behaviours.contains(&Behaviour::CrashLoopBackOff) {
        return (Outcome::CrashLoopBackOff, Some(Duration::ZERO));
    }
    let after = behaviours
        .iter()
        .map(|b| match b {
            Behaviour::Ready { after } => *after,
            _ => Duration::ZERO,
        })
        .max()
        .unwrap_or(Duration::ZERO);
    (Outcome::Ready, Some(after))
}

fn condition(kind: &str, status: bool, reason: Option<&str>, message: Option<&str>) -> Value {
    let mut c = json!({
        "type": kind,
        "status": if status { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": now(),
    });
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// A pod's status: `settled` = after the behaviour's delay.
fn pod_status(
    state: &State,
    pod_name: &str,
    ns: &str,
    uid: &str,
    spec: &Value,
    settled: bool,
) -> Value {
    let (pod_outcome, _) = outcome(state, spec);
    if pod_outcome == Outcome::Never {
        return json!({"phase": "Pending", "qosClass": "BestEffort"});
    }
    let started = now();
    let containers = container_images(spec);
    let mut statuses = Vec::new();
    let mut unready = Vec::new();
    for (i, (name, image)) in containers.iter().enumerate() {
        let container_id = format!(
            "containerd://{:016x}",
            store::fnv1a(format!("{uid}/{name}").as_bytes())
        );
        let behaviour = state.behaviour(image);
        let mut s = json!({
            "name": name,
            "image": image,
            "imageID": "",
            "ready": false,
            "started": false,
            "restartCount": 0,
        });
        match (settled, &behaviour) {
            (false, _) => {
                s["state"] = json!({"waiting": {"reason": "ContainerCreating"}});
            }
            (true, Behaviour::ImagePullBackOff) => {
                s["state"] = json!({"waiting": {
                    "reason": "ImagePullBackOff",
                    "message": format!("Back-off pulling image \"{image}\""),
                }});
            }
            (true, Behaviour::CrashLoopBackOff) => {
                s["restartCount"] = json!(3);
                s["containerID"] = json!(container_id);
                s["imageID"] = json!(format!("{image}@sha256:{:064x}", i + 1));
                s["state"] = json!({"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": format!(
                        "back-off 40s restarting failed container={name} pod={pod_name}_{ns}({uid})"
                    ),
                }});
                s["lastState"] = json!({"terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": started,
                    "finishedAt": started,
                    "containerID": container_id,
                }});
            }
            (true, _) => {
                s["ready"] = json!(true);
                s["started"] = json!(true);
                s["containerID"] = json!(container_id);
                s["imageID"] = json!(format!("{image}@sha256:{:064x}", i + 1));
                s["state"] = json!({"running": {"startedAt": started}});
            }
        }
        if s["ready"] != json!(true) {
            unready.push(name.clone());
        }
        statuses.push(s);
    }
    let ready = unready.is_empty();
    let message = format!("containers with unready status: [{}]", unready.join(" "));
    let not_ready = (!ready).then_some("ContainersNotReady");
    let not_ready_message = (!ready).then_some(message.as_str());
    let phase = match (settled, pod_outcome) {
        (true, Outcome::Ready) | (true, Outcome::CrashLoopBackOff) => "Running",
        _ => "Pending",
    };
    json!({
        "phase": phase,
        "conditions": [
            condition("PodReadyToStartContainers", settled, None, None),
            condition("Initialized", true, None, None),
            condition("Ready", ready, not_ready, not_ready_message),
            condition("ContainersReady", ready, not_ready, not_ready_message),
            condition("PodScheduled", true, None, None),
        ],
        "hostIP": "10.0.0.10",
        "hostIPs": [{"ip": "10.0.0.10"}],
        "podIP": format!("10.244.0.{}", store::fnv1a(uid.as_bytes()) % 250 + 2),
        "startTime": started,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    })
}

fn pod_is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn owned_pods(state: &State, ns: &str, uid: &str) -> Vec<Value> {
    state
        .list(Kind::Pod, Some(ns))
        .into_iter()
        .filter(|p| {
            p.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        })
        .collect()
}

fn deployment_status(
    generation: i64,
    replicas: i64,
    ready: i64,
    name: &str,
    hash: &str,
    previous: Option<&Value>,
) -> Value {
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    if replicas > 0 {
        status.insert("replicas".into(), json!(replicas));
        status.insert("updatedReplicas".into(), json!(replicas));
    }
    if ready > 0 {
        status.insert("readyReplicas".into(), json!(ready));
        status.insert("availableReplicas".into(), json!(ready));
    }
    if replicas > ready {
        status.insert("unavailableReplicas".into(), json!(replicas - ready));
    }
    let available = ready >= replicas;
    let rs = format!("{name}-{hash}");
    let (a_reason, a_message) = if available {
        (
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        (
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let (p_reason, p_message) = if available {
        (
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs}\" has successfully progressed."),
        )
    } else {
        (
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs}\" is progressing."),
        )
    };
    // A condition keeps its lastTransitionTime while its status does not change.
    let cond = |kind: &str, ok: bool, reason: &str, message: &str| {
        let old = previous
            .and_then(|p| p.get("conditions"))
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind));
        let status = if ok { "True" } else { "False" };
        let transition = old
            .filter(|c| c["status"] == status)
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now()));
        json!({
            "type": kind,
            "status": status,
            "lastUpdateTime": now(),
            "lastTransitionTime": transition,
            "reason": reason,
            "message": message,
        })
    };
    status.insert(
        "conditions".into(),
        json!([
            cond("Available", available, a_reason, a_message),
            cond("Progressing", true, p_reason, &p_message),
        ]),
    );
    Value::Object(status)
}

/// Starts (or restarts) the rollout of a Deployment's current generation: deletes pods of
/// other template hashes and extra ones, creates missing pods (Pending), writes the
/// progress status. `None` when the Deployment is gone or being deleted.
pub fn start_rollout(state: &mut State, ns: &str, name: &str) -> Option<Settle> {
    let deployment = state.get(Kind::Deployment, ns, name)?.clone();
    if deployment.pointer("/metadata/deletionTimestamp").is_some() {
        return None;
    }
    let uid = deployment.pointer("/metadata/uid")?.as_str()?.to_string();
    let generation = deployment
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let replicas = deployment
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0);
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(json!({}));
    let template_spec = template.get("spec").cloned().unwrap_or(json!({}));
    let hash = template_hash(&template);
    let (_, delay) = outcome(state, &template_spec);

    let wanted = replicas.min(MAX_PODS);
    let mut current = Vec::new();
    for pod in owned_pods(state, ns, &uid) {
        let pod_hash = pod
            .pointer("/metadata/labels/pod-template-hash")
            .and_then(Value::as_str)
            .unwrap_or("");
        if pod_hash == hash && (current.len() as i64) < wanted {
            current.push(pod);
        } else {
            state.remove(Kind::Pod, ns, name_of(&pod));
        }
    }
    let mut ready = current.iter().filter(|p| pod_is_ready(p)).count() as i64;
    while (current.len() as i64) < wanted {
        let pod_name = format!("{name}-{hash}-{}", state.random_suffix());
        let pod_uid = state.new_uid();
        let mut labels = template
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        labels.insert(POD_TEMPLATE_HASH.into(), json!(hash));
        let mut metadata = json!({
            "name": pod_name,
            "generateName": format!("{name}-{hash}-"),
            "namespace": ns,
            "uid": pod_uid,
            "creationTimestamp": now(),
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
                "uid": uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        });
        if let Some(annotations) = template.pointer("/metadata/annotations") {
            metadata["annotations"] = annotations.clone();
        }
        let mut spec = template_spec.clone();
        spec["nodeName"] = json!("fake-node");
        let status = pod_status(state, &pod_name, ns, &pod_uid, &spec, false);
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": spec,
            "status": status,
        });
        current.push(state.put(Kind::Pod, pod, EventType::Added));
    }
    if current.len() as i64 != replicas {
        ready = 0;
    }
    let previous = deployment.get("status");
    let status = deployment_status(generation, replicas, ready, name, &hash, previous);
    state.set_status(Kind::Deployment, ns, name, status);
    Some(Settle {
        uid,
        generation,
        hash,
        delay,
    })
}

/// Finishes a rollout: the pods of the started generation get their final state and the
/// Deployment its final status. Does nothing when the Deployment was deleted, recreated or
/// changed since (a newer rollout owns it).
pub fn settle(state: &mut State, ns: &str, name: &str, settle: &Settle) {
    let Some(deployment) = state.get(Kind::Deployment, ns, name).cloned() else {
        return;
    };
    let same = deployment["metadata"]["uid"] == settle.uid.as_str()
        && deployment
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            == Some(settle.generation)
        && deployment.pointer("/metadata/deletionTimestamp").is_none();
    if !same {
        return;
    }
    let replicas = deployment
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0);
    let mut ready = 0;
    let pods = owned_pods(state, ns, &settle.uid);
    for pod in &pods {
        let pod_name = name_of(pod).to_string();
        let pod_uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let spec = pod.get("spec").cloned().unwrap_or(json!({}));
        let was_settled = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "PodReadyToStartContainers" && c["status"] == "True")
            });
        if !was_settled {
            let status = pod_status(state, &pod_name, ns, &pod_uid, &spec, true);
            state.set_status(Kind::Pod, ns, &pod_name, status);
        }
        if state
            .get(Kind::Pod, ns, &pod_name)
            .is_some_and(pod_is_ready)
        {
            ready += 1;
        }
    }
    if pods.len() as i64 != replicas {
        ready = ready.min(pods.len() as i64);
    }
    let previous = deployment.get("status");
    let status = deployment_status(
        settle.generation,
        replicas,
        ready,
        name,
        &settle.hash,
        previous,
    );
    state.set_status(Kind::Deployment, ns, name, status);
}

/// Runs a rollout of the Deployment on the server's runtime: the start at once, the
/// settling after the behaviour's delay.
pub fn schedule(shared: &Arc<Shared>, ns: &str, name: &str) {
    let shared2 = shared.clone();
    let (ns, name) = (ns.to_string(), name.to_string());
    shared.runtime.spawn(async move {
        let Some(settle_info) = shared2.write(|state| start_rollout(state, &ns, &name)) else {
            return;
        };
        // The progress deadline runs next to the rollout (the controller's
        // `syncRolloutStatus`): a rollout not available by then is marked failed.
        let deadline = shared2
            .lock()
            .get(Kind::Deployment, &ns, &name)
            .and_then(|d| {
                d.pointer("/spec/progressDeadlineSeconds")
                    .and_then(Value::as_u64)
            })
            .unwrap_or(600);
        let (shared3, ns3, name3, info3) = (
            shared2.clone(),
            ns.clone(),
            name.clone(),
            settle_info.clone(),
        );
        shared2.runtime.spawn(async move {
            tokio::time::sleep(Duration::from_secs(deadline)).await;
            shared3.write(|state| deadline_exceeded(state, &ns3, &name3, &info3));
        });
        let Some(delay) = settle_info.delay else {
            return;
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        shared2.write(|state| settle(state, &ns, &name, &settle_info));
    });
}

/// Marks a rollout that is still not available at its progress deadline:
/// `Progressing` False with reason `ProgressDeadlineExceeded`, as the Deployment
/// controller does (`pkg/controller/deployment/progress.go`).
pub fn deadline_exceeded(state: &mut State, ns: &str, name: &str, started: &Settle) {
    let Some(deployment) = state.get(Kind::Deployment, ns, name).cloned() else {
        return;
    };
    let same = deployment["metadata"]["uid"] == started.uid.as_str()
        && deployment
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            == Some(started.generation);
    let mut status = deployment.get("status").cloned().unwrap_or(json!({}));
    let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut) else {
        return;
    };
    let available = conditions
        .iter()
        .any(|c| c["type"] == "Available" && c["status"] == "True");
    if !same || available {
        return;
    }
    for c in conditions.iter_mut() {
        if c["type"] == "Progressing" {
            *c = json!({
                "type": "Progressing",
                "status": "False",
                "lastUpdateTime": now(),
                "lastTransitionTime": now(),
                "reason": "ProgressDeadlineExceeded",
                "message": format!("ReplicaSet \"{name}-{}\" has timed out progressing.", started.hash),
            });
        }
    }
    state.set_status(Kind::Deployment, ns, name, status);
}

/// The Deployment owning a pod (its controller ownerReference), if it still exists.
pub fn owner_deployment(state: &State, pod: &Value) -> Option<String> {
    let ns = store::namespace_of(pod);
    let owner = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r["kind"] == "Deployment" && r["controller"] == true)?;
    let name = owner["name"].as_str()?;
    let deployment = state.get(Kind::Deployment, ns, name)?;
    (deployment["metadata"]["uid"] == owner["uid"]
        && deployment.pointer("/metadata/deletionTimestamp").is_none())
    .then(|| name.to_string())
}

/// The garbage collector for a deleted Deployment: `Orphan` removes the ownerReference
/// from its pods, anything else deletes them.
pub fn collect_garbage(state: &mut State, ns: &str, owner_uid: &str, orphan: bool) {
    for pod in owned_pods(state, ns, owner_uid) {
        if orphan {
            let mut pod = pod.clone();
            if let Some(Value::Array(refs)) = pod.pointer_mut("/metadata/ownerReferences") {
                refs.retain(|r| r["uid"] != owner_uid);
            }
            if pod["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(Vec::is_empty)
            {
                if let Some(m) = pod["metadata"].as_object_mut() {
                    m.remove("ownerReferences");
                }
            }
            state.put(Kind::Pod, pod, EventType::Modified);
        } else {
            state.remove(Kind::Pod, ns, name_of(&pod));
        }
    }
}
