//! kanary-v1's statistics against R 4.2.2: `wilcox.test` one- and two-sample p-values (exact
//! and normal branches) and, in the exact branch, the interval and Hodges–Lehmann estimate;
//! `binom.test` p-values and Clopper–Pearson intervals; `p.adjust` (Holm, BH, BY).
//!
//! Reference values: `testdata/r/kanary_v1_reference.json`, made by
//! `Rscript testdata/r/kanary_v1_reference.R testdata/r/kanary_v1_reference.json`.

use kanary_judge::float;
use kanary_judge::kanary_v1::{
    Alternative, binom_test_p, clopper_pearson, holm, rank_sum_test, signed_rank_test, step_up,
};
use serde::Deserialize;

/// p-values: the same formulas as R (exact counts; Cody's normal); sums in another order.
const EPS_P_REL: f64 = 1e-10;
/// Interval ends and estimates in the exact branch are order statistics: the same data
/// points, up to the last bit of `(a + b) / 2` (R) against `a/2 + b/2` (kanary).
const EPS_CI_REL: f64 = 1e-14;
/// Clopper–Pearson ends: R inverts `qbeta`, kanary bisects the exact binomial tails.
const EPS_BINOM_CI_REL: f64 = 1e-9;

#[derive(Deserialize)]
struct Reference {
    p_adjust: Adjust,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Adjust {
    p: Vec<f64>,
    holm: Vec<f64>,
    #[serde(rename = "BH")]
    bh: Vec<f64>,
    #[serde(rename = "BY")]
    by: Vec<f64>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    alternative: String,
    conf_level: f64,
    #[serde(default, with = "float::doubles")]
    x: Vec<f64>,
    #[serde(default, with = "float::doubles")]
    y: Vec<f64>,
    p_value: f64,
    #[serde(default, with = "float::doubles")]
    conf_int: Vec<f64>,
    estimate: Option<f64>,
    successes: Option<f64>,
    trials: Option<f64>,
    p: Option<f64>,
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    got == want || (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE)
}

fn load() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/r/kanary_v1_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("json")
}

#[test]
fn rank_tests_and_binomial_match_r() {
    let reference = load();
    assert_eq!(reference.cases.len(), 26);
    for c in &reference.cases {
        let alt = match c.alternative.as_str() {
            "greater" => Alternative::Greater,
            "less" => Alternative::Less,
            _ => Alternative::TwoSided,
        };
        // R's two-sided interval at conf.level is a pair of one-sided bounds at (1 + cl)/2.
        let one_sided = (1.0 + c.conf_level) / 2.0;
        match c.kind.as_str() {
            "signed_rank" | "rank_sum" => {
                let t = if c.kind == "signed_rank" {
                    signed_rank_test(&c.x, alt, one_sided)
                } else {
                    rank_sum_test(&c.x, &c.y, alt, one_sided)
                };
                assert!(
                    close(t.p_value, c.p_value, EPS_P_REL),
                    "{}: p {} vs R {}",
                    c.name,
                    t.p_value,
                    c.p_value
                );
                if let Some(e) = c.estimate {
                    assert!(t.exact, "{}", c.name);
                    assert!(
                        close(t.estimate, e, EPS_CI_REL),
                        "{}: estimate {} vs R {e}",
                        c.name,
                        t.estimate
                    );
                    assert!(
                        close(t.lower, c.conf_int[0], EPS_CI_REL),
                        "{}: lower {} vs R {}",
                        c.name,
                        t.lower,
                        c.conf_int[0]
                    );
                    assert!(
                        close(t.upper, c.conf_int[1], EPS_CI_REL),
                        "{}: upper {} vs R {}",
                        c.name,
                        t.upper,
                        c.conf_int[1]
                    );
                } else {
                    assert!(!t.exact, "{}", c.name);
                }
            }
            "binom" => {
                let x = c.successes.expect("x") as u64;
                let n = c.trials.expect("n") as u64;
                let p = binom_test_p(x, n, c.p.expect("p"), alt);
                assert!(
                    close(p, c.p_value, EPS_P_REL),
                    "{}: p {p} vs R {}",
                    c.name,
                    c.p_value
                );
                let (lo, hi) = clopper_pearson(x, n, one_sided);
                assert!(
                    close(lo, c.conf_int[0], EPS_BINOM_CI_REL),
                    "{}: lower {lo} vs R {}",
                    c.name,
                    c.conf_int[0]
                );
                assert!(
                    close(hi, c.conf_int[1], EPS_BINOM_CI_REL),
                    "{}: upper {hi} vs R {}",
                    c.name,
                    c.conf_int[1]
                );
            }
            other => panic!("unknown kind {other}"),
        }
    }
}

#[test]
fn p_adjust_matches_r() {
    let a = load().p_adjust;
    for (got, want, what) in [
        (holm(&a.p), &a.holm, "holm"),
        (step_up(&a.p, false), &a.bh, "BH"),
        (step_up(&a.p, true), &a.by, "BY"),
    ] {
        for (g, w) in got.iter().zip(want) {
            assert!(close(*g, *w, 1e-14), "{what}: {g} vs R {w}");
        }
    }
}
