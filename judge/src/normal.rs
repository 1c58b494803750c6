//! The standard normal quantile, by Wichura's algorithm AS 241 (`PPND16`, Applied
//! Statistics 37(3), 1988, 477–484), which R's `qnorm` implements
//! (`src/nmath/qnorm.c`).
//!
//! statrs' `Normal::inverse_cdf` is accurate to a few ulp, but the Mann-Whitney interval is
//! where a step function crosses ±z, and the root finder's path depends on the last bits of
//! z: to reproduce R's interval to the last digit, z must be R's to the last bit. The
//! coefficients are the published ones.

// The coefficients are written as published, with more digits than a double holds.
#![allow(clippy::excessive_precision)]

const SPLIT1: f64 = 0.425;
const SPLIT2: f64 = 5.0;
const CONST1: f64 = 0.180625;
const CONST2: f64 = 1.6;

const A: [f64; 8] = [
    3.387_132_872_796_366_608,
    133.141_667_891_784_377_45,
    1_971.590_950_306_551_442_7,
    13_731.693_765_509_461_125,
    45_921.953_931_549_871_457,
    67_265.770_927_008_700_853,
    33_430.575_583_588_128_105,
    2_509.080_928_730_122_672_7,
];
const B: [f64; 8] = [
    1.0,
    42.313_330_701_600_911_252,
    687.187_007_492_057_908_3,
    5_394.196_021_424_751_107_7,
    21_213.794_301_586_595_867,
    39_307.895_800_092_710_61,
    28_729.085_735_721_942_674,
    5_226.495_278_852_854_561,
];
const C: [f64; 8] = [
    1.423_437_110_749_683_577_34,
    4.630_337_846_156_545_295_9,
    5.769_497_221_460_691_405_5,
    3.647_848_324_763_204_605_04,
    1.270_458_252_452_368_382_58,
    0.241_780_725_177_450_611_77,
    0.022_723_844_989_269_184_583_3,
    7.745_450_142_783_414_076_4e-4,
];
const D: [f64; 8] = [
    1.0,
    2.053_191_626_637_758_821_87,
    1.676_384_830_183_803_849_4,
    0.689_767_334_985_100_004_55,
    0.148_103_976_427_480_074_59,
    0.015_198_666_563_616_457_196_6,
    5.475_938_084_995_344_946e-4,
    1.050_750_071_644_416_843_24e-9,
];
const E: [f64; 8] = [
    6.657_904_643_501_103_777_2,
    5.463_784_911_164_114_369_9,
    1.784_826_539_917_291_335_8,
    0.296_560_571_828_504_891_23,
    0.026_532_189_526_576_123_093,
    0.001_242_660_947_388_078_438_6,
    2.711_555_568_743_487_578_15e-5,
    2.010_334_399_292_288_132_65e-7,
];
const F: [f64; 8] = [
    1.0,
    0.599_832_206_555_887_937_69,
    0.136_929_880_922_735_805_31,
    0.014_875_361_290_850_614_852_5,
    7.868_691_311_456_132_591e-4,
    1.846_318_317_510_054_681_8e-5,
    1.421_511_758_316_445_888_7e-7,
    2.044_263_103_389_939_785_64e-15,
];

/// Horner evaluation from the highest coefficient down, in AS 241's order.
fn poly(c: &[f64; 8], r: f64) -> f64 {
    let mut v = c[7];
    for k in (0..7).rev() {
        v = v * r + c[k];
    }
    v
}

/// Standard normal quantile: z with P(Z ≤ z) = p. NaN outside [0, 1]; ±∞ at 0 and 1.
pub fn qnorm(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= SPLIT1 {
        let r = CONST1 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-tail.ln()).sqrt();
    let val = if r <= SPLIT2 {
        r -= CONST2;
        poly(&C, r) / poly(&D, r)
    } else {
        r -= SPLIT2;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 { -val } else { val }
}

#[cfg(test)]
mod tests {
    use super::qnorm;

    /// R 4.2.2: `sprintf("%.17g", qnorm(p))`.
    #[test]
    fn equals_r_to_the_last_bit() {
        assert_eq!(qnorm(0.025), -1.9599639845400538);
        assert_eq!(qnorm(0.01), -2.3263478740408408);
        assert_eq!(qnorm(0.05), -1.6448536269514726);
        assert_eq!(qnorm(0.001), -3.0902323061678132);
        assert_eq!(qnorm(0.1), -1.2815515655446008);
        assert_eq!(qnorm(0.3), -0.52440051270804067);
        assert_eq!(qnorm(0.9), 1.2815515655446008);
        assert_eq!(qnorm(1e-10), -6.3613409024040557);
        assert_eq!(qnorm(1e-30), -11.464024688443617);
        assert_eq!(qnorm(0.5), 0.0);
        assert!(qnorm(1.5).is_nan());
        assert_eq!(qnorm(0.0), f64::NEG_INFINITY);
    }
}
