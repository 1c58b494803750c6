//! `WeightedSumScorer.scala`: group scores and the weighted summary score.

use kanary_judge::{CanaryAnalysisResult, MetricClassification};
use std::collections::BTreeMap;

/// Kayenta's `NODATA_THRESHOLD`: this share (in %) of Nodata results or more fails.
pub const NODATA_THRESHOLD: f64 = 50.0;

/// One group's tally.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTally {
    /// Group name.
    pub name: String,
    /// 100 × passes / counted; 0 when nothing counted.
    pub score: f64,
    /// Nothing counted (only Nodata / Error results): counts as 100 in the summary.
    pub no_data: bool,
}

/// What the weighted sum produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreBreakdown {
    /// Group scores in order of first appearance in the results.
    pub group_scores: Vec<GroupTally>,
    /// The rounded summary score (0 when a rule forced it).
    pub summary_score: f64,
    /// `Canary Failed: ...` when a rule forced the score to 0.
    pub reason: Option<String>,
}

/// Scores results (already without muted ones) with group weights.
///
/// The arithmetic follows `WeightedSumScorer.scala` operation for operation
/// (`(pass / total) * 100`, `score * (weight / 100)`), since the last bits decide the
/// half-up rounding of the summary.
///
/// Per group, Pass / (Pass + High + Low + NodataFailMetric) × 100, Nodata, Error and
/// Inconclusive not counted. Groups without a weight share `100 − Σ weights` equally (weights of groups
/// absent from the results count in the sum; nothing is normalised). A group with nothing
/// counted scores 100 in the summary. Then: any critical non-Pass result forces 0 with
/// `Canary Failed: <its reason>`; otherwise ≥ 50 % Nodata forces 0 with
/// `Canary Failed: 50% or more metrics returned NODATA`.
pub fn weighted_sum_score(
    results: &[&CanaryAnalysisResult],
    group_weights: &BTreeMap<String, f64>,
) -> ScoreBreakdown {
    use MetricClassification::*;
    // (name, passes, counted) in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut tallies: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for r in results {
        for g in &r.groups {
            let t = tallies.entry(g.as_str()).or_insert_with(|| {
                order.push(g.clone());
                (0, 0)
            });
            match r.classification {
                Pass => {
                    t.0 += 1;
                    t.1 += 1;
                }
                High | Low | NodataFailMetric => t.1 += 1,
                // kanary-v1's Inconclusive is not scored, like Nodata (the cap is in `score`).
                Nodata | Error | Inconclusive => {}
            }
        }
    }
    let group_scores: Vec<GroupTally> = order
        .iter()
        .map(|name| {
            let (pass, total) = tallies[name.as_str()];
            if total == 0 {
                GroupTally {
                    name: name.clone(),
                    score: 0.0,
                    no_data: true,
                }
            } else {
                GroupTally {
                    name: name.clone(),
                    score: (pass as f64 / total as f64) * 100.0,
                    no_data: false,
                }
            }
        })
        .collect();

    if let Some(critical) = results
        .iter()
        .find(|r| r.critical && r.classification != Pass)
    {
        let reason = critical.classification_reason.as_deref().unwrap_or("null");
        return ScoreBreakdown {
            group_scores,
            summary_score: 0.0,
            reason: Some(format!("Canary Failed: {reason}")),
        };
    }
    let nodata = results
        .iter()
        .filter(|r| r.classification == Nodata)
        .count();
    // 0/0 is NaN and the comparison false, as in Kayenta.
    if 100.0 * nodata as f64 / results.len() as f64 >= NODATA_THRESHOLD {
        return ScoreBreakdown {
            group_scores,
            summary_score: 0.0,
            reason: Some("Canary Failed: 50% or more metrics returned NODATA".to_string()),
        };
    }

    let configured: f64 = group_weights.values().sum();
    let unweighted = group_scores
        .iter()
        .filter(|g| !group_weights.contains_key(&g.name))
        .count();
    let share = if unweighted > 0 {
        (100.0 - configured) / unweighted as f64
    } else {
        0.0
    };
    let summary: f64 = group_scores
        .iter()
        .map(|g| {
            let weight = group_weights.get(&g.name).copied().unwrap_or(share);
            let effective = if g.no_data { 100.0 } else { g.score };
            effective * (weight / 100.0)
        })
        .sum();
    ScoreBreakdown {
        group_scores,
        summary_score: round_half_up_2(summary),
        reason: None,
    }
}

/// Commons Math `Precision.round(x, 2)`: half up (away from zero) on the decimal string of
/// the double, so 4.9999999999999 becomes 5.0 and 33.333… becomes 33.33.
pub fn round_half_up_2(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Rust prints the shortest string that reads back as x, without an exponent.
    let s = format!("{}", x.abs());
    let (int_part, frac_part) = s.split_once('.').unwrap_or((&s, ""));
    let mut digits: Vec<u8> = int_part.bytes().map(|b| b - b'0').collect();
    let frac: Vec<u8> = frac_part.bytes().map(|b| b - b'0').collect();
    let int_len = digits.len();
    digits.extend(frac.iter().take(2));
    while digits.len() < int_len + 2 {
        digits.push(0);
    }
    if frac.get(2).copied().unwrap_or(0) >= 5 {
        // Add one unit in the last kept place, carrying.
        let mut k = digits.len();
        loop {
            if k == 0 {
                digits.insert(0, 1);
                break;
            }
            k -= 1;
            if digits[k] == 9 {
                digits[k] = 0;
            } else {
                digits[k] += 1;
                break;
            }
        }
    }
    let n = digits.len();
    let text: String = digits[..n - 2]
        .iter()
        .map(|d| char::from(b'0' + d))
        .chain(std::iter::once('.'))
        .chain(digits[n - 2..].iter().map(|d| char::from(b'0' + d)))
        .collect();
    let v: f64 = text.parse().unwrap_or(x.abs());
    // Commons Math returns +0.0 for a negative value that rounds to zero.
    if x < 0.0 && v != 0.0 { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::round_half_up_2;

    #[test]
    fn rounds_half_up_on_the_decimal_form() {
        assert_eq!(round_half_up_2(100.0 / 3.0), 33.33);
        assert_eq!(round_half_up_2(4.999999999999999), 5.0);
        assert_eq!(round_half_up_2(0.125), 0.13);
        assert_eq!(round_half_up_2(2.675), 2.68); // the double is 2.67499…, its string 2.675
        assert_eq!(round_half_up_2(99.995), 100.0);
        assert_eq!(round_half_up_2(-1.005), -1.01);
        assert_eq!(round_half_up_2(75.0), 75.0);
        assert_eq!(round_half_up_2(1e-7), 0.0);
        assert!(round_half_up_2(f64::NAN).is_nan());
    }
}
