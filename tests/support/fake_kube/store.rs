//! The objects, the resourceVersion counter, the watch event history, and the apiserver's
//! `Status` errors.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::selector::{FieldSelector, LabelSelector, is_dns_subdomain};
use super::{Behaviour, Denied, Recorded, controller};

/// The two resources served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` Pod.
    Pod,
}

impl Kind {
    /// From a `kind` (`"Deployment"`, `"Pod"`) or a resource (`"deployments"`, `"pods"`).
    pub fn from_kind(kind: &str) -> Option<Kind> {
        match kind {
            "Deployment" | "deployments" => Some(Kind::Deployment),
            "Pod" | "pods" => Some(Kind::Pod),
            _ => None,
        }
    }

    /// The resource name in paths and RBAC rules.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments",
            Kind::Pod => "pods",
        }
    }

    /// The API group (`""` for the core group).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Deployment => "apps",
            Kind::Pod => "",
        }
    }

    /// `apiVersion` of the objects.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment => "apps/v1",
            Kind::Pod => "v1",
        }
    }

    /// `kind` of the objects.
    pub fn kind(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::Pod => "Pod",
        }
    }

    /// `deployments.apps`, `pods`: how NotFound/AlreadyExists/Forbidden messages name it.
    pub fn qualified_resource(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments.apps",
            Kind::Pod => "pods",
        }
    }

    /// `Deployment.apps`, `Pod`: how Invalid messages name it.
    pub fn qualified_kind(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment.apps",
            Kind::Pod => "Pod",
        }
    }
}

/// An error answer: the HTTP code and the `Status` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code (= `code` in the body).
    pub code: u16,
    /// The `Status` object.
    pub body: Value,
}

/// A `Status` failure, as `k8s.io/apimachinery/pkg/api/errors` builds them.
pub fn failure(code: u16, reason: &str, message: &str, details: Option<Value>) -> ApiError {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    body["code"] = json!(code);
    ApiError { code, body }
}

/// A `Status` as the apiserver writes it: fields in the Go struct's order (serde_json's
/// map sorts keys), so bodies compare byte for byte with a real apiserver's.
pub fn status_string(status: &Value) -> String {
    fn ordered(value: &Value, order: &[&str], nested: &dyn Fn(&str, &Value) -> String) -> String {
        let Some(map) = value.as_object() else {
            return value.to_string();
        };
        let mut parts = Vec::new();
        for key in order {
            if let Some(v) = map.get(*key) {
                parts.push(format!("{}:{}", json!(key), nested(key, v)));
            }
        }
        // Anything not in the list, after (sorted).
        for (key, v) in map {
            if !order.contains(&key.as_str()) {
                parts.push(format!("{}:{}", json!(key), v));
            }
        }
        format!("{{{}}}", parts.join(","))
    }
    let cause = |_: &str, v: &Value| v.to_string();
    let detail = |key: &str, v: &Value| {
        if key == "causes" {
            let items: Vec<String> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| ordered(c, &["reason", "message", "field"], &cause))
                        .collect()
                })
                .unwrap_or_default();
            format!("[{}]", items.join(","))
        } else {
            v.to_string()
        }
    };
    let top = |key: &str, v: &Value| {
        if key == "details" {
            ordered(
                v,
                &[
                    "name",
                    "group",
                    "kind",
                    "uid",
                    "causes",
                    "retryAfterSeconds",
                ],
                &detail,
            )
        } else {
            v.to_string()
        }
    };
    ordered(
        status,
        &[
            "kind",
            "apiVersion",
            "metadata",
            "status",
            "message",
            "reason",
            "details",
            "code",
        ],
        &top,
    )
}

/// `details` naming an object: `{name?, group?, kind}` (empty fields are omitted, as the
/// apiserver's JSON does).
pub fn details(kind: Kind, name: &str) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !kind.group().is_empty() {
        d.insert("group".into(), json!(kind.group()));
    }
    d.insert("kind".into(), json!(kind.resource()));
    Value::Object(d)
}

/// 404 `deployments.apps "web" not found`.
pub fn not_found(kind: Kind, name: &str) -> ApiError {
    failure(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", kind.qualified_resource()),
        Some(details(kind, name)),
    )
}

/// 409 Conflict on a stale resourceVersion (`errors.NewConflict` with the registry's
/// `OptimisticLockErrorMsg`).
pub fn conflict(kind: Kind, name: &str, reason: &str) -> ApiError {
    failure(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} \"{name}\": {reason}",
            kind.qualified_resource()
        ),
        Some(details(kind, name)),
    )
}

/// The registry's optimistic-lock message.
pub const OPTIMISTIC_LOCK: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// 422 Invalid with one cause (`errors.NewInvalid`).
pub fn invalid(kind: Kind, name: &str, field: &str, cause_reason: &str, detail: &str) -> ApiError {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if !kind.group().is_empty() {
        d.insert("group".into(), json!(kind.group()));
    }
    d.insert("kind".into(), json!(kind.kind()));
    d.insert(
        "causes".into(),
        json!([{"reason": cause_reason, "message": detail, "field": field}]),
    );
    failure(
        422,
        "Invalid",
        &format!(
            "{} \"{name}\" is invalid: {field}: {detail}",
            kind.qualified_kind()
        ),
        Some(Value::Object(d)),
    )
}

/// 400 BadRequest.
pub fn bad_request(message: &str) -> ApiError {
    failure(400, "BadRequest", message, None)
}

/// A watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `ADDED`
    Added,
    /// `MODIFIED`
    Modified,
    /// `DELETED`
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One write, kept for watches.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the write produced.
    pub rv: u64,
    /// The resource written.
    pub kind: Kind,
    /// What happened.
    pub event_type: EventType,
    /// The object after the write (for DELETED, the last state with the deletion's rv).
    pub object: Value,
    /// The object before the write (MODIFIED only), so a selector watch can turn a label
    /// change into ADDED/DELETED as the apiserver's watch cache does.
    pub previous: Option<Value>,
}

/// `DeleteOptions` (body or query).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `Orphan`, `Background`, `Foreground`; `None` = the resource's default.
    pub propagation: Option<String>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
}

/// Everything the server stores.
#[derive(Default)]
pub struct State {
    rv: u64,
    uids: u64,
    names: u64,
    objects: BTreeMap<(Kind, String, String), Value>,
    history: Vec<Event>,
    /// Events up to this resourceVersion were compacted away.
    compacted: u64,
    behaviours: Vec<(String, Behaviour)>,
    denied: Denied,
    requests: Vec<Recorded>,
}

/// `metadata.name` of an object.
pub fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.namespace` of an object.
pub fn namespace_of(object: &Value) -> &str {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// RFC 3339 UTC, seconds precision, as `metav1.Time` serialises.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The alphabet of `k8s.io/apimachinery/pkg/util/rand.SafeEncodeString` (no vowels, no
/// look-alikes), used for generated names and pod-template hashes.
pub const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `n` characters of [`SAFE_ALPHABET`] from a number.
pub fn safe_encode(mut value: u64, n: usize) -> String {
    let mut out = String::with_capacity(n);
    for _ in 0..n {
        out.push(SAFE_ALPHABET[(value % SAFE_ALPHABET.len() as u64) as usize] as char);
        value /= SAFE_ALPHABET.len() as u64;
    }
    out
}

/// FNV-1a 64 (deterministic, unlike std's `RandomState`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

impl State {
    /// The resourceVersion of the latest write.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A fresh UID (UUID-shaped, deterministic per server).
    pub fn new_uid(&mut self) -> String {
        self.uids += 1;
        format!("6b616e61-7279-4000-8000-{:012x}", self.uids)
    }

    /// Five characters for `generateName` and pod names (`rand.String(5)` upstream;
    /// deterministic here).
    pub fn random_suffix(&mut self) -> String {
        self.names += 1;
        safe_encode(fnv1a(&self.names.to_le_bytes()), 5)
    }

    /// The stored object.
    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&(kind, ns.to_string(), name.to_string()))
    }

    /// Objects of a kind, in one namespace or all, ordered by namespace and name.
    pub fn list(&self, kind: Kind, ns: Option<&str>) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((k, n, _), _)| *k == kind && ns.is_none_or(|ns| ns == n.as_str()))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Objects matching selectors.
    pub fn select(
        &self,
        kind: Kind,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Vec<Value> {
        self.list(kind, ns)
            .into_iter()
            .filter(|o| labels.matches(o.pointer("/metadata/labels")) && fields.matches(o))
            .collect()
    }

    /// Stores `object` with a new resourceVersion and records the event; returns the
    /// stored object.
    pub fn put(&mut self, kind: Kind, mut object: Value, event_type: EventType) -> Value {
        omit_empty_metadata(&mut object);
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let key = (
            kind,
            namespace_of(&object).to_string(),
            name_of(&object).to_string(),
        );
        let previous = self.objects.insert(key, object.clone());
        self.history.push(Event {
            rv: self.rv,
            kind,
            event_type,
            object: object.clone(),
            previous: if event_type == EventType::Modified {
                previous
            } else {
                None
            },
        });
        object
    }

    /// Removes an object, recording a DELETED event; returns its last state.
    pub fn remove(&mut self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        let mut object = self
            .objects
            .remove(&(kind, ns.to_string(), name.to_string()))?;
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.history.push(Event {
            rv: self.rv,
            kind,
            event_type: EventType::Deleted,
            object: object.clone(),
            previous: None,
        });
        Some(object)
    }

    /// Events after `rv`, or `Err(oldest available)` when `rv` was compacted away.
    pub fn events_after(&self, rv: u64) -> Result<&[Event], u64> {
        if rv < self.compacted {
            return Err(self.compacted);
        }
        let start = self.history.partition_point(|e| e.rv <= rv);
        Ok(&self.history[start..])
    }

    /// Drops the event history (etcd compaction).
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }

    /// Sets the behaviour for an image.
    pub fn behave(&mut self, image: &str, behaviour: Behaviour) {
        self.behaviours.retain(|(i, _)| i != image);
        self.behaviours.push((image.to_string(), behaviour));
    }

    /// The behaviour for an image.
    pub fn behaviour(&self, image: &str) -> Behaviour {
        self.behaviours
            .iter()
            .find(|(i, _)| i == image)
            .map(|(_, b)| *b)
            .unwrap_or_default()
    }

    /// Denies a verb on a resource.
    pub fn deny(&mut self, verb: &str, resource: &str) {
        self.denied.insert((verb.to_string(), resource.to_string()));
    }

    /// Allows a denied verb again.
    pub fn allow(&mut self, verb: &str, resource: &str) {
        self.denied
            .remove(&(verb.to_string(), resource.to_string()));
    }

    /// Whether a verb on a resource is denied.
    pub fn is_denied(&self, verb: &str, resource: &str) -> bool {
        self.denied
            .contains(&(verb.to_string(), resource.to_string()))
    }

    /// Records an answered request.
    pub fn record(&mut self, request: Recorded) {
        self.requests.push(request);
    }

    /// The answered requests.
    pub fn requests(&self) -> &[Recorded] {
        &self.requests
    }

    /// CREATE: validates, defaults, fills the system metadata and stores (ADDED).
    /// `keep_status` keeps a seeded object's status (for [`super::FakeKube::insert`]);
    /// the API resets it, as the registry's `PrepareForCreate` does.
    pub fn create(
        &mut self,
        kind: Kind,
        ns: &str,
        mut object: Value,
        keep_status: bool,
    ) -> Result<Value, ApiError> {
        check_type(kind, &object)?;
        if !object.get("metadata").is_some_and(Value::is_object) {
            object["metadata"] = json!({});
        }
        let body_ns = namespace_of(&object);
        if !body_ns.is_empty() && body_ns != ns {
            return Err(bad_request(
                "the namespace of the provided object does not match the namespace sent on \
                 the request",
            ));
        }
        let mut name = name_of(&object).to_string();
        if name.is_empty() {
            if let Some(prefix) = object
                .pointer("/metadata/generateName")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
            {
                name = format!("{prefix}{}", self.random_suffix());
            } else {
                return Err(invalid(
                    kind,
                    "",
                    "metadata.name",
                    "FieldValueRequired",
                    "Required value: name or generateName is required",
                ));
            }
        }
        if !is_dns_subdomain(&name) {
            return Err(invalid(
                kind,
                &name,
                "metadata.name",
                "FieldValueInvalid",
                &format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of \
                     lower case alphanumeric characters, '-' or '.', and must start and end \
                     with an alphanumeric character"
                ),
            ));
        }
        if self.get(kind, ns, &name).is_some() {
            return Err(failure(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", kind.qualified_resource()),
                Some(details(kind, &name)),
            ));
        }
        controller::apply_defaults(kind, &mut object);
        controller::validate(kind, &name, &object, None)?;
        let uid = self.new_uid();
        let meta = object["metadata"]
            .as_object_mut()
            .ok_or_else(|| bad_request("metadata must be an object"))?;
        meta.insert("name".into(), json!(name));
        meta.insert("namespace".into(), json!(ns));
        meta.insert("uid".into(), json!(uid));
        meta.insert("creationTimestamp".into(), json!(now()));
        meta.remove("deletionTimestamp");
        meta.remove("deletionGracePeriodSeconds");
        meta.remove("resourceVersion");
        if kind == Kind::Deployment {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        object["apiVersion"] = json!(kind.api_version());
        object["kind"] = json!(kind.kind());
        if !keep_status || object.get("status").is_none() {
            object["status"] = match kind {
                Kind::Deployment => json!({}),
                Kind::Pod => json!({"phase": "Pending", "qosClass": "BestEffort"}),
            };
        }
        Ok(self.put(kind, object, EventType::Added))
    }

    /// UPDATE (PUT) and the last step of PATCH: `new` replaces the stored object. System
    /// metadata and the status are kept (status is a subresource), `generation` is bumped
    /// on a spec change; a write that changes nothing is not a write (no new
    /// resourceVersion, no event), as in the registry's `GuaranteedUpdate`.
    /// Returns the stored object and whether the spec changed.
    pub fn update(
        &mut self,
        kind: Kind,
        ns: &str,
        name: &str,
        mut new: Value,
    ) -> Result<(Value, bool), ApiError> {
        let Some(old) = self.get(kind, ns, name).cloned() else {
            return Err(not_found(kind, name));
        };
        check_type(kind, &new)?;
        if !new.get("metadata").is_some_and(Value::is_object) {
            new["metadata"] = json!({});
        }
        let new_name = name_of(&new);
        if !new_name.is_empty() && new_name != name {
            return Err(bad_request(&format!(
                "the name of the object ({new_name}) does not match the name on the URL ({name})"
            )));
        }
        let new_ns = namespace_of(&new);
        if !new_ns.is_empty() && new_ns != ns {
            return Err(bad_request(
                "the namespace of the provided object does not match the namespace sent on \
                 the request",
            ));
        }
        let old_uid = old
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Some(uid) = new.pointer("/metadata/uid").and_then(Value::as_str) {
            if !uid.is_empty() && uid != old_uid {
                return Err(conflict(
                    kind,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: \
                         {old_uid}"
                    ),
                ));
            }
        }
        let old_rv = old
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if let Some(rv) = new
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
        {
            if !rv.is_empty() && rv != old_rv {
                return Err(conflict(kind, name, OPTIMISTIC_LOCK));
            }
        }
        controller::apply_defaults(kind, &mut new);
        controller::validate(kind, name, &new, Some(&old))?;
        for key in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
        ] {
            match old["metadata"].get(key) {
                Some(v) => new["metadata"][key] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(key);
                    }
                }
            }
        }
        for key in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
            match old["metadata"].get(key) {
                Some(v) => new["metadata"][key] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(key);
                    }
                }
            }
        }
        new["metadata"]["resourceVersion"] = json!(old_rv);
        new["apiVersion"] = json!(kind.api_version());
        new["kind"] = json!(kind.kind());
        new["status"] = old.get("status").cloned().unwrap_or_else(|| json!({}));
        let spec_changed = new.get("spec") != old.get("spec");
        if spec_changed && kind == Kind::Deployment {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            new["metadata"]["generation"] = json!(generation + 1);
        }
        if new == old {
            return Ok((old, false));
        }
        Ok((self.put(kind, new, EventType::Modified), spec_changed))
    }

    /// Writes a new status (the controller's `/status` updates); no event when unchanged.
    pub fn set_status(&mut self, kind: Kind, ns: &str, name: &str, status: Value) {
        let Some(old) = self.get(kind, ns, name) else {
            return;
        };
        if old.get("status") == Some(&status) {
            return;
        }
        let mut new = old.clone();
        new["status"] = status;
        self.put(kind, new, EventType::Modified);
    }
}

/// Go's `omitempty` on `ObjectMeta`'s maps and lists: an empty `labels: {}` (e.g. after
/// a patch deleted every label) is not written back.
fn omit_empty_metadata(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|key, v| {
            let collection = matches!(
                key.as_str(),
                "labels" | "annotations" | "finalizers" | "ownerReferences" | "managedFields"
            );
            !(collection
                && (v.is_null()
                    || v.as_object().is_some_and(Map::is_empty)
                    || v.as_array().is_some_and(Vec::is_empty)))
        });
    }
}

/// Checks the body is an object of the kind (`apiVersion`/`kind` when present) that
/// k8s-openapi can read: the apiserver's decode step answers 400 otherwise.
pub fn check_type(kind: Kind, object: &Value) -> Result<(), ApiError> {
    if !object.is_object() {
        return Err(bad_request(&format!(
            "{} in version \"v1\" cannot be handled as a {}: the body is not a JSON object",
            kind.kind(),
            kind.kind()
        )));
    }
    if let Some(v) = object.get("apiVersion").and_then(Value::as_str) {
        if v != kind.api_version() {
            return Err(bad_request(&format!(
                "the API version in the data ({v}) does not match the expected API version ({})",
                kind.api_version()
            )));
        }
    }
    if let Some(k) = object.get("kind").and_then(Value::as_str) {
        if k != kind.kind() {
            return Err(bad_request(&format!(
                "{} in version \"v1\" cannot be handled as a {}: the kind in the data ({k}) \
                 does not match the expected kind",
                kind.kind(),
                kind.kind()
            )));
        }
    }
    let typed = match kind {
        Kind::Deployment => {
            serde_json::from_value::<k8s_openapi::api::apps::v1::Deployment>(object.clone())
                .map(drop)
        }
        Kind::Pod => {
            serde_json::from_value::<k8s_openapi::api::core::v1::Pod>(object.clone()).map(drop)
        }
    };
    typed.map_err(|e| {
        bad_request(&format!(
            "{} in version \"v1\" cannot be handled as a {}: {e}",
            kind.kind(),
            kind.kind()
        ))
    })
}
