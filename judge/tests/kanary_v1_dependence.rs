//! kanary-v1's corrections for serial dependence and overdispersion (issue 8) against R
//! 4.2.2: Student's t (`pt`, `qt`), the lag-1 autocorrelation (`acf`), the serial-corrected
//! signed-rank test (the formula of `signed_rank.rs` written out independently in base R),
//! the Fligner–Killeen statistic (`fligner.test`) and the quasi-binomial dispersion
//! (`summary(glm(..., family = quasibinomial))`).
//!
//! Reference values: `testdata/r/kanary_v1_dependence.json`, made by
//! `Rscript testdata/r/kanary_v1_dependence.R testdata/r/kanary_v1_dependence.json`.

use kanary_judge::float;
use kanary_judge::kanary_v1::{
    Alternative, pt_upper, qt_upper, quasi_dispersion, serial_correction, signed_rank_test_serial,
    spread_test,
};
use serde::Deserialize;

/// Student's t: R's `pt` (Hill's algorithm / `pbeta`) against Lentz's continued fraction
/// with Lanczos' ln Γ here: a few ulps of ln Γ, amplified by the exponent.
const EPS_T_REL: f64 = 1e-12;
/// The t quantile: bisection to the last bit on a `pt` good to [`EPS_T_REL`].
const EPS_QT_REL: f64 = 1e-11;
/// Sums of products in another order.
const EPS_SUM_REL: f64 = 1e-13;
/// p-values of the serial-corrected test: `pt` in both, ranks and sums identical.
const EPS_P_REL: f64 = 1e-11;
/// R's `glm` stops its IRLS iterations at a relative deviance change of 1e-8
/// (`glm.control`), so its Pearson dispersion agrees with the exact one to a few 1e-6.
const EPS_GLM_REL: f64 = 1e-5;
/// `qnorm` (AS 241) in both; sums of normal scores in another order.
const EPS_FK_REL: f64 = 1e-12;

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    t: Option<f64>,
    df: Option<f64>,
    upper: Option<f64>,
    alternative: Option<String>,
    conf: Option<f64>,
    #[serde(default, with = "float::doubles")]
    x: Vec<f64>,
    #[serde(default, with = "float::doubles")]
    y: Vec<f64>,
    rho: Option<f64>,
    applied: Option<bool>,
    vif: Option<f64>,
    p_value: Option<f64>,
    lower: Option<f64>,
    statistic: Option<f64>,
    #[serde(default, with = "float::doubles")]
    canary: Vec<f64>,
    #[serde(default, with = "float::doubles")]
    total: Vec<f64>,
    pearson: Option<f64>,
    glm_dispersion: Option<f64>,
    direct: Option<f64>,
    satterthwaite: Option<f64>,
}

fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/r/kanary_v1_dependence.json"
    );
    let text = std::fs::read_to_string(path).expect("reference file");
    serde_json::from_str(&text).expect("reference JSON")
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    got == want || (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE)
}

fn alternative(s: &str) -> Alternative {
    match s {
        "greater" => Alternative::Greater,
        "less" => Alternative::Less,
        _ => Alternative::TwoSided,
    }
}

fn cases(kind: &str) -> Vec<Case> {
    let v: Vec<Case> = reference()
        .cases
        .into_iter()
        .filter(|c| c.kind == kind)
        .collect();
    assert!(!v.is_empty(), "no {kind} cases");
    v
}

#[test]
fn student_t_matches_r() {
    for c in cases("pt") {
        let (t, df, want) = (c.t.expect("t"), c.df.expect("df"), c.upper.expect("upper"));
        let got = pt_upper(t, df);
        assert!(close(got, want, EPS_T_REL), "{}: {got} vs R {want}", c.name);
    }
    for c in cases("qt") {
        let (u, df, want) = (c.upper.expect("upper"), c.df.expect("df"), c.t.expect("t"));
        let got = qt_upper(u, df);
        assert!(
            close(got, want, EPS_QT_REL),
            "{}: {got} vs R {want}",
            c.name
        );
    }
}

#[test]
fn serial_corrected_signed_rank_matches_r() {
    for c in cases("serial_sr") {
        let conf = c.conf.expect("conf");
        let alt = alternative(c.alternative.as_deref().expect("alternative"));
        let sc = serial_correction(&[&c.x]);
        assert!(
            close(sc.rho, c.rho.expect("rho"), EPS_SUM_REL),
            "{}: rho {} vs R {:?}",
            c.name,
            sc.rho,
            c.rho
        );
        assert_eq!(sc.applied, c.applied.expect("applied"), "{}", c.name);
        assert!(close(sc.variance_factor, c.vif.expect("vif"), EPS_SUM_REL));
        let (t, sc2) = signed_rank_test_serial(&c.x, alt, conf);
        assert_eq!(sc, sc2);
        let want = c.p_value.expect("p");
        assert!(
            close(t.p_value, want, EPS_P_REL),
            "{}: p {} vs R {want}",
            c.name,
            t.p_value
        );
        // The interval's ends are Walsh averages at the same rank: the same data points, up
        // to R's (a + b)/2 against kanary's a/2 + b/2.
        let (lo, hi) = (c.lower.expect("lower"), c.upper.expect("upper"));
        assert!(close(t.lower, lo, 1e-14), "{}: {} vs {lo}", c.name, t.lower);
        assert!(close(t.upper, hi, 1e-14), "{}: {} vs {hi}", c.name, t.upper);
    }
}

#[test]
fn fligner_killeen_matches_r() {
    for c in cases("fligner") {
        let r = spread_test(&c.x, &c.y);
        let want = c.statistic.expect("statistic");
        assert!(
            close(r.z * r.z, want, EPS_FK_REL),
            "{}: z² {} vs R {want}",
            c.name,
            r.z * r.z
        );
        // R's p-value is two-sided (χ²₁); kanary's one-sided p is half of it in the
        // direction of z when no serial correction applies.
        if !r.serial.applied {
            let two = c.p_value.expect("p");
            let want = if r.z > 0.0 {
                two / 2.0
            } else {
                1.0 - two / 2.0
            };
            assert!(
                close(r.p_value, want, 1e-9),
                "{}: p {} vs {want}",
                c.name,
                r.p_value
            );
        }
    }
}

#[test]
fn quasi_binomial_dispersion_matches_glm() {
    for c in cases("quasi") {
        let d = quasi_dispersion(&c.canary, &c.total);
        // R's glm: the Pearson dispersion at its IRLS fit of p.
        let glm = c.glm_dispersion.expect("glm");
        let pearson = c.pearson.expect("pearson");
        assert!(
            close(pearson, glm, EPS_GLM_REL),
            "{}: {pearson} vs glm {glm}",
            c.name
        );
        let want = c
            .pearson
            .expect("pearson")
            .max(c.direct.expect("direct"))
            .max(1.0);
        assert!(
            close(d.phi, want, EPS_SUM_REL),
            "{}: {} vs {want}",
            c.name,
            d.phi
        );
        if d.phi > 1.0 {
            let nu = c.satterthwaite.expect("satterthwaite");
            assert!(nu <= c.df.expect("df"));
            assert!(
                close(d.df, nu, EPS_SUM_REL),
                "{}: df {} vs {nu}",
                c.name,
                d.df
            );
        } else {
            assert!(d.df.is_infinite());
        }
    }
}

#[test]
fn white_noise_keeps_the_exact_test() {
    // r₁ of an alternating series is negative: no correction, the exact small-n path.
    let d: Vec<f64> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                1.0 + i as f64
            } else {
                -0.5 - i as f64 / 3.0
            }
        })
        .collect();
    let (t, sc) = signed_rank_test_serial(&d, Alternative::TwoSided, 0.975);
    assert!(sc.rho < 0.0 && !sc.applied);
    assert!(t.exact);
    assert_eq!(sc.variance_factor, 1.0);
    // A random walk's differences are strongly autocorrelated: corrected, not exact.
    let walk: Vec<f64> = (0..60).map(|i| (i as f64 / 6.0).sin() + 0.3).collect();
    let (t, sc) = signed_rank_test_serial(&walk, Alternative::TwoSided, 0.975);
    assert!(sc.applied && sc.rho > 0.9, "{sc:?}");
    assert!(!t.exact);
    assert!(sc.effective_n < 5.0, "{sc:?}");
}
