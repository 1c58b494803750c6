//! Doubles on the wire, as Kayenta writes them.
//!
//! Jackson (Kayenta's JSON library) writes non-finite doubles as the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"`, in arrays and in scalar fields alike. serde_json would
//! write `null` instead, which Kayenta's readers then drop or fail on. These helpers write
//! Kayenta's strings and read them back; on input they also accept Prometheus' spellings
//! (`"+Inf"`, `"-Inf"`), numbers given as strings (`"1.5"`), and `null` (read as NaN).

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use std::fmt;

/// Parses a non-finite or numeric string as Kayenta and Prometheus spell them.
pub fn parse_double(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" | "nan" | "NAN" => Some(f64::NAN),
        "Infinity" | "+Infinity" | "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Infinity" | "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse::<f64>().ok(),
    }
}

fn write_double<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v == f64::INFINITY {
        s.serialize_str("Infinity")
    } else if v == f64::NEG_INFINITY {
        s.serialize_str("-Infinity")
    } else {
        s.serialize_f64(v)
    }
}

struct DoubleVisitor;

impl<'de> Visitor<'de> for DoubleVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or one of \"NaN\", \"Infinity\", \"-Infinity\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        parse_double(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(DoubleVisitor)
    }
}

/// `#[serde(with = "kanary_judge::float::double")]` for an `f64` field.
pub mod double {
    use super::*;

    /// Writes a double, non-finite values as Kayenta's strings.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        write_double(*v, s)
    }

    /// Reads a number, a numeric string, a non-finite string, or `null` (NaN).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(DoubleVisitor)
    }
}

/// `#[serde(with = "kanary_judge::float::opt_double", default)]` for an `Option<f64>` field
/// (pair it with `skip_serializing_if = "Option::is_none"`).
pub mod opt_double {
    use super::*;

    /// Writes `Some` as [`double`] does; `None` as `null`.
    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => write_double(*v, s),
            None => s.serialize_none(),
        }
    }

    /// Reads a double; an explicit `null` is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        struct OptVisitor;
        impl<'de> Visitor<'de> for OptVisitor {
            type Value = Option<f64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                DoubleVisitor.expecting(f)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(DoubleVisitor).map(Some)
            }
        }
        d.deserialize_option(OptVisitor)
    }
}

/// `#[serde(with = "kanary_judge::float::doubles")]` for a `Vec<f64>` field: a JSON array
/// whose elements may be numbers, non-finite strings, or `null` (read as NaN).
pub mod doubles {
    use super::*;

    struct Elem(f64);
    impl serde::Serialize for Elem {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            write_double(self.0, s)
        }
    }
    impl<'de> serde::Deserialize<'de> for Elem {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(DoubleVisitor).map(Elem)
        }
    }

    /// Writes the array, non-finite elements as Kayenta's strings.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&Elem(*x))?;
        }
        seq.end()
    }

    /// Reads the array; `null` as a whole is an empty array.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        struct SeqVisitor;
        impl<'de> Visitor<'de> for SeqVisitor {
            type Value = Vec<f64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of numbers")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_seq(SeqVisitor)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(Elem(x)) = seq.next_element()? {
                    out.push(x);
                }
                Ok(out)
            }
        }
        d.deserialize_option(SeqVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug)]
    struct T {
        #[serde(with = "super::double")]
        a: f64,
        #[serde(
            with = "super::opt_double",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        b: Option<f64>,
        #[serde(with = "super::doubles")]
        v: Vec<f64>,
    }

    #[test]
    fn non_finite_round_trip_as_strings() {
        let t = T {
            a: f64::NAN,
            b: Some(f64::NEG_INFINITY),
            v: vec![1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
        };
        let s = serde_json::to_string(&t).expect("serialize");
        assert_eq!(
            s,
            r#"{"a":"NaN","b":"-Infinity","v":[1.5,"NaN","Infinity","-Infinity"]}"#
        );
        let back: T = serde_json::from_str(&s).expect("deserialize");
        assert!(back.a.is_nan());
        assert_eq!(back.b, Some(f64::NEG_INFINITY));
        assert_eq!(back.v[0], 1.5);
        assert!(back.v[1].is_nan());
        assert_eq!(back.v[2], f64::INFINITY);
    }

    #[test]
    fn accepts_prometheus_spellings_null_and_integers() {
        let t: T = serde_json::from_str(r#"{"a":3,"b":null,"v":["+Inf","-Inf",null,"2.5",7]}"#)
            .expect("deserialize");
        assert_eq!(t.a, 3.0);
        assert_eq!(t.b, None);
        assert_eq!(t.v[0], f64::INFINITY);
        assert_eq!(t.v[1], f64::NEG_INFINITY);
        assert!(t.v[2].is_nan());
        assert_eq!(t.v[3], 2.5);
        assert_eq!(t.v[4], 7.0);
    }

    #[test]
    fn rejects_garbage_strings() {
        let e = serde_json::from_str::<T>(r#"{"a":"fast","v":[]}"#).expect_err("must fail");
        assert!(e.to_string().contains("fast"), "{e}");
    }
}
