//! The HTTP side: routing, authentication, RBAC, the verbs, and watch streams.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::controller;
use super::patch::strategic_merge;
use super::selector::{FieldSelector, LabelSelector};
use super::store::{
    self, ApiError, DeleteOptions, EventType, Kind, bad_request, conflict, failure, name_of,
    not_found,
};
use super::{Recorded, Shared, TOKEN, USER};

/// The one patch type implemented.
const STRATEGIC_MERGE: &str = "application/strategic-merge-patch+json";

/// The watch timeout when the client gives none (kube-rs sends 290).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

/// Request bodies larger than this are refused (the apiserver's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// The router: every request goes through [`handle`].
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Where a request points.
struct Target {
    kind: Kind,
    /// `None` for the all-namespaces collection (`/apis/apps/v1/deployments`).
    ns: Option<String>,
    name: Option<String>,
}

fn route(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (kind, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => (Kind::Pod, rest),
        ["apis", "apps", "v1", rest @ ..] => (Kind::Deployment, rest),
        _ => return None,
    };
    let resource = kind.resource();
    match rest {
        [r] if *r == resource => Some(Target {
            kind,
            ns: None,
            name: None,
        }),
        ["namespaces", ns, r] if *r == resource => Some(Target {
            kind,
            ns: Some((*ns).to_string()),
            name: None,
        }),
        ["namespaces", ns, r, name] if *r == resource => Some(Target {
            kind,
            ns: Some((*ns).to_string()),
            name: Some((*name).to_string()),
        }),
        _ => None,
    }
}

fn json_response(code: u16, body: &Value) -> Response {
    let text = if body["kind"] == "Status" {
        store::status_string(body)
    } else {
        body.to_string()
    };
    let mut response = (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        text,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.body)
}

/// The query parameters (first value of each).
struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY).await;
    let response = match body {
        Err(_) => error_response(&failure(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
            None,
        )),
        Ok(body) if authorized => dispatch(
            &shared,
            &method,
            &path,
            &query,
            content_type.as_deref(),
            body,
        ),
        Ok(_) => error_response(&failure(401, "Unauthorized", "Unauthorized", None)),
    };
    shared.lock().record(Recorded {
        method: method.to_string(),
        path,
        query,
        content_type,
        status: response.status().as_u16(),
    });
    response
}

fn forbidden(kind: Kind, verb: &str, ns: Option<&str>, name: Option<&str>) -> ApiError {
    let subject = match name {
        Some(name) => format!("{} \"{name}\"", kind.qualified_resource()),
        None => kind.qualified_resource().to_string(),
    };
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    failure(
        403,
        "Forbidden",
        &format!(
            "{subject} is forbidden: User \"{USER}\" cannot {verb} resource \"{}\" in API \
             group \"{}\" {scope}",
            kind.resource(),
            kind.group()
        ),
        Some(store::details(kind, name.unwrap_or(""))),
    )
}

fn dispatch(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    raw_query: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> Response {
    let Some(target) = route(path) else {
        return error_response(&failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        ));
    };
    let query = Query(
        form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
    );
    let watching = matches!(query.get("watch"), Some("true") | Some("1"));
    let verb = match (method.as_str(), &target.name, &target.ns) {
        ("GET", Some(_), _) => "get",
        ("GET", None, _) if watching => "watch",
        ("GET", None, _) => "list",
        ("POST", None, Some(_)) => "create",
        ("PUT", Some(_), _) => "update",
        ("PATCH", Some(_), _) => "patch",
        ("DELETE", Some(_), _) => "delete",
        ("DELETE", None, Some(_)) => "deletecollection",
        _ => {
            return error_response(&failure(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                Some(json!({})),
            ));
        }
    };
    let kind = target.kind;
    let ns = target.ns.as_deref();
    let name = target.name.as_deref();
    if shared.lock().is_denied(verb, kind.resource()) {
        return error_response(&forbidden(kind, verb, ns, name));
    }
    // Refused rather than ignored: ignoring it would really write what the client
    // only meant to try.
    let body_dry_run = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("dryRun").cloned())
        .and_then(|d| d.as_array().map(|a| !a.is_empty()))
        .unwrap_or(false);
    if query.get("dryRun").is_some() || (verb.starts_with("delete") && body_dry_run) {
        return error_response(&bad_request(
            "dryRun is not implemented by the fake API server",
        ));
    }
    let result = match verb {
        "get" => get(shared, kind, ns.unwrap_or(""), name.unwrap_or("")),
        "list" => list(shared, kind, ns, &query),
        "watch" => return watch(shared, kind, ns, &query),
        "create" => create(shared, kind, ns.unwrap_or(""), &body),
        "update" => update(shared, kind, ns.unwrap_or(""), name.unwrap_or(""), &body),
        "patch" => patch(
            shared,
            kind,
            ns.unwrap_or(""),
            name.unwrap_or(""),
            content_type,
            &body,
        ),
        "delete" => delete_options(&query, &body).and_then(|options| {
            delete_one(shared, kind, ns.unwrap_or(""), name.unwrap_or(""), &options)
        }),
        _ => delete_options(&query, &body).and_then(|options| {
            delete_collection(shared, kind, ns.unwrap_or(""), &query, &options)
        }),
    };
    match result {
        Ok((code, body)) => json_response(code, &body),
        Err(e) => error_response(&e),
    }
}

type Answer = Result<(u16, Value), ApiError>;

fn get(shared: &Shared, kind: Kind, ns: &str, name: &str) -> Answer {
    shared
        .lock()
        .get(kind, ns, name)
        .map(|o| (200, o.clone()))
        .ok_or_else(|| not_found(kind, name))
}

fn selectors(kind: Kind, query: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
        .map_err(|e| bad_request(&e))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), kind.resource())
        .map_err(|e| bad_request(&e))?;
    Ok((labels, fields))
}

fn list_body(kind: Kind, rv: u64, items: Vec<Value>) -> Value {
    // Items of a list carry no apiVersion/kind on the wire (the list has them).
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut o| {
            if let Some(m) = o.as_object_mut() {
                m.remove("apiVersion");
                m.remove("kind");
            }
            o
        })
        .collect();
    json!({
        "kind": format!("{}List", kind.kind()),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    })
}

fn list(shared: &Shared, kind: Kind, ns: Option<&str>, query: &Query) -> Answer {
    let (labels, fields) = selectors(kind, query)?;
    let state = shared.lock();
    let items = state.select(kind, ns, &labels, &fields);
    Ok((200, list_body(kind, state.resource_version(), items)))
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| bad_request(&format!("couldn't get version/kind; json parse error: {e}")))
}

fn create(shared: &Arc<Shared>, kind: Kind, ns: &str, body: &Bytes) -> Answer {
    let object = parse_body(body)?;
    let created = shared.write(|state| state.create(kind, ns, object, false))?;
    if kind == Kind::Deployment {
        controller::schedule(shared, ns, name_of(&created));
    }
    Ok((201, created))
}

fn update(shared: &Arc<Shared>, kind: Kind, ns: &str, name: &str, body: &Bytes) -> Answer {
    let object = parse_body(body)?;
    let (stored, spec_changed) = shared.write(|state| state.update(kind, ns, name, object))?;
    if kind == Kind::Deployment && spec_changed {
        controller::schedule(shared, ns, name);
    }
    Ok((200, stored))
}

fn patch(
    shared: &Arc<Shared>,
    kind: Kind,
    ns: &str,
    name: &str,
    content_type: Option<&str>,
    body: &Bytes,
) -> Answer {
    let media_type = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .unwrap_or("");
    if media_type != STRATEGIC_MERGE {
        return Err(failure(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types \
                 include: {STRATEGIC_MERGE}"
            ),
            None,
        ));
    }
    let patch = parse_body(body)?;
    if !patch.is_object() {
        return Err(bad_request("the patch must be a JSON object"));
    }
    let (stored, spec_changed) = shared.write(|state| {
        let Some(current) = state.get(kind, ns, name).cloned() else {
            return Err(not_found(kind, name));
        };
        // A resourceVersion in the patch is a precondition (optimistic concurrency).
        if let Some(rv) = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
        {
            if Some(rv)
                != current
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
            {
                return Err(conflict(kind, name, store::OPTIMISTIC_LOCK));
            }
        }
        let patched = strategic_merge(&current, &patch).map_err(|e| bad_request(&e))?;
        state.update(kind, ns, name, patched)
    })?;
    if kind == Kind::Deployment && spec_changed {
        controller::schedule(shared, ns, name);
    }
    Ok((200, stored))
}

/// `DeleteOptions` from the body (kube-rs always sends one) or the query.
fn delete_options(query: &Query, body: &Bytes) -> Result<DeleteOptions, ApiError> {
    let mut options = DeleteOptions::default();
    let trimmed = body.iter().all(u8::is_ascii_whitespace);
    let value: Value = if trimmed {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| bad_request(&format!("couldn't decode DeleteOptions: {e}")))?
    };
    if !value.is_object() {
        return Err(bad_request("DeleteOptions must be a JSON object"));
    }
    options.propagation = value
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or(query.get("propagationPolicy"))
        .map(str::to_string);
    if let Some(orphan) = value.get("orphanDependents").and_then(Value::as_bool) {
        if options.propagation.is_none() {
            options.propagation = Some(if orphan { "Orphan" } else { "Background" }.to_string());
        }
    }
    if let Some(p) = &options.propagation {
        if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
            return Err(failure(
                422,
                "Invalid",
                &format!(
                    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported \
                     value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                ),
                None,
            ));
        }
    }
    options.uid = value
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .map(str::to_string);
    options.resource_version = value
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(options)
}

/// DELETE of one object (also [`super::FakeKube::delete_object`]). A Deployment deleted
/// in the background answers a `Status` Success (the registry's `ReturnDeletedObject` is
/// false for it) and its pods are garbage-collected; `Foreground` and `Orphan` answer the
/// object with its `deletionTimestamp` and finalizer, as the apiserver does while the
/// finalizer runs, and the object is gone right after. A Pod answers the deleted object.
pub fn delete_one(
    shared: &Arc<Shared>,
    kind: Kind,
    ns: &str,
    name: &str,
    options: &DeleteOptions,
) -> Answer {
    let (answer, recreate) = shared.write(|state| {
        let Some(current) = state.get(kind, ns, name).cloned() else {
            return Err(not_found(kind, name));
        };
        let uid = current["metadata"]["uid"].as_str().unwrap_or("").to_string();
        if let Some(want) = &options.uid {
            if *want != uid {
                return Err(conflict(
                    kind,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {want}, UID in object meta: \
                         {uid}"
                    ),
                ));
            }
        }
        if let Some(want) = &options.resource_version {
            if Some(want.as_str()) != current["metadata"]["resourceVersion"].as_str() {
                return Err(conflict(
                    kind,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {want}, \
                         ResourceVersion in object meta: {}",
                        current["metadata"]["resourceVersion"].as_str().unwrap_or("")
                    ),
                ));
            }
        }
        match kind {
            Kind::Pod => {
                let owner = controller::owner_deployment(state, &current);
                let deleted = state.remove(kind, ns, name).unwrap_or(current);
                Ok(((200, deleted), owner))
            }
            Kind::Deployment => {
                let policy = options.propagation.as_deref().unwrap_or("Background");
                if policy == "Background" {
                    state.remove(kind, ns, name);
                    controller::collect_garbage(state, ns, &uid, false);
                    let body = json!({
                        "kind": "Status",
                        "apiVersion": "v1",
                        "metadata": {},
                        "status": "Success",
                        "details": {"name": name, "group": "apps", "kind": "deployments", "uid": uid},
                    });
                    return Ok(((200, body), None));
                }
                let finalizer = if policy == "Foreground" {
                    "foregroundDeletion"
                } else {
                    "orphan"
                };
                let mut marked = current.clone();
                marked["metadata"]["deletionTimestamp"] = json!(store::now());
                marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                marked["metadata"]["finalizers"] = json!([finalizer]);
                let marked = state.put(kind, marked, EventType::Modified);
                controller::collect_garbage(state, ns, &uid, policy == "Orphan");
                state.remove(kind, ns, name);
                Ok(((200, marked), None))
            }
        }
    })?;
    if let Some(deployment) = recreate {
        controller::schedule(shared, ns, &deployment);
    }
    Ok(answer)
}

fn delete_collection(
    shared: &Arc<Shared>,
    kind: Kind,
    ns: &str,
    query: &Query,
    options: &DeleteOptions,
) -> Answer {
    let (labels, fields) = selectors(kind, query)?;
    let matching = shared.lock().select(kind, Some(ns), &labels, &fields);
    let mut deleted = Vec::new();
    for object in matching {
        match delete_one(shared, kind, ns, name_of(&object), options) {
            Ok(_) => deleted.push(object),
            // Deleted meanwhile (e.g. a pod collected with its Deployment): not an error.
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let rv = shared.lock().resource_version();
    Ok((200, list_body(kind, rv, deleted)))
}

/// What a watch stream filters on.
struct WatchFilter {
    kind: Kind,
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl WatchFilter {
    fn matches(&self, object: &Value) -> bool {
        self.ns
            .as_deref()
            .is_none_or(|ns| ns == store::namespace_of(object))
            && self.labels.matches(object.pointer("/metadata/labels"))
            && self.fields.matches(object)
    }
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let object = if object["kind"] == "Status" {
        store::status_string(object)
    } else {
        object.to_string()
    };
    Bytes::from(format!(
        "{{\"type\":\"{event_type}\",\"object\":{object}}}\n"
    ))
}

/// The events after `rv` that the filter sees, as lines; a MODIFIED event whose object
/// starts or stops matching becomes ADDED or DELETED (the watch cache's behaviour).
fn collect_events(
    state: &store::State,
    filter: &WatchFilter,
    rv: u64,
    out: &mut VecDeque<Bytes>,
) -> Result<u64, u64> {
    let events = state.events_after(rv)?;
    let mut last = rv;
    for event in events {
        last = event.rv;
        if event.kind != filter.kind {
            continue;
        }
        let now = filter.matches(&event.object);
        let before = event.previous.as_ref().is_some_and(|p| filter.matches(p));
        let event_type = match (event.event_type, before, now) {
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            (t, _, true) if t != EventType::Modified => t.as_str(),
            _ => continue,
        };
        out.push_back(event_line(event_type, &event.object));
    }
    Ok(last.max(state.resource_version()))
}

fn watch(shared: &Arc<Shared>, kind: Kind, ns: Option<&str>, query: &Query) -> Response {
    let (labels, fields) = match selectors(kind, query) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let timeout = match query.get("timeoutSeconds") {
        None => DEFAULT_WATCH_TIMEOUT,
        Some(t) => match t.parse::<u64>() {
            Ok(t) => Duration::from_secs(t),
            Err(_) => {
                return error_response(&bad_request(&format!(
                    "timeoutSeconds: invalid value {t:?}: not an integer"
                )));
            }
        },
    };
    let bookmarks = query.get("allowWatchBookmarks") == Some("true");
    let filter = WatchFilter {
        kind,
        ns: ns.map(str::to_string),
        labels,
        fields,
    };
    let mut pending = VecDeque::new();
    let start = {
        let state = shared.lock();
        match query
            .get("resourceVersion")
            .filter(|rv| !rv.is_empty() && *rv != "0")
        {
            // rv "0" or none: the current objects as ADDED, then changes from now.
            None => {
                for object in state.select(kind, ns, &filter.labels, &filter.fields) {
                    pending.push_back(event_line("ADDED", &object));
                }
                // A streaming list (`sendInitialEvents=true`, kube-rs
                // `InitialListStrategy::StreamingList`) ends its initial events with this
                // bookmark (KEP-3157).
                if query.get("sendInitialEvents") == Some("true") {
                    let bookmark = json!({
                        "kind": kind.kind(),
                        "apiVersion": kind.api_version(),
                        "metadata": {
                            "resourceVersion": state.resource_version().to_string(),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    });
                    pending.push_back(event_line("BOOKMARK", &bookmark));
                }
                state.resource_version()
            }
            Some(rv) => match rv.parse::<u64>() {
                Err(_) => {
                    drop(state);
                    return error_response(&bad_request(&format!(
                        "resourceVersion: Invalid value: \"{rv}\": must be an integer"
                    )));
                }
                Ok(rv) => match collect_events(&state, &filter, rv, &mut pending) {
                    Ok(last) => last,
                    Err(oldest) => {
                        let status = failure(
                            410,
                            "Expired",
                            &format!("too old resource version: {rv} ({oldest})"),
                            None,
                        );
                        pending.push_back(event_line("ERROR", &status.body));
                        u64::MAX
                    }
                },
            },
        }
    };
    let stream = WatchStream {
        shared: shared.clone(),
        filter,
        rv: start,
        pending,
        changed: shared.changed.subscribe(),
        deadline: tokio::time::Instant::now() + timeout,
        bookmarks,
        done: start == u64::MAX,
    };
    let body = Body::from_stream(futures_util::stream::unfold(stream, next_chunk));
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

struct WatchStream {
    shared: Arc<Shared>,
    filter: WatchFilter,
    rv: u64,
    pending: VecDeque<Bytes>,
    changed: tokio::sync::watch::Receiver<u64>,
    deadline: tokio::time::Instant,
    bookmarks: bool,
    /// Closes after the pending lines (an ERROR event was sent).
    done: bool,
}

async fn next_chunk(mut s: WatchStream) -> Option<(Result<Bytes, std::io::Error>, WatchStream)> {
    loop {
        if let Some(line) = s.pending.pop_front() {
            return Some((Ok(line), s));
        }
        if s.done {
            return None;
        }
        let collected = {
            let state = s.shared.lock();
            collect_events(&state, &s.filter, s.rv, &mut s.pending)
        };
        match collected {
            Ok(last) => s.rv = last,
            Err(oldest) => {
                let status = failure(
                    410,
                    "Expired",
                    &format!("too old resource version: {} ({oldest})", s.rv),
                    None,
                );
                s.pending.push_back(event_line("ERROR", &status.body));
                s.done = true;
                continue;
            }
        }
        if !s.pending.is_empty() {
            continue;
        }
        tokio::select! {
            changed = s.changed.changed() => {
                if changed.is_err() {
                    return None;
                }
            }
            _ = tokio::time::sleep_until(s.deadline) => {
                // The apiserver sends a bookmark just before a watch times out, so the
                // client resumes from it; then the stream closes.
                s.done = true;
                if s.bookmarks {
                    let bookmark = json!({
                        "kind": s.filter.kind.kind(),
                        "apiVersion": s.filter.kind.api_version(),
                        "metadata": {"resourceVersion": s.rv.to_string()},
                    });
                    s.pending.push_back(event_line("BOOKMARK", &bookmark));
                }
            }
        }
    }
}
