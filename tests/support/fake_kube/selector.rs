//! Label and field selectors, as the apiserver parses them.
//!
//! Label selectors follow `k8s.io/apimachinery/pkg/labels/selector.go` (`Parse`): a comma
//! separated AND of requirements `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`,
//! `!k`, `k>1`, `k<1`. `!=` and `notin` also match objects without the key, as upstream.
//! Field selectors follow `fields.ParseSelector`: `f=v`, `f==v`, `f!=v`, comma = AND, and
//! only the fields the resource registers as selectable (`metadata.name`,
//! `metadata.namespace`, and for pods `status.phase`, `spec.nodeName`,
//! `spec.restartPolicy`, `spec.serviceAccountName`); any other is an error, as the
//! apiserver answers `field label not supported: X`.

use serde_json::Value;

/// One parsed label requirement.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '>' => {
                tokens.push(Token::Gt);
                i += 1;
            }
            '<' => {
                tokens.push(Token::Lt);
                i += 1;
            }
            '=' => {
                if chars.get(i + 1) == Some(&'=') {
                    tokens.push(Token::DoubleEq);
                    i += 2;
                } else {
                    tokens.push(Token::Eq);
                    i += 1;
                }
            }
            '!' => {
                if chars.get(i + 1) == Some(&'=') {
                    tokens.push(Token::NotEq);
                    i += 2;
                } else {
                    tokens.push(Token::Bang);
                    i += 1;
                }
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t(),=!<>".contains(chars[i]) {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
        }
    }
    tokens
}

/// `qualified name` of a label key: an optional DNS-subdomain prefix and `/`, then a name
/// of at most 63 characters `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`
/// (apimachinery `validation.IsQualifiedName`).
fn valid_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() || prefix.len() > 253 || !is_dns_subdomain(prefix) {
            return false;
        }
    }
    !name.is_empty() && valid_value(name)
}

/// A label value: empty, or at most 63 characters, alphanumeric at both ends, with `-_.`
/// inside (apimachinery `validation.IsValidLabelValue`).
fn valid_value(value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    let bytes = value.as_bytes();
    value.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
}

/// RFC 1123 subdomain: lowercase alphanumerics, `-` and `.`, alphanumeric at both ends, at
/// most 253 characters (apimachinery `IsDNS1123Subdomain`).
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            let p = part.as_bytes();
            !p.is_empty()
                && (p[0].is_ascii_lowercase() || p[0].is_ascii_digit())
                && (p[p.len() - 1].is_ascii_lowercase() || p[p.len() - 1].is_ascii_digit())
                && p.iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        })
}

impl LabelSelector {
    /// Parses a `labelSelector` query value; the error says what is wrong, as the
    /// apiserver's 400 does (`unable to parse requirement: ...`).
    pub fn parse(input: &str) -> Result<LabelSelector, String> {
        let tokens = tokenize(input);
        let mut reqs = Vec::new();
        let mut pos = 0;
        if tokens.is_empty() {
            return Ok(LabelSelector(reqs));
        }
        loop {
            let (req, next) = parse_requirement(&tokens, pos, input)?;
            reqs.push(req);
            pos = next;
            match tokens.get(pos) {
                None => break,
                Some(Token::Comma) => {
                    pos += 1;
                    if pos >= tokens.len() {
                        return Err(format!(
                            "unable to parse requirement: found '', expected: identifier \
                             (selector {input:?})"
                        ));
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "unable to parse requirement: found {other:?}, expected: ',' \
                         (selector {input:?})"
                    ));
                }
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// Builds the selector `k1=v1,k2=v2` of a `matchLabels` map.
    pub fn from_match_labels(labels: &serde_json::Map<String, Value>) -> LabelSelector {
        LabelSelector(
            labels
                .iter()
                .map(|(k, v)| Requirement::Equals(k.clone(), v.as_str().unwrap_or("").into()))
                .collect(),
        )
    }

    /// Whether the selector has no requirement (matches everything).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the labels of an object (`metadata.labels`, possibly absent) match.
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
            Requirement::GreaterThan(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            Requirement::LessThan(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        })
    }
}

fn ident_at(tokens: &[Token], pos: usize, what: &str, input: &str) -> Result<String, String> {
    match tokens.get(pos) {
        Some(Token::Ident(s)) => Ok(s.clone()),
        other => Err(format!(
            "unable to parse requirement: found {}, expected: {what} (selector {input:?})",
            other.map_or("end of string".to_string(), |t| format!("{t:?}"))
        )),
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if valid_key(key) {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label key {key:?}: name part must consist of \
             alphanumeric characters, '-', '_' or '.', and must start and end with an \
             alphanumeric character"
        ))
    }
}

fn check_value(value: &str) -> Result<(), String> {
    if valid_value(value) {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label value: {value:?}: a valid label must be \
             an empty string or consist of alphanumeric characters, '-', '_' or '.', and must \
             start and end with an alphanumeric character"
        ))
    }
}

fn parse_requirement(
    tokens: &[Token],
    pos: usize,
    input: &str,
) -> Result<(Requirement, usize), String> {
    if tokens.get(pos) == Some(&Token::Bang) {
        let key = ident_at(tokens, pos + 1, "identifier", input)?;
        check_key(&key)?;
        return Ok((Requirement::DoesNotExist(key), pos + 2));
    }
    let key = ident_at(tokens, pos, "identifier", input)?;
    check_key(&key)?;
    let pos = pos + 1;
    match tokens.get(pos) {
        None | Some(Token::Comma) => Ok((Requirement::Exists(key), pos)),
        Some(Token::Eq) | Some(Token::DoubleEq) | Some(Token::NotEq) => {
            // An empty value (`a=`) is allowed: it selects the empty label value.
            let (value, next) = match tokens.get(pos + 1) {
                Some(Token::Ident(v)) => (v.clone(), pos + 2),
                None | Some(Token::Comma) => (String::new(), pos + 1),
                Some(other) => {
                    return Err(format!(
                        "unable to parse requirement: found {other:?}, expected: identifier \
                         (selector {input:?})"
                    ));
                }
            };
            check_value(&value)?;
            let req = if tokens[pos] == Token::NotEq {
                Requirement::NotEquals(key, value)
            } else {
                Requirement::Equals(key, value)
            };
            Ok((req, next))
        }
        Some(Token::Gt) | Some(Token::Lt) => {
            let value = ident_at(tokens, pos + 1, "integer", input)?;
            let n: i64 = value.parse().map_err(|_| {
                format!(
                    "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be \
                     an integer (selector {input:?})"
                )
            })?;
            let req = if tokens[pos] == Token::Gt {
                Requirement::GreaterThan(key, n)
            } else {
                Requirement::LessThan(key, n)
            };
            Ok((req, pos + 2))
        }
        Some(Token::Ident(op)) if op == "in" || op == "notin" => {
            if tokens.get(pos + 1) != Some(&Token::Open) {
                return Err(format!(
                    "unable to parse requirement: found {:?}, expected: '(' (selector {input:?})",
                    tokens.get(pos + 1)
                ));
            }
            let mut values = Vec::new();
            let mut p = pos + 2;
            loop {
                match tokens.get(p) {
                    Some(Token::Ident(v)) => {
                        check_value(v)?;
                        values.push(v.clone());
                        p += 1;
                    }
                    Some(Token::Close) if values.is_empty() => {
                        return Err(format!(
                            "unable to parse requirement: for 'in', 'notin' operators, values \
                             set can't be empty (selector {input:?})"
                        ));
                    }
                    other => {
                        return Err(format!(
                            "unable to parse requirement: found {other:?}, expected: \
                             identifier (selector {input:?})"
                        ));
                    }
                }
                match tokens.get(p) {
                    Some(Token::Comma) => p += 1,
                    Some(Token::Close) => {
                        p += 1;
                        break;
                    }
                    other => {
                        return Err(format!(
                            "unable to parse requirement: found {other:?}, expected: ',' or \
                             ')' (selector {input:?})"
                        ));
                    }
                }
            }
            let req = if op == "in" {
                Requirement::In(key, values)
            } else {
                Requirement::NotIn(key, values)
            };
            Ok((req, p))
        }
        Some(other) => Err(format!(
            "unable to parse requirement: found {other:?}, expected: in, notin, =, ==, !=, gt, \
             lt (selector {input:?})"
        )),
    }
}

/// A parsed field selector: `(field, value, equal)` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, String, bool)>);

impl FieldSelector {
    /// Parses a `fieldSelector` for a resource (`"deployments"` or `"pods"`).
    pub fn parse(input: &str, resource: &str) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        if input.trim().is_empty() {
            return Ok(FieldSelector(terms));
        }
        for term in input.split(',') {
            let (field, value, equal) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, v, true)
            } else {
                return Err(format!(
                    "invalid selector: '{input}'; can't understand '{term}'"
                ));
            };
            let field = field.trim();
            let supported = matches!(field, "metadata.name" | "metadata.namespace")
                || (resource == "pods"
                    && matches!(
                        field,
                        "status.phase"
                            | "spec.nodeName"
                            | "spec.restartPolicy"
                            | "spec.serviceAccountName"
                    ));
            if !supported {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), value.trim().to_string(), equal));
        }
        Ok(FieldSelector(terms))
    }

    /// Whether an object matches every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, value, equal)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = object
                .pointer(&pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == value) == *equal
        })
    }
}
