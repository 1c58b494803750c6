//! Template syntax as Kayenta expands it (`QueryConfigUtils.expandCustomFilter`, commons-text
//! `StringSubstitutor`): `${var}`, `${var:-default}`, nesting, `$${...}` escapes; stored
//! configs may carry Orca's escaped form `$\{`.

/// Checks that every `${` is closed and names a variable. The variables themselves are
/// bound per run (scope, location, extendedScopeParams), so they are not checked.
pub(crate) fn check(template: &str) -> Result<(), String> {
    // Orca's escaping (`$\{`) is undone before expansion.
    let t = template.replace("$\\{", "${");
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"$${") {
            // An escaped `${`: literal text.
            i += 3;
        } else if b[i..].starts_with(b"${") {
            let start = i;
            let mut depth = 1;
            let mut j = i + 2;
            let mut name_end = None;
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"${") {
                    depth += 1;
                    j += 2;
                    continue;
                }
                if depth == 1 && name_end.is_none() && (b[j..].starts_with(b":-") || b[j] == b'}') {
                    name_end = Some(j);
                }
                if b[j] == b'}' {
                    depth -= 1;
                }
                j += 1;
            }
            let at = t[..start].chars().count() + 1;
            if depth > 0 {
                return Err(format!("'${{' at character {at} is never closed with '}}'"));
            }
            let name = t
                .get(start + 2..name_end.unwrap_or(start + 2))
                .unwrap_or("");
            if name.trim().is_empty() {
                return Err(format!(
                    "'${{' at character {at} names no variable (write ${{scope}}, ${{location}}, \
                     or an extendedScopeParams key)"
                ));
            }
            // Nested templates inside a default are checked by the same loop.
            i = start + 2;
        } else {
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn well_formed_templates_pass() {
        assert_eq!(check(r#"namespace="shop",pod=~"${scope}-.*""#), Ok(()));
        assert_eq!(
            check("PromQL:histogram_quantile(${quantile:-0.99}, x)"),
            Ok(())
        );
        assert_eq!(check("${a:-${b}}"), Ok(()));
        assert_eq!(check("$${literal"), Ok(()));
        assert_eq!(check(r"pod=~'$\{scope}-.*'"), Ok(()));
        assert_eq!(check("no variables } at all"), Ok(()));
    }

    #[test]
    fn unbalanced_or_empty_fail() {
        assert_eq!(
            check("pod=~\"${scope-.*\""),
            Err("'${' at character 7 is never closed with '}'".to_string())
        );
        assert!(check("${}").is_err());
        assert!(check("${a:-${b}").is_err());
        assert!(check("${:-x}").is_err());
    }
}
