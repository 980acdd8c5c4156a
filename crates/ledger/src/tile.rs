//! C2SP tlog-tiles: hash tiles of height 8 (256 hashes wide) and entry bundles, named by paths like
//! `tile/0/x001/234` or `tile/1/000.p/17`. A full tile never changes, so it can be cached forever.

use crate::merkle::NodeReader;
use crate::{LedgerError, malformed};

pub const HEIGHT: u32 = 8;
pub const WIDTH: u64 = 1 << HEIGHT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tile {
    /// Hashes of tree level `8·level`, indices `index·256 ..` for `width` hashes.
    Hashes { level: u8, index: u64, width: u16 },
    /// Leaf data of entries `index·256 ..` for `width` entries.
    Entries { index: u64, width: u16 },
}

fn encode_index(n: u64) -> String {
    let digits = format!("{n}");
    let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
    let groups: Vec<&str> = padded
        .as_bytes()
        .chunks(3)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let last = groups.len().saturating_sub(1);
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                (*g).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn decode_index(parts: &[&str]) -> Option<u64> {
    let (last, leading) = parts.split_last()?;
    let mut n: u64 = 0;
    for group in leading {
        let digits = group.strip_prefix('x')?;
        n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    n.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl Tile {
    pub fn path(&self) -> String {
        let (prefix, index, width) = match *self {
            Tile::Hashes { level, index, width } => (format!("tile/{level}"), index, width),
            Tile::Entries { index, width } => ("tile/entries".to_owned(), index, width),
        };
        let partial = if u64::from(width) < WIDTH {
            format!(".p/{width}")
        } else {
            String::new()
        };
        format!("{prefix}/{}{partial}", encode_index(index))
    }

    /// Parses a path relative to the log prefix, e.g. `tile/0/x001/234.p/5`.
    pub fn parse(path: &str) -> Result<Tile, LedgerError> {
        let bad = |why: &str| malformed("tile path", why.to_owned());
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("must start with tile/"))?;
        let (rest, width) = match rest.split_once(".p/") {
            Some((rest, w)) => {
                let width: u16 = w.parse().map_err(|_| bad("partial width must be 1 to 255"))?;
                if width == 0 || u64::from(width) >= WIDTH || w.starts_with('0') {
                    return Err(bad("partial width must be 1 to 255"));
                }
                (rest, width)
            }
            None => (rest, u16::try_from(WIDTH).unwrap_or(256)),
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let (head, index_parts) = parts.split_first().ok_or_else(|| bad("empty"))?;
        let index = decode_index(index_parts).ok_or_else(|| bad("bad tile index"))?;
        let tile = if *head == "entries" {
            Tile::Entries { index, width }
        } else {
            let level: u8 = head.parse().map_err(|_| bad("bad level"))?;
            if level > 7 || head.len() != 1 {
                return Err(bad("bad level"));
            }
            Tile::Hashes { level, index, width }
        };
        if tile.path() != path {
            return Err(bad("not in canonical form"));
        }
        Ok(tile)
    }

    fn level_and_index(&self) -> (u32, u64, u16) {
        match *self {
            Tile::Hashes { level, index, width } => (u32::from(level) * HEIGHT, index, width),
            Tile::Entries { index, width } => (0, index, width),
        }
    }

    /// Whether the tile can be served from a tree of `size` leaves: a full tile once all of its hashes exist,
    /// a partial one as long as the tree has at least its width there (a monitor following an older
    /// checkpoint asks for a narrower tile than the tree now has).
    pub fn exists_in(&self, size: u64) -> bool {
        let (level, index, width) = self.level_and_index();
        let available = size >> level;
        // An index so large that its first hash's position does not fit names no tile of any tree.
        let Some(start) = index.checked_mul(WIDTH) else {
            return false;
        };
        available
            .checked_sub(start)
            .is_some_and(|there| there > 0 && there >= u64::from(width))
    }

    /// The concatenated hashes of a hash tile.
    pub fn hashes<R: NodeReader + ?Sized>(&self, reader: &R) -> Result<Vec<u8>, LedgerError> {
        let (level, index, width) = self.level_and_index();
        let level = u8::try_from(level).map_err(|_| malformed("tile", "level too high"))?;
        let mut out = Vec::with_capacity(usize::from(width) * 32);
        for i in 0..u64::from(width) {
            out.extend_from_slice(&reader.node(level, index * WIDTH + i)?);
        }
        Ok(out)
    }
}

/// Encodes an entry bundle: each entry's data prefixed by its length as two big-endian bytes.
pub fn entry_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let len = u16::try_from(entry.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry.get(..usize::from(len)).unwrap_or(entry));
    }
    out
}

/// Splits an entry bundle into its entries.
pub fn parse_entry_bundle(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, LedgerError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_at_checked(2)
            .ok_or_else(|| malformed("entry bundle", "truncated length"))?;
        let len = usize::from(u16::from_be_bytes([
            len.first().copied().unwrap_or(0),
            len.get(1).copied().unwrap_or(0),
        ]));
        let (entry, rest) = rest
            .split_at_checked(len)
            .ok_or_else(|| malformed("entry bundle", "truncated entry"))?;
        out.push(entry.to_vec());
        bytes = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths() {
        let cases = [
            (
                Tile::Hashes {
                    level: 0,
                    index: 0,
                    width: 256,
                },
                "tile/0/000",
            ),
            (
                Tile::Hashes {
                    level: 0,
                    index: 1234067,
                    width: 256,
                },
                "tile/0/x001/x234/067",
            ),
            (
                Tile::Hashes {
                    level: 1,
                    index: 1,
                    width: 17,
                },
                "tile/1/001.p/17",
            ),
            (
                Tile::Entries {
                    index: 1000,
                    width: 3,
                },
                "tile/entries/x001/000.p/3",
            ),
        ];
        for (tile, path) in cases {
            assert_eq!(tile.path(), path);
            assert_eq!(Tile::parse(path).unwrap(), tile);
        }
        for bad in [
            "tile/0/1",
            "tile/0/x1/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/8/000",
            "tile/0/001/002",
            "tile/00/000",
            "tile/0/000.p/07",
        ] {
            assert!(Tile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn which_tiles_exist() {
        let full = Tile::Hashes {
            level: 0,
            index: 0,
            width: 256,
        };
        assert!(!full.exists_in(255));
        assert!(full.exists_in(256));
        let partial = Tile::Hashes {
            level: 0,
            index: 1,
            width: 5,
        };
        assert!(!partial.exists_in(260));
        assert!(partial.exists_in(261));
        assert!(partial.exists_in(262));
        let upper = Tile::Hashes {
            level: 1,
            index: 0,
            width: 2,
        };
        assert!(upper.exists_in(512));
        assert!(upper.exists_in(700));
        assert!(!upper.exists_in(511));
    }

    /// Any tile: a level (or the entries), an index of any size, a full or partial width.
    fn any_tile() -> impl Strategy<Value = Tile> {
        let index = prop_oneof![0..5_000u64, any::<u64>(), (u64::MAX - 1000)..=u64::MAX];
        let width = prop_oneof![Just(256u16), 1..256u16];
        (proptest::option::of(0..8u8), index, width).prop_map(|(level, index, width)| match level {
            Some(level) => Tile::Hashes { level, index, width },
            None => Tile::Entries { index, width },
        })
    }

    /// Text that looks like tile paths: their pieces in any order and number, and any characters.
    fn path_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("tile/".to_owned()),
            Just("entries/".to_owned()),
            Just(".p/".to_owned()),
            Just("/".to_owned()),
            "x?[0-9]{1,4}/?",
            "[0-9]{1,3}",
            "\\PC{0,4}",
        ];
        prop_oneof![
            proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat()),
            "\\PC{0,60}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_tile_path_parses_back_to_its_tile(tile in any_tile()) {
            prop_assert_eq!(Tile::parse(&tile.path()).ok(), Some(tile));
        }

        #[test]
        fn any_text_is_a_canonical_tile_path_or_a_clean_error(text in path_like(), size in any::<u64>()) {
            match Tile::parse(&text) {
                Ok(tile) => {
                    prop_assert_eq!(tile.path(), text);
                    // Whether it exists in a tree of any size is answered, never a panic or an overflow.
                    let _ = tile.exists_in(size);
                    let _ = tile.exists_in(u64::MAX);
                }
                Err(e) => prop_assert!(e.to_string().contains("tile path"), "{e}"),
            }
        }

        #[test]
        fn a_tile_exists_exactly_when_the_tree_holds_its_hashes(tile in any_tile(), size in any::<u64>()) {
            let (level, index, width) = tile.level_and_index();
            let available = u128::from(size >> level);
            let start = u128::from(index) * u128::from(WIDTH);
            let holds = available > start && available - start >= u128::from(width);
            prop_assert_eq!(tile.exists_in(size), holds);
        }
    }

    #[test]
    fn the_last_index_names_no_tile() {
        let path = "tile/0/x018/x446/x744/x073/x709/x551/615";
        let tile = Tile::parse(path).unwrap();
        for size in [0, 256, u64::MAX] {
            assert!(!tile.exists_in(size), "{size}");
        }
    }

    #[test]
    fn entry_bundles_round_trip() {
        let entries: Vec<&[u8]> = vec![b"a", b"", &[9u8; 32]];
        let bundle = entry_bundle(entries.clone());
        assert_eq!(
            parse_entry_bundle(&bundle).unwrap(),
            entries.iter().map(|e| e.to_vec()).collect::<Vec<_>>()
        );
        assert!(parse_entry_bundle(&[0, 5, 1]).is_err());
    }
}
