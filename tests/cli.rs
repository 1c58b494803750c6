//! The `kanary` binary, run as a user runs it, on `testdata/`.

use kanary_scoring::CanaryJudgeResult;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Scores are rounded to 2 decimals by the scorer; compare them as the numbers they are.
const EPS_SCORE: f64 = 1e-9;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kanary<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_kanary"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run kanary");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn examples() -> PathBuf {
    root().join("testdata/examples")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("serialize");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The one line an unusable input prints on stderr.
fn one_error_line(run: &Run) -> &str {
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stdout, "", "nothing on stdout on an error");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", run.stderr);
    assert!(lines[0].starts_with("kanary: "), "{}", lines[0]);
    lines[0]
}

/// A scratch folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("kanary-cli-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// A copy of an example case.
    fn with_example(name: &str) -> TempDir {
        let t = TempDir::new();
        for entry in std::fs::read_dir(examples().join(name)).expect("example dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let file_name = path.file_name().expect("file name");
                std::fs::copy(&path, t.0.join(file_name)).expect("copy");
            }
        }
        t
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn arg(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_result(run: &Run) -> CanaryJudgeResult {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a CanaryJudgeResult: {e}\n{}", run.stdout))
}

fn expected_code(classification: &str) -> i32 {
    match classification {
        "Pass" => 0,
        "Marginal" => 3,
        "Fail" => 1,
        other => panic!("unexpected summary classification {other}"),
    }
}

/// Every case folder of `testdata/examples/` gives what its `expected.json` says; new
/// folders are picked up without touching this test.
#[test]
fn examples_match_expected() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(examples())
        .expect("testdata/examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    for case in &cases {
        assert!(
            case.join("expected.json").is_file(),
            "{}: a case folder needs an expected.json",
            case.display()
        );
    }
    assert!(
        cases.len() >= 7,
        "expected the recorded cases, found {cases:?}"
    );

    let mut disagreements = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let expected = read_json(&case.join("expected.json"));
        let run = kanary([
            Path::new("judge"),
            case,
            Path::new("--format"),
            Path::new("json"),
        ]);
        let result = parse_result(&run);
        let mut differ = |what: String| disagreements.push(format!("{name}: {what}"));

        let want_class = expected["classification"].as_str().expect("classification");
        if result.score.classification.as_str() != want_class {
            differ(format!(
                "classification {} (score {}), expected {want_class}",
                result.score.classification, result.score.score
            ));
        }
        if let Some(want_score) = expected["score"].as_f64() {
            if (result.score.score - want_score).abs() > EPS_SCORE {
                differ(format!(
                    "score {}, expected {want_score}",
                    result.score.score
                ));
            }
        }
        let want_reason = expected["reason"].as_str().unwrap_or("");
        if result.score.classification_reason != want_reason {
            differ(format!(
                "reason {:?}, expected {want_reason:?}",
                result.score.classification_reason
            ));
        }
        if run.code != expected_code(want_class) {
            differ(format!(
                "exit code {}, expected {}",
                run.code,
                expected_code(want_class)
            ));
        }
        let metrics = expected["metrics"].as_object().expect("metrics");
        for (metric, want) in metrics {
            let got: Vec<&str> = result
                .results
                .iter()
                .filter(|r| &r.name == metric)
                .map(|r| r.classification.as_str())
                .collect();
            if got.is_empty() || got.iter().any(|g| Some(*g) != want.as_str()) {
                differ(format!("metric {metric}: {got:?}, expected {want}"));
            }
        }
        for r in &result.results {
            if !metrics.contains_key(&r.name) {
                differ(format!("metric {} is not in expected.json", r.name));
            }
        }
        assert_eq!(run.stderr, "", "{name}: nothing on stderr");
    }
    assert!(
        disagreements.is_empty(),
        "the judge disagrees with expected.json:\n{}",
        disagreements.join("\n")
    );
}

#[test]
fn text_report_lists_every_metric_and_the_verdict() {
    let run = kanary(["judge", "testdata/examples/latency-regression"]);
    assert_eq!(run.code, 1, "Fail: {}", run.stderr);
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour when not a terminal"
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    for metric in [
        "latency_p50_seconds",
        "latency_p99_seconds",
        "error_rate",
        "request_rate",
        "cpu_cores",
        "memory_rss_bytes",
    ] {
        let row = lines
            .iter()
            .find(|l| l.starts_with(&format!("{metric} ")))
            .unwrap_or_else(|| panic!("no row for {metric}:\n{}", run.stdout));
        let want = if metric.starts_with("latency") {
            "High"
        } else {
            "Pass"
        };
        assert_eq!(row.split_whitespace().nth(2), Some(want), "{row}");
    }
    assert_eq!(
        lines.last(),
        Some(&"Verdict: Fail (score 50.0; pass >= 95, marginal >= 75)")
    );

    // Columns are aligned: every row's classification starts under its header.
    let header = lines
        .iter()
        .find(|l| l.starts_with("metric "))
        .expect("header");
    let column = header
        .find("classification")
        .expect("classification column");
    for row in lines
        .iter()
        .filter(|l| l.starts_with("latency_") || l.starts_with("cpu_"))
    {
        assert!(
            row[column..].starts_with("High") || row[column..].starts_with("Pass"),
            "misaligned: {row}"
        );
    }
    // The p50 row: means, ratio, interval and counts from the judge's result.
    let p50 = lines
        .iter()
        .find(|l| l.starts_with("latency_p50_seconds"))
        .expect("p50 row");
    for cell in ["0.122", "0.1659", "1.36", "[0.03941, 0.04867]", "60/60"] {
        assert!(p50.contains(cell), "{cell} missing in {p50}");
    }
    assert!(
        p50.ends_with("latency_p50_seconds was classified as High"),
        "{p50}"
    );
    // Group scores with their weights.
    let latency_group = lines
        .iter()
        .find(|l| l.starts_with("latency ") && !l.contains("seconds"))
        .expect("latency group row");
    assert_eq!(
        latency_group.split_whitespace().collect::<Vec<_>>(),
        ["latency", "0", "50"]
    );
}

#[test]
fn text_report_marks_muted_metrics_and_gives_the_reason() {
    let run = kanary(["judge", "testdata/examples/muted-failing"]);
    assert_eq!(run.code, 0);
    let memory = run
        .stdout
        .lines()
        .find(|l| l.starts_with("memory_rss_bytes"))
        .expect("memory row");
    assert!(memory.contains("High (muted)"), "{memory}");

    let run = kanary(["judge", "testdata/examples/error-spike-critical"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("High (critical)"), "{}", run.stdout);
    assert_eq!(
        run.stdout.lines().last(),
        Some(
            "Verdict: Fail (score 0.0; pass >= 95, marginal >= 75): Canary Failed: The metric \
             error_rate was classified as High (Critical)"
        )
    );
}

#[test]
fn threshold_flags_override_the_thresholds_file() {
    // latency-regression scores 50; its thresholds.json says 95 / 75.
    let run = kanary([
        "judge",
        "testdata/examples/latency-regression",
        "--pass",
        "60",
        "--marginal",
        "50",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 3, "Marginal exits 3: {}", run.stderr);
    assert_eq!(parse_result(&run).score.classification.as_str(), "Marginal");

    let run = kanary([
        "judge",
        "testdata/examples/latency-regression",
        "--pass",
        "50",
        "--format",
        "json",
    ]);
    // Only pass overridden: marginal 75 from the file is above it.
    let line = one_error_line(&run);
    assert!(
        line.contains(
            "marginal threshold 75 (from testdata/examples/latency-regression/thresholds.json)"
        ) && line.contains("pass threshold 50 (from --pass)"),
        "{line}"
    );
}

#[test]
fn the_thresholds_file_of_dir_is_read() {
    let dir = TempDir::with_example("latency-regression");
    write_json(
        &dir.path("thresholds.json"),
        &serde_json::json!({"pass": 50, "marginal": 25}),
    );
    let run = kanary([
        Path::new("judge"),
        dir.arg(),
        Path::new("--format"),
        Path::new("json"),
    ]);
    assert_eq!(run.code, 0, "50 passes at pass 50: {}", run.stderr);
    let text = kanary([Path::new("judge"), dir.arg()]);
    assert_eq!(
        text.stdout.lines().last(),
        Some("Verdict: Pass (score 50.0; pass >= 50, marginal >= 25)")
    );
}

#[test]
fn config_and_pairs_flags_need_no_dir() {
    let run = kanary([
        "judge",
        "--config",
        "testdata/examples/healthy/config.json",
        "--pairs",
        "testdata/examples/healthy/pairs.json",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let result = parse_result(&run);
    assert_eq!(result.score.score, 100.0);
    assert_eq!(result.results.len(), 6);

    let run = kanary(["judge", "--config", "testdata/examples/healthy/config.json"]);
    let line = one_error_line(&run);
    assert!(line.contains("both --config and --pairs"), "{line}");
}

#[test]
fn malformed_json_names_the_file_line_and_column() {
    let dir = TempDir::with_example("healthy");
    std::fs::write(
        dir.path("pairs.json"),
        "[\n  {\"name\": \"cpu_cores\",\n    \"values\": }\n]",
    )
    .expect("write");
    let run = kanary([Path::new("judge"), dir.arg()]);
    let line = one_error_line(&run);
    assert_eq!(
        line,
        format!(
            "kanary: {}: invalid JSON at line 3 column 15: expected value",
            dir.path("pairs.json").display()
        )
    );
}

#[test]
fn wrong_types_name_the_json_path() {
    let dir = TempDir::with_example("healthy");
    let mut pairs = read_json(&dir.path("pairs.json"));
    pairs[2]["values"]["control"] = Value::String("0.002, 0.003".into());
    write_json(&dir.path("pairs.json"), &pairs);
    let run = kanary([Path::new("judge"), dir.arg()]);
    let line = one_error_line(&run);
    let prefix = format!(
        "kanary: {}: $[2].values.control: invalid type: string",
        dir.path("pairs.json").display()
    );
    assert!(line.starts_with(&prefix), "{line}");

    // A pair list that is not a list.
    write_json(
        &dir.path("pairs.json"),
        &serde_json::json!({"name": "cpu_cores"}),
    );
    let run = kanary([Path::new("judge"), dir.arg()]);
    let line = one_error_line(&run);
    assert!(line.ends_with("expected a JSON array of metric-set pairs (as GET /metricSetPairList/{id} serves it), got an object"), "{line}");
}

#[test]
fn a_pair_without_metric_config_is_kayentas_error() {
    let dir = TempDir::with_example("healthy");
    let mut pairs = read_json(&dir.path("pairs.json"));
    pairs[1]["name"] = Value::String("latency".into());
    write_json(&dir.path("pairs.json"), &pairs);
    let run = kanary([Path::new("judge"), dir.arg()]);
    let line = one_error_line(&run);
    assert!(
        line.starts_with(&format!(
            "kanary: {}: pair $[1] ('latency'): Could not find metric config for latency",
            dir.path("pairs.json").display()
        )),
        "{line}"
    );
}

#[test]
fn missing_dir_and_files_name_the_path() {
    let run = kanary(["judge", "testdata/examples/no-such-case"]);
    assert_eq!(
        one_error_line(&run),
        "kanary: testdata/examples/no-such-case: no such directory"
    );

    let dir = TempDir::with_example("healthy");
    std::fs::remove_file(dir.path("pairs.json")).expect("remove");
    let run = kanary([Path::new("judge"), dir.arg()]);
    let line = one_error_line(&run);
    assert!(
        line.starts_with(&format!(
            "kanary: {}: cannot read: ",
            dir.path("pairs.json").display()
        )),
        "{line}"
    );
}

#[test]
fn marginal_above_pass_and_out_of_range_thresholds_are_mistakes() {
    let run = kanary([
        "judge",
        "testdata/examples/healthy",
        "--pass",
        "70",
        "--marginal",
        "80",
    ]);
    assert_eq!(
        one_error_line(&run),
        "kanary: the marginal threshold 80 (from --marginal) is above the pass threshold 70 \
         (from --pass): no score could be Marginal; use marginal <= pass"
    );
    let run = kanary(["judge", "testdata/examples/healthy", "--pass", "150"]);
    assert_eq!(
        one_error_line(&run),
        "kanary: --pass: a score threshold must be a number from 0 to 100, got 150"
    );
    let run = kanary(["judge", "testdata/examples/healthy", "--marginal", "NaN"]);
    assert_eq!(
        one_error_line(&run),
        "kanary: --marginal: a score threshold must be a number from 0 to 100, got NaN"
    );
}

#[test]
fn an_unknown_judge_is_kayentas_error() {
    let run = kanary([
        "judge",
        "testdata/examples/healthy",
        "--judge",
        "nonexistent",
    ]);
    let line = one_error_line(&run);
    assert!(
        line.starts_with("kanary: --judge: Unable to resolve canary judge 'nonexistent'."),
        "{line}"
    );
}

#[test]
fn the_judge_flag_overrides_the_config() {
    let args = [
        "judge",
        "testdata/examples/healthy",
        "--judge",
        "dredd-v1.0",
        "--format",
        "json",
    ];
    let first = kanary(args);
    let result = parse_result(&first);
    assert_eq!(result.judge_name, "dredd-v1.0");
    assert_eq!(result.results.len(), 6);
    // kanary seeds dredd by the data: the same run gives the same bytes.
    assert_eq!(kanary(args).stdout, first.stdout);
}

#[test]
fn a_config_metric_without_pair_is_a_warning_and_the_rest_is_judged() {
    let dir = TempDir::with_example("healthy");
    let mut pairs = read_json(&dir.path("pairs.json"));
    let removed = pairs.as_array_mut().expect("array").remove(3);
    assert_eq!(removed["name"], "request_rate");
    write_json(&dir.path("pairs.json"), &pairs);
    let run = kanary([
        Path::new("judge"),
        dir.arg(),
        Path::new("--format"),
        Path::new("json"),
    ]);
    assert_eq!(
        run.stderr,
        format!(
            "kanary: warning: metric 'request_rate' has no metric-set pair in {}; it is not judged\n",
            dir.path("pairs.json").display()
        )
    );
    let result = parse_result(&run);
    assert_eq!(result.results.len(), 5);
    assert!(result.results.iter().all(|r| r.name != "request_rate"));
    // Kayenta counts the weight of the missing traffic group (10) in the sum all the same.
    assert_eq!(result.score.score, 90.0);
    assert_eq!(run.code, 3);
}

#[test]
fn a_setting_of_the_wrong_type_names_the_field() {
    let dir = TempDir::with_example("healthy");
    let mut config = read_json(&dir.path("config.json"));
    config["metrics"][2]["analysisConfigurations"]["canary"]["critical"] =
        Value::String("yes".into());
    write_json(&dir.path("config.json"), &config);
    let run = kanary([Path::new("judge"), dir.arg()]);
    assert_eq!(
        one_error_line(&run),
        format!(
            "kanary: {}: $.metrics[2].analysisConfigurations.canary.critical (metric \
             'error_rate'): must be a boolean (true or false), got the string \"yes\"",
            dir.path("config.json").display()
        )
    );
}

#[test]
fn validate_accepts_a_good_config() {
    let run = kanary(["validate", "testdata/examples/healthy/config.json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.stdout, "testdata/examples/healthy/config.json: ok\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn validate_reports_every_problem_with_its_path() {
    let file = "testdata/validate/several-problems.json";
    let run = kanary(["validate", file]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let has = |path: &str, text: &str| {
        let prefix = format!("{file}: {path}: ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(text)),
            "no line `{prefix}...{text}...` in\n{}",
            run.stdout
        );
    };
    has(
        "$.metrics[2].name",
        "duplicated metric name 'latency', first at $.metrics[0] (Kayenta: Metric config name \
         must be unique. 'latency' is duplicated.)",
    );
    has(
        "$.metrics[0].query.customFilterTemplate",
        "Custom filter template 'web-pod' was not found.",
    );
    has(
        "warning: $.classifier.groupWeights",
        "the weights sum to 120, over 100",
    );
    has(
        "$.judge.name",
        "Unable to resolve canary judge 'NetflixACAJudge-v2.0'.",
    );
    has("$.name", "'web canary' contains ' '");
    has(
        "$.metrics[1].query.customFilter",
        "CanaryMetricSetQueryConfig.customFilter is deprecated, use \
         CanaryMetricSetQueryConfig.customInlineTemplate instead.",
    );
    has(
        "warning: $.metrics[1].analysisConfigurations.canary.direction",
        "'up' is not a direction Kayenta knows; it reads it as 'either'",
    );
    has(
        "warning: $.metrics[1].analysisConfigurations.canary.muted",
        "critical and muted",
    );
    has(
        "$.metrics[2].query.customInlineTemplate",
        "'${' at character 24 is never closed",
    );
    has(
        "$.metrics[2].analysisConfigurations.canary.outliers.outlierFactor",
        "must be greater than zero, got 0",
    );
    has(
        "$.metrics[2].scopeName",
        "Canary scope for metric named 'latency' is null.",
    );
    has(
        "$.classifier.scoreThresholds.marginal",
        "marginal 95 is above pass 75",
    );
    assert_eq!(
        lines.last(),
        Some(&"testdata/validate/several-problems.json: invalid (9 errors, 3 warnings)")
    );
    assert!(!run.stdout.contains(": ok"), "{}", run.stdout);
}

#[test]
fn validate_reports_wrong_types_and_keeps_going() {
    let file = "testdata/validate/wrong-types.json";
    let run = kanary(["validate", file]);
    assert_eq!(run.code, 2);
    let expected = [
        "$.applications: expected an array, got the string \"web\"",
        "$.templates[\"web-pods\"]: expected a string, got the number 42",
        "$.metrics[0].query.labelBindings: expected an array, got the string \"job=\\\"web\\\"\"",
        "$.metrics[0].groups: expected an array, got the string \"latency\"",
        "$.metrics[0].analysisConfigurations.canary.critical: must be a boolean (true or false), got the string \"yes\"",
        "$.classifier.groupWeights.latency: expected a number, got the string \"100\"",
        "invalid (6 errors)",
    ];
    let want: Vec<String> = expected.iter().map(|e| format!("{file}: {e}")).collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), want);
}

#[test]
fn validate_passes_a_config_with_only_warnings() {
    let file = "testdata/validate/warnings-only.json";
    let run = kanary(["validate", file]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.stdout.lines().last(),
        Some("testdata/validate/warnings-only.json: ok (5 warnings)")
    );
    for path in [
        "warning: $.metrics[0].analysisConfigurations.canary.direciton: unknown setting 'direciton' (did you mean 'direction'?)",
        "warning: $.metrics[0].analysisConfigurations.canary.nanStrategy: 'drop' is not a nanStrategy",
        "warning: $.metrics[0].analysisConfigurations.canary.effectSize.measure: 'meanratio'",
        "warning: $.metrics[0].analysisConfigurations.canary.effectSize.allowedIncrease: 0.9 is below 1",
        "note: $.metrics[1].groups[0]: group 'saturation' has no weight",
    ] {
        let prefix = format!("{file}: {path}");
        assert!(
            run.stdout.lines().any(|l| l.starts_with(&prefix)),
            "no line `{prefix}` in\n{}",
            run.stdout
        );
    }
}

#[test]
fn validate_checks_every_file_and_fails_if_any_is_bad() {
    let dir = TempDir::new();
    std::fs::write(
        dir.path("broken.json"),
        "{\"name\": \"x\",\n \"metrics\": [}",
    )
    .expect("write");
    let broken = dir.path("broken.json").display().to_string();
    let missing = dir.path("missing.json").display().to_string();
    let run = kanary([
        "validate",
        "testdata/examples/healthy/config.json",
        &broken,
        &missing,
        "testdata/examples/no-data/config.json",
    ]);
    assert_eq!(run.code, 2);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "testdata/examples/healthy/config.json: ok");
    assert_eq!(
        lines[1],
        format!("{broken}: invalid JSON at line 2 column 14: expected value")
    );
    assert_eq!(lines[2], format!("{broken}: invalid (1 error)"));
    assert!(
        lines[3].starts_with(&format!("{missing}: cannot read: ")),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "testdata/examples/no-data/config.json: ok");
    assert_eq!(lines.len(), 5);
}

#[test]
fn help_explains_dir_exit_codes_and_an_example() {
    let run = kanary(["judge", "--help"]);
    assert_eq!(run.code, 0);
    for text in [
        "config.json",
        "pairs.json",
        "thresholds.json",
        "Exit status:",
        "3  Marginal",
        "kanary judge testdata/examples/latency-regression",
        "--format <FORMAT>",
    ] {
        assert!(
            run.stdout.contains(text),
            "`{text}` missing in\n{}",
            run.stdout
        );
    }
    let run = kanary(["validate", "--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Exit status:"), "{}", run.stdout);

    // A usage mistake is clap's, and exits 2 like any unusable input.
    let run = kanary(["judge", "--format", "yaml"]);
    assert_eq!(run.code, 2);
}

#[test]
fn colour_only_when_asked_for_off_a_terminal() {
    let run = kanary([
        "judge",
        "testdata/examples/latency-regression",
        "--color",
        "always",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("Verdict: \x1b[1;31mFail\x1b[0m (score 50.0"),
        "{}",
        run.stdout
    );
    // `auto` off a terminal (the tests' pipe) never colours.
    let run = kanary(["judge", "testdata/examples/latency-regression"]);
    assert!(!run.stdout.contains('\x1b'));
}
