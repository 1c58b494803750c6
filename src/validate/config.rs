//! The config's shape and the checks Kayenta makes when it stores or runs a config
//! (`CanaryConfig.java`, `CanaryMetricConfig.java`, `QueryConfigUtils.java`,
//! `PrometheusMetricsService.buildQuery`).

use super::{Checker, describe, settings, template, weights};
use crate::json_path::{dotted, index, key};
use kanary_judge::kanary_v1::V1JudgeSettings;
use kanary_judge::{
    CanaryConfig, CanaryJudgeConfig, CanaryMetricConfig, DREDD_JUDGE, JudgeKind, JudgeSettings,
    KANARY_V1_JUDGE,
};
use serde_json::{Map, Value};
use std::collections::HashMap;

const CONFIG_KEYS: &[&str] = &[
    "createdTimestamp",
    "updatedTimestamp",
    "createdTimestampIso",
    "updatedTimestampIso",
    "name",
    "id",
    "description",
    "configVersion",
    "applications",
    "judge",
    "metrics",
    "templates",
    "classifier",
];
const METRIC_KEYS: &[&str] = &[
    "name",
    "query",
    "groups",
    "analysisConfigurations",
    "scopeName",
];
const JUDGE_KEYS: &[&str] = &["name", "judgeConfigurations"];
/// The query types Kayenta's providers register.
const QUERY_TYPES: &[&str] = &[
    "atlas",
    "datadog",
    "graphite",
    "influxdb",
    "newrelic",
    "prometheus",
    "signalfx",
    "stackdriver",
    "wavefront",
];

/// A group named by a metric, where it is first named.
pub(super) struct GroupUse {
    pub(super) group: String,
    pub(super) path: String,
}

pub(super) fn check_root(c: &mut Checker, root: &Value) {
    let Some(obj) = root.as_object() else {
        c.error(
            "$",
            format!(
                "expected an object (a canary config), got {}",
                describe(root)
            ),
        );
        return;
    };
    c.unknown_keys(obj, "$", CONFIG_KEYS, "field");
    for k in ["createdTimestamp", "updatedTimestamp"] {
        c.integer(obj, "$", k);
    }
    for k in [
        "createdTimestampIso",
        "updatedTimestampIso",
        "id",
        "description",
    ] {
        c.string(obj, "$", k);
    }
    if let Some(v) = Checker::get(obj, "configVersion") {
        if !(v.is_string() || v.is_number()) {
            c.error(
                "$.configVersion",
                format!("expected a string or a number, got {}", describe(v)),
            );
        }
    }
    check_name(c, obj);
    check_applications(c, obj);
    c.kanary_v1 = obj
        .get("judge")
        .and_then(|j| j.get("name"))
        .and_then(Value::as_str)
        == Some(KANARY_V1_JUDGE);
    check_judge(c, obj);
    let templates = check_templates(c, obj);
    let groups = check_metrics(c, obj, templates);
    if c.kanary_v1 {
        settings::check_denominators(c, obj);
    }
    weights::check_classifier(c, obj, &groups);

    // The typed parse is what `kanary judge` and the service read; anything the walk above
    // missed surfaces here.
    if c.errors() == 0 {
        if let Err(e) = serde_json::from_value::<CanaryConfig>(root.clone()) {
            c.error("$", e.to_string());
        }
    }
}

/// Kayenta stores a config only with a name matching `[A-Z,a-z,0-9,\-,\_]*` (the class has
/// literal commas, so commas are allowed).
fn check_name(c: &mut Checker, obj: &Map<String, Value>) {
    match c.string(obj, "$", "name") {
        None if Checker::get(obj, "name").is_none() => c.warning(
            "$.name",
            "missing: Kayenta requires a config name to store the config with POST \
             /canaryConfig (ad-hoc runs accept it)",
        ),
        Some("") => c.warning(
            "$.name",
            "empty: Kayenta requires a config name to store the config with POST \
             /canaryConfig (ad-hoc runs accept it)",
        ),
        Some(name) => {
            if let Some(bad) = name
                .chars()
                .find(|ch| !(ch.is_ascii_alphanumeric() || matches!(ch, ',' | '-' | '_')))
            {
                c.error(
                    "$.name",
                    format!(
                        "'{name}' contains {bad:?}: Kayenta allows only letters, digits, ',', '-' \
                         and '_' in a config name ([A-Z,a-z,0-9,\\-,\\_]*)"
                    ),
                );
            }
        }
        None => {}
    }
}

fn check_applications(c: &mut Checker, obj: &Map<String, Value>) {
    const WHY: &str = "Kayenta requires at least one application to store the config with \
                       POST /canaryConfig (ad-hoc runs accept it)";
    let Some(raw) = Checker::get(obj, "applications") else {
        c.warning("$.applications", format!("missing: {WHY}"));
        return;
    };
    let Some(apps) = c.strings(obj, "$", "applications") else {
        return;
    };
    if raw.as_array().is_some_and(Vec::is_empty) {
        c.warning("$.applications", format!("empty: {WHY}"));
    }
    for (path, app) in apps {
        if app.is_empty() {
            c.error(&path, "empty application name");
        }
    }
}

fn check_judge(c: &mut Checker, obj: &Map<String, Value>) {
    let Some(judge) = c.object(obj, "$", "judge") else {
        return;
    };
    c.unknown_keys(judge, "$.judge", JUDGE_KEYS, "field");
    if let Some(name) = c.string(judge, "$.judge", "name") {
        match JudgeKind::resolve(Some(name)) {
            Err(e) => {
                let known: Vec<&str> = JudgeKind::ALL.iter().map(|(k, _)| k.name()).collect();
                let hint = super::closest(name, &known)
                    .map(|k| format!(" Did you mean '{k}'?"))
                    .unwrap_or_default();
                c.error(
                    "$.judge.name",
                    format!("{e}{hint} (known judges: {})", known.join(", ")),
                );
            }
            Ok(JudgeKind::Dredd) => c.warning(
                "$.judge.name",
                format!(
                    "'{DREDD_JUDGE}' is Kayenta's dummy judge: it classifies every metric at \
                     random (kanary seeds it by the data); use NetflixACAJudge-v1.0 to judge"
                ),
            ),
            Ok(_) => {}
        }
    }
    let path = "$.judge.judgeConfigurations";
    let v1 = c.kanary_v1;
    if let Some(settings) = c.object(judge, "$.judge", "judgeConfigurations") {
        for (k, v) in settings {
            match k.as_str() {
                "alpha" | "errorControl" if v1 => {}
                "tolerance" | "confLevel" if v1 => c.warning(
                    &key(path, k),
                    format!(
                        "kanary-v1 does not read {k} (it decides on p-values at alpha, with \
                         intervals at 1 − alpha/m); set alpha instead"
                    ),
                ),
                "alpha" | "errorControl" => c.warning(
                    &key(path, k),
                    format!("only kanary-v1 reads {k}; this config's judge ignores it"),
                ),
                "tolerance" | "confLevel" if v.is_number() => c.note(
                    &key(path, k),
                    "Kayenta ignores judgeConfigurations (its judge always uses tolerance 0.25 \
                     and confLevel 0.98); kanary honours it, so the two may judge this config \
                     differently",
                ),
                "tolerance" | "confLevel" => {}
                _ => c.warning(
                    &key(path, k),
                    format!(
                        "unknown judge setting '{k}': neither Kayenta nor kanary reads it \
                         (kanary reads tolerance and confLevel; kanary-v1 alpha and \
                         errorControl)"
                    ),
                ),
            }
        }
    }
    // The judge crate's reader: the same checks `kanary judge` makes.
    if let Ok(typed) = serde_json::from_value::<CanaryJudgeConfig>(Value::Object(judge.clone())) {
        let config = CanaryConfig {
            judge: Some(typed),
            ..CanaryConfig::default()
        };
        let checked = if v1 {
            V1JudgeSettings::from_config(&config).map(|_| ())
        } else {
            JudgeSettings::from_config(&config).map(|_| ())
        };
        if let Err(kanary_judge::JudgeError::InvalidJudgeSetting { field, problem }) = checked {
            c.error(&dotted("$", &field), problem);
        }
    }
}

/// Returns the template names (empty when none are defined).
fn check_templates<'v>(c: &mut Checker, obj: &'v Map<String, Value>) -> Vec<&'v str> {
    let Some(templates) = c.object(obj, "$", "templates") else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for (name, value) in templates {
        let path = key("$.templates", name);
        names.push(name.as_str());
        match value {
            Value::String(t) => {
                if let Err(problem) = template::check(t) {
                    c.error(&path, format!("template '{name}': {problem}"));
                }
            }
            other => c.error(&path, format!("expected a string, got {}", describe(other))),
        }
    }
    names
}

fn check_metrics(c: &mut Checker, obj: &Map<String, Value>, templates: Vec<&str>) -> Vec<GroupUse> {
    const NO_METRICS: &str = "The canary config must specify at least one metric. Otherwise \
                              we're not analyzing anything. :) (Kayenta)";
    let mut groups: Vec<GroupUse> = Vec::new();
    let metrics = match c.array(obj, "$", "metrics") {
        Some(m) => m,
        None => {
            if Checker::get(obj, "metrics").is_none() {
                c.error("$.metrics", format!("missing: {NO_METRICS}"));
            }
            return groups;
        }
    };
    if metrics.is_empty() {
        c.error("$.metrics", format!("empty: {NO_METRICS}"));
    }
    let mut first_by_name: HashMap<&str, String> = HashMap::new();
    for (i, metric) in metrics.iter().enumerate() {
        let path = index("$.metrics", i);
        let Some(m) = metric.as_object() else {
            c.error(
                &path,
                format!(
                    "expected an object (a metric config), got {}",
                    describe(metric)
                ),
            );
            continue;
        };
        let errors_before = c.errors();
        c.unknown_keys(m, &path, METRIC_KEYS, "metric field");
        let name = c.string(m, &path, "name").unwrap_or("");
        let name_path = key(&path, "name");
        if name.is_empty() {
            if Checker::get(m, "name").is_none_or(Value::is_string) {
                c.error(&name_path, "Metric config must specify a name. (Kayenta)");
            }
        } else if let Some(first) = first_by_name.get(name) {
            c.error(
                &name_path,
                format!(
                    "duplicated metric name '{name}', first at {first} (Kayenta: Metric config \
                     name must be unique. '{name}' is duplicated.)"
                ),
            );
        } else {
            first_by_name.insert(name, path.clone());
        }
        check_query(c, m, &path, &templates, obj);
        match c.strings(m, &path, "groups") {
            Some(gs) if !gs.is_empty() => {
                for (group_path, g) in gs {
                    if !groups.iter().any(|u| u.group == g) {
                        groups.push(GroupUse {
                            group: g.to_string(),
                            path: group_path,
                        });
                    }
                }
            }
            Some(_) | None => {
                if Checker::get(m, "groups").is_none_or(Value::is_array) {
                    c.warning(
                        &key(&path, "groups"),
                        "no groups: the metric is judged but never counted in the score",
                    );
                }
            }
        }
        let analysis = c.object(m, &path, "analysisConfigurations");
        // The judge crate's reader gives the type errors of the settings, whatever else is
        // wrong with the metric; the semantic checks follow.
        if let Some(analysis) = analysis {
            let for_settings = CanaryMetricConfig {
                name: Some(name.to_string()),
                analysis_configurations: analysis.clone(),
                ..CanaryMetricConfig::default()
            };
            settings::check(
                c,
                &path,
                &dotted(&path, "analysisConfigurations.canary"),
                Checker::get(analysis, "canary"),
                &for_settings,
            );
        }
        if c.errors() == errors_before {
            if let Err(e) = serde_json::from_value::<CanaryMetricConfig>(metric.clone()) {
                c.error(&path, e.to_string());
            }
        }
        match c.string(m, &path, "scopeName") {
            Some(s) if !s.is_empty() => {}
            Some(_) => c.error(
                &key(&path, "scopeName"),
                "empty: name the scope the metric is fetched for, usually \"default\"",
            ),
            None => {
                if Checker::get(m, "scopeName").is_none() {
                    c.error(
                        &key(&path, "scopeName"),
                        format!(
                            "missing: Kayenta refuses to run it: Canary scope for metric named \
                             '{name}' is null. (usually \"default\")"
                        ),
                    );
                }
            }
        }
    }
    groups
}

fn check_query(
    c: &mut Checker,
    metric: &Map<String, Value>,
    parent: &str,
    templates: &[&str],
    root: &Map<String, Value>,
) {
    let path = key(parent, "query");
    let Some(q) = c.object(metric, parent, "query") else {
        if Checker::get(metric, "query").is_none() {
            c.error(
                &path,
                format!(
                    "missing: every metric needs a query whose \"type\" names its metrics store \
                     ({})",
                    QUERY_TYPES.join(", ")
                ),
            );
        }
        return;
    };
    let kind = c.string(q, &path, "type");
    match kind {
        None if Checker::get(q, "type").is_none() => c.error(
            &key(&path, "type"),
            format!(
                "missing: the query's \"type\" names its metrics store ({})",
                QUERY_TYPES.join(", ")
            ),
        ),
        Some(k) if !QUERY_TYPES.contains(&k) => c.warning(
            &key(&path, "type"),
            format!(
                "unknown query type '{k}'; Kayenta's metrics stores are {}",
                QUERY_TYPES.join(", ")
            ),
        ),
        _ => {}
    }
    let mut text = |k: &str| c.string(q, &path, k).filter(|s| !s.is_empty());
    let metric_name = text("metricName");
    let resource_type = text("resourceType");
    let inline = text("customInlineTemplate");
    let filter_template = text("customFilterTemplate");
    for k in [
        "metricType",
        "crossSeriesReducer",
        "perSeriesAligner",
        "customFilter",
    ] {
        text(k);
    }
    for k in ["labelBindings", "groupByFields"] {
        c.strings(q, &path, k);
    }
    if Checker::get(q, "customFilter").is_some() {
        c.error(
            &key(&path, "customFilter"),
            "CanaryMetricSetQueryConfig.customFilter is deprecated, use \
             CanaryMetricSetQueryConfig.customInlineTemplate instead. (Kayenta)",
        );
    }

    // QueryConfigUtils.expandCustomFilter: a non-empty inline template wins, else the named
    // template.
    let expanded: Option<String> = if let Some(inline) = inline {
        if let Err(problem) = template::check(inline) {
            c.error(&key(&path, "customInlineTemplate"), problem);
        }
        if let Some(name) = filter_template {
            c.warning(
                &key(&path, "customFilterTemplate"),
                format!(
                    "'{name}' is ignored: customInlineTemplate is set and wins (Kayenta uses \
                     the inline template when both are given)"
                ),
            );
        }
        Some(inline.to_string())
    } else if let Some(name) = filter_template {
        let at = key(&path, "customFilterTemplate");
        if templates.is_empty() {
            c.error(
                &at,
                format!(
                    "Custom filter template '{name}' was referenced, but no templates were \
                     defined. (Kayenta)"
                ),
            );
            None
        } else if !templates.contains(&name) {
            let hint = match super::closest(name, templates) {
                Some(t) => format!("did you mean '{t}'?"),
                None => format!("the templates are {}", templates.join(", ")),
            };
            c.error(
                &at,
                format!("Custom filter template '{name}' was not found. (Kayenta; {hint})"),
            );
            None
        } else {
            root.get("templates")
                .and_then(|t| t.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        }
    } else {
        None
    };

    // PrometheusMetricsService.buildQuery: what it needs when the query is not `PromQL:`.
    if kind == Some("prometheus")
        && !expanded
            .as_deref()
            .is_some_and(|e| e.starts_with("PromQL:"))
    {
        if metric_name.is_none() {
            c.error(
                &key(&path, "metricName"),
                "Metric Name is required when query type is Default. (Kayenta: a Prometheus \
                 query needs metricName unless its template starts with \"PromQL:\")",
            );
        }
        let any_filter = inline.is_some()
            || filter_template.is_some()
            || Checker::get(q, "customFilter").is_some();
        if !any_filter {
            match resource_type {
                None => c.warning(
                    &path,
                    "Either a resource type or a custom filter is required. (Kayenta, at run \
                     time, unless the scope's extendedScopeParams set resourceType)",
                ),
                Some("gce_instance" | "aws_ec2_instance") => {}
                Some(other) => c.error(
                    &key(&path, "resourceType"),
                    format!(
                        "There is no explicit support for resourceType '{other}'. You may \
                         build whatever query makes sense for your environment via label \
                         bindings and custom filter templates. (Kayenta)"
                    ),
                ),
            }
        }
    }
}
