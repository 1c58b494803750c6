//! Strategic merge patch for Deployments and Pods
//! (`k8s.io/apimachinery/pkg/util/strategicpatch/patch.go`, `StrategicMergePatch`).
//!
//! Maps merge recursively and `null` deletes a key. Lists merge by the field's
//! `patchMergeKey` from the Go types' struct tags (`k8s.io/api/core/v1/types.go`,
//! `apps/v1/types.go`), whatever the depth at which the field appears:
//! `containers`/`initContainers`/`ephemeralContainers` by `name`, `env` by `name`, `ports`
//! by `containerPort`, `volumeMounts` by `mountPath`, `volumeDevices` by `devicePath`,
//! `volumes` by `name`, `imagePullSecrets` by `name`, `hostAliases` by `ip`,
//! `resourceClaims` by `name`, `conditions` by `type`, `ownerReferences` by `uid`;
//! `finalizers` is a merged list of strings; every other list (`tolerations`, `args`,
//! `command`, `envFrom`, ...) is replaced. Directives: `$patch: replace|delete` inside a map
//! or a merged list element, `$deleteFromPrimitiveList/<field>`, `$retainKeys`;
//! `$setElementOrder/<field>` is accepted and ignored (merged lists keep the original order
//! and append new elements, which is what upstream produces when the order list matches).

use serde_json::{Map, Value};

/// How a list field merges.
enum ListKind {
    /// By the value of this key in each element.
    Keyed(&'static str),
    /// A set of primitives (union).
    PrimitiveSet,
    /// Replaced by the patch.
    Replace,
}

fn list_kind(field: &str) -> ListKind {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => ListKind::Keyed("name"),
        "ports" => ListKind::Keyed("containerPort"),
        "volumeMounts" => ListKind::Keyed("mountPath"),
        "volumeDevices" => ListKind::Keyed("devicePath"),
        "hostAliases" => ListKind::Keyed("ip"),
        "conditions" => ListKind::Keyed("type"),
        "ownerReferences" => ListKind::Keyed("uid"),
        "finalizers" => ListKind::PrimitiveSet,
        _ => ListKind::Replace,
    }
}

const DIRECTIVE: &str = "$patch";
const DELETE_FROM_PRIMITIVE: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const RETAIN_KEYS: &str = "$retainKeys";

/// Applies a strategic merge patch to `original` (both JSON objects); the error is the
/// apiserver's 400 message.
pub fn strategic_merge(original: &Value, patch: &Value) -> Result<Value, String> {
    let (Some(original), Some(patch)) = (original.as_object(), patch.as_object()) else {
        return Err("the patch must be a JSON object".to_string());
    };
    merge_map(original, patch).map(Value::Object)
}

fn merge_map(
    original: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                let mut replaced = patch.clone();
                replaced.remove(DIRECTIVE);
                Ok(replaced)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(format!("Unknown patch type: {directive}")),
        };
    }
    let mut result = original.clone();
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Some(keys) = retain.as_array() else {
            return Err(format!("{RETAIN_KEYS} must be a list of strings"));
        };
        let keep: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        result.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in patch {
        if key == RETAIN_KEYS || key.starts_with(SET_ELEMENT_ORDER) {
            continue;
        }
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE) {
            let Some(remove) = value.as_array() else {
                return Err(format!("{key} must be a list"));
            };
            if let Some(Value::Array(items)) = result.get_mut(field) {
                items.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if key.starts_with('$') {
            return Err(format!("unknown patch directive {key}"));
        }
        if value.is_null() {
            result.remove(key);
            continue;
        }
        let merged = match (result.get(key), value) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                let m = merge_map(o, p)?;
                Value::Object(m)
            }
            (_, Value::Object(p)) => {
                // Nothing to merge into: the patch value, without its directives.
                Value::Object(merge_map(&Map::new(), p)?)
            }
            (Some(Value::Array(o)), Value::Array(p)) => merge_list(key, o, p)?,
            (_, Value::Array(p)) => merge_list(key, &[], p)?,
            (_, v) => v.clone(),
        };
        result.insert(key.clone(), merged);
    }
    Ok(result)
}

fn merge_list(field: &str, original: &[Value], patch: &[Value]) -> Result<Value, String> {
    // `{"$patch": "replace"}` as an element: the list becomes the patch's other elements.
    let replace = patch
        .iter()
        .any(|e| e.get(DIRECTIVE).and_then(Value::as_str) == Some("replace"));
    if replace {
        let kept: Vec<Value> = patch
            .iter()
            .filter(|e| e.get(DIRECTIVE).is_none())
            .cloned()
            .collect();
        return Ok(Value::Array(kept));
    }
    match list_kind(field) {
        ListKind::Replace => {
            if let Some(bad) = patch.iter().find(|e| e.get(DIRECTIVE).is_some()) {
                return Err(format!(
                    "{field}: the directive {bad} needs a list with a merge key; {field} is \
                     replaced, not merged"
                ));
            }
            Ok(Value::Array(patch.to_vec()))
        }
        ListKind::PrimitiveSet => {
            let mut merged = original.to_vec();
            for item in patch {
                if !merged.contains(item) {
                    merged.push(item.clone());
                }
            }
            Ok(Value::Array(merged))
        }
        ListKind::Keyed(merge_key) => {
            let mut merged: Vec<Value> = original.to_vec();
            for item in patch {
                let Some(element) = item.as_object() else {
                    return Err(format!(
                        "{field}: every element of a list merged by {merge_key} must be an \
                         object, got {item}"
                    ));
                };
                let Some(key_value) = element.get(merge_key) else {
                    return Err(format!(
                        "map: {item} does not contain declared merge key: {merge_key}"
                    ));
                };
                let position = merged
                    .iter()
                    .position(|o| o.get(merge_key) == Some(key_value));
                match element.get(DIRECTIVE) {
                    Some(d) if *d == "delete" => {
                        merged.retain(|o| o.get(merge_key) != Some(key_value));
                    }
                    Some(other) => return Err(format!("Unknown patch type: {other}")),
                    None => match position {
                        Some(i) => {
                            let base = merged[i].as_object().cloned().unwrap_or_default();
                            merged[i] = Value::Object(merge_map(&base, element)?);
                        }
                        None => merged.push(Value::Object(merge_map(&Map::new(), element)?)),
                    },
                }
            }
            Ok(Value::Array(merged))
        }
    }
}
