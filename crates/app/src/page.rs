//! Cursor pagination. A cursor is opaque to callers: the key of the last item, base64url-encoded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use review::ValidationError;
use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// A caller's page request as it arrives: an optional cursor and an optional limit.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl PageRequest {
    pub fn limit(&self) -> Result<i64, ValidationError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// Decodes the cursor with `parse`, which reads the key out of the decoded text.
    pub fn after<K>(&self, parse: impl Fn(&str) -> Option<K>) -> Result<Option<K>, ValidationError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let bad = || ValidationError::new("cursor", "is not a cursor this list returned");
        let text = decode(cursor).ok_or_else(bad)?;
        parse(&text).map(Some).ok_or_else(bad)
    }
}

/// Cuts a fetched `limit + 1` rows to a page and computes the next cursor from the last item kept.
pub fn paginate<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> String,
    view: impl FnMut(R) -> T,
) -> Paged<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| encode(&key(r)))
    } else {
        None
    };
    Paged {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}

/// Like `paginate`, but keeps only the rows whose entry in `keep` is true. The cursor follows the last row
/// read, kept or not, so filtering never repeats or skips rows.
pub fn paginate_filtered<R, T>(
    rows: Vec<R>,
    keep: &[bool],
    limit: i64,
    key: impl Fn(&R) -> String,
    mut view: impl FnMut(R) -> T,
) -> Paged<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    let next_cursor = if more {
        rows.get(limit.wrapping_sub(1)).map(|r| encode(&key(r)))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .zip(keep.iter().copied())
        .take(limit)
        .filter_map(|(row, keep)| keep.then(|| view(row)))
        .collect();
    Paged { items, next_cursor }
}

fn encode(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn decode(text: &str) -> Option<String> {
    if text.len() > 400 {
        return None;
    }
    String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for text in [
            "",
            "a",
            "ab",
            "abc",
            "2027-01-01T00:00:00+00:00|0190e0b2-0000-7000-8000-000000000000",
        ] {
            assert_eq!(decode(&encode(text)).as_deref(), Some(text));
        }
        assert_eq!(decode("not base64!"), None);
    }

    #[test]
    fn limits() {
        let cases = [
            (None, Ok(50)),
            (Some(1), Ok(1)),
            (Some(200), Ok(200)),
            (Some(0), Err(())),
            (Some(201), Err(())),
        ];
        for (limit, expected) in cases {
            let got = PageRequest { cursor: None, limit }.limit().map_err(|_| ());
            assert_eq!(got, expected, "{limit:?}");
        }
    }

    #[test]
    fn pagination_sets_the_cursor_only_when_more_remain() {
        let page = paginate(vec![1, 2, 3], 2, |n| n.to_string(), |n| n * 10);
        assert_eq!(page.items, vec![10, 20]);
        assert_eq!(decode(page.next_cursor.as_deref().unwrap()).as_deref(), Some("2"));
        let last = paginate(vec![1, 2], 2, |n| n.to_string(), |n| n);
        assert!(last.next_cursor.is_none());
        let filtered = paginate_filtered(vec![1, 2, 3], &[true, false, true], 2, |n| n.to_string(), |n| n);
        assert_eq!(filtered.items, vec![1]);
        assert_eq!(
            decode(filtered.next_cursor.as_deref().unwrap()).as_deref(),
            Some("2")
        );
    }
}
