//! Durations as users write them: Mesos' own units (`5mins`, `10secs`) and the short ones
//! (`300s`, `5m`). Mesos flags are re-emitted in Mesos' spelling, because Mesos rejects `5m`.

use std::time::Duration;

/// Parses `<number><unit>`; the error lists the accepted units.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("'{s}' has no unit; write e.g. 300s, 5mins or 2h"))?;
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' does not start with a number; write e.g. 300s or 5mins"))?;
    let secs_per_unit = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" | "secs" => 1.0,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        "w" | "week" | "weeks" => 604800.0,
        _ => {
            return Err(format!(
                "'{s}' has unknown unit '{unit}'; use ms, s/secs, m/mins, h/hrs, d/days or w/weeks"
            ))
        }
    };
    let secs = value * secs_per_unit;
    if !secs.is_finite() || secs > 1e10 {
        return Err(format!("'{s}' is too long"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The duration in Mesos' flag syntax, e.g. `300secs`.
pub fn to_mesos(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}secs", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mesos_and_short_units() {
        assert_eq!(parse("5mins").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("300s").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
    }

    #[test]
    fn rejects_missing_or_unknown_units() {
        assert!(parse("300").is_err());
        assert!(parse("5 fortnights").is_err());
        assert!(parse("abc").is_err());
    }

    #[test]
    fn mesos_spelling() {
        assert_eq!(to_mesos(Duration::from_secs(300)), "300secs");
        assert_eq!(to_mesos(Duration::from_millis(1500)), "1500ms");
    }
}
