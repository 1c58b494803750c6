//! Adjusted p-values across the family of metrics, so that each is compared with `alpha`
//! (R 4.2.2's `p.adjust`, `src/library/stats/R/p.adjust.R`, for Holm, BH and BY).
//!
//! - `holm`: Holm (1979); controls the chance of any false flag at `alpha` under any
//!   dependence.
//! - `fdr`: Holm over the critical members at level α·m_c/m and Benjamini & Hochberg (1995)
//!   over the others at α·(m − m_c)/m; the adjusted values are rescaled so that both are
//!   compared with `alpha`. When every metric is healthy, the chance of any flag is at most
//!   α·m_c/m + α·(m − m_c)/m = α (BH controls the family-wise rate under the global null),
//!   under positive dependence (Benjamini & Yekutieli 2001, Thm 1.2).
//! - `fdr-by`: the same with Benjamini & Yekutieli (2001, Thm 1.3) for the others: valid
//!   under any dependence.

/// How p-values are adjusted across metrics (`judge.judgeConfigurations.errorControl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorControl {
    /// Holm's step-down (family-wise error), the default.
    #[default]
    Holm,
    /// Holm on critical metrics, Benjamini–Hochberg on the others.
    Fdr,
    /// Holm on critical metrics, Benjamini–Yekutieli on the others.
    FdrBy,
}

impl ErrorControl {
    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorControl::Holm => "holm",
            ErrorControl::Fdr => "fdr",
            ErrorControl::FdrBy => "fdr-by",
        }
    }

    /// Parses `holm`, `fdr`, `fdr-by`.
    pub fn parse(s: &str) -> Option<ErrorControl> {
        match s {
            "holm" => Some(ErrorControl::Holm),
            "fdr" => Some(ErrorControl::Fdr),
            "fdr-by" => Some(ErrorControl::FdrBy),
            _ => None,
        }
    }
}

/// Indices sorted by p ascending, ties by position (deterministic).
fn order(p: &[f64]) -> Vec<usize> {
    let mut o: Vec<usize> = (0..p.len()).collect();
    o.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    o
}

/// `p.adjust(p, "holm")`: pmin(1, cummax((n − i + 1) · p_(i))).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let n = p.len();
    let mut out = vec![1.0; n];
    let mut running: f64 = 0.0;
    for (i, &k) in order(p).iter().enumerate() {
        running = running.max(((n - i) as f64 * p[k]).min(1.0));
        out[k] = running;
    }
    out
}

/// `p.adjust(p, "BH")` (`by = false`) or `"BY"` (`by = true`):
/// pmin(1, cummin(q · n / i · p_(i))) from the largest down, q = Σ 1/i for BY, else 1.
pub fn step_up(p: &[f64], by: bool) -> Vec<f64> {
    let n = p.len();
    let q: f64 = if by {
        (1..=n).map(|i| 1.0 / i as f64).sum()
    } else {
        1.0
    };
    let o = order(p);
    let mut out = vec![1.0; n];
    let mut running = f64::INFINITY;
    for i in (0..n).rev() {
        let k = o[i];
        running = running.min(q * n as f64 / (i + 1) as f64 * p[k]);
        out[k] = running.min(1.0);
    }
    out
}

/// Adjusted p-values of the family; `critical[i]` marks the critical members.
pub fn adjust(p: &[f64], critical: &[bool], control: ErrorControl) -> Vec<f64> {
    let m = p.len();
    if control == ErrorControl::Holm || m == 0 {
        return holm(p);
    }
    let crit: Vec<usize> = (0..m).filter(|&i| critical[i]).collect();
    let rest: Vec<usize> = (0..m).filter(|&i| !critical[i]).collect();
    let mut out = vec![1.0; m];
    // Holm at α·m_c/m ⇔ Holm-adjusted · m/m_c compared with α.
    let pc: Vec<f64> = crit.iter().map(|&i| p[i]).collect();
    for (k, a) in crit.iter().zip(holm(&pc)) {
        out[*k] = (a * m as f64 / crit.len() as f64).min(1.0);
    }
    let pr: Vec<f64> = rest.iter().map(|&i| p[i]).collect();
    let adjusted = step_up(&pr, control == ErrorControl::FdrBy);
    for (k, a) in rest.iter().zip(adjusted) {
        out[*k] = (a * m as f64 / rest.len() as f64).min(1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R 4.2.2: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm" / "BH" / "BY").
    #[test]
    fn matches_p_adjust() {
        let p = [0.01, 0.04, 0.03, 0.005];
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-15);
        assert!(
            close(&holm(&p), &[0.03, 0.06, 0.06, 0.02]),
            "{:?}",
            holm(&p)
        );
        assert!(close(&step_up(&p, false), &[0.02, 0.04, 0.04, 0.02]));
        let by = step_up(&p, true);
        let q = 1.0 + 0.5 + 1.0 / 3.0 + 0.25;
        assert!(
            close(&by, &[0.02 * q, 0.04 * q, 0.04 * q, 0.02 * q]),
            "{by:?}"
        );
    }

    #[test]
    fn fdr_splits_alpha_between_critical_and_others() {
        let p = [0.01, 0.02, 0.5, 0.001];
        let crit = [true, false, false, false];
        let a = adjust(&p, &crit, ErrorControl::Fdr);
        // Critical: Holm over 1 member, times m/m_c = 4.
        assert!((a[0] - 0.04).abs() < 1e-15);
        // Others: BH over 3 members, times 4/3.
        assert!((a[3] - 0.001 * 3.0 * 4.0 / 3.0).abs() < 1e-15);
        assert!((a[1] - 0.02 * 3.0 / 2.0 * 4.0 / 3.0).abs() < 1e-15);
        assert_eq!(adjust(&[], &[], ErrorControl::Fdr), Vec::<f64>::new());
    }
}
