//! `classifier`: group weights as `WeightedSumScorer.scala` uses them, and the UI's score
//! thresholds.
//!
//! Kayenta does not normalise weights: groups without a weight share `100 − Σ weights`
//! equally, weights of groups no metric uses still count in the sum, and a sum over 100 can
//! push the score over 100. Each of these quietly changes what a score means.

use super::Checker;
use super::config::GroupUse;
use crate::json_path::key;
use crate::report::number::compact;
use serde_json::{Map, Value};

const CLASSIFIER_KEYS: &[&str] = &["groupWeights", "scoreThresholds"];
const WEIGHTS: &str = "$.classifier.groupWeights";

pub(super) fn check_classifier(c: &mut Checker, obj: &Map<String, Value>, used: &[GroupUse]) {
    let classifier = c.object(obj, "$", "classifier");
    let mut weights: Vec<(String, f64)> = Vec::new();
    if let Some(classifier) = classifier {
        c.unknown_keys(
            classifier,
            "$.classifier",
            CLASSIFIER_KEYS,
            "classifier field",
        );
        if let Some(group_weights) = c.object(classifier, "$.classifier", "groupWeights") {
            for (group, w) in group_weights {
                let path = key(WEIGHTS, group);
                match w.as_f64() {
                    Some(w) if w < 0.0 => {
                        c.error(&path, format!("a weight must be >= 0, got {}", compact(w)));
                    }
                    Some(w) => weights.push((group.clone(), w)),
                    None => c.error(
                        &path,
                        format!("expected a number, got {}", super::describe(w)),
                    ),
                }
            }
        }
        score_thresholds(c, classifier);
    }
    group_weights(c, &weights, used);
}

fn score_thresholds(c: &mut Checker, classifier: &Map<String, Value>) {
    let at = "$.classifier.scoreThresholds";
    let Some(t) = c.object(classifier, "$.classifier", "scoreThresholds") else {
        return;
    };
    let pass = c.number(t, at, "pass");
    let marginal = c.number(t, at, "marginal");
    for (field, v) in [("pass", pass), ("marginal", marginal)] {
        match v {
            None if Checker::get(t, field).is_none() => {
                c.error(&key(at, field), "missing: give both pass and marginal");
            }
            Some(v) if !(0.0..=100.0).contains(&v) => c.warning(
                &key(at, field),
                format!("{} is outside [0, 100], the range of a score", compact(v)),
            ),
            _ => {}
        }
    }
    if let (Some(pass), Some(marginal)) = (pass, marginal) {
        if marginal > pass {
            c.error(
                &key(at, "marginal"),
                format!(
                    "marginal {} is above pass {}: no score could be Marginal; use marginal <= \
                     pass",
                    compact(marginal),
                    compact(pass)
                ),
            );
        }
    }
}

fn group_weights(c: &mut Checker, weights: &[(String, f64)], used: &[GroupUse]) {
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    let weight_of = |g: &str| weights.iter().find(|(n, _)| n == g).map(|(_, w)| *w);
    let is_used = |g: &str| used.iter().any(|u| u.group == g);
    let unweighted: Vec<&GroupUse> = used
        .iter()
        .filter(|u| weight_of(&u.group).is_none())
        .collect();
    let remainder = 100.0 - total;

    if total > 100.0 {
        c.warning(
            WEIGHTS,
            format!(
                "the weights sum to {}, over 100: Kayenta does not normalise them, so a score \
                 can exceed 100",
                compact(total)
            ),
        );
    }
    for (group, w) in weights {
        if !is_used(group) && !used.is_empty() {
            c.warning(
                &key(WEIGHTS, group),
                format!(
                    "no metric is in group '{group}'; its weight {} still counts in the sum, so \
                     it cannot be earned",
                    compact(*w)
                ),
            );
        }
    }
    if weights.is_empty() {
        if used.len() > 1 {
            let names: Vec<&str> = used.iter().map(|u| u.group.as_str()).collect();
            c.note(
                WEIGHTS,
                format!(
                    "no group weights: the {} groups ({}) share 100 equally ({} each)",
                    used.len(),
                    names.join(", "),
                    compact(100.0 / used.len() as f64)
                ),
            );
        }
        return;
    }
    let share = remainder / unweighted.len().max(1) as f64;
    let names: Vec<&str> = unweighted.iter().map(|u| u.group.as_str()).collect();
    for u in &unweighted {
        if remainder > 0.0 {
            let how = if unweighted.len() == 1 {
                format!(
                    "it is the only unweighted group and gets the remainder 100 - {} = {}",
                    compact(total),
                    compact(remainder)
                )
            } else {
                format!(
                    "the unweighted groups ({}) share the remainder 100 - {} = {} ({} each)",
                    names.join(", "),
                    compact(total),
                    compact(remainder),
                    compact(share)
                )
            };
            c.note(
                &u.path,
                format!(
                    "group '{}' has no weight in classifier.groupWeights; {how}",
                    u.group
                ),
            );
        } else {
            c.warning(
                &u.path,
                format!(
                    "group '{}' has no weight and the weights already sum to {}: it weighs {} \
                     and cannot raise the score",
                    u.group,
                    compact(total),
                    compact(share)
                ),
            );
        }
    }
    // What a canary whose every metric passes scores.
    let best: f64 = used
        .iter()
        .map(|u| weight_of(&u.group).unwrap_or(share))
        .sum();
    if !used.is_empty() && best < 100.0 - 1e-9 {
        c.warning(
            WEIGHTS,
            format!(
                "a canary whose every metric passes scores only {}: the weights of the groups \
                 in use sum to less than 100",
                compact(best)
            ),
        );
    }
}
