//! The value codec of telemetry chunks: exact `f64`s, or decimals as scaled integers.
//!
//! Telemetry mostly arrives as decimal text (`51.846`, `0.0123456789`), and a value
//! parsed from text with `k` decimal places is the `f64` nearest to `n / 10^k` for an
//! integer `n`. IEEE division is correctly rounded, so `n as f64 / 10^k` (both operands
//! exact: `|n| < 2^53`, `k ≤ 18`) gives back exactly that `f64`. A chunk of such values
//! is stored as the integers `n` with pco's integer path (which picks its own delta or
//! lookback encoding), and `k` in one byte.
//!
//! Not every value is exactly the nearest `f64` of a short decimal: sources average in
//! binary (`51.846000000000004`), or round with `x * 10^k` arithmetic that misses the
//! nearest value by an ulp. Each value therefore also gets a correction: the distance,
//! in ulps, between its bits and those of `n / 10^k`, counted along the total order of
//! `f64` bit patterns ([`ordinal`]), so `-0.0`, subnormals and values far from any short
//! decimal (`1e300`) are corrections like any other. Corrections are mostly zero and
//! compress to almost nothing; when all are zero they are left out.
//!
//! The scale `k` is chosen among `0..=18` by an estimate of the size it gives (see
//! [`best_scale`]: the magnitudes of the steps between scaled integers plus those of
//! the corrections); values whose scaled integer would not fit 53
//! bits are stored as `n = 0` plus a correction.
//! The decimal layout is only tried when at least half of the values are exact, and it
//! is kept only when it is smaller than pco's own `f64` encoding of the same values
//! (which already handles short decimals well, and noise better). Either way the round
//! trip is bit-exact by construction — the correction is the difference of two
//! bijective images — and the choice depends on the values alone, so it is
//! deterministic.
//!
//! Layout: a tag byte, then for [`TAG_FLOAT`] pco's `f64` stream; for [`TAG_DECIMAL`]
//! `k`, the integer stream's length (u32, little-endian), the integer stream and the
//! correction stream; for [`TAG_DECIMAL_EXACT`] `k` and the integer stream. Chunks live
//! in memory only (files hold CSV or Parquet), so the layout carries no version.

use pco::ChunkConfig;
use pco::standalone::{simple_compress, simple_decompress};

/// Values stored as pco `f64`s.
const TAG_FLOAT: u8 = 0;
/// Values stored as scaled integers plus per-value corrections.
const TAG_DECIMAL: u8 = 1;
/// Values stored as scaled integers, all exact (no correction stream).
const TAG_DECIMAL_EXACT: u8 = 2;

/// `10^k` for `k = 0..=18`, each exact in an `f64`.
const POW10: [f64; 19] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];

/// Scaled integers must be exact in an `f64`.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53

/// Errors of the value codec.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// pco refused the data (never happens for well-formed input).
    #[error("pco: {0}")]
    Pco(#[from] pco::errors::PcoError),
    /// The bytes are not a chunk this codec wrote.
    #[error("malformed value stream: {0}")]
    Malformed(&'static str),
}

/// The position of `v`'s bit pattern in the total order of `f64`s (negative values
/// below `-0.0` below `+0.0`): a bijection between `f64` bit patterns and `i64`.
fn ordinal(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    if bits < 0 { bits ^ i64::MAX } else { bits }
}

/// The inverse of [`ordinal`].
fn from_ordinal(o: i64) -> f64 {
    let bits = if o < 0 { o ^ i64::MAX } else { o };
    f64::from_bits(bits as u64)
}

/// The scaled integer of `v` at scale `p = 10^k`, if it fits 53 bits.
fn scaled(v: f64, p: f64) -> Option<i64> {
    let n = (v * p).round();
    // NaN fails the comparison too.
    (n.abs() < MAX_EXACT_INT).then_some(n as i64)
}

/// The correction of `v` at scale `p` given its scaled integer: how many ulps `v` lies
/// from `n / p`.
fn correction(v: f64, n: i64, p: f64) -> i64 {
    ordinal(v).wrapping_sub(ordinal(n as f64 / p))
}

/// About the bits a magnitude takes: `log2(1 + |x|)`, to within 0.005 bits.
///
/// This estimate runs for every value at every candidate scale, so it reads the
/// exponent of `1 + |x|` as an `f64` and corrects the linear interpolation of its
/// mantissa `f` by `0.346·f·(1 − f)` instead of calling a logarithm (a third of the
/// codec's time before). Deterministic: integer and IEEE arithmetic only.
fn magnitude_bits(x: i64) -> f64 {
    let bits = (x.unsigned_abs() as f64 + 1.0).to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as f64 - 1023.0;
    let f = (bits & ((1 << 52) - 1)) as f64 / (1u64 << 52) as f64;
    exponent + f + 0.346 * f * (1.0 - f)
}

/// The scale with the smallest estimated size, and how many values it makes exact.
///
/// The estimate is what the two streams would roughly cost: the magnitude of each
/// step between consecutive scaled integers (each finer scale adds `log2(10)` bits to
/// every varying step), plus for each inexact value a flag and the magnitude of its
/// correction. So an ulp miss is cheap at a coarse scale, while a value with more
/// places than the scale costs up to ~50 bits: mixed precision picks the finer scale,
/// and values that only happen to be exact at a much finer scale do not drag the whole
/// chunk there. Ties go to the coarser scale; once every value is exact, finer scales
/// can only cost more.
fn best_scale(values: &[f64]) -> (usize, usize) {
    let mut best: Option<(f64, usize, usize)> = None;
    for (k, &p) in POW10.iter().enumerate() {
        let mut exact = 0;
        let mut bits = 0.0;
        let mut previous = 0;
        for &v in values {
            let n = scaled(v, p).unwrap_or(0);
            bits += magnitude_bits(n.wrapping_sub(previous));
            previous = n;
            match correction(v, n, p) {
                0 => exact += 1,
                c => bits += 2.0 + magnitude_bits(c),
            }
        }
        if best.is_none_or(|(b, _, _)| bits < b) {
            best = Some((bits, k, exact));
        }
        if exact == values.len() {
            break;
        }
    }
    best.map_or((0, 0), |(_, k, exact)| (k, exact))
}

/// The decimal layout of `values` at scale `10^k`.
fn encode_decimal(values: &[f64], k: usize) -> Result<Vec<u8>, CodecError> {
    let p = POW10[k];
    let ints: Vec<i64> = values.iter().map(|&v| scaled(v, p).unwrap_or(0)).collect();
    let corrections: Vec<i64> = values.iter().zip(&ints).map(|(&v, &n)| correction(v, n, p)).collect();
    let int_bytes = simple_compress(&ints, &ChunkConfig::default())?;
    let exact = corrections.iter().all(|&c| c == 0);
    let mut out = vec![if exact { TAG_DECIMAL_EXACT } else { TAG_DECIMAL }, k as u8];
    if exact {
        out.extend(int_bytes);
    } else {
        let len = u32::try_from(int_bytes.len()).map_err(|_| CodecError::Malformed("integer stream too long"))?;
        out.extend(len.to_le_bytes());
        out.extend(int_bytes);
        out.extend(simple_compress(&corrections, &ChunkConfig::default())?);
    }
    Ok(out)
}

/// Encodes values losslessly (see the module docs for the choice of layout).
pub(crate) fn encode(values: &[f64]) -> Result<Vec<u8>, CodecError> {
    let mut float = vec![TAG_FLOAT];
    float.extend(simple_compress(values, &ChunkConfig::default())?);
    let (k, exact) = best_scale(values);
    if exact * 2 < values.len() {
        return Ok(float);
    }
    let decimal = encode_decimal(values, k)?;
    Ok(if decimal.len() < float.len() { decimal } else { float })
}

/// Decodes what [`encode`] wrote.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<f64>, CodecError> {
    let (&tag, rest) = bytes.split_first().ok_or(CodecError::Malformed("empty"))?;
    if tag == TAG_FLOAT {
        return Ok(simple_decompress(rest)?);
    }
    let (&k, rest) = rest.split_first().ok_or(CodecError::Malformed("no scale"))?;
    let p = *POW10.get(usize::from(k)).ok_or(CodecError::Malformed("scale out of range"))?;
    let (ints, corrections): (Vec<i64>, Option<Vec<i64>>) = match tag {
        TAG_DECIMAL_EXACT => (simple_decompress(rest)?, None),
        TAG_DECIMAL => {
            let (len, rest) = rest.split_first_chunk::<4>().ok_or(CodecError::Malformed("no stream length"))?;
            let len = u32::from_le_bytes(*len) as usize;
            if len > rest.len() {
                return Err(CodecError::Malformed("stream length past the end"));
            }
            let (int_bytes, correction_bytes) = rest.split_at(len);
            (simple_decompress(int_bytes)?, Some(simple_decompress(correction_bytes)?))
        }
        _ => return Err(CodecError::Malformed("unknown layout tag")),
    };
    match corrections {
        None => Ok(ints.iter().map(|&n| n as f64 / p).collect()),
        Some(c) if c.len() == ints.len() => {
            Ok(ints.iter().zip(&c).map(|(&n, &c)| from_ordinal(ordinal(n as f64 / p).wrapping_add(c))).collect())
        }
        Some(_) => Err(CodecError::Malformed("integer and correction streams differ in length")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn magnitude_bits_is_close_to_log2() {
        for x in [0i64, 1, 2, 3, 7, 100, 12_345, -98_765, 1 << 40, i64::MIN, i64::MAX] {
            let exact = ((x.unsigned_abs() as f64) + 1.0).log2();
            assert!((magnitude_bits(x) - exact).abs() < 0.006, "{x}: {} vs {exact}", magnitude_bits(x));
        }
    }

    fn round_trip(values: &[f64]) -> Vec<u8> {
        let bytes = encode(values).unwrap();
        assert_eq!(bits(&decode(&bytes).unwrap()), bits(values));
        bytes
    }

    /// The decimal layout at scale `k`, checked to round-trip.
    fn decimal_round_trip(values: &[f64], k: usize) -> Vec<u8> {
        let bytes = encode_decimal(values, k).unwrap();
        assert_eq!(bits(&decode(&bytes).unwrap()), bits(values), "k={k}");
        bytes
    }

    fn float_len(values: &[f64]) -> usize {
        simple_compress(values, &ChunkConfig::default()).unwrap().len() + 1
    }

    /// A deterministic pseudo-random walk of decimals with `k` places, steps of up to
    /// `±step` units of the last place, parsed from text as a CSV reader would.
    fn walk(k: usize, n: usize, offset: f64, step: u64) -> Vec<f64> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut units = (offset * POW10[k]) as i64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                units += (x % (2 * step + 1)) as i64 - step as i64;
                format!("{:.k$}", units as f64 / POW10[k]).parse().unwrap()
            })
            .collect()
    }

    fn decimals(k: usize, n: usize, offset: f64) -> Vec<f64> {
        walk(k, n, offset, 1000)
    }

    #[test]
    fn ordinal_is_a_monotone_bijection() {
        let values = [f64::MIN, -1.5, -f64::MIN_POSITIVE, -0.0, 0.0, f64::MIN_POSITIVE, 1.0, f64::MAX];
        let ords: Vec<i64> = values.iter().map(|&v| ordinal(v)).collect();
        assert!(ords.windows(2).all(|w| w[0] < w[1]), "{ords:?}");
        for v in values {
            assert_eq!(from_ordinal(ordinal(v)).to_bits(), v.to_bits());
        }
        assert_eq!(ordinal(0.0) - ordinal(-0.0), 1);
    }

    #[test]
    fn decimals_of_every_precision_round_trip_as_scaled_integers() {
        for k in [0, 1, 3, 6, 10, 13] {
            // At most 15 significant digits: more are not distinct in an f64.
            for offset in [0.0f64, -50.0, 1234.5].into_iter().filter(|o: &f64| (o.abs() + 1.0) * POW10[k] < 1e15) {
                let values = decimals(k, 4096, offset);
                // "-0" parses to -0.0, which is a correction of one ulp from 0.
                let negative_zeros = values.iter().filter(|v| v.to_bits() == (-0.0f64).to_bits()).count();
                assert_eq!(best_scale(&values), (k, values.len() - negative_zeros), "k={k} offset={offset}");
                let decimal = decimal_round_trip(&values, k);
                assert_eq!(decimal[0], if negative_zeros == 0 { TAG_DECIMAL_EXACT } else { TAG_DECIMAL });
                // The chunk takes the smaller layout.
                let chosen = round_trip(&values);
                assert_eq!(chosen.len(), decimal.len().min(float_len(&values)), "k={k} offset={offset}");
            }
        }
    }

    #[test]
    fn ten_place_decimals_take_far_less_than_eight_bytes() {
        // Random-walk steps of up to ±1 at 1e-10 resolution carry about 34 bits each.
        let values = walk(10, 4096, 20.0, 10_000_000_000);
        let per_value = round_trip(&values).len() as f64 / 4096.0;
        assert!(per_value < 4.6, "{per_value} bytes/value");
    }

    #[test]
    fn near_misses_of_an_ulp_are_corrected_exactly() {
        // Averages computed in binary miss the nearest f64 of their decimal by an ulp.
        let mut values = decimals(3, 4096, 40.0);
        for (i, v) in values.iter_mut().enumerate().filter(|(i, _)| i % 4 == 0) {
            *v = from_ordinal(ordinal(*v) + if i % 8 == 0 { 1 } else { -1 });
        }
        let bytes = decimal_round_trip(&values, 3);
        assert_eq!(bytes[0], TAG_DECIMAL);
        assert_eq!(best_scale(&values), (3, values.len() - values.len() / 4));
        round_trip(&values);
    }

    #[test]
    fn odd_values_in_a_decimal_chunk_become_corrections() {
        let mut values = decimals(2, 1000, 5.0);
        values[3] = -0.0;
        values[4] = 1e300;
        values[5] = -f64::MIN_POSITIVE;
        values[6] = 0.1 + 0.2;
        values[7] = f64::MAX;
        assert_eq!(decimal_round_trip(&values, 2)[0], TAG_DECIMAL);
        round_trip(&values);
    }

    #[test]
    fn values_without_decimal_structure_fall_back_to_floats() {
        let values: Vec<f64> = (0..2000).map(|i| (f64::from(i) * 0.7).sin() * std::f64::consts::PI).collect();
        assert_eq!(round_trip(&values)[0], TAG_FLOAT);
        // Mixed precision: half short decimals, half full-precision noise.
        let mut mixed = decimals(2, 2000, 0.0);
        for (i, v) in mixed.iter_mut().enumerate().filter(|(i, _)| i % 2 == 1) {
            *v = (i as f64).sqrt();
        }
        round_trip(&mixed);
    }

    #[test]
    fn non_finite_values_still_round_trip() {
        // The store refuses them, but the codec must not lose them either.
        let mut values = decimals(1, 100, 0.0);
        values[10] = f64::NAN;
        values[11] = f64::INFINITY;
        values[12] = f64::NEG_INFINITY;
        round_trip(&values);
        round_trip(&[f64::NAN; 7]);
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        let good = encode(&decimals(3, 500, 1.0)).unwrap();
        assert!(decode(&[]).is_err());
        assert!(decode(&[TAG_DECIMAL]).is_err());
        assert!(decode(&[TAG_DECIMAL, 200]).is_err());
        assert!(decode(&[TAG_DECIMAL, 2, 255, 255, 255, 255]).is_err());
        assert!(decode(&[9, 0, 0]).is_err());
        for cut in [1, 2, good.len() / 2] {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
    }
}
