//! The fake Kubernetes API server (`tests/support/fake_kube/`) behaves like the real one for
//! what kube-rs and kanary's stage driver use: every test goes through kube-rs (`Api`,
//! `await_condition`, `watcher`) against [`FakeKube`] on 127.0.0.1. Plus the `deploy/`
//! manifests: each document deserialises into its k8s-openapi type and the Role grants
//! exactly the verbs the stage needs.

#[path = "support/fake_kube/mod.rs"]
mod fake_kube;

use std::time::Duration;

use fake_kube::{Behaviour, FakeKube};
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::{Value, json};

/// A safety net so that a broken fake fails the test instead of hanging it; never a
/// timing assertion (everything awaited here happens in milliseconds).
const HANG: Duration = Duration::from_secs(60);

fn client(fake: &FakeKube) -> Client {
    Client::try_from(fake.config()).expect("build a kube client for the fake server")
}

fn deployment_json(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "track": "stable"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": image,
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 8080}],
                        },
                        {"name": "sidecar", "image": "proxy:1.0"},
                    ]
                }
            }
        }
    })
}

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(deployment_json(name, image)).expect("a valid Deployment")
}

/// The Status of a `kube::Error::Api`, as `(code, reason, message)`.
fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> (u16, String, String) {
    match result {
        Err(kube::Error::Api(status)) => {
            (status.code, status.reason.clone(), status.message.clone())
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Available for its current generation: what the stage driver waits for.
fn available(d: Option<&Deployment>) -> bool {
    let Some(d) = d else { return false };
    let Some(status) = &d.status else {
        return false;
    };
    status.observed_generation == d.metadata.generation
        && status.available_replicas.unwrap_or(0) >= d.spec.replicas.unwrap_or(1)
        && status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True"))
}

async fn wait_available(api: &Api<Deployment>, name: &str) -> Deployment {
    tokio::time::timeout(HANG, await_condition(api.clone(), name, available))
        .await
        .expect("the deployment became available")
        .expect("await_condition")
        .expect("the deployment exists")
}

#[tokio::test]
async fn create_then_get_fills_system_fields_and_defaults() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    let created = api
        .create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    let got = api.get("web").await.expect("get");
    assert_eq!(got.metadata.uid, created.metadata.uid);
    assert!(got.metadata.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert_eq!(got.metadata.generation, Some(1));
    assert_eq!(got.metadata.namespace.as_deref(), Some("prod"));
    assert!(got.metadata.creation_timestamp.is_some());
    let rv: u64 = got
        .metadata
        .resource_version
        .as_deref()
        .expect("resourceVersion")
        .parse()
        .expect("a numeric resourceVersion");
    assert!(rv >= 1);
    let spec = got.spec;
    assert_eq!(spec.replicas, Some(1), "replicas defaults to 1");
    assert_eq!(spec.revision_history_limit, Some(10));
    let containers = spec.template.spec.expect("pod spec").containers;
    assert_eq!(
        containers[0].image_pull_policy.as_deref(),
        Some("IfNotPresent")
    );
    assert_eq!(
        containers[0].ports.as_ref().expect("ports")[0]
            .protocol
            .as_deref(),
        Some("TCP")
    );
    // The same object from the test side.
    let stored = fake.get("Deployment", "prod", "web").expect("stored");
    assert_eq!(stored["metadata"]["uid"], json!(created.metadata.uid));
}

#[tokio::test]
async fn create_twice_is_already_exists() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    let d = deployment("web-canary", "web:2");
    api.create(&PostParams::default(), &d)
        .await
        .expect("create");
    let (code, reason, message) = api_error(api.create(&PostParams::default(), &d).await);
    assert_eq!(code, 409);
    assert_eq!(reason, "AlreadyExists");
    assert_eq!(message, "deployments.apps \"web-canary\" already exists");
}

#[tokio::test]
async fn get_missing_is_not_found_with_the_apiservers_body() {
    let fake = FakeKube::start();
    let client = client(&fake);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    match deployments.get("web").await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.reason, "NotFound");
            assert_eq!(status.message, "deployments.apps \"web\" not found");
            let details = status.details.expect("details");
            assert_eq!(
                (
                    details.name.as_str(),
                    details.group.as_str(),
                    details.kind.as_str()
                ),
                ("web", "apps", "deployments")
            );
        }
        other => panic!("expected 404, got {other:?}"),
    }
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    let (code, reason, message) = api_error(pods.get("x").await);
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (404, "NotFound", "pods \"x\" not found")
    );
    assert_eq!(deployments.get_opt("web").await.expect("get_opt"), None);
    // The raw body, byte for byte.
    let body = reqwest_get(&fake, "/apis/apps/v1/namespaces/prod/deployments/web").await;
    assert_eq!(
        body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}"#
    );
}

/// A GET with the fake's token, the body as text whatever the status.
async fn reqwest_get(fake: &FakeKube, path: &str) -> String {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", fake.url()))
        .bearer_auth(fake_kube::TOKEN)
        .send()
        .await
        .expect("GET");
    response.text().await.expect("body")
}

#[tokio::test]
async fn list_selects_by_labels_and_fields() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    for (name, role) in [
        ("web", None),
        ("web-baseline", Some("baseline")),
        ("web-canary", Some("canary")),
    ] {
        let mut d = deployment_json(name, "web:1");
        d["metadata"]["labels"] = json!({"app": "web"});
        if let Some(role) = role {
            d["metadata"]["labels"]["kanary.io/role"] = json!(role);
            d["metadata"]["labels"]["kanary.io/run"] = json!("r1");
        }
        d["metadata"]["namespace"] = json!("prod");
        fake.insert(d);
    }
    let names = |list: kube::core::ObjectList<Deployment>| -> Vec<String> {
        list.items
            .into_iter()
            .filter_map(|d| d.metadata.name)
            .collect()
    };
    let select = |s: &str| ListParams::default().labels(s);
    assert_eq!(
        names(api.list(&select("app=web")).await.expect("list")),
        ["web", "web-baseline", "web-canary"]
    );
    assert_eq!(
        names(api.list(&select("kanary.io/role")).await.expect("list")),
        ["web-baseline", "web-canary"]
    );
    assert_eq!(
        names(api.list(&select("!kanary.io/role")).await.expect("list")),
        ["web"]
    );
    assert_eq!(
        names(
            api.list(&select("kanary.io/role==canary"))
                .await
                .expect("list")
        ),
        ["web-canary"]
    );
    assert_eq!(
        names(
            api.list(&select("kanary.io/role!=canary"))
                .await
                .expect("list")
        ),
        ["web", "web-baseline"]
    );
    assert_eq!(
        names(
            api.list(&select(
                "app=web,kanary.io/role in (baseline, canary),kanary.io/run=r1"
            ))
            .await
            .expect("list")
        ),
        ["web-baseline", "web-canary"]
    );
    assert_eq!(
        names(
            api.list(&select("kanary.io/role notin (canary)"))
                .await
                .expect("list")
        ),
        ["web", "web-baseline"]
    );
    let by_name = ListParams::default().fields("metadata.name=web-canary");
    assert_eq!(
        names(api.list(&by_name).await.expect("list")),
        ["web-canary"]
    );
    // The list carries the current resourceVersion.
    let list = api.list(&ListParams::default()).await.expect("list");
    assert_eq!(
        list.metadata.resource_version.as_deref(),
        Some(fake.resource_version().to_string().as_str())
    );
    // Pods of the seeded deployments exist, labelled with the template and its hash.
    let pods: Api<Pod> = Api::namespaced(client(&fake), "prod");
    let all = pods
        .list(&ListParams::default().labels("pod-template-hash,track=stable"))
        .await
        .expect("pods");
    assert_eq!(all.items.len(), 3);
    // Malformed selectors are 400s.
    for bad in ["app in web", "app=web,", "a b", "app=(x"] {
        let (code, reason, _) = api_error(api.list(&select(bad)).await);
        assert_eq!(
            (code, reason.as_str()),
            (400, "BadRequest"),
            "selector {bad:?}"
        );
    }
    let (code, _, message) = api_error(
        api.list(&ListParams::default().fields("spec.replicas=1"))
            .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (400, "field label not supported: spec.replicas")
    );
}

#[tokio::test]
async fn replace_with_a_stale_resource_version_is_a_conflict() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    let created = api
        .create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    let mut fresh = api.get("web").await.expect("get");
    fresh
        .metadata
        .labels
        .get_or_insert_default()
        .insert("team".into(), "a".into());
    let replaced = api
        .replace("web", &PostParams::default(), &fresh)
        .await
        .expect("replace");
    assert_eq!(
        replaced.metadata.generation,
        Some(1),
        "a metadata change keeps the generation"
    );
    // `created` carries the first resourceVersion, now stale.
    let (code, reason, message) =
        api_error(api.replace("web", &PostParams::default(), &created).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; \
         please apply your changes to the latest version and try again"
    );
    // A spec change bumps the generation.
    let mut latest = api.get("web").await.expect("get");
    latest.spec.replicas = Some(3);
    let scaled = api
        .replace("web", &PostParams::default(), &latest)
        .await
        .expect("replace");
    assert_eq!(scaled.metadata.generation, Some(2));
    let scaled = wait_available(&api, "web").await;
    assert_eq!(scaled.status.expect("status").ready_replicas, Some(3));
    let pods: Api<Pod> = Api::namespaced(client(&fake), "prod");
    assert_eq!(
        pods.list(&ListParams::default().labels("app=web"))
            .await
            .expect("pods")
            .items
            .len(),
        3
    );
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_env_and_deletes_nulls() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    let patch = json!({
        "metadata": {"labels": {"app": null, "kanary.io/run": "r1"}},
        "spec": {"template": {"spec": {"containers": [{
            "name": "app",
            "image": "web:2",
            "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
        }]}}}
    });
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .expect("strategic merge patch");
    assert_eq!(
        patched.metadata.generation,
        Some(2),
        "a template change bumps the generation"
    );
    let labels = patched.metadata.labels.clone().expect("labels");
    assert_eq!(labels.get("app"), None, "null deletes a key");
    assert_eq!(labels.get("kanary.io/run").map(String::as_str), Some("r1"));
    let containers = patched.spec.template.spec.expect("pod spec").containers;
    assert_eq!(containers.len(), 2, "the sidecar is kept");
    assert_eq!(
        (containers[0].name.as_str(), containers[0].image.as_deref()),
        ("app", Some("web:2"))
    );
    assert_eq!(
        (containers[1].name.as_str(), containers[1].image.as_deref()),
        ("sidecar", Some("proxy:1.0"))
    );
    let env: Vec<(String, Option<String>)> = containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    assert_eq!(
        env,
        [
            ("A".to_string(), Some("1".to_string())),
            ("B".to_string(), Some("20".to_string())),
            ("C".to_string(), Some("3".to_string()))
        ]
    );
    assert_eq!(
        containers[0].ports.as_ref().map(Vec::len),
        Some(1),
        "ports are kept"
    );
    // `$patch: delete` removes a list element by its merge key.
    let delete_sidecar = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}
    ]}}}});
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(&delete_sidecar),
        )
        .await
        .expect("patch");
    let names: Vec<String> = patched
        .spec
        .template
        .spec
        .expect("pod spec")
        .containers
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["app"]);
    assert_eq!(patched.metadata.generation, Some(3));
    // A patch to a missing object is a 404.
    let (code, _, message) = api_error(
        api.patch(
            "nope",
            &PatchParams::default(),
            &Patch::Strategic(&json!({})),
        )
        .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (404, "deployments.apps \"nope\" not found")
    );
    // The patched deployment rolls out with the new image.
    wait_available(&api, "web").await;
    // A patch that changes nothing is no write (once the controller is done writing).
    let rv = api.get("web").await.expect("get").metadata.resource_version;
    let same = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(&json!({"metadata": {"labels": {"kanary.io/run": "r1"}}})),
        )
        .await
        .expect("patch");
    assert_eq!(same.metadata.resource_version, rv);
    let pods: Api<Pod> = Api::namespaced(client(&fake), "prod");
    let pods = pods
        .list(&ListParams::default().labels("kanary.io/run!=x,track=stable"))
        .await
        .expect("pods");
    assert_eq!(pods.items.len(), 1, "the old pod is replaced");
    let status = pods.items[0].status.clone().expect("status");
    assert_eq!(
        status.container_statuses.expect("statuses")[0].image,
        "web:2"
    );
}

#[tokio::test]
async fn other_patch_types_are_unsupported_media_types() {
    let fake = FakeKube::start();
    let client = client(&fake);
    let api: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    let (code, reason, _) = api_error(
        api.patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"replicas": 2}})),
        )
        .await,
    );
    assert_eq!((code, reason.as_str()), (415, "UnsupportedMediaType"));
    let (code, reason, _) = api_error(
        api.patch(
            "web",
            &PatchParams::apply("kanary"),
            &Patch::Apply(&deployment("web", "web:2")),
        )
        .await,
    );
    assert_eq!((code, reason.as_str()), (415, "UnsupportedMediaType"));
    // JSON patch (kube's `jsonpatch` feature is off: a raw request through the client).
    let request = axum::http::Request::patch("/apis/apps/v1/namespaces/prod/deployments/web")
        .header("content-type", "application/json-patch+json")
        .body(br#"[{"op":"replace","path":"/spec/replicas","value":2}]"#.to_vec())
        .expect("request");
    match client.request_text(request).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(
                (status.code, status.reason.as_str()),
                (415, "UnsupportedMediaType")
            );
            assert!(
                status
                    .message
                    .contains("application/strategic-merge-patch+json"),
                "{}",
                status.message
            );
        }
        other => panic!("expected 415, got {other:?}"),
    }
    assert_eq!(api.get("web").await.expect("get").spec.replicas, Some(1));
    let recorded: Vec<(String, Option<String>, u16)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| (r.path, r.content_type, r.status))
        .collect();
    assert_eq!(recorded.len(), 3);
    assert_eq!(
        recorded[0].1.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        recorded[1].1.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert_eq!(
        recorded[2].1.as_deref(),
        Some("application/json-patch+json")
    );
    assert!(
        recorded
            .iter()
            .all(|r| r.2 == 415 && r.0 == "/apis/apps/v1/namespaces/prod/deployments/web")
    );
}

#[tokio::test]
async fn await_condition_sees_the_controller_make_it_available() {
    let fake = FakeKube::start();
    fake.behave(
        "web:2",
        Behaviour::Ready {
            after: Duration::from_millis(200),
        },
    );
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    api.create(&PostParams::default(), &deployment("web-canary", "web:2"))
        .await
        .expect("create");
    let done = tokio::time::timeout(
        HANG,
        await_condition(
            api.clone(),
            "web-canary",
            conditions::is_deployment_completed(),
        ),
    )
    .await
    .expect("completed")
    .expect("await_condition")
    .expect("exists");
    let status = done.status.expect("status");
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(status.unavailable_replicas, None);
    let available = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Available"))
        .expect("Available");
    assert_eq!(
        (available.status.as_deref(), available.reason.as_deref()),
        (Some("True"), Some("MinimumReplicasAvailable"))
    );
    // Its pod: owned by the deployment, named <deploy>-<hash>-<5>, running and ready.
    let pods: Api<Pod> = Api::namespaced(client(&fake), "prod");
    let pods = pods
        .list(&ListParams::default().labels("app=web-canary"))
        .await
        .expect("pods")
        .items;
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    let name = pod.metadata.name.clone().expect("name");
    let hash = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .expect("hash");
    assert_eq!(hash.len(), 10);
    assert!(
        name.starts_with(&format!("web-canary-{hash}-")) && name.len() == "web-canary-".len() + 16,
        "{name}"
    );
    let owner = &pod.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        (
            "Deployment",
            "web-canary",
            done.metadata.uid.as_deref().expect("uid")
        )
    );
    let status = pod.status.clone().expect("status");
    assert_eq!(status.phase.as_deref(), Some("Running"));
    let statuses = status.container_statuses.expect("container statuses");
    assert!(statuses.iter().all(|s| s.ready));
    assert_eq!(statuses[0].image, "web:2");
}

#[tokio::test]
async fn never_ready_stays_unavailable() {
    let fake = FakeKube::start();
    fake.behave("web:bad", Behaviour::Never);
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    api.create(&PostParams::default(), &deployment("web-canary", "web:bad"))
        .await
        .expect("create");
    // The controller has seen it (observedGeneration) ...
    tokio::time::timeout(
        HANG,
        await_condition(api.clone(), "web-canary", |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.observed_generation)
                == Some(1)
        }),
    )
    .await
    .expect("observed")
    .expect("await_condition");
    // ... and a deployment created after it became available in the meantime.
    api.create(&PostParams::default(), &deployment("web-baseline", "web:1"))
        .await
        .expect("create");
    wait_available(&api, "web-baseline").await;
    let never = api.get("web-canary").await.expect("get");
    assert!(!available(Some(&never)));
    let status = never.status.expect("status");
    assert_eq!(
        (
            status.replicas,
            status.unavailable_replicas,
            status.available_replicas
        ),
        (Some(1), Some(1), None)
    );
    let condition = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Available"))
        .expect("Available");
    assert_eq!(
        (condition.status.as_deref(), condition.reason.as_deref()),
        (Some("False"), Some("MinimumReplicasUnavailable"))
    );
    let pods: Api<Pod> = Api::namespaced(client(&fake), "prod");
    let pods = pods
        .list(&ListParams::default().labels("app=web-canary"))
        .await
        .expect("pods")
        .items;
    assert_eq!(pods.len(), 1);
    let pod_status = pods[0].status.clone().expect("status");
    assert_eq!(pod_status.phase.as_deref(), Some("Pending"));
    assert_eq!(pod_status.container_statuses, None, "no reason to report");
}

#[tokio::test]
async fn image_pull_and_crash_loop_pods_expose_their_reasons() {
    let fake = FakeKube::start();
    fake.behave("web:typo", Behaviour::ImagePullBackOff);
    fake.behave("web:crash", Behaviour::CrashLoopBackOff);
    let client = client(&fake);
    let api: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    for (name, image) in [("pull", "web:typo"), ("crash", "web:crash")] {
        api.create(&PostParams::default(), &deployment(name, image))
            .await
            .expect("create");
    }
    let waiting = |reason: &'static str| {
        move |p: Option<&Pod>| {
            p.and_then(|p| p.status.as_ref())
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c.state
                            .as_ref()
                            .and_then(|s| s.waiting.as_ref())
                            .and_then(|w| w.reason.as_deref())
                            == Some(reason)
                    })
                })
        }
    };
    let pod_of = |list: Vec<Pod>| {
        list.into_iter()
            .next()
            .and_then(|p| p.metadata.name)
            .expect("a pod")
    };
    let pull = pod_of(
        pods.list(&ListParams::default().labels("app=pull"))
            .await
            .expect("pods")
            .items,
    );
    let pulled = tokio::time::timeout(
        HANG,
        await_condition(pods.clone(), &pull, waiting("ImagePullBackOff")),
    )
    .await
    .expect("waiting")
    .expect("await")
    .expect("pod");
    let status = pulled.status.expect("status");
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    let app = &status.container_statuses.expect("statuses")[0];
    let w = app
        .state
        .as_ref()
        .and_then(|s| s.waiting.clone())
        .expect("waiting");
    assert_eq!(
        w.message.as_deref(),
        Some("Back-off pulling image \"web:typo\"")
    );
    assert!(!app.ready);

    let crash = pod_of(
        pods.list(&ListParams::default().labels("app=crash"))
            .await
            .expect("pods")
            .items,
    );
    let crashed = tokio::time::timeout(
        HANG,
        await_condition(pods.clone(), &crash, waiting("CrashLoopBackOff")),
    )
    .await
    .expect("waiting")
    .expect("await")
    .expect("pod");
    let status = crashed.status.expect("status");
    assert_eq!(status.phase.as_deref(), Some("Running"));
    let app = &status.container_statuses.expect("statuses")[0];
    assert_eq!((app.ready, app.restart_count), (false, 3));
    let terminated = app
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.clone())
        .expect("terminated");
    assert_eq!(
        (terminated.exit_code, terminated.reason.as_deref()),
        (1, Some("Error"))
    );
    // Neither deployment is available.
    for name in ["pull", "crash"] {
        let d = api.get(name).await.expect("get");
        assert_eq!(
            d.status.and_then(|s| s.unavailable_replicas),
            Some(1),
            "{name}"
        );
    }
}

#[tokio::test]
async fn delete_propagation_collects_or_orphans_pods() {
    let fake = FakeKube::start();
    let client = client(&fake);
    let api: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    for name in ["bg", "orphan", "fg"] {
        api.create(&PostParams::default(), &deployment(name, "web:1"))
            .await
            .expect("create");
        wait_available(&api, name).await;
    }
    let count = |name: &'static str| {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels(&format!("app={name}")))
                .await
                .expect("pods")
                .items
        }
    };
    assert_eq!(count("bg").await.len(), 1);

    // Background (kube's default DeleteParams send no policy; apps/v1 defaults to it).
    let answer = api
        .delete("bg", &DeleteParams::default())
        .await
        .expect("delete");
    let status = answer.right().expect("a Status for a background delete");
    assert_eq!(status.details.expect("details").name, "bg");
    assert!(api.get_opt("bg").await.expect("get").is_none());
    assert!(
        count("bg").await.is_empty(),
        "the garbage collector deleted the pods"
    );

    // Orphan: the pod stays, without its ownerReference.
    let answer = api
        .delete("orphan", &DeleteParams::orphan())
        .await
        .expect("delete");
    let marked = answer
        .left()
        .expect("the object while the orphan finalizer runs");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.finalizers, Some(vec!["orphan".to_string()]));
    assert!(api.get_opt("orphan").await.expect("get").is_none());
    let orphans = count("orphan").await;
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0].metadata.owner_references, None);

    // Foreground: the pods go first, then the deployment.
    let answer = api
        .delete("fg", &DeleteParams::foreground())
        .await
        .expect("delete");
    assert!(answer.is_left());
    assert!(api.get_opt("fg").await.expect("get").is_none());
    assert!(count("fg").await.is_empty());

    // Missing: 404; a UID precondition that does not hold: 409.
    let (code, _, message) = api_error(api.delete("bg", &DeleteParams::default()).await);
    assert_eq!(
        (code, message.as_str()),
        (404, "deployments.apps \"bg\" not found")
    );
    api.create(&PostParams::default(), &deployment("pre", "web:1"))
        .await
        .expect("create");
    let wrong = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("other".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let (code, reason, _) = api_error(api.delete("pre", &wrong).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));

    // A pod delete answers the deleted pod; the controller replaces a deployment's pod.
    let pre_pods = count("pre").await;
    let pod_name = pre_pods[0].metadata.name.clone().expect("name");
    let deleted = pods
        .delete(&pod_name, &DeleteParams::default())
        .await
        .expect("delete pod");
    assert_eq!(
        deleted.left().and_then(|p| p.metadata.name),
        Some(pod_name.clone())
    );
    let replacement = tokio::time::timeout(HANG, async {
        let mut events = Box::pin(watcher(
            pods.clone(),
            watcher::Config::default().labels("app=pre"),
        ));
        while let Some(event) = events.next().await {
            if let watcher::Event::Apply(p) | watcher::Event::InitApply(p) = event.expect("event") {
                if p.metadata.name.as_deref() != Some(pod_name.as_str()) {
                    return p;
                }
            }
        }
        panic!("the pod watch ended");
    })
    .await
    .expect("replaced");
    assert_eq!(
        replacement
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .map(String::as_str),
        Some("pre")
    );
    let replaced = count("pre").await;
    assert_eq!(replaced.len(), 1);

    // deletecollection by label.
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("app=pre"),
        )
        .await
        .expect("deletecollection");
    let names: Vec<String> = deleted
        .left()
        .expect("the deleted list")
        .items
        .into_iter()
        .filter_map(|d| d.metadata.name)
        .collect();
    assert_eq!(names, ["pre"]);
    assert!(count("pre").await.is_empty());
    // `delete_object` from the test side, as another actor would.
    fake.delete_object(
        "Pod",
        "prod",
        orphans[0].metadata.name.as_deref().expect("name"),
    );
    assert!(count("orphan").await.is_empty());
}

#[tokio::test]
async fn rbac_denials_and_bad_tokens_are_refused_like_the_apiserver() {
    let fake = FakeKube::start();
    fake.deny("patch", "deployments");
    fake.deny("create", "deployments");
    fake.deny("list", "pods");
    let client = client(&fake);
    let api: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    let (code, reason, message) = api_error(
        api.patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(&json!({})),
        )
        .await,
    );
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        message,
        "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:default:kanary\" \
         cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"prod\""
    );
    let (code, _, message) = api_error(
        api.create(&PostParams::default(), &deployment("web", "web:1"))
            .await,
    );
    assert_eq!(code, 403);
    assert_eq!(
        message,
        "deployments.apps is forbidden: User \"system:serviceaccount:default:kanary\" cannot \
         create resource \"deployments\" in API group \"apps\" in the namespace \"prod\""
    );
    let pods: Api<Pod> = Api::namespaced(client, "prod");
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403);
            assert_eq!(
                status.message,
                "pods is forbidden: User \"system:serviceaccount:default:kanary\" cannot list \
                 resource \"pods\" in API group \"\" in the namespace \"prod\""
            );
            let details = status.details.expect("details");
            assert_eq!(
                (details.group.as_str(), details.kind.as_str()),
                ("", "pods")
            );
        }
        other => panic!("expected 403, got {other:?}"),
    }
    fake.allow("list", "pods");
    assert!(
        pods.list(&ListParams::default())
            .await
            .expect("allowed again")
            .items
            .is_empty()
    );

    // A wrong token and no token: 401.
    let mut config = fake.config();
    config.auth_info.token = Some("other".to_string().into());
    let wrong: Api<Pod> = Api::namespaced(Client::try_from(config).expect("client"), "prod");
    let (code, reason, _) = api_error(wrong.list(&ListParams::default()).await);
    assert_eq!((code, reason.as_str()), (401, "Unauthorized"));
    let mut config = fake.config();
    config.auth_info.token = None;
    let anonymous: Api<Pod> = Api::namespaced(Client::try_from(config).expect("client"), "prod");
    let (code, _, _) = api_error(anonymous.get("x").await);
    assert_eq!(code, 401);
    // Other paths: 404 Status.
    let body = reqwest_get(&fake, "/apis/batch/v1/namespaces/prod/jobs").await;
    let status: Value = serde_json::from_str(&body).expect("a Status");
    assert_eq!(
        (status["kind"].as_str(), status["code"].as_u64()),
        (Some("Status"), Some(404))
    );
}

#[tokio::test]
async fn invalid_deployments_are_rejected_with_the_apiservers_message() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    let mut d = deployment_json("web", "web:1");
    d["spec"]["selector"]["matchLabels"]["kanary.io/role"] = json!("canary");
    let d: Deployment = serde_json::from_value(d).expect("deployment");
    let (code, reason, message) = api_error(api.create(&PostParams::default(), &d).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(
        message,
        "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: \
         map[string]string{\"app\":\"web\", \"track\":\"stable\"}: `selector` does not match \
         template `labels`"
    );
    // The selector is immutable.
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    let patch = json!({"spec": {"selector": {"matchLabels": {"track": "stable"}}}});
    let (code, _, message) = api_error(
        api.patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
            .await,
    );
    assert_eq!(code, 422);
    assert!(message.ends_with("field is immutable"), "{message}");
}

#[tokio::test]
async fn watch_streams_added_modified_deleted_in_order() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    // Something else first, so that the watch starts from a resourceVersion other than "0".
    api.create(&PostParams::default(), &deployment("other", "web:1"))
        .await
        .expect("create");
    let from = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    wait_available(&api, "web").await;
    api.delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    // A watch from before the create replays the history, then times out (1 s).
    let events: Vec<WatchEvent<Deployment>> = tokio::time::timeout(
        HANG,
        api.watch(&WatchParams::default().labels("app=web").timeout(1), &from)
            .await
            .expect("watch")
            .try_collect(),
    )
    .await
    .expect("the stream ends at its timeout")
    .expect("events");
    let mut kinds = Vec::new();
    let mut versions = Vec::new();
    for event in &events {
        match event {
            WatchEvent::Added(d) => {
                kinds.push("ADDED");
                versions.push(d.metadata.resource_version.clone());
            }
            WatchEvent::Modified(d) => {
                kinds.push("MODIFIED");
                versions.push(d.metadata.resource_version.clone());
            }
            WatchEvent::Deleted(d) => {
                kinds.push("DELETED");
                versions.push(d.metadata.resource_version.clone());
            }
            WatchEvent::Bookmark(_) => kinds.push("BOOKMARK"),
            WatchEvent::Error(e) => panic!("error event {e:?}"),
        }
    }
    // Created, progressing, available, deleted; then the bookmark before the timeout.
    assert_eq!(
        kinds,
        ["ADDED", "MODIFIED", "MODIFIED", "DELETED", "BOOKMARK"]
    );
    let numbers: Vec<u64> = versions
        .iter()
        .map(|v| v.as_deref().expect("rv").parse().expect("number"))
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");

    // The runtime watcher: list, then watch; sees the later create, change and delete.
    let stream = watcher(api.clone(), watcher::Config::default().labels("app=w2"));
    let mut stream = Box::pin(stream);
    let mut seen = Vec::new();
    let mut created = false;
    let collected = tokio::time::timeout(HANG, async {
        while let Some(event) = stream.next().await {
            match event.expect("watcher event") {
                watcher::Event::InitDone if !created => {
                    created = true;
                    let mut d = deployment_json("w2", "web:1");
                    d["metadata"]["labels"]["app"] = json!("w2");
                    let d: Deployment = serde_json::from_value(d).expect("deployment");
                    api.create(&PostParams::default(), &d)
                        .await
                        .expect("create");
                }
                watcher::Event::Apply(d) => {
                    seen.push((
                        "apply",
                        d.status.as_ref().and_then(|s| s.available_replicas),
                    ));
                    if available(Some(&d)) {
                        api.delete("w2", &DeleteParams::default())
                            .await
                            .expect("delete");
                    }
                }
                watcher::Event::Delete(_) => {
                    seen.push(("delete", None));
                    return;
                }
                _ => {}
            }
        }
    })
    .await;
    collected.expect("the watcher saw the delete");
    assert_eq!(seen.first(), Some(&("apply", None)));
    assert_eq!(seen.last(), Some(&("delete", None)));
    assert!(seen.contains(&("apply", Some(1))), "{seen:?}");
}

#[tokio::test]
async fn compacted_history_gives_410_and_rv_0_starts_from_now() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    // Compact once the controller is done, so that resourceVersion 1 is older than the
    // history kept.
    wait_available(&api, "web").await;
    fake.compact();
    let events: Vec<WatchEvent<Deployment>> = api
        .watch(&WatchParams::default().timeout(1), "1")
        .await
        .expect("watch")
        .try_collect()
        .await
        .expect("events");
    match events.as_slice() {
        [WatchEvent::Error(status)] => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected one 410 ERROR event, got {other:?}"),
    }
    // rv "0" starts from now with the current objects as ADDED.
    let first = api
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .expect("watch")
        .boxed()
        .try_next()
        .await
        .expect("event");
    assert!(
        matches!(first, Some(WatchEvent::Added(d)) if d.metadata.name.as_deref() == Some("web"))
    );
}

#[tokio::test]
async fn seeded_production_is_running_and_kubeconfig_works() {
    let fake = FakeKube::start();
    let mut production = deployment_json("web", "web:1");
    production["metadata"]["namespace"] = json!("prod");
    production["spec"]["replicas"] = json!(2);
    fake.behave(
        "web:1",
        Behaviour::Ready {
            after: Duration::from_secs(3600),
        },
    );
    fake.insert(production);
    let stored = fake.get("Deployment", "prod", "web").expect("seeded");
    assert_eq!(
        stored["status"]["availableReplicas"],
        json!(2),
        "available at once"
    );
    let pods = fake.list("Pod", "prod");
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Running"));

    let dir = std::env::temp_dir().join(format!("kanary-fake-kube-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("kubeconfig");
    fake.write_kubeconfig(&path);
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("read kubeconfig");
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("config from kubeconfig");
    assert_eq!(config.default_namespace, "default");
    let api: Api<Deployment> = Api::namespaced(Client::try_from(config).expect("client"), "prod");
    let got = api.get("web").await.expect("get through the kubeconfig");
    assert_eq!(got.spec.replicas, Some(2));
}

// ---------------------------------------------------------------------------------------
// deploy/

/// A YAML node as JSON (yaml-rust2 gives a tree; k8s-openapi reads JSON).
fn yaml_to_json(yaml: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::Real(s) => s.parse::<f64>().map(|f| json!(f)).expect("a YAML real"),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("unsupported YAML key {other:?}"),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("unsupported YAML node {other:?}"),
    }
}

fn manifest(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("parse {path}: {e}"))
        .iter()
        .filter(|d| !d.is_null())
        .map(yaml_to_json)
        .collect()
}

#[test]
fn deploy_manifests_deserialise_and_the_role_grants_only_what_the_stage_needs() {
    use k8s_openapi::api::core::v1::{Service, ServiceAccount};
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

    let docs = manifest("deploy/kanary.yaml");
    let mut kinds = Vec::new();
    let mut role = None;
    let mut kanary = None;
    for doc in docs {
        let kind = doc["kind"]
            .as_str()
            .expect("every document has a kind")
            .to_string();
        assert!(
            doc.pointer("/metadata/namespace").is_none(),
            "{kind}: namespace-less, set by `kubectl -n`"
        );
        match kind.as_str() {
            "ServiceAccount" => {
                drop(serde_json::from_value::<ServiceAccount>(doc).expect("ServiceAccount"))
            }
            "Role" => role = Some(serde_json::from_value::<Role>(doc).expect("Role")),
            "RoleBinding" => {
                let binding = serde_json::from_value::<RoleBinding>(doc).expect("RoleBinding");
                assert_eq!(binding.role_ref.kind, "Role");
                assert_eq!(binding.role_ref.name, "kanary");
                let subject = &binding.subjects.expect("subjects")[0];
                assert_eq!(
                    (subject.kind.as_str(), subject.name.as_str()),
                    ("ServiceAccount", "kanary")
                );
            }
            "Deployment" => {
                kanary = Some(serde_json::from_value::<Deployment>(doc).expect("Deployment"))
            }
            "Service" => {
                let service = serde_json::from_value::<Service>(doc).expect("Service");
                let ports = service.spec.expect("spec").ports.expect("ports");
                assert_eq!(ports[0].port, 8090);
            }
            other => panic!("unexpected kind {other}"),
        }
        kinds.push(kind);
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount"
        ]
    );

    let mut rules: Vec<(String, String, Vec<String>)> = role
        .expect("a Role")
        .rules
        .expect("rules")
        .into_iter()
        .flat_map(|r| {
            let groups = r.api_groups.clone().unwrap_or_default();
            let verbs = r.verbs.clone();
            r.resources
                .unwrap_or_default()
                .into_iter()
                .flat_map(move |res| {
                    let verbs = verbs.clone();
                    groups.clone().into_iter().map(move |g| {
                        let mut v = verbs.clone();
                        v.sort();
                        (g, res.clone(), v)
                    })
                })
        })
        .collect();
    rules.sort();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        rules,
        [
            (
                "".to_string(),
                "pods".to_string(),
                s(&["get", "list", "watch"])
            ),
            (
                "apps".to_string(),
                "deployments".to_string(),
                s(&["create", "delete", "get", "list", "patch", "watch"])
            ),
        ]
    );

    let kanary = kanary.expect("the kanary Deployment");
    let pod = kanary.spec.template.spec.expect("pod spec");
    assert_eq!(pod.service_account_name.as_deref(), Some("kanary"));
    let container = &pod.containers[0];
    assert_eq!(
        container.args.as_ref().map(|a| a[0].as_str()),
        Some("serve")
    );
    let security = container.security_context.clone().expect("securityContext");
    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert!(
        container
            .resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .is_some()
    );
    let probe_path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(
        probe_path(&container.liveness_probe).as_deref(),
        Some("/livez")
    );
    assert_eq!(
        probe_path(&container.readiness_probe).as_deref(),
        Some("/readyz")
    );
    let env = container.env.clone().expect("env");
    assert!(env.iter().all(|e| e.name.starts_with("KANARY_")));
    let token = env
        .iter()
        .find(|e| e.name == "KANARY_AUTH_TOKEN")
        .expect("KANARY_AUTH_TOKEN");
    assert!(
        token.value.is_none(),
        "the token comes from a Secret, never inline"
    );
    assert!(
        token
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .is_some()
    );
}

#[test]
fn deploy_canary_config_is_a_valid_kubernetes_config() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/canary-config.json");
    let text = std::fs::read_to_string(&path).expect("read deploy/canary-config.json");
    let config: Value = serde_json::from_str(&text).expect("JSON");
    let metrics = config["metrics"].as_array().expect("metrics");
    let names: Vec<&str> = metrics.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "latency_p99_seconds",
            "errors_5xx",
            "requests",
            "cpu_cores",
            "memory_working_set_bytes"
        ]
    );
    // Every query selects pods by the scope, through a template or an inline template.
    for metric in metrics {
        let query = &metric["query"];
        let inline = query["customInlineTemplate"].as_str().unwrap_or("");
        let template = query["customFilterTemplate"]
            .as_str()
            .and_then(|t| config["templates"][t].as_str())
            .unwrap_or("");
        assert!(
            inline.contains("${scope}") || template.contains("${scope}"),
            "{}: selects no scope",
            metric["name"]
        );
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kanary"))
        .arg("validate")
        .arg(&path)
        .output()
        .expect("run kanary validate");
    assert!(
        output.status.success(),
        "kanary validate deploy/canary-config.json: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_selector_watch_turns_label_changes_into_added_and_deleted() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    api.create(&PostParams::default(), &deployment("first", "web:1"))
        .await
        .expect("create");
    let from = fake.resource_version().to_string();
    let mut d = deployment_json("web", "web:1");
    d["metadata"]["labels"]["kanary.io/role"] = json!("canary");
    let d: Deployment = serde_json::from_value(d).expect("deployment");
    api.create(&PostParams::default(), &d)
        .await
        .expect("create");
    let drop_role = json!({"metadata": {"labels": {"kanary.io/role": null}}});
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Strategic(&drop_role),
    )
    .await
    .expect("patch");
    let add_role = json!({"metadata": {"labels": {"kanary.io/role": "canary"}}});
    api.patch("web", &PatchParams::default(), &Patch::Strategic(&add_role))
        .await
        .expect("patch");
    let events: Vec<WatchEvent<Deployment>> = api
        .watch(
            &WatchParams::default()
                .labels("kanary.io/role=canary")
                .timeout(1)
                .disable_bookmarks(),
            &from,
        )
        .await
        .expect("watch")
        .try_collect()
        .await
        .expect("events");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        })
        .collect();
    // The controller's status writes may interleave (MODIFIED while it matches); the
    // label changes show as DELETED then ADDED, as the apiserver's watch cache does.
    let transitions: Vec<&str> = kinds.iter().copied().filter(|k| *k != "MODIFIED").collect();
    assert_eq!(transitions, ["ADDED", "DELETED", "ADDED"], "{kinds:?}");
}

#[tokio::test]
async fn patch_directives_generate_name_and_unconditional_replace() {
    let fake = FakeKube::start();
    let client = client(&fake);
    let api: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    // `$patch: replace` in a list: the list becomes the patch's elements.
    let replace = json!({"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"},
        {"name": "only", "image": "only:1"}
    ]}}}});
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(&replace))
        .await
        .expect("patch");
    let containers = patched.spec.template.spec.expect("pod spec").containers;
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0].name, "only");
    // `$patch: delete` on a map empties it; `$retainKeys` keeps only the listed keys.
    let retain =
        json!({"metadata": {"labels": {"$patch": "delete"}, "annotations": {"a": "1", "b": "2"}}});
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(&retain))
        .await
        .expect("patch");
    assert_eq!(patched.metadata.labels, None, "an empty map is omitted");
    let retain = json!({"metadata": {"annotations": {"$retainKeys": ["b"], "b": "3"}}});
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(&retain))
        .await
        .expect("patch");
    let annotations = patched.metadata.annotations.expect("annotations");
    assert_eq!(
        annotations.into_iter().collect::<Vec<_>>(),
        [("b".to_string(), "3".to_string())]
    );
    // A merge key missing from an element is a 400, an unknown directive too.
    for bad in [
        json!({"spec": {"template": {"spec": {"containers": [{"image": "x:1"}]}}}}),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "$patch": "merge"}]}}}}),
    ] {
        let (code, reason, _) = api_error(
            api.patch("web", &PatchParams::default(), &Patch::Strategic(&bad))
                .await,
        );
        assert_eq!((code, reason.as_str()), (400, "BadRequest"), "{bad}");
    }
    // A resourceVersion in a patch is a precondition.
    let stale = json!({"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}});
    let (code, reason, _) = api_error(
        api.patch("web", &PatchParams::default(), &Patch::Strategic(&stale))
            .await,
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));

    // generateName.
    let mut generated = deployment_json("", "web:1");
    generated["metadata"] = json!({"generateName": "web-run-", "labels": {"app": ""}});
    generated["spec"]["selector"] = json!({"matchLabels": {"app": "gen"}});
    generated["spec"]["template"]["metadata"]["labels"] = json!({"app": "gen"});
    let generated: Deployment = serde_json::from_value(generated).expect("deployment");
    let created = api
        .create(&PostParams::default(), &generated)
        .await
        .expect("create with generateName");
    let name = created.metadata.name.expect("a generated name");
    assert!(
        name.starts_with("web-run-") && name.len() == "web-run-".len() + 5,
        "{name}"
    );

    // PUT without a resourceVersion is unconditional.
    let mut current = api.get("web").await.expect("get");
    current.metadata.resource_version = None;
    current.spec.replicas = Some(2);
    let replaced = api
        .replace("web", &PostParams::default(), &current)
        .await
        .expect("unconditional replace");
    assert_eq!(replaced.spec.replicas, Some(2));

    // Across namespaces with `Api::all`; pods too.
    let other: Api<Deployment> = Api::namespaced(client.clone(), "staging");
    other
        .create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create in staging");
    let all: Api<Deployment> = Api::all(client);
    let mut names: Vec<(String, String)> = all
        .list(&ListParams::default().fields("metadata.name=web"))
        .await
        .expect("list all")
        .items
        .into_iter()
        .map(|d| {
            (
                d.metadata.namespace.unwrap_or_default(),
                d.metadata.name.unwrap_or_default(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("prod".to_string(), "web".to_string()),
            ("staging".to_string(), "web".to_string())
        ]
    );
    // Every request is recorded with its method, path, query and status.
    let requests = fake.requests();
    let list = requests.last().expect("a request");
    assert_eq!(
        (
            list.method.as_str(),
            list.path.as_str(),
            list.query.as_str(),
            list.status
        ),
        (
            "GET",
            "/apis/apps/v1/deployments",
            "&fieldSelector=metadata.name%3Dweb",
            200
        )
    );
    assert_eq!(requests[0].method, "POST");
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(requests[0].status, 201);
}

#[tokio::test]
async fn malformed_bodies_are_400s_not_panics() {
    let fake = FakeKube::start();
    let http = reqwest::Client::new();
    let url = format!("{}/apis/apps/v1/namespaces/prod/deployments", fake.url());
    let cases: [(&str, &str, u16); 6] = [
        ("POST", "not json", 400),
        ("POST", "[1, 2]", 400),
        ("POST", r#"{"metadata": 5}"#, 400),
        ("POST", r#"{"kind": "Pod", "metadata": {"name": "x"}}"#, 400),
        // Go's decoder requires no field: a missing selector is a validation error.
        (
            "POST",
            r#"{"metadata": {"name": "x"}, "spec": {"template": {}}}"#,
            422,
        ),
        (
            "POST",
            r#"{"metadata": {"name": "x"}, "spec": {"selector": {}, "template": {}}}"#,
            422,
        ),
    ];
    for (method, body, code) in cases {
        let response = http
            .request(method.parse().expect("method"), &url)
            .bearer_auth(fake_kube::TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), code, "{body}");
        let status: Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("a Status");
        assert_eq!(status["kind"], "Status", "{body}");
    }
    // PATCH with a body that is not an object, DELETE with a bad DeleteOptions.
    fake.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "prod"},
        "spec": {"containers": [{"name": "c", "image": "c:1"}]}
    }));
    let pod_url = format!("{}/api/v1/namespaces/prod/pods/p", fake.url());
    for (method, content_type, body, code) in [
        ("PATCH", "application/strategic-merge-patch+json", "[]", 400),
        ("PATCH", "application/strategic-merge-patch+json", "{", 400),
        (
            "DELETE",
            "application/json",
            r#"{"propagationPolicy": "Sometimes"}"#,
            422,
        ),
        ("DELETE", "application/json", "]", 400),
        ("POST", "application/json", "{}", 405),
    ] {
        let response = http
            .request(method.parse().expect("method"), &pod_url)
            .bearer_auth(fake_kube::TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), code, "{method} {body}");
    }
    assert!(
        fake.get("Pod", "prod", "p").is_some(),
        "nothing was deleted"
    );
}

#[tokio::test]
async fn a_rollout_past_its_progress_deadline_is_marked_failed() {
    let fake = FakeKube::start();
    fake.behave("web:slow", Behaviour::Never);
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    let mut d = deployment_json("web-canary", "web:slow");
    d["spec"]["progressDeadlineSeconds"] = json!(1);
    let d: Deployment = serde_json::from_value(d).expect("deployment");
    api.create(&PostParams::default(), &d)
        .await
        .expect("create");
    let exceeded = |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.type_.as_deref() == Some("Progressing")
                        && c.status.as_deref() == Some("False")
                        && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
                })
            })
    };
    let failed = tokio::time::timeout(HANG, await_condition(api.clone(), "web-canary", exceeded))
        .await
        .expect("marked")
        .expect("await_condition")
        .expect("exists");
    assert!(!available(Some(&failed)));
}

#[tokio::test]
async fn modify_changes_objects_as_another_actor_and_replicas_are_capped() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    wait_available(&api, "web").await;
    // Someone else scales it: a new generation, and the controller follows.
    let changed = fake
        .modify("Deployment", "prod", "web", |d| {
            d["spec"]["replicas"] = json!(2)
        })
        .expect("exists");
    assert_eq!(changed["metadata"]["generation"], json!(2));
    let scaled = wait_available(&api, "web").await;
    assert_eq!(scaled.status.and_then(|s| s.ready_replicas), Some(2));
    assert_eq!(fake.list("Pod", "prod").len(), 2);
    assert!(fake.modify("Deployment", "prod", "nope", |_| {}).is_none());

    // A huge replica count does not hang the fake: 100 pods at most, never available.
    let huge = json!({"spec": {"replicas": 1_000_000}});
    api.patch("web", &PatchParams::default(), &Patch::Strategic(&huge))
        .await
        .expect("patch");
    let observed = tokio::time::timeout(
        HANG,
        await_condition(api.clone(), "web", |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.observed_generation)
                == Some(3)
        }),
    )
    .await
    .expect("observed")
    .expect("await_condition")
    .expect("exists");
    assert!(!available(Some(&observed)));
    assert_eq!(fake.list("Pod", "prod").len(), 100);
}

#[tokio::test]
async fn streaming_list_watchers_get_their_initial_events_end_bookmark() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    api.create(&PostParams::default(), &deployment("web", "web:1"))
        .await
        .expect("create");
    let mut stream = Box::pin(watcher(
        api.clone(),
        watcher::Config::default().streaming_lists(),
    ));
    let mut initial = Vec::new();
    tokio::time::timeout(HANG, async {
        while let Some(event) = stream.next().await {
            match event.expect("event") {
                watcher::Event::InitApply(d) => initial.push(d.metadata.name.unwrap_or_default()),
                watcher::Event::InitDone => return,
                _ => {}
            }
        }
    })
    .await
    .expect("the initial events ended");
    assert_eq!(initial, ["web"]);
}

#[test]
fn the_fake_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<FakeKube>();
}

#[tokio::test]
async fn dry_run_is_refused_not_performed() {
    let fake = FakeKube::start();
    let api: Api<Deployment> = Api::namespaced(client(&fake), "prod");
    let (code, _, message) = api_error(
        api.create(
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &deployment("web", "web:1"),
        )
        .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (400, "dryRun is not implemented by the fake API server")
    );
    assert!(fake.get("Deployment", "prod", "web").is_none());
}

#[tokio::test]
async fn a_background_delete_answers_the_apiservers_success_status() {
    let fake = FakeKube::start();
    let mut web = deployment_json("web", "web:1");
    web["metadata"]["namespace"] = json!("prod");
    fake.insert(web);
    let uid = fake.get("deployments", "prod", "web").expect("seeded")["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_string();
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/apis/apps/v1/namespaces/prod/deployments/web",
            fake.url()
        ))
        .bearer_auth(fake_kube::TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"propagationPolicy":"Background"}"#)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.text().await.expect("body"),
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Success","details":{{"name":"web","group":"apps","kind":"deployments","uid":"{uid}"}}}}"#
        )
    );
    assert!(fake.list("Pod", "prod").is_empty());
    // An empty body is accepted too (the default propagation).
    let mut web = deployment_json("web", "web:1");
    web["metadata"]["namespace"] = json!("prod");
    fake.insert(web);
    let response = reqwest::Client::new()
        .delete(format!(
            "{}/apis/apps/v1/namespaces/prod/deployments/web",
            fake.url()
        ))
        .bearer_auth(fake_kube::TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status().as_u16(), 200);
    assert!(fake.get("Deployment", "prod", "web").is_none());
}
