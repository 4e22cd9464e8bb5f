//! Cursor pagination shared by every list: newest first, continued with an opaque cursor that
//! encodes the last ID seen, so pages stay stable while new rows are inserted.

use crate::error::{CoreError, FieldError};

/// The page size when the client names none, and the most it may ask for.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Where a page starts: strictly before the row with this raw ID (lists run newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub before: Option<i64>,
    pub limit: u32,
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, before: Option<&str>) -> Result<Self, CoreError> {
        let limit = limit_within(limit.unwrap_or(DEFAULT_LIMIT), MAX_LIMIT)?;
        let before = before.map(decode_cursor).transpose()?;
        Ok(Self { before, limit })
    }
}

/// A page size the client asked for, when it is between 1 and `max`.
pub fn limit_within(limit: u32, max: u32) -> Result<u32, CoreError> {
    if limit == 0 || limit > max {
        return Err(CoreError::invalid(FieldError::new(
            "limit",
            "out_of_range",
            format!("limit must be between 1 and {max}"),
        )));
    }
    Ok(limit)
}

/// One page of results and the cursor of the next one, if there is more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched newest first: the extra row only says
    /// that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, raw_id: impl Fn(&T) -> i64) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| encode_cursor(raw_id(r))) } else { None };
        Self { items: rows, next_cursor }
    }
}

/// Cursors are the decimal id of the last row of a page. Clients treat them as opaque; being
/// plain digits, their OpenAPI pattern can say exactly which strings are valid.
pub fn encode_cursor(raw_id: i64) -> String {
    raw_id.to_string()
}

pub fn decode_cursor(cursor: &str) -> Result<i64, CoreError> {
    let bad = || CoreError::invalid(FieldError::new("before", "invalid_cursor", "not a cursor this server issued"));
    if cursor.is_empty() || cursor.len() > 19 || !cursor.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    cursor.parse::<i64>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).expect("valid"), 42);
        assert_eq!(decode_cursor("9223372036854775807").expect("max"), i64::MAX);
        for bad in ["", "!!", "-1", "+1", " 1", "9223372036854775808", "12a", &"1".repeat(20)] {
            assert!(decode_cursor(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn page_reports_more_only_when_extra_row_exists() {
        let p = Page::from_rows(vec![5, 4, 3], 2, |n| *n);
        assert_eq!(p.items, vec![5, 4]);
        assert_eq!(p.next_cursor.as_deref().map(decode_cursor).transpose().expect("ok"), Some(4));
        let p = Page::from_rows(vec![5, 4], 2, |n| *n);
        assert_eq!(p.next_cursor, None);
    }
}
