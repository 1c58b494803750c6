# Reference values for the two-sample Mann-Whitney (Wilcoxon rank sum)
# confidence interval and location-shift estimate, as used by Kayenta's
# MannWhitney.scala (a port of R's wilcox.test.default with exact = FALSE,
# correct = TRUE, conf.int = TRUE, two-sided).
#
# Usage, from the repo root:
#   Rscript testdata/r/wilcox_reference.R testdata/r/wilcox_reference.json
#
# Base R only (no CRAN packages). Each case is generated under its own
# set.seed(), so the output is reproducible with the same R version.
#
# For every case the file holds:
#   ci               wilcox.test(x, y, exact = FALSE, correct = TRUE,
#                                conf.int = TRUE, conf.level = conf_level)$conf.int
#   r_estimate       wilcox.test(...)$estimate (R solves for it with the
#                    continuity correction switched OFF)
#   kayenta_estimate root of the continuity-CORRECTED function at zq = 0,
#                    found with uniroot(tol = 1e-4, maxiter = 1000), which is
#                    what Kayenta's MannWhitney.scala computes.
# x is the experiment (canary) and y the control (baseline); the shift is x - y.

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "testdata/r/wilcox_reference.json"

# ---------------------------------------------------------------------------
# Kayenta's estimate: the same Wilcoxon function as R's wilcox.test.default
# (two-sample branch, conf.int part, digits.rank = Inf), but with the
# continuity correction kept. Kayenta throws when sigma == 0, so do we.
# ---------------------------------------------------------------------------
kayenta_estimate <- function(x, y) {
  nx <- as.double(length(x))
  ny <- as.double(length(y))
  wdiff <- function(d, zq) {
    dr <- rank(c(x - d, y))
    ntie <- table(dr)
    dz <- sum(dr[seq_along(x)]) - nx * (nx + 1) / 2 - nx * ny / 2
    corr <- sign(dz) * 0.5          # continuity correction KEPT
    sigma <- sqrt((nx * ny / 12) *
                  ((nx + ny + 1) - sum(ntie^3 - ntie) / ((nx + ny) * (nx + ny - 1))))
    if (sigma == 0)
      stop("cannot compute confidence interval when all observations are tied")
    (dz - corr) / sigma - zq
  }
  uniroot(wdiff, lower = min(x) - max(y), upper = max(x) - min(y),
          tol = 1e-4, zq = 0)$root   # maxiter defaults to 1000
}

# ---------------------------------------------------------------------------
# JSON helpers (written by hand; doubles with %.17g so they round-trip).
# ---------------------------------------------------------------------------
json_num <- function(v) {
  v <- as.double(v)
  s <- sprintf("%.17g", v)
  s[is.na(v)] <- "\"NaN\""                       # NaN and NA
  s[!is.na(v) & v == Inf] <- "\"Infinity\""
  s[!is.na(v) & v == -Inf] <- "\"-Infinity\""
  s
}
json_arr <- function(v) paste0("[", paste(json_num(v), collapse = ", "), "]")
json_str <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  paste0("\"", s, "\"")
}

# ---------------------------------------------------------------------------
# Cases. Each generator runs under set.seed(seed) and returns list(x, y).
# ---------------------------------------------------------------------------
cases <- list()
add <- function(name, conf, seed, gen) {
  cases[[length(cases) + 1]] <<- list(name = name, conf = conf, seed = seed, gen = gen)
}
fixed <- function(x, y) function() list(x = x, y = y)
# zero-inflated counts (e.g. error counts per interval)
zi_counts <- function(n, p_zero, lambda) rbinom(n, 1, 1 - p_zero) * rpois(n, lambda)

# Sanity cases and known cases from Kayenta / GitHub issues
add("sanity_small_n5_m5_conf98", 0.98, 1,
    fixed(c(1.2, 3.4, 2.2, 5.0, 4.1), c(0.5, 1.1, 0.9, 2.0, 1.7)))
add("sanity_small_n5_m5_conf95", 0.95, 1,
    fixed(c(1.2, 3.4, 2.2, 5.0, 4.1), c(0.5, 1.1, 0.9, 2.0, 1.7)))
add("kayenta_suite_n4_m4_conf95", 0.95, 1,
    fixed(c(10, 20, 30, 40), c(1, 2, 3, 4)))
add("spinnaker6278_n10_m10_conf98", 0.98, 1,
    fixed(c(100, 100, 100, 100, 100, 100, 100, 1, 1, 1), rep(1, 10)))
add("sparse_errors_n6_m6_conf98", 0.98, 1,
    fixed(c(0, 1, 2, 1, 0, 0), rep(0, 6)))

# Normal, no shift
add("normal_noshift_n3_m3_conf98", 0.98, 101, function() list(x = rnorm(3, 10, 2), y = rnorm(3, 10, 2)))
add("normal_noshift_n5_m5_conf98", 0.98, 102, function() list(x = rnorm(5, 10, 2), y = rnorm(5, 10, 2)))
add("normal_noshift_n10_m10_conf98", 0.98, 103, function() list(x = rnorm(10, 50, 5), y = rnorm(10, 50, 5)))
add("normal_noshift_n20_m20_conf95", 0.95, 104, function() list(x = rnorm(20, 50, 5), y = rnorm(20, 50, 5)))
add("normal_noshift_n50_m50_conf98", 0.98, 105, function() list(x = rnorm(50, 0.5, 0.1), y = rnorm(50, 0.5, 0.1)))
add("normal_noshift_n100_m100_conf98", 0.98, 106, function() list(x = rnorm(100, 200, 20), y = rnorm(100, 200, 20)))
add("normal_noshift_n100_m100_conf90", 0.90, 107, function() list(x = rnorm(100, 200, 20), y = rnorm(100, 200, 20)))
add("normal_noshift_n1000_m1000_conf98", 0.98, 108, function() list(x = rnorm(1000, 1, 0.25), y = rnorm(1000, 1, 0.25)))

# Normal, with shift
add("normal_shift_n3_m3_conf98", 0.98, 201, function() list(x = rnorm(3, 20, 1), y = rnorm(3, 10, 1)))
add("normal_shift_n10_m10_conf98", 0.98, 202, function() list(x = rnorm(10, 55, 5), y = rnorm(10, 50, 5)))
add("normal_shift_n30_m30_conf98", 0.98, 203, function() list(x = rnorm(30, 48, 5), y = rnorm(30, 50, 5)))
add("normal_shift_n100_m100_conf98", 0.98, 204, function() list(x = rnorm(100, 210, 20), y = rnorm(100, 200, 20)))
add("normal_shift_n100_m100_conf95", 0.95, 205, function() list(x = rnorm(100, 210, 20), y = rnorm(100, 200, 20)))
add("normal_shift_n100_m100_conf90", 0.90, 206, function() list(x = rnorm(100, 190, 20), y = rnorm(100, 200, 20)))
add("normal_shift_n1000_m1000_conf98", 0.98, 207, function() list(x = rnorm(1000, 1.02, 0.25), y = rnorm(1000, 1, 0.25)))
add("normal_shift_n1000_m1000_conf95", 0.95, 208, function() list(x = rnorm(1000, 95, 10), y = rnorm(1000, 100, 10)))
add("normal_shift_n5000_m5000_conf98", 0.98, 209, function() list(x = rnorm(5000, 100.5, 10), y = rnorm(5000, 100, 10)))

# Negative values
add("negative_normal_shift_n50_m50_conf98", 0.98, 301, function() list(x = rnorm(50, -103, 10), y = rnorm(50, -100, 10)))
add("mixed_sign_noshift_n200_m200_conf98", 0.98, 302, function() list(x = rnorm(200, 0, 1), y = rnorm(200, 0, 1)))
add("negative_rounded_ties_n100_m100_conf95", 0.95, 303, function() list(x = round(rnorm(100, -5, 2)), y = round(rnorm(100, -6, 2))))

# Heavy ties
add("ties_rounded_noshift_n100_m100_conf98", 0.98, 401, function() list(x = round(rnorm(100, 20, 3)), y = round(rnorm(100, 20, 3))))
add("ties_rounded_shift_n100_m100_conf95", 0.95, 402, function() list(x = round(rnorm(100, 22, 3)), y = round(rnorm(100, 20, 3))))
add("ties_small_ints_n10_m10_conf98", 0.98, 403, function() list(x = as.double(sample(1:4, 10, TRUE)), y = as.double(sample(1:4, 10, TRUE))))
add("ties_rounded_1dp_n500_m500_conf98", 0.98, 404, function() list(x = round(rnorm(500, 1.05, 0.2), 1), y = round(rnorm(500, 1, 0.2), 1)))
add("zeros_heavy_n100_m100_conf98", 0.98, 405, function() list(x = rbinom(100, 1, 0.3) * rexp(100, 1), y = rbinom(100, 1, 0.3) * rexp(100, 1)))
add("zero_inflated_counts_n60_m60_conf98", 0.98, 406, function() list(x = zi_counts(60, 0.8, 2), y = zi_counts(60, 0.8, 2)))
add("zero_inflated_counts_shift_n200_m200_conf98", 0.98, 407, function() list(x = zi_counts(200, 0.6, 3), y = zi_counts(200, 0.8, 2)))
add("zero_inflated_counts_n1000_m1000_conf98", 0.98, 408, function() list(x = zi_counts(1000, 0.9, 1.5), y = zi_counts(1000, 0.9, 1.5)))
add("errors_vs_all_zero_n100_m100_conf98", 0.98, 409, function() list(x = zi_counts(100, 0.9, 1), y = rep(0, 100)))
add("constant_x_n20_m20_conf98", 0.98, 410, function() list(x = rep(5, 20), y = rnorm(20, 5, 1)))

# Tiny and huge scale
add("tiny_scale_noshift_n100_m100_conf98", 0.98, 501, function() list(x = rnorm(100, 1e-9, 1e-10), y = rnorm(100, 1e-9, 1e-10)))
add("tiny_scale_shift_n200_m200_conf98", 0.98, 502, function() list(x = rnorm(200, 1.2e-9, 1e-10), y = rnorm(200, 1e-9, 1e-10)))
add("huge_1e9_shift_n100_m100_conf98", 0.98, 503, function() list(x = rnorm(100, 1.005e9, 1e7), y = rnorm(100, 1e9, 1e7)))
add("huge_1e9_noshift_n500_m500_conf95", 0.95, 504, function() list(x = rnorm(500, 1e9, 1e7), y = rnorm(500, 1e9, 1e7)))
add("huge_1e12_shift_n100_m100_conf98", 0.98, 505, function() list(x = rnorm(100, 1.001e12, 1e9), y = rnorm(100, 1e12, 1e9)))
add("huge_1e12_noshift_n1000_m1000_conf98", 0.98, 506, function() list(x = rnorm(1000, 1e12, 1e9), y = rnorm(1000, 1e12, 1e9)))

# Unequal sizes
add("unequal_normal_shift_n3_m50_conf98", 0.98, 601, function() list(x = rnorm(3, 12, 2), y = rnorm(50, 10, 2)))
add("unequal_normal_shift_n50_m3_conf98", 0.98, 602, function() list(x = rnorm(50, 12, 2), y = rnorm(3, 10, 2)))
add("unequal_normal_noshift_n10_m1000_conf98", 0.98, 603, function() list(x = rnorm(10, 10, 2), y = rnorm(1000, 10, 2)))
add("unequal_normal_shift_n1000_m10_conf95", 0.95, 604, function() list(x = rnorm(1000, 11, 2), y = rnorm(10, 10, 2)))
add("unequal_normal_shift_n20_m200_conf90", 0.90, 605, function() list(x = rnorm(20, 10.5, 2), y = rnorm(200, 10, 2)))

# Skewed data
add("lognormal_noshift_n200_m200_conf98", 0.98, 701, function() list(x = rlnorm(200, 4, 0.5), y = rlnorm(200, 4, 0.5)))
add("lognormal_scaled_n200_m200_conf98", 0.98, 702, function() list(x = 1.2 * rlnorm(200, 4, 0.5), y = rlnorm(200, 4, 0.5)))
add("lognormal_latency_n1000_m1000_conf98", 0.98, 703, function() list(x = 1.05 * rlnorm(1000, 5, 0.8), y = rlnorm(1000, 5, 0.8)))
add("exponential_noshift_n500_m500_conf98", 0.98, 704, function() list(x = rexp(500, 0.1), y = rexp(500, 0.1)))
add("exponential_shift_n100_m100_conf95", 0.95, 705, function() list(x = rexp(100, 0.1) + 3, y = rexp(100, 0.1)))

# ---------------------------------------------------------------------------
# Run.
# ---------------------------------------------------------------------------
case_lines <- character(0)
skipped <- character(0)
for (cs in cases) {
  set.seed(cs$seed)
  d <- cs$gen()
  x <- as.double(d$x)
  y <- as.double(d$y)
  # Never a case where x and y are both constant and equal to each other.
  if (length(unique(x)) == 1 && length(unique(y)) == 1 && x[1] == y[1]) {
    skipped <- c(skipped, sprintf("%s: x and y constant and equal", cs$name))
    next
  }
  # Any error, and any warning (R 4.x only *warns* "cannot compute confidence
  # interval when all observations are tied", where Kayenta throws), skips
  # the case.
  res <- tryCatch({
    wt <- wilcox.test(x, y, exact = FALSE, correct = TRUE,
                      conf.int = TRUE, conf.level = cs$conf)
    k <- kayenta_estimate(x, y)
    list(ci = as.double(wt$conf.int), r_est = as.double(wt$estimate), k_est = k)
  },
  warning = function(w) paste("warning:", conditionMessage(w)),
  error = function(e) paste("error:", conditionMessage(e)))
  if (is.character(res)) {
    skipped <- c(skipped, sprintf("%s: %s", cs$name, res))
    next
  }
  if (!all(is.finite(c(res$ci, res$r_est, res$k_est)))) {
    skipped <- c(skipped, sprintf("%s: non-finite result", cs$name))
    next
  }
  case_lines <- c(case_lines, paste0(
    "  {\"name\": ", json_str(cs$name), ",\n",
    "   \"x\": ", json_arr(x), ",\n",
    "   \"y\": ", json_arr(y), ",\n",
    "   \"conf_level\": ", json_num(cs$conf), ",\n",
    "   \"ci\": ", json_arr(res$ci), ",\n",
    "   \"r_estimate\": ", json_num(res$r_est), ",\n",
    "   \"kayenta_estimate\": ", json_num(res$k_est), "}"))
  message(sprintf("%-45s n=%-5d m=%-5d ci=[%.6g, %.6g] r=%.6g k=%.6g",
                  cs$name, length(x), length(y), res$ci[1], res$ci[2],
                  res$r_est, res$k_est))
}

out <- paste0(
  "{\"generator\": \"testdata/r/wilcox_reference.R\",\n",
  " \"r_version\": ", json_str(R.version.string), ",\n",
  " \"command\": \"Rscript testdata/r/wilcox_reference.R testdata/r/wilcox_reference.json\",\n",
  " \"cases\": [\n",
  paste(case_lines, collapse = ",\n"), "\n",
  " ]}\n")
writeLines(out, out_path, sep = "")
message(sprintf("wrote %d cases to %s", length(case_lines), out_path))
for (s in skipped) message("skipped ", s)
