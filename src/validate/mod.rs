//! Checks a canary config as code: every problem with its JSON path.
//!
//! The config is read as a `serde_json::Value` and walked by hand, so that each wrong type
//! is named by its path and one run reports all of them; then the typed parse and the judge
//! crate's own readers (`JudgeKind::resolve`, `JudgeSettings::from_config`,
//! `MetricSettings::from_metric`) run, so that validate and judge never disagree.
//!
//! Errors are what Kayenta rejects when it stores or runs the config, or what cannot work;
//! warnings are what Kayenta accepts but is almost always a mistake; notes explain scoring.

mod config;
mod settings;
mod template;
mod weights;

use serde_json::{Map, Value};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    /// The config is invalid.
    Error,
    /// Accepted, but almost always a mistake.
    Warning,
    /// How the config will behave.
    Note,
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub(crate) severity: Severity,
    /// JSON path (`$.metrics[2].name`); empty for a problem with the file as a whole.
    pub(crate) path: String,
    pub(crate) message: String,
}

/// Checks the text of one canary config.
pub(crate) fn check(text: &str) -> Vec<Problem> {
    let mut c = Checker::default();
    match serde_json::from_str::<Value>(text) {
        Ok(root) => config::check_root(&mut c, &root),
        Err(e) if text.trim().is_empty() && e.is_eof() => {
            c.error("", "the file is empty; expected a canary config (JSON)");
        }
        Err(e) => c.error(
            "",
            format!(
                "invalid JSON at line {} column {}: {}",
                e.line(),
                e.column(),
                crate::input::message(&e)
            ),
        ),
    }
    c.problems
}

pub(crate) use kanary_judge::describe_json as describe;

/// Collects problems; typed accessors report wrong types and return `None` for them.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub(crate) problems: Vec<Problem>,
    /// The config selects `kanary-v1`, whose settings differ from Kayenta's judge's.
    pub(crate) kanary_v1: bool,
}

impl Checker {
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Error, path, message.into());
    }
    pub(crate) fn warning(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Warning, path, message.into());
    }
    pub(crate) fn note(&mut self, path: &str, message: impl Into<String>) {
        self.push(Severity::Note, path, message.into());
    }
    fn push(&mut self, severity: Severity, path: &str, message: String) {
        self.problems.push(Problem {
            severity,
            path: path.to_string(),
            message,
        });
    }

    /// Number of errors so far.
    pub(crate) fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    fn wrong_type(&mut self, path: &str, expected: &str, got: &Value) {
        self.error(path, format!("expected {expected}, got {}", describe(got)));
    }

    /// `obj[key]` unless absent or `null` (Kayenta's reader treats both alike).
    pub(crate) fn get<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
        obj.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn string<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<&'v str> {
        match Self::get(obj, key)? {
            Value::String(s) => Some(s),
            other => {
                self.wrong_type(&crate::json_path::key(parent, key), "a string", other);
                None
            }
        }
    }

    pub(crate) fn integer(
        &mut self,
        obj: &Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<i64> {
        let v = Self::get(obj, key)?;
        match v.as_i64() {
            Some(i) => Some(i),
            None => {
                self.wrong_type(&crate::json_path::key(parent, key), "an integer", v);
                None
            }
        }
    }

    pub(crate) fn number(
        &mut self,
        obj: &Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<f64> {
        let v = Self::get(obj, key)?;
        match v.as_f64() {
            Some(x) => Some(x),
            None => {
                self.wrong_type(&crate::json_path::key(parent, key), "a number", v);
                None
            }
        }
    }

    pub(crate) fn object<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<&'v Map<String, Value>> {
        match Self::get(obj, key)? {
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(&crate::json_path::key(parent, key), "an object", other);
                None
            }
        }
    }

    pub(crate) fn array<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<&'v [Value]> {
        match Self::get(obj, key)? {
            Value::Array(a) => Some(a),
            other => {
                self.wrong_type(&crate::json_path::key(parent, key), "an array", other);
                None
            }
        }
    }

    /// An array of strings, with the path of each; wrong elements are reported and skipped.
    pub(crate) fn strings<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<Vec<(String, &'v str)>> {
        let path = crate::json_path::key(parent, key);
        let items = self.array(obj, parent, key)?;
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = crate::json_path::index(&path, i);
            match item {
                Value::String(s) => out.push((item_path, s.as_str())),
                other => self.wrong_type(&item_path, "a string", other),
            }
        }
        Some(out)
    }

    /// Warns about keys Kayenta would silently ignore (usually typos).
    pub(crate) fn unknown_keys(
        &mut self,
        obj: &Map<String, Value>,
        parent: &str,
        known: &[&str],
        what: &str,
    ) {
        for k in obj.keys() {
            if !known.contains(&k.as_str()) {
                let hint = closest(k, known)
                    .map(|c| format!(" (did you mean '{c}'?)"))
                    .unwrap_or_default();
                self.warning(
                    &crate::json_path::key(parent, k),
                    format!(
                        "unknown {what} '{k}'{hint}: Kayenta ignores it; known: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

/// The known name closest to `word` by edit distance, if close enough to be a typo.
pub(crate) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word() {
        let known = ["direction", "nanStrategy", "outliers", "critical"];
        assert_eq!(closest("direciton", &known), Some("direction"));
        assert_eq!(closest("nanstrategy", &known), Some("nanStrategy"));
        assert_eq!(closest("colour", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn broken_files_are_one_problem() {
        let p = check("{\"name\": }");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "");
        assert!(
            p[0].message.starts_with("invalid JSON at line 1 column 10"),
            "{p:?}"
        );
        let p = check("");
        assert_eq!(
            p[0].message,
            "the file is empty; expected a canary config (JSON)"
        );
    }
}
