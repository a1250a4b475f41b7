//! Forecast output: the CSV `timestamp,forecast,lower,upper,lower_95,upper_95`
//! (`lower`/`upper` bound the 80% interval), one row per step, timestamps as
//! `YYYY-MM-DD HH:MM:SS` UTC. Floats are written in their shortest exact form, so the
//! same forecast always gives the same bytes and reads back to the same bits.

use std::fmt::Write as _;
use std::path::Path;

use super::IoError;
use super::time::format_datetime;
use crate::analytics::forecast::Forecast;

/// The header line of a forecast CSV (without the newline).
pub const FORECAST_HEADER: &str = "timestamp,forecast,lower,upper,lower_95,upper_95";

/// A forecast as CSV text, header included.
pub fn forecast_csv(f: &Forecast) -> String {
    let mut out = String::with_capacity(64 * (f.len() + 1));
    out.push_str(FORECAST_HEADER);
    out.push('\n');
    for i in 0..f.len() {
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            format_datetime(f.timestamp(i)),
            f.mean[i],
            f.lower_80[i],
            f.upper_80[i],
            f.lower_95[i],
            f.upper_95[i]
        );
    }
    out
}

/// Writes a forecast CSV file.
pub fn write_forecast(path: &Path, f: &Forecast) -> Result<(), IoError> {
    super::write_bytes(path, "forecast file", forecast_csv(f).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_documented_columns() {
        let f = Forecast {
            start: 1_392_388_200,
            step_secs: 300,
            mean: vec![1.5, 2.0],
            lower_80: vec![1.0, 1.25],
            upper_80: vec![2.0, 3.0],
            lower_95: vec![0.5, 0.1],
            upper_95: vec![2.5, 3.5],
            model: "naive".into(),
            mase: None,
            seasons: Default::default(),
        };
        assert_eq!(
            forecast_csv(&f),
            "timestamp,forecast,lower,upper,lower_95,upper_95\n\
             2014-02-14 14:30:00,1.5,1,2,0.5,2.5\n\
             2014-02-14 14:35:00,2,1.25,3,0.1,3.5\n"
        );
    }
}
