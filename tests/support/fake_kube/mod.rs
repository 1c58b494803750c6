//! An in-process fake Kubernetes API server for `apps/v1` Deployments and `v1` Pods, for
//! testing kube-rs code where no kube-apiserver can run.
//!
//! Include it with `#[path = "support/fake_kube/mod.rs"] mod fake_kube;`. [`FakeKube::start`]
//! serves on `127.0.0.1:0` from its own thread and tokio runtime; dropping it stops the
//! server. Build the client inside the test's runtime:
//! `kube::Client::try_from(fake.config())`.
//!
//! What it implements, following the Kubernetes API conventions
//! (<https://kubernetes.io/docs/reference/using-api/api-concepts/>) and the apiserver's
//! generic registry (`k8s.io/apiserver/pkg/registry/generic/registry/store.go`):
//! * one global `resourceVersion` counter bumped by every write; `uid`,
//!   `creationTimestamp`, and for Deployments `generation` (+1 on a spec change only);
//! * GET, LIST (label and field selectors), WATCH (chunked JSON lines from an event history,
//!   `resourceVersion`, `timeoutSeconds`, a BOOKMARK before the timeout closes the stream),
//!   POST, PUT (optimistic concurrency), PATCH (strategic merge patch only; other patch
//!   types get 415), DELETE with `DeleteOptions` (propagation and garbage collection of the
//!   Deployment's pods, preconditions), DELETE on a collection;
//! * `Status` bodies for 400/401/403/404/405/409/410/415/422 worded like the apiserver's;
//! * bearer-token authentication (`fake-token`) and RBAC denials ([`FakeKube::deny`]);
//! * a Deployment controller that rolls pods out per [`Behaviour`], chosen by image.
//!
//! Simplifications (each harmless for a client): no ReplicaSets (pods are owned by the
//! Deployment directly, named `<deployment>-<pod-template-hash>-<5 chars>`); a rollout
//! replaces old pods at once (no surge); `Available` needs every replica ready; at most
//! [`controller::MAX_PODS`] pods per Deployment; deletions take effect immediately (no
//! graceful termination; garbage collection in the same step); `limit`/`continue` are
//! ignored (one page, as the apiserver does for `resourceVersion=0` lists); every namespace
//! exists; `dryRun` is refused (400) rather than performed; no `managedFields`, no
//! subresources (`/status`, `/scale`: 404).
//!
//! Beyond the API, the test side can seed objects ([`FakeKube::insert`]), read them
//! ([`FakeKube::get`], [`FakeKube::list`]), act as another client
//! ([`FakeKube::modify`], [`FakeKube::delete_object`]), choose rollouts per image
//! ([`FakeKube::behave`]), deny verbs ([`FakeKube::deny`], [`FakeKube::allow`]), compact
//! the watch history ([`FakeKube::compact`]) and read every request
//! ([`FakeKube::requests`]). Names and UIDs are deterministic per server.
#![allow(dead_code)]

mod api;
pub mod controller;
mod patch;
mod selector;
mod store;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

pub use store::Kind;

/// The bearer token the server accepts.
pub const TOKEN: &str = "fake-token";

/// The user RBAC messages name (kanary's ServiceAccount in namespace `default`).
pub const USER: &str = "system:serviceaccount:default:kanary";

/// How the controller rolls out a Deployment whose pod template has a container with a
/// given image ([`FakeKube::behave`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Pods Running and Ready, the Deployment available, `after` the rollout starts (pods
    /// are Pending with `ContainerCreating` until then).
    Ready {
        /// Delay before the pods become ready.
        after: Duration,
    },
    /// Pods stay Pending (no container statuses, no reason); never available.
    Never,
    /// Pods Pending, the container waiting with reason `ImagePullBackOff`.
    ImagePullBackOff,
    /// Pods Running but not ready, the container waiting with reason `CrashLoopBackOff`,
    /// `restartCount` 3, last terminated with exit code 1.
    CrashLoopBackOff,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour::Ready {
            after: Duration::ZERO,
        }
    }
}

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (`""` when none).
    pub query: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The response status code.
    pub status: u16,
}

/// State shared by the HTTP handlers, the controller and the test thread.
pub(crate) struct Shared {
    state: Mutex<store::State>,
    /// The resourceVersion after the latest write, for watch streams to wake on.
    changed: tokio::sync::watch::Sender<u64>,
    /// The server's runtime, where the controller's rollouts run.
    runtime: tokio::runtime::Handle,
}

impl Shared {
    /// Runs `f` on the state under the lock, then wakes the watch streams.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut store::State) -> R) -> R {
        let (result, rv) = {
            let mut state = self.lock();
            let result = f(&mut state);
            (result, state.resource_version())
        };
        self.changed.send_replace(rv);
        result
    }

    /// The state, for reading (a panic elsewhere does not make it unusable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, store::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running fake API server; dropping it stops the server.
pub struct FakeKube {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeKube {
    /// Starts the server on `127.0.0.1:0`, on its own thread with a current-thread tokio
    /// runtime.
    pub fn start() -> FakeKube {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build the fake API server's runtime");
        // Bound here with std (start() may run inside a test's runtime, where block_on
        // panics), served from the server's own thread.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind the fake API server to 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener for tokio");
        let addr = listener
            .local_addr()
            .expect("local address of the fake API server");
        let (changed, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(store::State::default()),
            changed,
            runtime: runtime.handle().clone(),
        });
        let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let app = api::router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("fake-kube".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("register the listener with tokio");
                    let serve = axum::serve(listener, app);
                    tokio::select! {
                        result = serve => {
                            if let Err(e) = result {
                                eprintln!("fake kube API server stopped: {e}");
                            }
                        }
                        _ = shutdown_rx => {}
                    }
                });
                // Open watch streams and pending rollouts are dropped with the runtime.
                runtime.shutdown_background();
            })
            .expect("spawn the fake API server's thread");
        FakeKube {
            shared,
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube-rs config for this server: default namespace `default`, bearer token
    /// [`TOKEN`]. Build the client with `kube::Client::try_from(config)` inside a runtime.
    pub fn config(&self) -> kube::Config {
        let mut config = kube::Config::new(
            self.url()
                .parse()
                .expect("the fake API server's URL is a valid URI"),
        );
        config.default_namespace = "default".to_string();
        config.auth_info.token = Some(TOKEN.to_string().into());
        config
    }

    /// Writes a kubeconfig (YAML) with this server, the token and namespace `default`.
    pub fn write_kubeconfig(&self, path: &Path) {
        let yaml = format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: fake\n  cluster:\n    server: {url}\n\
             users:\n\
             - name: kanary\n  user:\n    token: {TOKEN}\n\
             contexts:\n\
             - name: fake\n  context:\n    cluster: fake\n    user: kanary\n    namespace: default\n\
             current-context: fake\n",
            url = self.url()
        );
        std::fs::write(path, yaml)
            .unwrap_or_else(|e| panic!("write the kubeconfig {}: {e}", path.display()));
    }

    /// Seeds an object (Deployment or Pod JSON, `metadata.namespace` defaults to
    /// `default`): fills `uid`, `resourceVersion`, `creationTimestamp`, `generation` and
    /// the API defaults. A Deployment is rolled out at once, whatever its behaviour's
    /// delay (production is already running), including its pods. Panics on an object the
    /// API would reject, with the API's message.
    pub fn insert(&self, object: Value) {
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .and_then(Kind::from_kind)
            .unwrap_or_else(|| panic!("insert: kind must be Deployment or Pod: {object}"));
        let ns = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        let created = self
            .shared
            .write(|state| state.create(kind, &ns, object, true))
            .unwrap_or_else(|e| panic!("insert: {}", e.body));
        if kind == Kind::Deployment {
            let name = store::name_of(&created).to_string();
            self.shared.write(|state| {
                if let Some(settle) = controller::start_rollout(state, &ns, &name) {
                    if settle.delay.is_some() {
                        controller::settle(state, &ns, &name, &settle);
                    }
                }
            });
        }
    }

    /// The stored object (`kind` is `"Deployment"` or `"Pod"`), as a GET would return it.
    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let kind = Kind::from_kind(kind)?;
        self.shared.lock().get(kind, ns, name).cloned()
    }

    /// The objects of a kind in a namespace, by name.
    pub fn list(&self, kind: &str, ns: &str) -> Vec<Value> {
        let Some(kind) = Kind::from_kind(kind) else {
            return Vec::new();
        };
        self.shared.lock().list(kind, Some(ns))
    }

    /// Changes a stored object as someone else would (`change` may touch anything,
    /// status included): one write, a MODIFIED event; a Deployment whose spec changed gets
    /// a new generation and a rollout. Returns the stored object, `None` when absent.
    pub fn modify(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let kind = Kind::from_kind(kind)?;
        let (stored, rollout) = self.shared.write(|state| {
            let mut object = state.get(kind, ns, name)?.clone();
            let before = object.get("spec").cloned();
            change(&mut object);
            let spec_changed = object.get("spec").cloned() != before;
            let rollout = spec_changed && kind == Kind::Deployment;
            if rollout {
                let generation = object
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                object["metadata"]["generation"] = serde_json::json!(generation + 1);
            }
            Some((state.put(kind, object, store::EventType::Modified), rollout))
        })?;
        if rollout {
            controller::schedule(&self.shared, ns, name);
        }
        Some(stored)
    }

    /// Deletes an object as someone else would (background propagation: a Deployment's
    /// pods go too; a deleted pod of a Deployment is replaced by the controller).
    pub fn delete_object(&self, kind: &str, ns: &str, name: &str) {
        let Some(kind) = Kind::from_kind(kind) else {
            return;
        };
        let options = store::DeleteOptions::default();
        let _ = api::delete_one(&self.shared, kind, ns, name, &options);
    }

    /// How Deployments whose pod template has a container with `image` are rolled out
    /// (the latest call for an image wins; default `Behaviour::Ready { after: 0 }`).
    pub fn behave(&self, image: &str, behaviour: Behaviour) {
        self.shared.lock().behave(image, behaviour);
    }

    /// Denies a verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`) on a resource (`deployments`, `pods`): 403 like RBAC.
    pub fn deny(&self, verb: &str, resource: &str) {
        self.shared.lock().deny(verb, resource);
    }

    /// Allows again what [`FakeKube::deny`] denied.
    pub fn allow(&self, verb: &str, resource: &str) {
        self.shared.lock().allow(verb, resource);
    }

    /// Drops the watch event history up to now, as etcd compaction does: a watch from an
    /// older resourceVersion then gets an ERROR event with a 410 Gone (`Expired`) Status.
    pub fn compact(&self) {
        self.shared.lock().compact();
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().resource_version()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests().to_vec()
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Denied verbs on resources, as `(verb, resource)`.
pub(crate) type Denied = BTreeSet<(String, String)>;
