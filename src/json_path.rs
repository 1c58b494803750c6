//! JSON paths (`$.metrics[2].name`) for messages, and finding the path of the value at a
//! line and column that serde_json reported, so that a type error names the field.

/// `parent.key`, or `parent["key"]` when the key is not a plain identifier.
pub(crate) fn key(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{parent}.{key}")
    } else {
        // JSON string escaping keeps the path unambiguous for any key.
        let quoted = serde_json::Value::String(key.to_string()).to_string();
        format!("{parent}[{quoted}]")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// A dotted path as the judge crate writes it (`analysisConfigurations.canary.critical`)
/// below `parent`.
pub(crate) fn dotted(parent: &str, dotted: &str) -> String {
    dotted
        .split('.')
        .filter(|k| !k.is_empty())
        .fold(parent.to_string(), |p, k| key(&p, k))
}

/// One open container while scanning.
enum Frame {
    Object {
        key: Option<String>,
        expecting_key: bool,
        /// Inside the value of `key` (not yet past it).
        open: bool,
    },
    Array {
        index: usize,
        open: bool,
    },
}

impl Frame {
    fn open(&mut self) {
        match self {
            Frame::Object { open, .. } | Frame::Array { open, .. } => *open = true,
        }
    }
    fn close(&mut self) {
        match self {
            Frame::Object { open, .. } | Frame::Array { open, .. } => *open = false,
        }
    }
}

/// The path of the innermost value that contains serde_json's error position (1-based line,
/// 1-based byte column, the last byte it read). `$` when the text is not scanned that far.
///
/// The scan is lenient: it is only run on text that serde_json already tokenised up to the
/// position, and it never fails.
pub(crate) fn path_at(text: &str, line: usize, column: usize) -> String {
    let target = offset(text, line, column);
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let mut stopped_inside = false;
    while i < bytes.len() && i < target {
        match bytes[i] {
            b'{' | b'[' => {
                if let Some(top) = stack.last_mut() {
                    top.open();
                }
                stack.push(if bytes[i] == b'{' {
                    Frame::Object {
                        key: None,
                        expecting_key: true,
                        open: false,
                    }
                } else {
                    Frame::Array {
                        index: 0,
                        open: false,
                    }
                });
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                if let Some(top) = stack.last_mut() {
                    top.close();
                }
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Array { index, .. }) => *index += 1,
                    Some(Frame::Object { expecting_key, .. }) => *expecting_key = true,
                    None => {}
                }
                i += 1;
            }
            b'"' => {
                let end = string_end(bytes, i);
                let is_key = matches!(
                    stack.last(),
                    Some(Frame::Object {
                        expecting_key: true,
                        ..
                    })
                );
                if let (
                    true,
                    Some(Frame::Object {
                        key, expecting_key, ..
                    }),
                ) = (is_key, stack.last_mut())
                {
                    let raw = text.get(i + 1..end.min(text.len())).unwrap_or("");
                    *key = Some(unescape(raw));
                    *expecting_key = false;
                }
                if target <= end {
                    // The error is in this string: a value, or a key (name the key then).
                    if let Some(top) = stack.last_mut() {
                        top.open();
                    }
                    stopped_inside = true;
                    break;
                }
                if !is_key {
                    if let Some(top) = stack.last_mut() {
                        top.close();
                    }
                }
                i = end + 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b':' => i += 1,
            _ => {
                // A number or a literal: runs to the next delimiter.
                while i < bytes.len() && !b" \t\n\r,:]}".contains(&bytes[i]) {
                    i += 1;
                }
                if target < i {
                    if let Some(top) = stack.last_mut() {
                        top.open();
                    }
                    stopped_inside = true;
                    break;
                }
            }
        }
    }
    // Stopped right at the first byte of a value (a one-character number, an object or an
    // array that is itself of the wrong type): the error is about that value.
    if !stopped_inside && !matches!(bytes.get(i), None | Some(b'}' | b']' | b',' | b':')) {
        if let Some(top) = stack.last_mut() {
            top.open();
        }
    }
    let mut path = String::from("$");
    for frame in &stack {
        match frame {
            Frame::Object {
                key: Some(k),
                open: true,
                ..
            } => path = key(&path, k),
            Frame::Array {
                index: i,
                open: true,
            } => path = index(&path, *i),
            _ => break,
        }
    }
    path
}

/// The byte offset of a 1-based line and column (clamped to the text).
fn offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// The index of the closing quote of the string opening at `start` (or the text's length).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'"' => return j,
            _ => j += 1,
        }
    }
    bytes.len()
}

fn unescape(raw: &str) -> String {
    serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path serde_json's error position points at, for a type that fails there.
    fn path_of_error<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> String {
        let e = serde_json::from_str::<T>(text).expect_err("must fail");
        path_at(text, e.line(), e.column())
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Values {
        control: Vec<f64>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Pair {
        name: String,
        values: Values,
    }

    #[test]
    fn names_the_field_of_a_wrong_type() {
        let text = "[\n {\"name\": \"a\", \"values\": {\"control\": [1, 2]}},\n {\"name\": \"b\", \"values\": {\"control\": \"1,2\"}}\n]";
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[1].values.control");
        let text = r#"[{"name": "a", "values": {"control": [1, "x"]}}]"#;
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[0].values.control[1]");
        let text = r#"[{"name": 7, "values": {"control": []}}]"#;
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[0].name");
        let text = r#"[{"name": "a", "values": {"control": [1, true]}}]"#;
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[0].values.control[1]");
        let text = r#"[{"name": "a", "values": {"control": {"x": 1}}}]"#;
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[0].values.control");
        let text = r#"[{"name": -7.5e3, "values": {"control": []}}]"#;
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[0].name");
    }

    #[test]
    fn a_missing_field_names_its_object() {
        let text = r#"[{"name": "a", "values": {"control": [1]}}, {"name": "b"}]"#;
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[1]");
        let text = r#"[{"values": {"control": [1]}, "name": "a"}, {"values": {}, "name": "b"}]"#;
        assert_eq!(path_of_error::<Vec<Pair>>(text), "$[1].values");
    }

    #[test]
    fn the_root_is_dollar() {
        assert_eq!(path_of_error::<Vec<Pair>>(r#"{"name": "a"}"#), "$");
        assert_eq!(path_of_error::<Vec<Pair>>("17"), "$");
    }

    #[test]
    fn odd_keys_are_quoted() {
        assert_eq!(key("$.templates", "web-pods"), r#"$.templates["web-pods"]"#);
        assert_eq!(key("$", "metrics"), "$.metrics");
        assert_eq!(
            dotted("$.metrics[0]", "analysisConfigurations.canary.critical"),
            "$.metrics[0].analysisConfigurations.canary.critical"
        );
        assert_eq!(dotted("$.metrics[0]", ""), "$.metrics[0]");
    }
}
