//! The service's accounts: metrics accounts (a [`MetricsSource`] each) and the names that
//! storage and configuration accounts may use.
//!
//! kanary has one store of its own: the storage and configuration account names declared
//! in `--accounts` (Kayenta's `kayenta.yml`) are aliases of it, and when none are declared
//! any name is accepted, so that an Argo Rollouts template written for Kayenta works
//! unchanged.

use std::sync::Arc;

use kanary_metrics_sources::MetricsSource;
use serde_json::Value;

/// One metrics account.
#[derive(Clone)]
pub struct MetricsAccount {
    /// The account name (`metricsAccountName`).
    pub name: String,
    /// `prometheus`, `datadog` or `stackdriver`.
    pub kind: &'static str,
    /// The source.
    pub source: Arc<dyn MetricsSource>,
    /// What `/credentials` shows besides name and type (`endpoint`, `project`, ...):
    /// never a secret.
    pub public: Value,
}

impl std::fmt::Debug for MetricsAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccount")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// Every account of the service.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// Metrics accounts, in declaration order (the first is the default).
    pub metrics: Vec<MetricsAccount>,
    /// Declared storage (object store) account names: aliases of kanary's store.
    pub storage: Vec<String>,
    /// Declared configuration store account names: aliases of kanary's store.
    pub configuration: Vec<String>,
}

impl Accounts {
    /// One Prometheus metrics account named `prometheus` (`--prometheus-url` alone).
    pub fn prometheus(url: &str) -> Result<Accounts, String> {
        use kanary_metrics_sources::HttpClient;
        use kanary_metrics_sources::prometheus::{Prometheus, PrometheusAccount};
        let account = PrometheusAccount::new("prometheus", url).map_err(|e| e.to_string())?;
        let endpoint = kanary_metrics_sources::display_url(&account.base_url);
        let http = HttpClient::reqwest().map_err(|e| e.to_string())?;
        Ok(Accounts {
            metrics: vec![MetricsAccount {
                name: "prometheus".into(),
                kind: "prometheus",
                source: Arc::new(Prometheus::new(account, http)),
                public: serde_json::json!({"endpoint": {"baseUrl": endpoint}}),
            }],
            ..Accounts::default()
        })
    }

    /// Reads the account sections of Kayenta's own `kayenta.yml`:
    ///
    /// - `kayenta.prometheus.accounts[]`: `name`, `endpoint.baseUrl`, `username` +
    ///   `password`, `usernamePasswordFile` (a file holding `user:password`),
    ///   `bearerToken`; `kayenta.prometheus.scopeLabel` (default `instance`);
    /// - `kayenta.datadog.accounts[]`: `name`, `endpoint.baseUrl`, `apiKey`,
    ///   `applicationKey`;
    /// - `kayenta.google.accounts[]` whose `supportedTypes` include `METRICS_STORE` (or
    ///   are absent): `name`, `project`, `jsonPath` (the service-account key file);
    ///   `endpoint.baseUrl` optionally replaces the public Cloud Monitoring API;
    /// - every `kayenta.<type>.accounts[]` entry (s3's `aws`, `gcs`'s `google`, `azure`,
    ///   `memory`, ...) whose `supportedTypes` include `OBJECT_STORE` or
    ///   `CONFIGURATION_STORE`: its name becomes an alias of kanary's store.
    ///
    /// As Spring reads it: dotted keys (`endpoint.baseUrl: ...`) are nested keys, key
    /// spelling is relaxed (`supported-types`, `supportedTypes`), lists may be
    /// comma-separated strings, `${NAME}` and `${NAME:default}` placeholders are resolved
    /// from the environment (then from the file's own properties), a section with
    /// `enabled: false` is skipped, and documents activated by a Spring profile are
    /// ignored. kanary additions: every secret (`password`, `bearerToken`, `apiKey`,
    /// `applicationKey`) may instead be read from a file named by the same key with a
    /// `File` suffix (`apiKeyFile`); relative file paths are relative to the YAML file's
    /// directory; an unresolved placeholder is an error (Spring would keep the text).
    /// Metrics accounts of providers kanary has no source for (Atlas, New Relic, ...) are
    /// skipped with a warning.
    ///
    /// Errors name the file and the field; they never quote a secret.
    pub fn load(path: &std::path::Path) -> Result<Accounts, String> {
        Self::load_with_env(path, &|name| std::env::var(name).ok())
    }

    /// [`Accounts::load`] with the environment given as a lookup (tests, embedders).
    pub fn load_with_env(
        path: &std::path::Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Accounts, String> {
        kayenta_yml::load(path, env)
    }

    /// Kayenta's `getRequiredOneBy`: a non-empty name must exist (`Unable to resolve
    /// account <name>.`); an empty one is the first metrics account (`Unable to resolve
    /// account of type METRICS_STORE.` when there is none).
    pub fn resolve_metrics(&self, name: Option<&str>) -> Result<&MetricsAccount, String> {
        match name.filter(|n| !n.is_empty()) {
            Some(n) => self
                .metrics
                .iter()
                .find(|a| a.name == n)
                .ok_or_else(|| format!("Unable to resolve account {n}.")),
            None => self
                .metrics
                .first()
                .ok_or_else(|| "Unable to resolve account of type METRICS_STORE.".to_string()),
        }
    }

    /// A storage account name (Kayenta's `getRequiredOneBy(name, OBJECT_STORE)`).
    ///
    /// kanary has one store, so every declared storage or configuration name is an alias of
    /// it. With declared names, a non-empty name must be one of them (Kayenta resolves a
    /// named account whatever its supported types, which is why Argo Rollouts can send its
    /// storage account as `configurationAccountName`), and an empty one is the first
    /// storage name (else the first configuration name). Without declared names, any name
    /// is accepted and an empty one is `default`.
    pub fn resolve_storage(&self, name: Option<&str>) -> Result<String, String> {
        resolve_alias(&self.storage, &self.configuration, name)
    }

    /// A configuration account name, as [`Accounts::resolve_storage`] (the first
    /// configuration name for an empty one).
    pub fn resolve_configuration(&self, name: Option<&str>) -> Result<String, String> {
        resolve_alias(&self.configuration, &self.storage, name)
    }
}

fn resolve_alias(
    preferred: &[String],
    others: &[String],
    name: Option<&str>,
) -> Result<String, String> {
    let declared = || preferred.iter().chain(others);
    match name.filter(|n| !n.is_empty()) {
        Some(n) if declared().next().is_none() || declared().any(|d| d == n) => Ok(n.to_string()),
        Some(n) => Err(format!("Unable to resolve account {n}.")),
        None => Ok(declared()
            .next()
            .cloned()
            .unwrap_or_else(|| "default".to_string())),
    }
}

/// Reading `kayenta.yml` (see [`Accounts::load`]).
mod kayenta_yml {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use kanary_metrics_sources::datadog::{Datadog, DatadogAccount};
    use kanary_metrics_sources::prometheus::{Prometheus, PrometheusAccount, PrometheusAuth};
    use kanary_metrics_sources::stackdriver::{
        DEFAULT_BASE_URL, Stackdriver, StackdriverAccount, StackdriverCredentials,
    };
    use kanary_metrics_sources::{HttpClient, MetricsSource, display_url};
    use serde_json::{Value, json};
    use yaml_rust2::{Yaml, YamlLoader};

    use super::{Accounts, MetricsAccount};

    const METRICS_STORE: &str = "METRICS_STORE";
    const OBJECT_STORE: &str = "OBJECT_STORE";
    const CONFIGURATION_STORE: &str = "CONFIGURATION_STORE";

    type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

    pub(super) fn load(path: &Path, env: Env<'_>) -> Result<Accounts, String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: {e}"))?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let root = parse(&text).map_err(|e| format!("{file}: {e}"))?;
        let doc = Doc {
            base_dir,
            root: &root,
            env,
        };
        doc.accounts().map_err(|e| format!("{file}: {e}"))
    }

    /// The documents merged into one tree, as Spring reads them: documents that a profile
    /// activates are skipped, later documents override earlier ones, dotted keys nest.
    fn parse(text: &str) -> Result<Tree, String> {
        let docs = YamlLoader::load_from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
        let mut root = Tree::Map(Vec::new());
        for doc in &docs {
            let tree = to_tree(doc);
            if matches!(tree, Tree::Null) {
                continue;
            }
            if !matches!(tree, Tree::Map(_)) {
                return Err("expected a mapping at the top of the document".into());
            }
            let top = Node::root(&tree);
            let profiled = top.child("spring").is_some_and(|s| {
                s.child("profiles").is_some()
                    || s.child("config")
                        .and_then(|c| c.child("activate"))
                        .is_some()
            });
            if profiled {
                tracing::info!("kayenta.yml: a document activated by a Spring profile is ignored");
                continue;
            }
            merge(&mut root, tree);
        }
        Ok(root)
    }

    /// A YAML document as kanary reads it: keys in file order (the first metrics
    /// account is the default), scalars as text.
    #[derive(Debug, Clone, PartialEq)]
    enum Tree {
        Null,
        Scalar(String),
        Bool(bool),
        List(Vec<Tree>),
        Map(Vec<(String, Tree)>),
    }

    /// A YAML node as a [`Tree`], with dotted keys expanded (`endpoint.baseUrl: x` is
    /// `endpoint: {baseUrl: x}`, as Spring binds it).
    fn to_tree(y: &Yaml) -> Tree {
        match y {
            Yaml::Real(s) | Yaml::String(s) => Tree::Scalar(s.clone()),
            Yaml::Integer(i) => Tree::Scalar(i.to_string()),
            Yaml::Boolean(b) => Tree::Bool(*b),
            Yaml::Array(items) => Tree::List(items.iter().map(to_tree).collect()),
            Yaml::Hash(h) => {
                let mut out = Tree::Map(Vec::new());
                for (k, v) in h {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => continue,
                    };
                    let mut value = to_tree(v);
                    for part in key.rsplit('.').filter(|p| !p.is_empty()) {
                        value = Tree::Map(vec![(part.to_string(), value)]);
                    }
                    merge(&mut out, value);
                }
                out
            }
            Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Tree::Null,
        }
    }

    /// Deep-merges `overlay` into `base` (maps merge, anything else replaces).
    fn merge(base: &mut Tree, overlay: Tree) {
        match (base, overlay) {
            (Tree::Map(b), Tree::Map(o)) => {
                for (k, v) in o {
                    match b.iter_mut().find(|(bk, _)| *bk == k) {
                        Some((_, existing)) => merge(existing, v),
                        None => b.push((k, v)),
                    }
                }
            }
            (b, o) => *b = o,
        }
    }

    /// Spring's relaxed binding: `supported-types`, `supported_types` and
    /// `supportedTypes` are one key.
    fn canonical(key: &str) -> String {
        key.chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect()
    }

    /// A node and its path (`kayenta.datadog.accounts[0]`), for errors.
    #[derive(Clone)]
    struct Node<'v> {
        value: &'v Tree,
        path: String,
    }

    impl<'v> Node<'v> {
        fn root(value: &'v Tree) -> Self {
            Node {
                value,
                path: String::new(),
            }
        }

        fn join(&self, key: &str) -> String {
            if self.path.is_empty() {
                key.to_string()
            } else {
                format!("{}.{key}", self.path)
            }
        }

        /// A child by relaxed key; `null` counts as absent.
        fn child(&self, key: &str) -> Option<Node<'v>> {
            let want = canonical(key);
            let Tree::Map(map) = self.value else {
                return None;
            };
            map.iter()
                .find(|(k, v)| canonical(k) == want && *v != Tree::Null)
                .map(|(_, v)| Node {
                    value: v,
                    path: self.join(key),
                })
        }

        /// `key` as a list of nodes: absent is empty; a map with index keys (`0`, `1`)
        /// is a list too (Spring binds both).
        fn list(&self, key: &str) -> Result<Vec<Node<'v>>, String> {
            let Some(node) = self.child(key) else {
                return Ok(Vec::new());
            };
            match node.value {
                Tree::List(items) => Ok(items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Node {
                        value: v,
                        path: format!("{}[{i}]", node.path),
                    })
                    .collect()),
                Tree::Map(m) if m.iter().all(|(k, _)| k.parse::<usize>().is_ok()) => {
                    let mut items: Vec<(usize, &Tree)> = m
                        .iter()
                        .filter_map(|(k, v)| k.parse().ok().map(|i| (i, v)))
                        .collect();
                    items.sort_by_key(|(i, _)| *i);
                    Ok(items
                        .into_iter()
                        .map(|(i, v)| Node {
                            value: v,
                            path: format!("{}[{i}]", node.path),
                        })
                        .collect())
                }
                _ => Err(format!("{}: expected a list", node.path)),
            }
        }
    }

    struct Doc<'a> {
        base_dir: PathBuf,
        root: &'a Tree,
        env: Env<'a>,
    }

    /// What an account entry supports.
    struct Entry<'v> {
        node: Node<'v>,
        name: String,
        types: Vec<String>,
    }

    impl Doc<'_> {
        fn accounts(&self) -> Result<Accounts, String> {
            let root = Node::root(self.root);
            let mut accounts = Accounts::default();
            let Some(kayenta) = root.child("kayenta") else {
                return Ok(accounts);
            };
            let Tree::Map(sections) = kayenta.value else {
                return Err("kayenta: expected a mapping".into());
            };
            let http = HttpClient::reqwest().map_err(|e| e.to_string())?;
            for (section_key, _) in sections {
                let Some(section) = kayenta.child(section_key) else {
                    continue;
                };
                if !matches!(section.value, Tree::Map(_)) || section.child("accounts").is_none() {
                    continue;
                }
                if let Some(enabled) = section.child("enabled") {
                    if !self.boolean(&enabled)? {
                        tracing::info!(section = %section.path, "kayenta.yml: section disabled (enabled: false)");
                        continue;
                    }
                }
                let provider = canonical(section_key);
                for node in section.list("accounts")? {
                    let entry = self.entry(node, &provider)?;
                    if entry.types.iter().any(|t| t == METRICS_STORE) {
                        if let Some(account) =
                            self.metrics_account(&provider, &section, &entry, &http)?
                        {
                            if let Some(dup) =
                                accounts.metrics.iter().find(|a| a.name == account.name)
                            {
                                return Err(format!(
                                    "{}.name: the metrics account name '{}' is used twice (also by a {} account)",
                                    entry.node.path, account.name, dup.kind
                                ));
                            }
                            accounts.metrics.push(account);
                        }
                    }
                    if entry.types.iter().any(|t| t == OBJECT_STORE)
                        && !accounts.storage.contains(&entry.name)
                    {
                        accounts.storage.push(entry.name.clone());
                    }
                    if entry.types.iter().any(|t| t == CONFIGURATION_STORE)
                        && !accounts.configuration.contains(&entry.name)
                    {
                        accounts.configuration.push(entry.name.clone());
                    }
                }
            }
            Ok(accounts)
        }

        /// An account's name and supported types. Kayenta's Prometheus accounts are always
        /// `METRICS_STORE` (`PrometheusManagedAccount.getSupportedTypes`); Datadog and
        /// Google accounts without `supportedTypes` are taken as metrics accounts, which is
        /// what their other fields are for.
        fn entry<'v>(&self, node: Node<'v>, provider: &str) -> Result<Entry<'v>, String> {
            if !matches!(node.value, Tree::Map(_)) {
                return Err(format!("{}: expected a mapping (an account)", node.path));
            }
            let name = self.required(&node, "name")?;
            let mut types = self.strings(&node, "supportedTypes")?;
            for t in &mut types {
                *t = t.trim().to_ascii_uppercase().replace('-', "_");
                if ![
                    METRICS_STORE,
                    OBJECT_STORE,
                    CONFIGURATION_STORE,
                    "REMOTE_JUDGE",
                ]
                .contains(&t.as_str())
                {
                    return Err(format!(
                        "{}.supportedTypes: unknown type '{t}' (expected METRICS_STORE, \
                         OBJECT_STORE, CONFIGURATION_STORE or REMOTE_JUDGE)",
                        node.path
                    ));
                }
            }
            let metrics_provider = matches!(provider, "prometheus" | "datadog" | "google");
            if provider == "prometheus" {
                types = vec![METRICS_STORE.to_string()];
            } else if types.is_empty() && metrics_provider {
                types.push(METRICS_STORE.to_string());
            }
            Ok(Entry { node, name, types })
        }

        fn metrics_account(
            &self,
            provider: &str,
            section: &Node<'_>,
            entry: &Entry<'_>,
            http: &HttpClient,
        ) -> Result<Option<MetricsAccount>, String> {
            let node = &entry.node;
            let name = entry.name.clone();
            let field = |f: &str| node.join(f);
            let (kind, source, public): (&'static str, Arc<dyn MetricsSource>, Value) =
                match provider {
                    "prometheus" => {
                        let url = self.required(node, "endpoint.baseUrl")?;
                        let auth = self.prometheus_auth(node)?;
                        let mut account = PrometheusAccount::new(name.clone(), &url)
                            .map_err(|e| format!("{}: {e}", field("endpoint.baseUrl")))?
                            .with_auth(auth);
                        if let Some(label) = self.string(section, "scopeLabel")? {
                            account = account.with_scope_label(label);
                        }
                        let public =
                            json!({"endpoint": {"baseUrl": display_url(&account.base_url)}});
                        (
                            "prometheus",
                            Arc::new(Prometheus::new(account, http.clone())),
                            public,
                        )
                    }
                    "datadog" => {
                        let url = self.required(node, "endpoint.baseUrl")?;
                        let api_key = self.secret(node, "apiKey")?.ok_or_else(|| {
                            format!("{} (or apiKeyFile) is required", field("apiKey"))
                        })?;
                        let app_key = self.secret(node, "applicationKey")?.ok_or_else(|| {
                            format!(
                                "{} (or applicationKeyFile) is required",
                                field("applicationKey")
                            )
                        })?;
                        let account = DatadogAccount::new(name.clone(), &url, api_key, app_key)
                            .map_err(|e| format!("{}: {e}", field("endpoint.baseUrl")))?;
                        let public =
                            json!({"endpoint": {"baseUrl": display_url(&account.base_url)}});
                        (
                            "datadog",
                            Arc::new(Datadog::new(account, http.clone())),
                            public,
                        )
                    }
                    "google" => {
                        let project = self.required(node, "project")?;
                        let key = self.required(node, "jsonPath").map_err(|e| {
                            format!(
                                "{e} for a METRICS_STORE account (kanary reads the service-account \
                                 key file; it does not use application default credentials)"
                            )
                        })?;
                        let url = self
                            .string(node, "endpoint.baseUrl")?
                            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
                        let credentials =
                            StackdriverCredentials::ServiceAccountKey(self.file_path(&key));
                        let account = StackdriverAccount::new(
                            name.clone(),
                            &url,
                            project.clone(),
                            credentials,
                        )
                        .map_err(|e| format!("{}: {e}", node.path))?;
                        let source = Stackdriver::new(account, http.clone())
                            .map_err(|e| format!("{}: {e}", field("jsonPath")))?;
                        ("stackdriver", Arc::new(source), json!({"project": project}))
                    }
                    other => {
                        tracing::warn!(
                            account = %name,
                            provider = other,
                            "kayenta.yml: kanary has no metrics source for this provider; the account is skipped"
                        );
                        return Ok(None);
                    }
                };
            Ok(Some(MetricsAccount {
                name,
                kind,
                source,
                public,
            }))
        }

        /// Kayenta's order (`RetrofitClientFactory.createClient`): a bearer token, else
        /// `usernamePasswordFile`, else `username` + `password`.
        fn prometheus_auth(&self, node: &Node<'_>) -> Result<PrometheusAuth, String> {
            if let Some(token) = self.secret(node, "bearerToken")? {
                return Ok(PrometheusAuth::Bearer(token));
            }
            if let Some(path) = self.string(node, "usernamePasswordFile")? {
                let field = node.join("usernamePasswordFile");
                let text = self.read_file(&field, &path)?;
                let (username, password) = text.trim().split_once(':').ok_or_else(|| {
                    format!("{field}: the file {path} must hold 'username:password'")
                })?;
                return Ok(PrometheusAuth::Basic {
                    username: username.to_string(),
                    password: password.to_string(),
                });
            }
            match (
                self.string(node, "username")?,
                self.secret(node, "password")?,
            ) {
                (Some(username), Some(password)) => {
                    Ok(PrometheusAuth::Basic { username, password })
                }
                (None, None) => Ok(PrometheusAuth::None),
                (Some(_), None) => Err(format!(
                    "{}: a username needs a password (or passwordFile)",
                    node.join("password")
                )),
                (None, Some(_)) => Err(format!(
                    "{}: a password needs a username",
                    node.join("username")
                )),
            }
        }

        /// A secret: the field itself, or the trimmed content of the file `<field>File`.
        fn secret(&self, node: &Node<'_>, key: &str) -> Result<Option<String>, String> {
            if let Some(v) = self.string(node, key)? {
                return Ok(Some(v));
            }
            let file_key = format!("{key}File");
            match self.string(node, &file_key)? {
                Some(path) => {
                    let text = self.read_file(&node.join(&file_key), &path)?;
                    let value = text.trim().to_string();
                    if value.is_empty() {
                        return Err(format!(
                            "{}: the file {path} is empty",
                            node.join(&file_key)
                        ));
                    }
                    Ok(Some(value))
                }
                None => Ok(None),
            }
        }

        fn file_path(&self, path: &str) -> PathBuf {
            let p = Path::new(path);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                self.base_dir.join(p)
            }
        }

        fn read_file(&self, field: &str, path: &str) -> Result<String, String> {
            let full = self.file_path(path);
            std::fs::read_to_string(&full)
                .map_err(|e| format!("{field}: cannot read {}: {e}", full.display()))
        }

        fn required(&self, node: &Node<'_>, dotted: &str) -> Result<String, String> {
            self.string(node, dotted)?
                .ok_or_else(|| format!("{} is required", node.join(dotted)))
        }

        /// A scalar at a dotted path below `node`, placeholders resolved; empty is absent.
        fn string(&self, node: &Node<'_>, dotted: &str) -> Result<Option<String>, String> {
            let mut current = node.clone();
            for part in dotted.split('.') {
                match current.child(part) {
                    Some(next) => current = next,
                    None => return Ok(None),
                }
            }
            let path = node.join(dotted);
            let raw = match current.value {
                Tree::Scalar(s) => s.clone(),
                Tree::Bool(b) => b.to_string(),
                _ => return Err(format!("{path}: expected a single value")),
            };
            let resolved = self.resolve(&path, &raw, 0)?;
            Ok(Some(resolved).filter(|s| !s.is_empty()))
        }

        /// A list of strings (a YAML list, or a comma-separated string as Spring accepts).
        fn strings(&self, node: &Node<'_>, key: &str) -> Result<Vec<String>, String> {
            let Some(child) = node.child(key) else {
                return Ok(Vec::new());
            };
            match child.value {
                Tree::List(items) => {
                    let mut out = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let path = format!("{}[{i}]", child.path);
                        match item {
                            Tree::Scalar(s) => out.push(self.resolve(&path, s, 0)?),
                            Tree::Null => {}
                            _ => return Err(format!("{path}: expected a string")),
                        }
                    }
                    Ok(out)
                }
                _ => Ok(self
                    .string(node, key)?
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .unwrap_or_default()),
            }
        }

        fn boolean(&self, node: &Node<'_>) -> Result<bool, String> {
            match node.value {
                Tree::Bool(b) => Ok(*b),
                Tree::Scalar(s) => match self.resolve(&node.path, s, 0)?.trim() {
                    "true" | "TRUE" | "True" => Ok(true),
                    "false" | "FALSE" | "False" => Ok(false),
                    other => Err(format!(
                        "{}: expected true or false, got '{other}'",
                        node.path
                    )),
                },
                _ => Err(format!("{}: expected true or false", node.path)),
            }
        }

        /// Spring's placeholders: `${NAME}` and `${NAME:default}`, resolved from the
        /// environment (the name as written, then Spring's environment form
        /// `KAYENTA_FOO_BAR` for `kayenta.foo-bar`), then from the file's own
        /// properties; nested placeholders are resolved too. The error names the field
        /// and the placeholder, never a value.
        fn resolve(&self, field: &str, raw: &str, depth: usize) -> Result<String, String> {
            if depth > 8 {
                return Err(format!("{field}: placeholders nest too deeply"));
            }
            let mut out = String::new();
            let mut rest = raw;
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = matching_brace(after)
                    .ok_or_else(|| format!("{field}: unclosed placeholder '${{' (missing '}}')"))?;
                let inner = &after[..end];
                let (name, default) = split_default(inner);
                let name = self.resolve(field, name, depth + 1)?;
                let value = match self.lookup(&name, depth)? {
                    Some(v) => v,
                    None => match default {
                        Some(d) => self.resolve(field, d, depth + 1)?,
                        None => {
                            return Err(format!(
                                "{field}: the placeholder ${{{name}}} is not set (no environment \
                                 variable {name}, no property {name}, and no default)"
                            ));
                        }
                    },
                };
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            Ok(out)
        }

        fn lookup(&self, name: &str, depth: usize) -> Result<Option<String>, String> {
            if let Some(v) = (self.env)(name) {
                return Ok(Some(v));
            }
            let env_form: String = name
                .chars()
                .filter(|c| *c != '-')
                .map(|c| {
                    if c == '.' {
                        '_'
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect();
            if env_form != name {
                if let Some(v) = (self.env)(&env_form) {
                    return Ok(Some(v));
                }
            }
            let mut node = Node::root(self.root);
            for part in name.split('.') {
                match node.child(part) {
                    Some(next) => node = next,
                    None => return Ok(None),
                }
            }
            match node.value {
                Tree::Scalar(s) => self.resolve(name, s, depth + 1).map(Some),
                Tree::Bool(b) => Ok(Some(b.to_string())),
                _ => Ok(None),
            }
        }
    }

    /// The index of the `}` closing a placeholder whose `${` was just consumed.
    fn matching_brace(s: &str) -> Option<usize> {
        let mut depth = 0usize;
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
                depth += 1;
                i += 2;
                continue;
            }
            if bytes[i] == b'}' {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
            i += 1;
        }
        None
    }

    /// `NAME:default` → (`NAME`, `default`), the first `:` outside a nested placeholder.
    fn split_default(inner: &str) -> (&str, Option<&str>) {
        let mut depth = 0usize;
        let bytes = inner.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    depth += 1;
                    i += 1;
                }
                b'}' => depth = depth.saturating_sub(1),
                b':' if depth == 0 => return (&inner[..i], Some(&inner[i + 1..])),
                _ => {}
            }
            i += 1;
        }
        (inner, None)
    }

    #[cfg(test)]
    #[allow(clippy::unwrap_used)]
    mod tests {
        use super::*;

        #[test]
        fn dotted_and_relaxed_keys_bind_as_spring() {
            let root = parse("kayenta.prometheus:\n  accounts:\n    - name: a\n      endpoint.baseUrl: http://x\n      supported-types: METRICS_STORE\n").unwrap();
            let node = Node::root(&root);
            let acc = node
                .child("kayenta")
                .and_then(|k| k.child("prometheus"))
                .and_then(|p| p.list("accounts").ok())
                .unwrap_or_default();
            assert_eq!(acc.len(), 1);
            assert_eq!(acc[0].path, "kayenta.prometheus.accounts[0]");
            let env = |_: &str| None;
            let doc = Doc {
                base_dir: PathBuf::from("."),
                root: &root,
                env: &env,
            };
            assert_eq!(
                doc.string(&acc[0], "endpoint.baseUrl"),
                Ok(Some("http://x".into()))
            );
            assert_eq!(
                doc.strings(&acc[0], "supportedTypes"),
                Ok(vec!["METRICS_STORE".to_string()])
            );
        }

        #[test]
        fn placeholders_resolve_from_env_properties_and_defaults() {
            let root = parse("a:\n  b: inner\n").unwrap();
            let env = |k: &str| (k == "X_Y").then(|| "env".to_string());
            let doc = Doc {
                base_dir: PathBuf::from("."),
                root: &root,
                env: &env,
            };
            assert_eq!(doc.resolve("f", "${X_Y}", 0), Ok("env".into()));
            assert_eq!(doc.resolve("f", "${x.y}", 0), Ok("env".into()));
            assert_eq!(doc.resolve("f", "<${a.b}>", 0), Ok("<inner>".into()));
            assert_eq!(doc.resolve("f", "${NOPE:dflt}", 0), Ok("dflt".into()));
            assert_eq!(doc.resolve("f", "${NOPE:${X_Y}}", 0), Ok("env".into()));
            let err = doc.resolve("k.apiKey", "${NOPE}", 0).unwrap_err();
            assert!(
                err.starts_with("k.apiKey: the placeholder ${NOPE} is not set"),
                "{err}"
            );
            assert!(doc.resolve("f", "${open", 0).is_err());
        }
    }
}
