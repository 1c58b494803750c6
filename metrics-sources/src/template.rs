//! Kayenta's custom filter templates (`QueryConfigUtils.expandCustomFilter`), expanded with
//! the semantics of Apache commons-text's `StringSubstitutor` as Kayenta configures it:
//! `${var}`, `${var:-default}`, `$${` for a literal `${`, values substituted recursively,
//! and an undefined variable is an error.
//!
//! Templates may also arrive in Orca's escaped form, where every `${` was written `$\{` so
//! that Spinnaker's expression language leaves it alone; they are unescaped first.

use std::collections::BTreeMap;

use kanary_judge::{CanaryConfig, MetricQuery};

use crate::source::non_empty;
use crate::{CanaryScope, SourceError};

/// The scope attributes bound for Prometheus and Stackdriver templates.
pub const PROMETHEUS_BASE_ATTRIBUTES: &[&str] = &["project", "resourceType", "scope", "location"];
/// The scope attributes bound for Datadog templates.
pub const DATADOG_BASE_ATTRIBUTES: &[&str] = &["scope", "location"];

/// Expands the metric's custom filter, Kayenta's way:
/// a non-empty `customInlineTemplate` wins; else a non-empty `customFilterTemplate` names
/// an entry of `config.templates`; else there is none (`Ok(None)`).
///
/// Variables are bound in this order, later ones winning, non-empty values only: the
/// scope's `base_attributes` (an unknown attribute is an error), the same names read from
/// the query, then every `extendedScopeParams` entry.
pub fn expand_custom_filter(
    config: &CanaryConfig,
    query: &MetricQuery,
    scope: &CanaryScope,
    base_attributes: &[&str],
) -> Result<Option<String>, SourceError> {
    if query
        .custom_filter
        .as_deref()
        .is_some_and(|f| !f.is_empty())
    {
        return Err(SourceError::InvalidQuery(
            "CanaryMetricSetQueryConfig.customFilter is deprecated, use CanaryMetricSetQueryConfig.customInlineTemplate instead."
                .to_string(),
        ));
    }
    let template = match (
        non_empty(query.custom_inline_template.as_deref()),
        non_empty(query.custom_filter_template.as_deref()),
    ) {
        (Some(inline), _) => inline.to_string(),
        (None, Some(name)) => {
            if config.templates.is_empty() {
                return Err(SourceError::InvalidQuery(format!(
                    "Custom filter template '{name}' was referenced, but no templates were defined."
                )));
            }
            match config.templates.get(name) {
                Some(t) => t.clone(),
                None => {
                    return Err(SourceError::InvalidQuery(format!(
                        "Custom filter template '{name}' was not found."
                    )));
                }
            }
        }
        (None, None) => return Ok(None),
    };
    let bindings = bindings(query, scope, base_attributes)?;
    let template = unescape_template(&template);
    expand(&template, &bindings).map(Some).map_err(|_| {
        SourceError::InvalidQuery(format!(
            "Problem evaluating custom filter template: {template}"
        ))
    })
}

/// The variables a template sees (see [`expand_custom_filter`]).
pub fn bindings(
    query: &MetricQuery,
    scope: &CanaryScope,
    base_attributes: &[&str],
) -> Result<BTreeMap<String, String>, SourceError> {
    let mut vars = BTreeMap::new();
    for &attr in base_attributes {
        let value = match attr {
            "scope" => Some(scope.scope.as_str()),
            "location" => Some(scope.location.as_str()),
            "project" => scope.param("project"),
            "resourceType" => scope.param("resourceType"),
            other => {
                return Err(SourceError::InvalidQuery(format!(
                    "Unable to find property '{other}'."
                )));
            }
        };
        bind(&mut vars, attr, value);
    }
    for &attr in base_attributes {
        let value = match attr {
            "resourceType" => query.resource_type.as_deref(),
            other => query.extra.get(other).and_then(|v| v.as_str()),
        };
        bind(&mut vars, attr, value);
    }
    for (k, v) in &scope.extended_scope_params {
        bind(&mut vars, k, Some(v));
    }
    Ok(vars)
}

fn bind(vars: &mut BTreeMap<String, String>, key: &str, value: Option<&str>) {
    if let Some(v) = non_empty(value) {
        vars.insert(key.to_string(), v.to_string());
    }
}

/// Orca's escaping: every `${` becomes `$\{` (Kayenta's `escapeTemplates`).
pub fn escape_template(template: &str) -> String {
    template.replace("${", "$\\{")
}

/// Undoes [`escape_template`]: every `$\{` becomes `${` (Kayenta's `unescapeTemplate`).
pub fn unescape_template(template: &str) -> String {
    template.replace("$\\{", "${")
}

/// Kayenta's `escapeTemplates`: escapes `templates` and every `customInlineTemplate`.
pub fn escape_templates(config: &CanaryConfig) -> CanaryConfig {
    let mut config = config.clone();
    for t in config.templates.values_mut() {
        *t = escape_template(t);
    }
    for m in &mut config.metrics {
        if let Some(q) = m.query.as_mut() {
            if let Some(t) = q.custom_inline_template.as_mut() {
                *t = escape_template(t);
            }
        }
    }
    config
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `${name}` with no value and no default.
    Undefined(String),
    /// A variable whose value refers back to itself.
    Cycle(String),
    /// Values nested more than [`MAX_DEPTH`] deep, or an expansion longer than
    /// [`MAX_EXPANDED_CHARS`] (variables that double each other grow exponentially).
    TooLarge,
}

/// The deepest chain of variables whose values hold variables.
pub const MAX_DEPTH: usize = 64;
/// The longest expansion, in characters.
pub const MAX_EXPANDED_CHARS: usize = 1 << 16;

/// `StringSubstitutor.replace` with prefix `${`, suffix `}`, escape `$`, default delimiter
/// `:-`, recursive substitution of values, no substitution inside variable names, and
/// undefined variables as errors.
pub fn expand(template: &str, vars: &BTreeMap<String, String>) -> Result<String, ExpandError> {
    let mut buf: Vec<char> = template.chars().collect();
    let len = buf.len();
    let mut prior = Vec::new();
    substitute(&mut buf, 0, len, vars, &mut prior)?;
    Ok(buf.into_iter().collect())
}

/// Substitutes within `buf[offset .. offset + length]`; returns the change in length.
/// A port of commons-text `StringSubstitutor.substitute(TextStringBuilder, int, int, List)`.
fn substitute(
    buf: &mut Vec<char>,
    offset: usize,
    length: usize,
    vars: &BTreeMap<String, String>,
    prior: &mut Vec<String>,
) -> Result<isize, ExpandError> {
    let mut length_change: isize = 0;
    let mut buf_end = offset + length;
    let mut pos = offset;
    while pos < buf_end {
        if !is_prefix(buf, pos, buf_end) {
            pos += 1;
            continue;
        }
        if pos > offset && buf[pos - 1] == '$' {
            // `$${`: drop the escape, keep `${` as text.
            buf.remove(pos - 1);
            length_change -= 1;
            buf_end -= 1;
            continue;
        }
        let start = pos;
        pos += 2;
        let Some(close) = (pos..buf_end).find(|&i| buf[i] == '}') else {
            // No suffix: the rest is text.
            break;
        };
        let end = close + 1;
        let expr: String = buf[start + 2..close].iter().collect();
        // commons-text stops looking for the `:-` delimiter at a nested `${` (variable
        // substitution in names is off), so `${x${y:-z}` names the variable `x${y:-z`.
        let searchable = expr.find("${").map_or(expr.as_str(), |i| &expr[..i]);
        let (name, default) = match searchable.find(":-") {
            Some(i) => (expr[..i].to_string(), Some(expr[i + 2..].to_string())),
            None => (expr.clone(), None),
        };
        if prior.contains(&name) {
            return Err(ExpandError::Cycle(name));
        }
        let value = vars.get(&name).cloned().or(default);
        let Some(value) = value else {
            return Err(ExpandError::Undefined(name));
        };
        let value_len = value.chars().count();
        if prior.len() >= MAX_DEPTH || buf.len() - (end - start) + value_len > MAX_EXPANDED_CHARS {
            return Err(ExpandError::TooLarge);
        }
        buf.splice(start..end, value.chars());
        prior.push(name);
        let inner = substitute(buf, start, value_len, vars, prior)?;
        prior.pop();
        let change = inner + value_len as isize - (end - start) as isize;
        pos = (end as isize + change) as usize;
        buf_end = (buf_end as isize + change) as usize;
        length_change += change;
    }
    Ok(length_change)
}

fn is_prefix(buf: &[char], pos: usize, end: usize) -> bool {
    pos + 1 < end && buf[pos] == '$' && buf[pos + 1] == '{'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_defaults_escapes_and_recursion() {
        let v = vars(&[("a", "1"), ("b", "${a}${a}"), ("empty", "")]);
        assert_eq!(expand("x=${a} y=${b}", &v), Ok("x=1 y=11".into()));
        assert_eq!(expand("${zz:-dflt}", &v), Ok("dflt".into()));
        // No substitution inside names: the first `}` closes, the default is `${a`.
        assert_eq!(expand("${zz:-${a}}", &v), Ok("${a}".into()));
        assert_eq!(expand("$${a} ${a}", &v), Ok("${a} 1".into()));
        assert_eq!(expand("$$${a}", &v), Ok("$${a}".into()));
        assert_eq!(expand("cost $5 {x} ${", &v), Ok("cost $5 {x} ${".into()));
        assert_eq!(
            expand("${nope}", &v),
            Err(ExpandError::Undefined("nope".into()))
        );
        assert_eq!(expand("ü${a}ö", &v), Ok("ü1ö".into()));
    }

    #[test]
    fn cycles_are_errors_not_hangs() {
        let v = vars(&[("a", "${b}"), ("b", "${a}")]);
        assert!(matches!(expand("${a}", &v), Err(ExpandError::Cycle(_))));
        let v = vars(&[("a", "${a}")]);
        assert!(matches!(expand("${a}", &v), Err(ExpandError::Cycle(_))));
    }

    #[test]
    fn a_nested_prefix_hides_the_default_delimiter() {
        let v = vars(&[("y", "1")]);
        assert_eq!(
            expand("${x${y:-z}", &v),
            Err(ExpandError::Undefined("x${y:-z".into()))
        );
    }

    #[test]
    fn doubling_chains_and_deep_chains_are_refused() {
        let mut v = BTreeMap::new();
        for i in 0..40 {
            v.insert(format!("v{i}"), format!("${{v{}}}${{v{}}}", i + 1, i + 1));
        }
        v.insert("v40".into(), "x".into());
        assert_eq!(expand("${v0}", &v), Err(ExpandError::TooLarge));
        let mut v = BTreeMap::new();
        for i in 0..100 {
            v.insert(format!("d{i}"), format!("${{d{}}}", i + 1));
        }
        v.insert("d100".into(), "end".into());
        assert_eq!(expand("${d0}", &v), Err(ExpandError::TooLarge));
        v.remove("d0");
        assert_eq!(expand("${d50}", &v), Ok("end".into()));
    }

    #[test]
    fn the_same_variable_twice_is_not_a_cycle() {
        let v = vars(&[("a", "x"), ("b", "${a}-${a}")]);
        assert_eq!(expand("${b}/${b}", &v), Ok("x-x/x-x".into()));
    }
}
