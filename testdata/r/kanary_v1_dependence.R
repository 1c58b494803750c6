# Reference values for kanary-v1's corrections for dependence and dispersion (issue 8):
#   pt / qt:     Student's t tails and quantiles (pt(t, df, lower.tail = FALSE), qt(...))
#   acf:         lag-1 autocorrelation, acf(x, lag.max = 1, plot = FALSE)$acf[2]
#   fligner:     fligner.test(list(x, y)): statistic (= z^2 of kanary's spread test) and p
#   serial_sr:   the serial-corrected signed-rank test of signed_rank.rs, written out here
#                independently from base R (acf, rank, pt, qt, sort of the Walsh averages)
#   quasi:       summary(glm(cbind(c, t - c) ~ 1, family = quasibinomial)): Pearson
#                dispersion (also written out, glm's IRLS stops within 1e-8) and residual df,
#                next to the direct variance ratio of the total
#                and Satterthwaite's degrees of freedom of the estimator used
#
# Usage, from the repo root (base R only):
#   Rscript testdata/r/kanary_v1_dependence.R testdata/r/kanary_v1_dependence.json

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "testdata/r/kanary_v1_dependence.json"

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

# Student's t.
for (tc in list(c(2.5, 5), c(-1.3, 3.7), c(0.2, 19.4), c(4.1, 59), c(10, 2), c(3, 1),
                c(1e-3, 30), c(30, 7.5), c(-6, 100))) {
  add(list(name = str(sprintf("pt_%g_%g", tc[1], tc[2])), kind = str("pt"),
           t = num(tc[1]), df = num(tc[2]),
           upper = num(pt(tc[1], tc[2], lower.tail = FALSE))))
}
for (qc in list(c(0.025, 5), c(0.00125, 19), c(0.9975, 6.3), c(1e-6, 40), c(0.4, 1.5))) {
  add(list(name = str(sprintf("qt_%g_%g", qc[1], qc[2])), kind = str("qt"),
           upper = num(qc[1]), df = num(qc[2]),
           t = num(qt(qc[1], qc[2], lower.tail = FALSE))))
}

# The serial correction, as signed_rank.rs and spread.rs define it.
serial <- function(series) {
  series <- Filter(function(s) length(s) >= 20, series)
  if (length(series) == 0) return(list(rho = NaN, applied = FALSE, vif = 1, fdf = Inf))
  num_ <- 0; den <- 0; pts <- 0
  for (s in series) {
    m <- mean(s); k <- length(s)
    num_ <- num_ + sum((s[-k] - m) * (s[-1] - m)); den <- den + sum((s - m)^2); pts <- pts + k
  }
  rho <- num_ / den
  n <- pts / length(series)
  applied <- (rho + 1 / n) * sqrt(pts) > qnorm(1 - 0.10)
  used <- if (applied) min(max((n * rho + 1) / (n - 3), 0), 0.95) else 0
  list(rho = rho, applied = applied, vif = (1 + used) / (1 - used),
       fdf = if (applied) pts * (1 - used^2) / 2 else Inf)
}

# Lag-1 autocorrelation against acf, and serial-corrected signed rank tests.
sr_serial <- function(name, d, alternative, conf) {
  sc <- serial(list(d))
  stopifnot(isTRUE(all.equal(sc$rho, acf(d, lag.max = 1, plot = FALSE)$acf[2], tolerance = 1e-14)))
  x <- d[d != 0]; n <- length(x)
  r <- rank(abs(x)); v <- sum(r[x > 0])
  nt <- table(r); ties <- sum(nt^3 - nt)
  z <- v - n * (n + 1) / 4
  sigma <- sqrt((n * (n + 1) * (2 * n + 1) / 24 - ties / 48) * sc$vif)
  df <- max(min(n / sc$vif - 1, sc$fdf), 1)
  corr <- switch(alternative, two.sided = sign(z) * 0.5, greater = 0.5, less = -0.5)
  tt <- (z - corr) / sigma
  p <- switch(alternative, two.sided = min(2 * pt(abs(tt), df, lower.tail = FALSE), 1),
              greater = pt(tt, df, lower.tail = FALSE), less = pt(tt, df))
  if (!sc$applied) {
    # Not significant: the plain test (exact below 50 without ties), as wilcox.test.
    t <- wilcox.test(x, alternative = alternative, conf.int = TRUE, conf.level = 2 * conf - 1)
    ci <- wilcox.test(x, conf.int = TRUE, conf.level = 2 * conf - 1)$conf.int
    p <- t$p.value
    add(list(name = str(name), kind = str("serial_sr"), alternative = str(alternative),
             conf = num(conf), x = arr(d), rho = num(sc$rho), applied = "false",
             vif = num(1), p_value = num(p), lower = num(ci[1]), upper = num(ci[2])))
    return(invisible())
  }
  w <- outer(x, x, "+") / 2; w <- sort(w[lower.tri(w, diag = TRUE)])
  sigk <- sqrt(n * (n + 1) * (2 * n + 1) / 24 * sc$vif)
  k <- ceiling(n * (n + 1) / 4 - 0.5 + qt(conf, df, lower.tail = FALSE) * sigk)
  k <- min(max(k, 1), length(w))
  add(list(name = str(name), kind = str("serial_sr"), alternative = str(alternative),
           conf = num(conf), x = arr(d), rho = num(sc$rho),
           applied = if (sc$applied) "true" else "false", vif = num(sc$vif),
           p_value = num(p), lower = num(w[k]), upper = num(w[length(w) + 1 - k])))
}
set.seed(21); sr_serial("ar05_n60", round(as.numeric(arima.sim(list(ar = 0.5), 60, sd = 0.1)), 6), "two.sided", 0.9975)
set.seed(22); sr_serial("ar08_n40_greater", round(as.numeric(arima.sim(list(ar = 0.8), 40, sd = 0.1)) + 0.05, 6), "greater", 0.99)
set.seed(24); sr_serial("white_n30_not_applied", round(rnorm(30, 0.2), 4), "two.sided", 0.975)
set.seed(23); sr_serial("ar03_n200_less", round(as.numeric(arima.sim(list(ar = 0.3), 200, sd = 1)) - 0.1, 3), "less", 0.975)

# Fligner-Killeen.
fk <- function(name, x, y) {
  f <- fligner.test(list(x, y))
  add(list(name = str(name), kind = str("fligner"), x = arr(x), y = arr(y),
           statistic = num(unname(f$statistic)), p_value = num(f$p.value)))
}
set.seed(31); fk("fk_var3_n60", round(rnorm(60, 0, sqrt(3)), 5), round(rnorm(60), 5))
set.seed(32); fk("fk_ties_n25_m30", round(rnorm(25, 1, 2)), round(rnorm(30, 0, 1)))
set.seed(33); fk("fk_same_n100_m80", rexp(100), rexp(80))

# Quasi-binomial dispersion.
qb <- function(name, c, t) {
  g <- glm(cbind(c, t - c) ~ 1, family = quasibinomial)
  s <- summary(g)
  keep <- t > 0; cc <- c[keep]; tt <- t[keep]; k <- length(tt)
  p <- sum(cc) / sum(tt)
  direct <- sum((cc - p * tt)^2) / (p * (1 - p) * sum(tt)) * k / (k - 1)
  pearson <- sum((cc - tt * p)^2 / (tt * p * (1 - p))) / (k - 1)
  stopifnot(abs(pearson / s$dispersion - 1) < 1e-5)  # glm stops its IRLS at 1e-8 deviance change
  # Satterthwaite's degrees of freedom over the terms of the estimator used.
  w <- if (pearson >= direct) (cc - p * tt)^2 / (tt * p * (1 - p)) else (cc - p * tt)^2
  nu <- min(max(sum(w)^2 / sum(w^2), 1), k - 1)
  add(list(name = str(name), kind = str("quasi"), canary = arr(c), total = arr(t),
           pearson = num(pearson), glm_dispersion = num(s$dispersion), df = num(s$df.residual), direct = num(direct),
           satterthwaite = num(nu)))
}
set.seed(41)
b <- rpois(60, ifelse(runif(60) < 0.05, 100, 10)); e <- rpois(60, ifelse(runif(60) < 0.05, 100, 10))
qb("bursty_60", e, e + b)
set.seed(42)
b <- rpois(30, 8); e <- rpois(30, 8)
qb("poisson_30_with_zero_steps", c(e, 0, 0), c(e + b, 0, 0))

out <- paste0("{\"generator\": \"testdata/r/kanary_v1_dependence.R\",\n",
              " \"r_version\": \"", R.version.string, "\",\n",
              " \"command\": \"Rscript testdata/r/kanary_v1_dependence.R testdata/r/kanary_v1_dependence.json\",\n",
              " \"cases\": [\n", paste(cases, collapse = ",\n"), "\n ]}\n")
writeLines(out, out_path, sep = "")
