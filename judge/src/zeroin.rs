//! Brent's root finder as R's `R_zeroin2` (`src/library/stats/src/zeroin.c`, used by
//! `uniroot`) and Kayenta's port of it (`kayenta-mannwhitney/.../BrentSolver.java`).
//!
//! The port is literal, step for step, because the Mann-Whitney interval's endpoints are
//! wherever this solver stops on a step function: another solver (or the same one with
//! another tolerance) gives other digits. The one difference from R: "is zero" is Commons
//! Math's `Precision.equals(x, 0)` (within one ulp), as in Kayenta.

/// Kayenta's `TOLERANCE` (R's `uniroot(tol = 1e-4)` as `wilcox.test` calls it).
pub const TOLERANCE: f64 = 1e-4;
/// Kayenta's `MAX_ITERATIONS` (R's `uniroot` default `maxiter = 1000`).
pub const MAX_ITERATIONS: usize = 1000;
const EPSILON: f64 = f64::EPSILON;

fn is_zero(x: f64) -> bool {
    // Precision.equals(x, 0.0, 1): at most one ulp from zero.
    x.abs() <= f64::from_bits(1)
}

/// Finds a root of `f` in `[ax, bx]` given `fa = f(ax)` and `fb = f(bx)` of opposite signs.
/// Returns the last approximation when `max_iter + 1` steps do not converge (no error, as
/// R and Kayenta). An error from `f` stops the search and is returned.
pub fn zeroin<E>(
    ax: f64,
    bx: f64,
    fa: f64,
    fb: f64,
    mut f: impl FnMut(f64) -> Result<f64, E>,
    tol: f64,
    max_iter: usize,
) -> Result<f64, E> {
    let (mut a, mut b) = (ax, bx);
    let (mut fa, mut fb) = (fa, fb);
    let (mut c, mut fc) = (a, fa);

    if is_zero(fa) {
        return Ok(a);
    }
    if is_zero(fb) {
        return Ok(b);
    }

    for _ in 0..=max_iter {
        let prev_step = b - a;
        if fc.abs() < fb.abs() {
            // Swap so that b is the best approximation.
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * EPSILON * b.abs() + tol / 2.0;
        let mut new_step = (c - b) / 2.0;

        if new_step.abs() <= tol_act || is_zero(fb) {
            return Ok(b);
        }

        // Try interpolation if the previous step was large enough and in the right direction.
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let (mut p, mut q);
            if a == c {
                // Two distinct points: linear (secant) interpolation.
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                // Inverse quadratic interpolation.
                let qq = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0));
                q = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < (0.75 * cb * q - (tol_act * q).abs() / 2.0) && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }

        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b)?;
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            c = a;
            fc = fa;
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_smooth_root_within_tolerance() {
        let f = |x: f64| Ok::<_, ()>(x * x - 2.0);
        let r = zeroin(0.0, 2.0, -2.0, 2.0, f, 1e-10, 1000).expect("root");
        assert!((r - 2f64.sqrt()).abs() < 1e-9, "{r}");
    }

    #[test]
    fn endpoint_roots_are_returned_at_once() {
        let f = |_x: f64| Err::<f64, &str>("must not be called");
        assert_eq!(zeroin(1.0, 2.0, 0.0, 5.0, f, 1e-4, 10), Ok(1.0));
        assert_eq!(zeroin(1.0, 2.0, -5.0, 0.0, f, 1e-4, 10), Ok(2.0));
    }

    #[test]
    fn step_function_root_lands_within_tolerance_of_the_jump() {
        let f = |x: f64| Ok::<_, ()>(if x < 0.3 { 1.0 } else { -1.0 });
        let r = zeroin(0.0, 1.0, 1.0, -1.0, f, TOLERANCE, MAX_ITERATIONS).expect("root");
        assert!((r - 0.3).abs() <= TOLERANCE, "{r}");
    }
}
