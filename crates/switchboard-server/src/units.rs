//! Parsers for option values: durations (`25s`), byte sizes (`64KiB`) and
//! booleans. Each error is a short phrase saying what was expected.

use std::time::Duration;

/// Parses a duration: one or more `<number><unit>` parts with units `ms`,
/// `s`, `m`, `h` (`500ms`, `25s`, `2m`, `1m30s`), or a bare `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a duration such as 500ms, 25s, 2m or 1h";
    let text = text.trim();
    if text.is_empty() {
        return Err(EXPECTED.to_owned());
    }
    // Zero is zero in any unit: options whose 0 turns something off take
    // it as written.
    if text.bytes().all(|b| b == b'0') {
        return Ok(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(EXPECTED.to_owned());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| EXPECTED.to_owned())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            "" => return Err(format!("{EXPECTED} (the unit is missing)")),
            _ => return Err(format!("{EXPECTED} (unknown unit `{unit}`)")),
        };
        total = total.checked_add(part).ok_or_else(|| EXPECTED.to_owned())?;
    }
    Ok(total)
}

/// Parses a byte size: a whole number with an optional unit, `B`, `KiB`,
/// `MiB`, `GiB` (powers of 1024, also written `K`, `M`, `G`) or `KB`, `MB`,
/// `GB` (powers of 1000); units are case-insensitive (`65536`, `64KiB`,
/// `1MiB`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    const EXPECTED: &str = "expected a size in bytes such as 65536, 64KiB or 1MiB";
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(EXPECTED.to_owned());
    }
    let number: u64 = text[..digits].parse().map_err(|_| EXPECTED.to_owned())?;
    let unit = text[digits..].trim().to_ascii_lowercase();
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(format!("{EXPECTED} (unknown unit `{}`)", &text[digits..])),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{EXPECTED} (too large)"))
}

/// Parses a boolean: `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err("expected true or false".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("25s"), Ok(Duration::from_secs(25)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 0s "), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "25", "s", "25x", "-1s", "1.5s", "25 s", "ms25"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse_duration("25")
                .unwrap_err()
                .contains("unit is missing")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("64kib"), Ok(65536));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("10KB"), Ok(10_000));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert_eq!(parse_size("12B"), Ok(12));
        for bad in [
            "",
            "KiB",
            "-1",
            "1.5MiB",
            "12 parsecs",
            "99999999999999999999GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn booleans() {
        for yes in ["true", "TRUE", "yes", "on", "1"] {
            assert_eq!(parse_bool(yes), Ok(true));
        }
        for no in ["false", "no", "Off", "0"] {
            assert_eq!(parse_bool(no), Ok(false));
        }
        assert!(parse_bool("maybe").is_err());
    }
}
