# Reference values for kanary-v1's fixed-sample statistics (issue 8):
#   signed_rank: wilcox.test(d, alternative, conf.int = TRUE, conf.level, exact = NULL,
#                correct = TRUE) on differences without zeros (kanary drops zeros first,
#                as R does, and R then uses its exact branch when n < 50 without ties)
#   rank_sum:    wilcox.test(x, y, alternative, conf.int = TRUE, conf.level, correct = TRUE)
#   binom:       binom.test(x, n, p, alternative, conf.level)
#   p_adjust:    p.adjust(p, "holm" / "BH" / "BY")
# conf.int / estimate are written only where R computes them exactly (order statistics of
# the Walsh averages or pairwise differences: the exact branch); in the normal branch R
# solves for them with uniroot, which kanary replaces with order statistics.
#
# Usage, from the repo root (base R only):
#   Rscript testdata/r/kanary_v1_reference.R testdata/r/kanary_v1_reference.json

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "testdata/r/kanary_v1_reference.json"

num <- function(v) {
  if (is.na(v)) return("\"NaN\"")
  if (is.infinite(v)) return(if (v > 0) "\"Infinity\"" else "\"-Infinity\"")
  sprintf("%.17g", v)
}
arr <- function(v) paste0("[", paste(vapply(v, num, ""), collapse = ", "), "]")
str <- function(s) paste0("\"", s, "\"")

cases <- character(0)
add <- function(fields) {
  body <- paste(sprintf("\"%s\": %s", names(fields), unlist(fields)), collapse = ",\n   ")
  cases <<- c(cases, paste0("  {", body, "}"))
}

sr <- function(name, d, alternative, conf.level) {
  d <- d[d != 0]
  t <- suppressWarnings(wilcox.test(d, alternative = alternative, conf.int = TRUE,
                                    conf.level = conf.level, correct = TRUE))
  exact <- length(d) < 50 && !any(duplicated(abs(d)))
  f <- list(name = str(name), kind = str("signed_rank"), alternative = str(alternative),
            conf_level = num(conf.level), x = arr(d), p_value = num(t$p.value),
            exact = if (exact) "true" else "false")
  if (exact) {
    ci <- wilcox.test(d, alternative = "two.sided", conf.int = TRUE,
                      conf.level = conf.level)$conf.int
    f$conf_int <- arr(ci)
    f$estimate <- num(t$estimate)
  }
  add(f)
}

rs <- function(name, x, y, alternative, conf.level) {
  t <- suppressWarnings(wilcox.test(x, y, alternative = alternative, conf.int = TRUE,
                                    conf.level = conf.level, correct = TRUE))
  exact <- length(x) < 50 && length(y) < 50 && !any(duplicated(c(x, y)))
  f <- list(name = str(name), kind = str("rank_sum"), alternative = str(alternative),
            conf_level = num(conf.level), x = arr(x), y = arr(y), p_value = num(t$p.value),
            exact = if (exact) "true" else "false")
  if (exact) {
    ci <- wilcox.test(x, y, alternative = "two.sided", conf.int = TRUE,
                      conf.level = conf.level)$conf.int
    f$conf_int <- arr(ci)
    f$estimate <- num(t$estimate)
  }
  add(f)
}

bt <- function(name, x, n, p, alternative, conf.level) {
  t <- binom.test(x, n, p, alternative = alternative, conf.level = conf.level)
  ci <- binom.test(x, n, p, alternative = "two.sided", conf.level = conf.level)$conf.int
  add(list(name = str(name), kind = str("binom"), alternative = str(alternative),
           conf_level = num(conf.level), successes = num(x), trials = num(n), p = num(p),
           p_value = num(t$p.value), conf_int = arr(ci)))
}

# Signed rank.
set.seed(1); sr("sr_exact_n10", round(rnorm(10, 0.3), 3), "two.sided", 0.95)
set.seed(2); sr("sr_exact_n20_greater", round(rnorm(20, 0.2), 4), "greater", 0.9)
set.seed(3); sr("sr_exact_n49_less", round(rnorm(49, -0.1), 5), "less", 0.99)
set.seed(4); sr("sr_exact_n5", c(0.5, -0.2, 1.3, 0.9, 2.1), "two.sided", 0.9)
set.seed(5); sr("sr_normal_n60", round(rnorm(60, 0.1), 4), "two.sided", 0.95)
set.seed(6); sr("sr_normal_n200_ties", round(rnorm(200, 0.05), 1), "greater", 0.975)
set.seed(7); sr("sr_normal_n500_ties_less", round(rnorm(500, -0.02), 2), "less", 0.995)
set.seed(8); sr("sr_exact_n30_huge", round(rnorm(30, 1e9, 1e10)), "two.sided", 0.95)
# Rank sum.
rs("kayenta_suite_n4_m4", c(10, 20, 30, 40), c(1, 2, 3, 4), "two.sided", 0.95)
set.seed(11); rs("rs_exact_n12_m15", round(rnorm(12, 1), 4), round(rnorm(15), 4), "two.sided", 0.95)
set.seed(12); rs("rs_exact_n30_m20_greater", round(rnorm(30, 0.5), 5), round(rnorm(20), 5), "greater", 0.98)
set.seed(13); rs("rs_exact_n49_m3_less", round(rnorm(49), 5), round(rnorm(3, 1), 5), "less", 0.9)
rs("spinnaker6278_ties", c(rep(100, 7), rep(1, 3)), rep(1, 10), "two.sided", 0.95)
set.seed(14); rs("rs_normal_n60_m60", round(rnorm(60, 0.3), 4), round(rnorm(60), 4), "two.sided", 0.95)
set.seed(15); rs("rs_normal_ties_n300_m200", round(rexp(300) * 3), round(rexp(200) * 3), "greater", 0.99)
set.seed(16); rs("rs_normal_n1000_m800_less", rnorm(1000), rnorm(800, 0.1), "less", 0.95)
# Binomial.
bt("kayenta426_4_of_4", 4, 4, 0.5, "two.sided", 0.95)
bt("kayenta426_twice_8_of_8", 8, 8, 0.5, "two.sided", 0.95)
bt("binom_17_of_50_p03", 17, 50, 0.3, "two.sided", 0.95)
bt("binom_3_of_40_p02_less", 3, 40, 0.2, "less", 0.9)
bt("binom_250_of_400_greater", 250, 400, 0.5, "greater", 0.99)
bt("binom_1234_of_10000_p01", 1234, 10000, 0.1, "two.sided", 0.975)
bt("binom_0_of_30", 0, 30, 0.5, "two.sided", 0.95)
bt("binom_30_of_30_p09", 30, 30, 0.9, "two.sided", 0.95)
bt("binom_60000_of_120000_p05", 60000, 120000, 0.5, "two.sided", 0.999)
bt("binom_5_of_1000000_p1e-5", 5, 1e6, 1e-5, "two.sided", 0.95)

p <- c(0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.0001, 0.049)
adjust <- sprintf("{\"p\": %s, \"holm\": %s, \"BH\": %s, \"BY\": %s}", arr(p),
                  arr(p.adjust(p, "holm")), arr(p.adjust(p, "BH")), arr(p.adjust(p, "BY")))

out <- paste0("{\"generator\": \"testdata/r/kanary_v1_reference.R\",\n",
              " \"r_version\": \"", R.version.string, "\",\n",
              " \"command\": \"Rscript testdata/r/kanary_v1_reference.R testdata/r/kanary_v1_reference.json\",\n",
              " \"p_adjust\": ", adjust, ",\n",
              " \"cases\": [\n", paste(cases, collapse = ",\n"), "\n ]}\n")
writeLines(out, out_path, sep = "")
