//! The command line: clap types only. Parsing lives here, behaviour in `commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Automated canary analysis: judge a canary against its baseline as Spinnaker's Kayenta does.
#[derive(Debug, Clone, Parser)]
#[command(name = "kanary", version, about, propagate_version = true)]
pub struct Cli {
    /// When to colour the output: auto (only a terminal, and only when NO_COLOR is unset),
    /// always, never.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        global = true,
        hide_possible_values = true
    )]
    pub color: ColorChoice,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Judge a recorded canary run offline and print the verdict.
    #[command(long_about = JUDGE_LONG_ABOUT, after_help = JUDGE_AFTER_HELP)]
    Judge(JudgeArgs),
    /// Check canary configs for mistakes before Kayenta or kanary runs them.
    #[command(long_about = VALIDATE_LONG_ABOUT, after_help = VALIDATE_AFTER_HELP)]
    Validate(ValidateArgs),
    /// Analyse a running (or past) canary against its baseline over time, judging it every
    /// interval from live metrics, as Kayenta's standalone canary analysis does.
    #[command(long_about = ANALYZE_LONG_ABOUT, after_help = ANALYZE_AFTER_HELP)]
    Analyze(Box<AnalyzeArgs>),
    /// Run the Kayenta-compatible canary analysis service (REST API, background executor).
    #[command(long_about = SERVE_LONG_ABOUT, after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Run a whole canary stage on Kubernetes: deploy a baseline and a canary next to
    /// production, analyse them, delete them, and promote the new image on a pass.
    #[command(long_about = CANARY_LONG_ABOUT, after_help = CANARY_AFTER_HELP)]
    Canary(Box<CanaryArgs>),
}

const CANARY_LONG_ABOUT: &str = "\
Run a whole canary stage on Kubernetes, as release engineers do by hand.

  1. Read production's Deployment (--deployment in --namespace) and its container
     --container's image (A).
  2. Create <deployment>-baseline (production's pod template, image A, freshly started) and
     <deployment>-canary (the same template with --image), --replicas pods each. Their pods
     keep production's pod labels, so production's Service sends them the same traffic,
     plus kanary.io/role=baseline|canary and kanary.io/run=<run id>; the Deployments'
     selectors include those two labels, so they never adopt production's pods.
  3. Wait until both are available (--ready-timeout); an image that cannot be pulled or a
     container that keeps crashing fails at once with the pod's reason.
  4. Analyse them as `kanary analyze` does, with the baseline's name as the control scope
     and the canary's as the experiment scope (the config's queries select pods by those
     names, e.g. pod=~\"${scope}-.*\"), every --interval over --lifetime, failing early
     on a score at or below marginal.
  5. Delete both, always: pass, fail, error, Ctrl-C.
  6. On a pass with --promote, set production's container image to --image and wait for
     its rollout; on a fail, production is left untouched.

Run again after a crash, kanary finds the earlier run's Deployments by their labels and \
deletes them before it starts.

Kubernetes access: --kubeconfig FILE, else the usual inference (KUBECONFIG, ~/.kube/config, \
or the in-cluster service account). The permissions needed are in deploy/kanary.yaml: \
deployments (get, list, watch, create, patch, delete) and pods (get, list, watch).";

const CANARY_AFTER_HELP: &str = "\
Output: progress on stderr (each phase, each wait, each judgement); on stdout the verdict, \
the scores and what happened to production, or with --format json the stage's status \
(the body of GET /stages/canary/{id}).

Exit status:
  0  the canary passed (and production was promoted with --promote)
  1  the canary failed; production is untouched
  2  the stage could not finish: bad flags or config, no permission, the baseline or
     canary never became available, a fetch failed, canceled (the line says which)

Example:
  kanary canary --namespace shop --deployment web --container app \\
      --image registry.example.com/web:1.4.0 --config deploy/canary-config.json \\
      --prometheus-url http://prometheus.monitoring:9090 \\
      --lifetime 1h --interval 10m --begin-after 2m --promote";

const JUDGE_LONG_ABOUT: &str = "\
Judge a recorded canary run offline and print the verdict.

Runs the judge named by the config (Kayenta's NetflixACAJudge-v1.0 when it names none) on \
every metric-set pair, scores the results with the config's group weights and classifies \
the score against the thresholds, exactly as Kayenta's judge stage does. No network.

DIR holds the recorded run:
  config.json      the canary config (as stored by Kayenta's /canaryConfig)
  pairs.json       the metric-set pair list, a JSON array, as served by
                   GET /metricSetPairList/{id}
  thresholds.json  optional: {\"pass\": 95, \"marginal\": 75}

--config and --pairs replace the files of DIR; DIR may be left out when both are given. \
Thresholds come from --pass/--marginal, else thresholds.json, else 95 and 75.";

const JUDGE_AFTER_HELP: &str = "\
Exit status:
  0  Pass      (score >= pass)
  3  Marginal  (marginal <= score < pass)
  1  Fail      (score < marginal; a failing critical metric forces the score to 0)
  2  unusable input: a missing file, invalid JSON, a pair whose metric is not in the
     config, an unknown judge, a setting of the wrong type, marginal > pass

Examples:
  kanary judge testdata/examples/latency-regression
  kanary judge --config canary.json --pairs run-42.json --pass 90 --marginal 70
  kanary judge testdata/examples/healthy --format json | jq .score";

const VALIDATE_LONG_ABOUT: &str = "\
Check canary configs for mistakes before Kayenta or kanary runs them.

Every problem is printed with the file and its JSON path, for example
  canary.json: $.metrics[2].name: duplicated metric name 'latency' (Kayenta: ...)
  canary.json: warning: $.metrics[0].analysisConfigurations.canary.direction: ...

Errors are what Kayenta rejects (when storing or running the config) or what cannot work: \
wrong JSON types, missing or duplicated metric names, a missing query type or scopeName, \
an unknown filter template, the deprecated customFilter, an unknown judge, bad judge or \
metric settings, negative weights, marginal > pass. Warnings are what Kayenta accepts but \
is almost always a typo or has no effect: an unknown direction, nanStrategy, outlier \
strategy or effect-size measure, weights summing over 100, a muted critical metric. \
Notes explain how the config will be scored.";

const VALIDATE_AFTER_HELP: &str = "\
Exit status:
  0  every file is valid (warnings and notes allowed); each prints `FILE: ok`
  2  some file has an error, cannot be read, or is not JSON

Example:
  kanary validate canary-configs/*.json";

const ANALYZE_LONG_ABOUT: &str = "\
Analyse a canary against its baseline over time, from live metrics, as Kayenta's \
standalone canary analysis (POST /standalone_canary_analysis) does.

Every interval kanary fetches every metric of the config for the baseline \
(--control-scope) and the canary (--experiment-scope) from one metrics store, judges and \
scores them as `kanary judge` does, and prints the score. A score at or below the \
marginal threshold stops the analysis at once (\"Canary score is not above the marginal \
score threshold.\"). The LAST score decides: above marginal and at or above pass passes.

Timing (Kayenta's rules; durations are like 30s, 5m, 1h, 1h30m, 2d):
  lifetime   --end minus --start (truncated to whole seconds), else --lifetime;
             one of --end and --lifetime is required
  interval   --interval; missing, 0 or longer than the lifetime means the lifetime
             (a single judgement)
  judgements lifetime / interval, rounded down
  window i   from --start to --start + i x interval (a growing window);
             without --end both ends move --begin-after later (a warm-up);
             with --lookback the window is the last --lookback before its end
             (a sliding window); the baseline's window lies --control-offset earlier
Window i is judged as soon as it has ended: at once when it lies in the past, otherwise \
kanary waits for its end and prints the time left meanwhile. (Kayenta waits one interval \
before each judgement in real time, even for windows long past.)

Secrets never come from flag values:
  Prometheus   --prometheus-token-file FILE (a bearer token), else the environment:
               KANARY_PROMETHEUS_TOKEN (bearer), or KANARY_PROMETHEUS_USERNAME and
               KANARY_PROMETHEUS_PASSWORD (basic auth); none: no credentials
  Datadog      --datadog-key-file FILE, else DD_API_KEY and DD_APP_KEY; the file holds
               the lines `api_key=KEY` and `app_key=KEY` (blank lines and lines
               starting with # are ignored)
  Stackdriver  --stackdriver-key-file FILE (a service-account key, JSON), else
               --stackdriver-token-file FILE (an access token), else
               KANARY_STACKDRIVER_TOKEN (an access token)";

const ANALYZE_AFTER_HELP: &str = "\
Output: progress on stderr (one line per judgement, and while waiting); on stdout the \
scores of every judgement, the verdict with Kayenta's message and the last judgement's \
metrics table, or with --format json Kayenta's canaryAnalysisExecutionResult.

Exit status:
  0  the analysis passed (the last score is above marginal and at or above pass)
  1  the analysis failed (a score at or below marginal, or the last score below pass)
  2  unusable flags or config, or a fetch or judge failed (the line says which
     judgement, and names the metrics account and URL)

Examples:
  kanary analyze --config canary.json --prometheus-url http://prometheus:9090 \\
      --control-scope web-baseline --experiment-scope web-canary \\
      --start 2026-11-30T10:00:00Z --lifetime 1h --interval 10m
  DD_API_KEY=... DD_APP_KEY=... kanary analyze --config canary.json \\
      --datadog-url https://api.datadoghq.com --control-scope host:web-b \\
      --experiment-scope host:web-c --start 2026-11-30T10:00:00Z \\
      --end 2026-11-30T11:00:00Z --format json";

const SERVE_LONG_ABOUT: &str = "\
Run the Kayenta-compatible canary analysis service: Kayenta's REST API (/canaryConfig, \
/canary, /standalone_canary_analysis, /judges, /metricSetPairList, /credentials, ...) and \
the background executor that runs the analyses, over one store.

Every flag can also be set by the environment variable shown next to it (containers \
configure by environment); a flag given on the command line wins.

Store: --database-url sqlite://kanary.db (the default: one file in the working \
directory, created when missing), postgres://... (several replicas share the work) or \
memory: (nothing persists).

Accounts: --accounts reads the account sections of Kayenta's own kayenta.yml; \
--prometheus-url alone defines one metrics account named `prometheus` (with --accounts \
it is appended).

Auth: with a token (KANARY_AUTH_TOKEN, or --auth-token-file), every endpoint except \
/health, /livez, /readyz and /metrics requires `Authorization: Bearer <token>`. \
--allow-anonymous also lets requests without an Authorization header through (Argo \
Rollouts' Kayenta provider sends none); a wrong token is still refused. Without a token \
and without --allow-anonymous, kanary refuses to listen on anything but loopback.";

const SERVE_AFTER_HELP: &str = "\
Secrets never come from flag values (the process list shows them):
  KANARY_AUTH_TOKEN   the bearer token (environment only), or --auth-token-file FILE

Logs go to stderr: KANARY_LOG sets the filter (default `info`, e.g.
`kanary=debug,tower_http=warn`), --log-format json (KANARY_LOG_FORMAT=json) writes one
JSON object per line.

On startup one line `listening on http://ADDRESS:PORT` is printed on stdout (use
--port 0 for any free port). SIGTERM or SIGINT stops accepting requests, lets the
requests and the executor finish for up to --shutdown-grace seconds, and exits 0.
Executions still running then keep their stored state: their lease expires and the
next start (or another replica on the same database) resumes them.

Exit status:
  0  stopped by SIGTERM/SIGINT
  2  unusable flags, token, accounts or database, or the address cannot be bound

Examples:
  kanary serve --prometheus-url http://prometheus:9090
  KANARY_AUTH_TOKEN=... kanary serve --bind 0.0.0.0 --accounts kayenta.yml \\
      --database-url postgres://kanary@db/kanary";

/// `kanary serve`. Every flag is also an environment variable (`KANARY_*`).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on. Anything but loopback needs a token or --allow-anonymous.
    #[arg(
        long,
        env = "KANARY_BIND",
        value_name = "ADDR",
        default_value = "127.0.0.1"
    )]
    pub bind: std::net::IpAddr,
    /// The port to listen on (0: any free port; the printed line says which).
    #[arg(long, env = "KANARY_PORT", value_name = "PORT", default_value_t = 8090)]
    pub port: u16,
    /// Kayenta's kayenta.yml, whose metrics and storage account sections are read.
    #[arg(long, env = "KANARY_ACCOUNTS", value_name = "FILE")]
    pub accounts: Option<PathBuf>,
    /// The store: sqlite://PATH (created when missing), postgres://... or memory:.
    #[arg(
        long,
        env = "KANARY_DATABASE_URL",
        value_name = "URL",
        default_value = "sqlite://kanary.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// A Prometheus base URL: one metrics account named `prometheus`.
    #[arg(
        long,
        env = "KANARY_PROMETHEUS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub prometheus_url: Option<String>,
    /// A file holding the bearer token (surrounding whitespace is ignored); the token may
    /// also come from KANARY_AUTH_TOKEN, never from a flag's value.
    #[arg(long, env = "KANARY_AUTH_TOKEN_FILE", value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// Let requests without an Authorization header through (a wrong token is still
    /// refused); allows listening beyond loopback without a token.
    #[arg(
        long,
        env = "KANARY_ALLOW_ANONYMOUS",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_anonymous: bool,
    /// The largest request body accepted (413 above): bytes, or with KB, MB or GB
    /// (binary units, as Spring's DataSize reads Kayenta's limits).
    #[arg(
        long,
        env = "KANARY_MAX_BODY",
        value_name = "SIZE",
        default_value = "64MB",
        value_parser = parse_byte_size
    )]
    pub max_body: usize,
    /// Log lines as text or JSON (on stderr).
    #[arg(
        long,
        env = "KANARY_LOG_FORMAT",
        value_enum,
        value_name = "FORMAT",
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    /// On SIGTERM/SIGINT, how long in-flight requests and the executor may take to stop
    /// before the process exits anyway (keep it below Kubernetes'
    /// terminationGracePeriodSeconds, 30 by default).
    #[arg(
        long,
        env = "KANARY_SHUTDOWN_GRACE",
        value_name = "SECONDS",
        default_value_t = 25
    )]
    pub shutdown_grace: u64,
    /// The lease on a running execution (renewed every third of it): how long after a
    /// replica dies another replica, or its own restart, resumes its executions.
    #[arg(
        long,
        env = "KANARY_LEASE",
        value_name = "DURATION",
        default_value = "15s",
        value_parser = parse_lease,
        hide = true
    )]
    pub lease: std::time::Duration,
    /// A kubeconfig for `POST /stages/canary` (default: the in-cluster service account,
    /// else KUBECONFIG or ~/.kube/config; without any, the endpoint answers 400).
    #[arg(long, env = "KANARY_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// Reads `--lease`: `15s`, `1m`, ... (as `analyze` reads durations), at least a second
/// (a shorter lease is lost to any pause of the store and runs executions twice) and at
/// most an hour (a dead replica's work would wait that long).
pub fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    let secs =
        crate::commands::analyze::parse_duration("--lease", text).map_err(|e| e.to_string())?;
    if !(1..=3600).contains(&secs) {
        return Err(format!(
            "--lease: '{text}' is out of range: use 1s to 1h (the default is 15s)"
        ));
    }
    Ok(std::time::Duration::from_secs(secs.unsigned_abs()))
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Reads `64MB`, `512KB`, `1GB` or a number of bytes. Units are binary (1 KB = 1024
/// bytes), as Spring's `DataSize` reads Kayenta's size settings, so that the default
/// `64MB` is [`crate::server::DEFAULT_MAX_BODY_BYTES`]; `KiB`/`MiB`/`GiB` and `B` are
/// accepted too, in any case, with or without a space.
pub fn parse_byte_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => {
            return Err(format!(
                "'{text}' is not a size: use bytes or a number with KB, MB or GB, e.g. 64MB"
            ));
        }
    };
    let number: usize = digits.parse().map_err(|_| {
        format!("'{text}' is not a size: use bytes or a number with KB, MB or GB, e.g. 64MB")
    })?;
    let bytes = number
        .checked_mul(1usize << shift)
        .ok_or_else(|| format!("'{text}' is too large"))?;
    if bytes == 0 {
        return Err("the body limit must be at least 1 byte".to_string());
    }
    Ok(bytes)
}

/// The metrics store of `kanary analyze` and `kanary canary`: one of Prometheus, Datadog or
/// Cloud Monitoring, with its credentials (from files or the environment, never a flag).
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Prometheus base URL, e.g. `http://prometheus:9090`.
    #[arg(long, value_name = "URL", conflicts_with_all = ["datadog_url", "stackdriver_url", "stackdriver_project"])]
    pub prometheus_url: Option<String>,
    /// A file holding a Prometheus bearer token.
    #[arg(long, value_name = "FILE", requires = "prometheus_url")]
    pub prometheus_token_file: Option<PathBuf>,
    /// Datadog API base URL, e.g. `https://api.datadoghq.com`.
    #[arg(long, value_name = "URL", conflicts_with_all = ["stackdriver_url", "stackdriver_project"])]
    pub datadog_url: Option<String>,
    /// A file with the lines `api_key=KEY` and `app_key=KEY` (default: DD_API_KEY and
    /// DD_APP_KEY from the environment).
    #[arg(long, value_name = "FILE", requires = "datadog_url")]
    pub datadog_key_file: Option<PathBuf>,
    /// Cloud Monitoring API base URL (default `https://monitoring.googleapis.com` when
    /// --stackdriver-project is given).
    #[arg(long, value_name = "URL", requires = "stackdriver_project")]
    pub stackdriver_url: Option<String>,
    /// The Google Cloud project whose metrics are read.
    #[arg(long, value_name = "PROJECT")]
    pub stackdriver_project: Option<String>,
    /// A service-account key file (JSON) for Cloud Monitoring.
    #[arg(
        long,
        value_name = "FILE",
        requires = "stackdriver_project",
        conflicts_with = "stackdriver_token_file"
    )]
    pub stackdriver_key_file: Option<PathBuf>,
    /// A file holding a Cloud Monitoring access token.
    #[arg(long, value_name = "FILE", requires = "stackdriver_project")]
    pub stackdriver_token_file: Option<PathBuf>,
    /// The metrics account name errors and logs show (default: the store's type).
    #[arg(long, value_name = "NAME")]
    pub metrics_account: Option<String>,
    /// Metric queries in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Requests per metric query, the first included (Kayenta: 10, with a backoff of
    /// 1 s, 2 s, 4 s, ... on 5xx, 408, 429 and network errors).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub attempts: u32,
}

/// `kanary analyze`. Durations and times are read as text and checked by the command, so
/// that a mistake is one line naming the flag.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// The canary config (JSON, as stored by Kayenta's /canaryConfig).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Where the metrics come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// The scope name the config's metrics use (their `scopeName`).
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub scope_name: String,
    /// The baseline's scope, e.g. its server group.
    #[arg(long, value_name = "SCOPE")]
    pub control_scope: String,
    /// The canary's scope, e.g. its server group.
    #[arg(long, value_name = "SCOPE")]
    pub experiment_scope: String,
    /// The baseline's location (region or zone).
    #[arg(long, value_name = "LOCATION")]
    pub control_location: Option<String>,
    /// The canary's location (region or zone).
    #[arg(long, value_name = "LOCATION")]
    pub experiment_location: Option<String>,
    /// How much earlier the baseline's window lies (Kayenta's controlOffsetInMinutes).
    #[arg(long, value_name = "DURATION")]
    pub control_offset: Option<String>,
    /// An extendedScopeParams entry for providers and templates (repeatable), e.g.
    /// --param resourceType=k8s_container.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Start of the analysis: an RFC 3339 time (2026-11-30T10:00:00Z), or `now`.
    #[arg(long, value_name = "TIME")]
    pub start: String,
    /// End of the analysis (RFC 3339); windows never move by --begin-after then.
    #[arg(long, value_name = "TIME", conflicts_with = "lifetime")]
    pub end: Option<String>,
    /// How long the analysis lasts, when there is no --end.
    #[arg(long, value_name = "DURATION")]
    pub lifetime: Option<String>,
    /// How often to judge (default: once, over the whole lifetime).
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Judge only the last DURATION before each window's end (a sliding window).
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// Warm-up: without --end, every window starts this much later.
    #[arg(long, value_name = "DURATION")]
    pub begin_after: Option<String>,
    /// Seconds between data points.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(i64).range(1..))]
    pub step: i64,
    /// The last score must be at or above this to pass (default 95).
    #[arg(long, value_name = "N")]
    pub pass: Option<f64>,
    /// A score at or below this fails and stops the analysis (default 75).
    #[arg(long, value_name = "N")]
    pub marginal: Option<f64>,
    /// `text`: progress, scores and a table for people; `json`: Kayenta's
    /// canaryAnalysisExecutionResult.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Also write a self-contained HTML report to FILE: the score per interval and the
    /// last judgement's charts, group scores and verdict.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// `kanary canary`.
#[derive(Debug, Clone, Args)]
pub struct CanaryArgs {
    /// Production's namespace (default: the kubeconfig context's namespace).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Production's Deployment.
    #[arg(long, value_name = "NAME")]
    pub deployment: String,
    /// The container whose image the canary changes.
    #[arg(long, value_name = "NAME")]
    pub container: String,
    /// The canary's image, e.g. registry.example.com/web:1.4.0.
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// The canary config (JSON, as stored by Kayenta's /canaryConfig).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Where the metrics come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// How long the analysis runs once both are available, e.g. 1h.
    #[arg(long, value_name = "DURATION")]
    pub lifetime: String,
    /// How often to judge, e.g. 5m (default: once, at the end).
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// Seconds between data points.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(i64).range(1..))]
    pub step: i64,
    /// Pods in each of the baseline and the canary.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub replicas: i32,
    /// Warm-up once both are available, before the first window starts, e.g. 2m.
    #[arg(long, value_name = "DURATION")]
    pub begin_after: Option<String>,
    /// The last score must be at or above this to pass (default 95).
    #[arg(long, value_name = "N")]
    pub pass: Option<f64>,
    /// A score at or below this fails and stops the analysis (default 75).
    #[arg(long, value_name = "N")]
    pub marginal: Option<f64>,
    /// On a pass, set production's container image to --image and wait for its rollout.
    #[arg(long)]
    pub promote: bool,
    /// A label for both sides' pods over production's (repeatable), e.g. --pod-label
    /// track=canary so that a production selector with track=stable ignores them.
    #[arg(long = "pod-label", value_name = "KEY=VALUE")]
    pub pod_labels: Vec<String>,
    /// Wait at most this long for the baseline and canary to become available
    /// (default 10m).
    #[arg(long, value_name = "DURATION")]
    pub ready_timeout: Option<String>,
    /// Wait at most this long for production's rollout after --promote (default 10m).
    #[arg(long, value_name = "DURATION")]
    pub rollout_timeout: Option<String>,
    /// The run id, label kanary.io/run (default: a new random one).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// The scope name the config's metrics use (their `scopeName`).
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub scope_name: String,
    /// A kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// `text` for people; `json`: the stage's status.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Also write a self-contained HTML report of the analysis to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// `kanary judge`.
#[derive(Debug, Clone, Args)]
pub struct JudgeArgs {
    /// Folder with config.json, pairs.json and optionally thresholds.json.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The canary config (default: DIR/config.json).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The metric-set pair list, a JSON array (default: DIR/pairs.json).
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<PathBuf>,
    /// Score thresholds `{"pass": N, "marginal": N}` (default: DIR/thresholds.json if present).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// A score at or above this passes (overrides the thresholds file; default 95).
    #[arg(long, value_name = "N")]
    pub pass: Option<f64>,
    /// A score at or above this, and below pass, is marginal (overrides the thresholds file;
    /// default 75).
    #[arg(long, value_name = "N")]
    pub marginal: Option<f64>,
    /// Run this judge instead of the config's `judge.name` (Kayenta's overrideJudgeName),
    /// e.g. `NetflixACAJudge-v1.0` or `dredd-v1.0`.
    #[arg(long, value_name = "NAME")]
    pub judge: Option<String>,
    /// `text`: a table for people; `json`: Kayenta's CanaryJudgeResult.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Also write a self-contained HTML report (charts of both series, the verdict, the
    /// group scores) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// `kanary validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Canary config files (JSON).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// How `judge` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// An aligned table, the group scores and the verdict.
    Text,
    /// The `CanaryJudgeResult` as pretty JSON, as Kayenta writes it.
    Json,
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given whether stdout is a terminal and whether `NO_COLOR` is set
    /// (<https://no-color.org>: any non-empty value disables colour).
    pub fn enabled(self, stdout_is_terminal: bool, no_color: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && !no_color,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn byte_sizes_are_binary_units_as_spring_data_size() {
        assert_eq!(parse_byte_size("64MB"), Ok(64 * 1024 * 1024));
        assert_eq!(
            parse_byte_size("64MB"),
            Ok(crate::server::DEFAULT_MAX_BODY_BYTES)
        );
        assert_eq!(parse_byte_size("512KB"), Ok(512 * 1024));
        assert_eq!(parse_byte_size("512 kb"), Ok(512 * 1024));
        assert_eq!(parse_byte_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_byte_size("1000"), Ok(1000));
        assert_eq!(parse_byte_size("1000B"), Ok(1000));
        for bad in [
            "",
            "MB",
            "64XB",
            "-1",
            "1.5MB",
            "0",
            "0MB",
            "99999999999999999999GB",
        ] {
            let err = parse_byte_size(bad).expect_err(bad);
            assert!(!err.is_empty(), "{bad}");
        }
        assert_eq!(
            parse_byte_size("64XB"),
            Err("'64XB' is not a size: use bytes or a number with KB, MB or GB, e.g. 64MB".into())
        );
    }

    #[test]
    fn serve_flags_have_env_vars_and_defaults() {
        let cli = Cli::try_parse_from(["kanary", "serve"]).expect("parse");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.bind.to_string(), "127.0.0.1");
        assert_eq!(args.port, 8090);
        assert_eq!(args.database_url, "sqlite://kanary.db");
        assert_eq!(args.max_body, crate::server::DEFAULT_MAX_BODY_BYTES);
        assert!(!args.allow_anonymous);
        assert_eq!(args.log_format, LogFormat::Text);
        assert_eq!(args.lease, std::time::Duration::from_secs(15));
        let serve = Cli::command();
        let serve = serve.find_subcommand("serve").expect("serve");
        for arg in serve.get_arguments() {
            if arg.get_long().is_some_and(|l| l != "help" && l != "color") {
                let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
                assert!(
                    env.starts_with("KANARY_"),
                    "--{:?} has no KANARY_ env var",
                    arg.get_long()
                );
            }
        }
    }

    #[test]
    fn lease_is_a_duration_from_one_second_to_an_hour() {
        assert_eq!(parse_lease("1s"), Ok(std::time::Duration::from_secs(1)));
        assert_eq!(parse_lease("1m30s"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(parse_lease("1h"), Ok(std::time::Duration::from_secs(3600)));
        for bad in ["0s", "", "15", "2h", "1.5s", "-1s"] {
            let err = parse_lease(bad).expect_err(bad);
            assert!(err.starts_with("--lease: "), "{bad}: {err}");
        }
        let cli = Cli::try_parse_from(["kanary", "serve", "--lease", "2s"]).expect("parse");
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.lease, std::time::Duration::from_secs(2));
    }

    #[test]
    fn auto_colours_only_a_terminal_without_no_color() {
        assert!(ColorChoice::Auto.enabled(true, false));
        assert!(!ColorChoice::Auto.enabled(true, true));
        assert!(!ColorChoice::Auto.enabled(false, false));
        assert!(ColorChoice::Always.enabled(false, true));
        assert!(!ColorChoice::Never.enabled(true, false));
    }
}
