//! The Cloud Monitoring filter, as Kayenta's `StackdriverMetricsService.buildQuery`.

use kanary_judge::{CanaryConfig, CanaryMetricConfig, MetricQuery};

use crate::source::non_empty;
use crate::template::{PROMETHEUS_BASE_ATTRIBUTES, expand_custom_filter};
use crate::{CanaryScope, SourceError};

/// The resource labels Kayenta copies from `extendedScopeParams` for the Kubernetes
/// resource types (`k8s_container`, `k8s_pod`, `k8s_node`), in Kayenta's order.
const K8S_RESOURCE_LABELS: &[&str] = &[
    "location",
    "node_name",
    "cluster_name",
    "pod_name",
    "container_name",
    "namespace_name",
];

/// The same for the legacy `gke_container` resource type.
const GKE_CONTAINER_RESOURCE_LABELS: &[&str] = &[
    "cluster_name",
    "namespace_id",
    "instance_id",
    "pod_id",
    "container_name",
    "zone",
];

/// The `extendedScopeParams` prefix that becomes a `metadata.user_labels."<k>"` clause.
const USER_LABELS_PREFIX: &str = "user_labels.";

/// The resource type: the query's, else the scope's `resourceType` parameter (Kayenta's
/// `StringUtils.hasText(queryConfig.getResourceType()) ? ... : scope.getResourceType()`).
pub(super) fn resource_type<'a>(
    query: &'a MetricQuery,
    scope: &'a CanaryScope,
) -> Result<&'a str, SourceError> {
    non_empty(query.resource_type.as_deref())
        .or_else(|| scope.param("resourceType"))
        .ok_or_else(|| SourceError::InvalidQuery("Resource type is required.".to_string()))
}

/// Builds the filter. `account_project` is used when the scope names no `project`
/// (Kayenta's `determineProjectId`).
///
/// Kayenta reads the optional label parameters with `containsKey`, so a parameter that is
/// present but empty still adds its clause; kanary does the same. Kayenta walks the
/// `user_labels.*` parameters in the order of its Java map; kanary's map is sorted, so
/// those clauses come in key order.
pub(super) fn build_filter(
    config: &CanaryConfig,
    metric: &CanaryMetricConfig,
    scope: &CanaryScope,
    account_project: &str,
) -> Result<String, SourceError> {
    let query = crate::source::metric_query(metric)?;
    // Kayenta checks the resource type in `queryMetrics`, before it builds the filter;
    // checking it here too gives `dryRun` the same message instead of `resource.type=null`.
    let resource_type = resource_type(query, scope)?;
    // Kayenta sends `metric.type="null"` when the metric type is missing, which Google
    // rejects or answers with nothing; kanary says what is missing instead.
    let metric_type = non_empty(query.metric_type.as_deref()).ok_or_else(|| {
        SourceError::InvalidQuery(format!(
            "metricType is required for the stackdriver query of metric '{}'.",
            metric.name()
        ))
    })?;
    let custom_filter = expand_custom_filter(config, query, scope, PROMETHEUS_BASE_ATTRIBUTES)?;
    let project = scope.param("project").unwrap_or(account_project);
    let location = scope.location.as_str();
    let server_group = scope.scope.as_str();
    let params = &scope.extended_scope_params;

    let mut filter = format!("metric.type=\"{metric_type}\" AND resource.type={resource_type}");
    if let Some(custom) = non_empty(custom_filter.as_deref()) {
        filter.push_str(" AND ");
        filter.push_str(custom);
        return Ok(filter);
    }
    match resource_type {
        "gce_instance" => {
            require(location, "Location (i.e. region)", resource_type)?;
            require(server_group, "Scope", resource_type)?;
            filter.push_str(&format!(
                " AND project={project} AND metadata.user_labels.\"spinnaker-region\"={location} AND metadata.user_labels.\"spinnaker-server-group\"={server_group}"
            ));
        }
        "aws_ec2_instance" => {
            require(location, "Location (i.e. region)", resource_type)?;
            require(server_group, "Scope", resource_type)?;
            filter.push_str(&format!(
                " AND resource.labels.region=\"aws:{location}\" AND metadata.user_labels.\"aws:autoscaling:groupname\"={server_group}"
            ));
        }
        "gae_app" => {
            require(server_group, "Scope", resource_type)?;
            filter.push_str(&format!(
                " AND project={project} AND resource.labels.version_id={server_group}"
            ));
            if let Some(service) = params.get("service") {
                filter.push_str(&format!(" AND resource.labels.module_id={service}"));
            }
        }
        "k8s_container" | "k8s_pod" | "k8s_node" => {
            filter.push_str(&format!(" AND project={project}"));
            push_labels(&mut filter, scope, K8S_RESOURCE_LABELS);
        }
        "gke_container" => {
            filter.push_str(&format!(" AND project={project}"));
            push_labels(&mut filter, scope, GKE_CONTAINER_RESOURCE_LABELS);
        }
        "global" => {}
        other => {
            return Err(SourceError::InvalidQuery(format!(
                "Resource type '{other}' not yet explicitly supported. If you employ a custom filter, you may use any resource type you like."
            )));
        }
    }
    Ok(filter)
}

/// Kayenta's `<what> is required when resourceType is '<type>'.`
fn require(value: &str, what: &str, resource_type: &str) -> Result<(), SourceError> {
    if value.is_empty() {
        return Err(SourceError::InvalidQuery(format!(
            "{what} is required when resourceType is '{resource_type}'."
        )));
    }
    Ok(())
}

/// ` AND resource.labels.<k>=<v>` for each of `keys` present in `extendedScopeParams`, then
/// ` AND metadata.user_labels."<k>"="<v>"` for each `user_labels.<k>` parameter.
fn push_labels(filter: &mut String, scope: &CanaryScope, keys: &[&str]) {
    let params = &scope.extended_scope_params;
    for &key in keys {
        if let Some(value) = params.get(key) {
            filter.push_str(&format!(" AND resource.labels.{key}={value}"));
        }
    }
    for (key, value) in params {
        if let Some(label) = key.strip_prefix(USER_LABELS_PREFIX) {
            filter.push_str(&format!(
                " AND metadata.user_labels.\"{label}\"=\"{value}\""
            ));
        }
    }
}
