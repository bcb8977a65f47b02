//! What `/logs` may be asked.
//!
//! What a `/logs` request may ask for, read from its query string: `batch` (events per
//! response) within the server's limits, and nothing it does not know.

/// Events per response when a request does not say.
pub const DEFAULT_BATCH: usize = 10;
/// Most events one response may carry (a larger ask is a 400, not a slow answer).
pub const MAX_BATCH: usize = 1_000;

/// How many events a `/logs` request asks for.
///
/// # Errors
/// The reason a 400 gives: an unknown parameter, a repeated one, or a `batch` that is not a
/// whole number within `[1, max]`.
pub fn batch(query: Option<&str>, max: usize) -> Result<usize, String> {
    let mut batch = None;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "batch" if batch.is_some() => return Err("batch is given twice".into()),
            "batch" => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        format!("batch must be a whole number within [1, {max}], got {value:?}")
                    })?;
                batch = Some(n);
            }
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(format!("unknown query parameter {shown:?} (only batch)"));
            }
        }
    }
    Ok(batch.unwrap_or(DEFAULT_BATCH.min(max)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_defaults_and_stays_within_its_limits() {
        assert_eq!(batch(None, MAX_BATCH), Ok(DEFAULT_BATCH));
        assert_eq!(batch(Some(""), MAX_BATCH), Ok(DEFAULT_BATCH));
        assert_eq!(batch(Some("batch=1"), MAX_BATCH), Ok(1));
        assert_eq!(batch(Some("batch=1000"), MAX_BATCH), Ok(1000));
        assert_eq!(batch(None, 5), Ok(5));
        for bad in [
            "batch=0",
            "batch=1001",
            "batch=-1",
            "batch=ten",
            "batch=",
            "batch",
        ] {
            let e = batch(Some(bad), MAX_BATCH).unwrap_err();
            assert!(e.contains("within [1, 1000]"), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        assert!(batch(Some("size=3"), MAX_BATCH)
            .unwrap_err()
            .contains("unknown"));
        assert!(batch(Some("batch=2&batch=3"), MAX_BATCH)
            .unwrap_err()
            .contains("twice"));
        let long = format!("{}=1", "x".repeat(500));
        assert!(batch(Some(&long), MAX_BATCH).unwrap_err().len() < 120);
    }
}
