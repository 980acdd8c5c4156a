//! Cursor pagination. A cursor is opaque to callers: the key of the last item, base64url-encoded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use review::ValidationError;
use serde::Serialize;
use uuid::Uuid;

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

    /// For lists keyed by id: the page's limit, and the store page that asks one row more (so `paginate`
    /// knows whether another page follows).
    pub fn by_id(&self) -> Result<(i64, store::Page<Uuid>), ValidationError> {
        let limit = self.limit()?;
        let after = self.after(|s| s.parse::<Uuid>().ok())?;
        Ok((
            limit,
            store::Page {
                after,
                limit: limit + 1,
            },
        ))
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

/// The cursor key of a list ordered by a time, then an id: `2027-01-01T00:00:00+00:00|<id>`.
pub fn time_id_key(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}|{id}", at.to_rfc3339())
}

/// Reads a cursor key back; its time must be in the range every time a caller gives is (`review::dates`).
pub fn parse_time_id_key(key: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (at, id) = key.split_once('|')?;
    Some((review::dates::parse_time("cursor", at).ok()?, id.parse().ok()?))
}

/// Pages a list that is read whole because it is short by nature (a notice's history, its assignments): in
/// the order of `key` (a time, then an id), the items after the cursor's key.
pub fn paginate_read_whole<T>(
    mut items: Vec<T>,
    page: &PageRequest,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> Result<Paged<T>, ValidationError> {
    let limit = page.limit()?;
    let after = page.after(parse_time_id_key)?;
    items.sort_by_key(|item| key(item));
    items.retain(|item| after.is_none_or(|after| key(item) > after));
    Ok(paginate(
        items,
        limit,
        |item| {
            let (at, id) = key(item);
            time_id_key(at, id)
        },
        |item| item,
    ))
}

/// A list's search and order as the caller gives them, unchecked: `q` the search text, `sort` an order's name.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub q: Option<String>,
    pub sort: Option<String>,
}

/// The longest search text a list takes (`q`), in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Reads a list's `q` into a case-insensitive substring pattern (`store::like_pattern`); blank means no search.
pub fn search(q: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(q) = q else {
        return Ok(None);
    };
    if q.chars().count() > MAX_SEARCH_CHARS {
        return Err(ValidationError::new(
            "q",
            format!("must be at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    if q.chars().any(char::is_control) {
        return Err(ValidationError::new("q", "must not contain control characters"));
    }
    let q = q.trim();
    Ok((!q.is_empty()).then(|| store::like_pattern(q)))
}

/// Reads a list's `sort` from its closed set `allowed` (name, order); absent means the first, the default.
pub fn sort<S: Copy>(raw: Option<&str>, allowed: &[(&'static str, S)]) -> Result<S, ValidationError> {
    let bad = || {
        let names: Vec<&str> = allowed.iter().map(|(name, _)| *name).collect();
        ValidationError::new("sort", format!("must be one of {}", names.join(", ")))
    };
    match raw.filter(|s| !s.is_empty()) {
        None => allowed.first().map(|(_, s)| *s).ok_or_else(bad),
        Some(raw) => allowed
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, s)| *s)
            .ok_or_else(bad),
    }
}

/// The cursor key of a list in a sort other than its default: the sort's name, `~`, then the key, so that a
/// cursor of one sort is refused by another.
pub fn sorted_key(sort: &str, key: &str) -> String {
    format!("{sort}~{key}")
}

/// Reads a `sorted_key` of `sort` back to its key.
pub fn parse_sorted_key<'a>(sort: &str, key: &'a str) -> Option<&'a str> {
    key.strip_prefix(sort)?.strip_prefix('~')
}

/// The key of a list ordered by a text, then an id: `<text>|<id>` (the id, last, has no `|`).
pub fn text_id_key(text: &str, id: Uuid) -> String {
    format!("{text}|{id}")
}

pub fn parse_text_id_key(key: &str) -> Option<(String, Uuid)> {
    let (text, id) = key.rsplit_once('|')?;
    Some((text.to_owned(), id.parse().ok()?))
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
    use proptest::prelude::*;

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
    fn lists_read_whole_page_in_key_order() {
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default();
        let ids: Vec<Uuid> = (1..=4u128).map(Uuid::from_u128).collect();
        // Out of order, with a tie on the time broken by the id.
        let items = vec![(at(5), ids[3]), (at(1), ids[1]), (at(1), ids[0]), (at(3), ids[2])];
        let mut page = PageRequest {
            cursor: None,
            limit: Some(2),
        };
        let mut seen = Vec::new();
        loop {
            let got = paginate_read_whole(items.clone(), &page, |i| *i).unwrap();
            seen.extend(got.items);
            match got.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        assert_eq!(
            seen,
            vec![(at(1), ids[0]), (at(1), ids[1]), (at(3), ids[2]), (at(5), ids[3])]
        );
        assert_eq!(
            parse_time_id_key(&time_id_key(at(3), ids[2])),
            Some((at(3), ids[2]))
        );
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

    /// Any instant of the supported range (1970 to 9999), to the microsecond, as times are stored.
    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        (0..=253_402_300_799i64, 0..1_000_000u32)
            .prop_map(|(s, micros)| DateTime::from_timestamp(s, micros * 1000).unwrap_or_default())
    }

    fn any_uuid() -> impl Strategy<Value = Uuid> {
        any::<u128>().prop_map(Uuid::from_u128)
    }

    /// What a caller may send as a cursor: real cursors cut, extended or altered, base64 of anything, any text.
    fn cursor_like() -> impl Strategy<Value = String> {
        let real = (any_instant(), any_uuid()).prop_map(|(at, id)| encode(&time_id_key(at, id)));
        prop_oneof![
            (real, any::<prop::sample::Index>(), "\\PC{0,3}").prop_map(|(c, at, extra)| {
                let cut = at.index(c.len() + 1);
                format!("{}{extra}", c.get(..cut).unwrap_or(&c))
            }),
            any::<Vec<u8>>().prop_map(|bytes| URL_SAFE_NO_PAD.encode(bytes)),
            "[A-Za-z0-9_=+/-]{0,500}",
            "\\PC{0,100}",
        ]
    }

    /// Reads a cursor with every kind of key the lists use.
    fn read_every_way(cursor: &str) -> [Result<bool, ValidationError>; 3] {
        let page = PageRequest {
            cursor: Some(cursor.to_owned()),
            limit: None,
        };
        [
            page.after(parse_time_id_key).map(|k| k.is_some()),
            page.after(|s| s.parse::<Uuid>().ok()).map(|k| k.is_some()),
            page.after(|s| s.parse::<i64>().ok()).map(|k| k.is_some()),
        ]
    }

    /// The cursor a list hands out after the row with this key.
    fn handed_out(key: String) -> PageRequest {
        let page = paginate(vec![key, String::new()], 1, Clone::clone, |k| k);
        PageRequest {
            cursor: page.next_cursor,
            limit: None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_key_of_up_to_300_bytes_round_trips(text in "\\PC{0,75}") {
            prop_assume!(text.len() <= 300);
            prop_assert_eq!(decode(&encode(&text)), Some(text));
        }

        #[test]
        fn the_cursors_lists_hand_out_read_back_to_their_keys(
            at in any_instant(), id in any_uuid(), seq in any::<i64>(),
        ) {
            let read = handed_out(time_id_key(at, id)).after(parse_time_id_key);
            prop_assert_eq!(read.ok(), Some(Some((at, id))));
            let read = handed_out(id.to_string()).after(|s| s.parse::<Uuid>().ok());
            prop_assert_eq!(read.ok(), Some(Some(id)));
            let read = handed_out(seq.to_string()).after(|s| s.parse::<i64>().ok());
            prop_assert_eq!(read.ok(), Some(Some(seq)));
        }

        #[test]
        fn any_cursor_reads_to_a_key_or_is_refused_naming_the_field(cursor in cursor_like()) {
            for read in read_every_way(&cursor) {
                match read {
                    Ok(found) => {
                        prop_assert!(found);
                        prop_assert!(cursor.len() <= 400, "a long cursor is refused before decoding");
                    }
                    Err(e) => prop_assert_eq!(e.field, "cursor"),
                }
            }
        }

        #[test]
        fn a_limit_is_taken_exactly_between_1_and_200(limit in prop_oneof![any::<i64>(), -5..205i64]) {
            let got = PageRequest { cursor: None, limit: Some(limit) }.limit();
            prop_assert_eq!(got.is_ok(), (1..=MAX_LIMIT).contains(&limit));
        }

        #[test]
        fn following_the_cursors_of_a_list_read_whole_yields_each_item_once_in_order(
            keys in proptest::collection::btree_set((any_instant(), any_uuid()), 0..40),
            limit in 1..12i64,
        ) {
            let mut shuffled: Vec<(DateTime<Utc>, Uuid)> = keys.iter().copied().collect();
            shuffled.reverse();
            let mut page = PageRequest { cursor: None, limit: Some(limit) };
            let mut seen = Vec::new();
            for _ in 0..=keys.len() {
                let got = paginate_read_whole(shuffled.clone(), &page, |k| *k).unwrap();
                prop_assert!(got.items.len() <= usize::try_from(limit).unwrap());
                seen.extend(got.items);
                match got.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => break,
                }
            }
            prop_assert_eq!(seen, keys.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn pagination_sets_the_cursor_only_when_more_remain() {
        let page = paginate(vec![1, 2, 3], 2, |n| n.to_string(), |n| n * 10);
        assert_eq!(page.items, vec![10, 20]);
        assert_eq!(decode(page.next_cursor.as_deref().unwrap()).as_deref(), Some("2"));
        let last = paginate(vec![1, 2], 2, |n| n.to_string(), |n| n);
        assert!(last.next_cursor.is_none());
    }
}
