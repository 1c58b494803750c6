//! Reading the files a person names: one readable error per problem, naming the file, the
//! line and column, and the JSON path of the offending value.

use crate::json_path;
use anyhow::{Context, anyhow};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads a UTF-8 file; the error names the path.
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Parses `text` (the contents of `path`) as `T`.
///
/// Syntax errors read `FILE: invalid JSON at line L column C: <what>`; type errors read
/// `FILE: $.path.to.value: <what> (line L column C)`.
pub(crate) fn parse_json<T: DeserializeOwned>(path: &Path, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text).map_err(|e| json_error(path, text, &e))
}

/// Describes a serde_json error on `text` read from `path`.
pub(crate) fn json_error(path: &Path, text: &str, e: &serde_json::Error) -> anyhow::Error {
    let what = message(e);
    match e.classify() {
        serde_json::error::Category::Data => anyhow!(
            "{}: {}: {what} (line {} column {})",
            path.display(),
            json_path::path_at(text, e.line(), e.column()),
            e.line(),
            e.column()
        ),
        serde_json::error::Category::Eof if text.trim().is_empty() => {
            anyhow!("{}: the file is empty; expected JSON", path.display())
        }
        _ => anyhow!(
            "{}: invalid JSON at line {} column {}: {what}",
            path.display(),
            e.line(),
            e.column()
        ),
    }
}

/// serde_json's message without its ` at line L column C` suffix.
pub(crate) fn message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_give_line_and_column() {
        let text = "[\n  {\"name\": \"a\",\n    \"values\": }\n]";
        let e =
            parse_json::<serde_json::Value>(Path::new("x/pairs.json"), text).expect_err("invalid");
        assert_eq!(
            format!("{e:#}"),
            "x/pairs.json: invalid JSON at line 3 column 15: expected value"
        );
    }

    #[test]
    fn type_errors_give_the_path() {
        let text = "{\"a\": [1, 2, \"three\"]}";
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            a: Vec<f64>,
        }
        let e = parse_json::<T>(Path::new("t.json"), text).expect_err("a string");
        assert_eq!(
            format!("{e:#}"),
            "t.json: $.a[2]: invalid type: string \"three\", expected f64 (line 1 column 20)"
        );
    }

    #[test]
    fn empty_files_say_so() {
        let e = parse_json::<serde_json::Value>(Path::new("e.json"), "  \n").expect_err("empty");
        assert_eq!(format!("{e:#}"), "e.json: the file is empty; expected JSON");
    }
}
