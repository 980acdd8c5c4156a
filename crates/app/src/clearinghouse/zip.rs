//! A forward-only zip writer for archives of small entries (the OSV mirror's `all.zip`): each entry arrives
//! whole, is deflated, and is written with its sizes and CRC in its local header, so neither data descriptors
//! nor seeking are needed; `finish` writes the central directory. No zip64: a writer refuses (returns `false`
//! from `add`) an entry past 65,535 entries or 4 GiB, and the caller ends the archive there.

use flate2::Compression;
use flate2::write::DeflateEncoder;
use std::io::{self, Write};

const METHOD_DEFLATE: u16 = 8;
const VERSION_NEEDED: u16 = 20;
/// "Made by": Unix, spec 6.3.
const MADE_BY: u16 = (3 << 8) | 63;
/// Flag bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
/// The most entries without zip64.
pub const MAX_ENTRIES: usize = 0xFFFF;

struct Written {
    name: Vec<u8>,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
    date: u16,
    time: u16,
}

/// An MS-DOS date and time of a UTC instant (1980 to 2107; earlier or later is clamped).
pub fn dos_time(t: chrono::DateTime<chrono::Utc>) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let year = u16::try_from(t.year().clamp(1980, 2107) - 1980).unwrap_or(0);
    let field = |v: u32| u16::try_from(v).unwrap_or(0);
    let date = (year << 9) | (field(t.month()) << 5) | field(t.day());
    let time = (field(t.hour()) << 11) | (field(t.minute()) << 5) | (field(t.second()) / 2);
    (date, time)
}

/// A zip archive being written: `add` returns the bytes to send for each entry, `finish` the directory's.
#[derive(Default)]
pub struct ZipWriter {
    offset: u64,
    entries: Vec<Written>,
}

impl ZipWriter {
    /// The bytes of one entry, or `None` when the archive cannot hold another without zip64.
    pub fn add(&mut self, name: &str, data: &[u8], modified: (u16, u16)) -> io::Result<Option<Vec<u8>>> {
        if self.entries.len() >= MAX_ENTRIES {
            return Ok(None);
        }
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data)?;
        let compressed = encoder.finish()?;
        let name = name.as_bytes().to_vec();
        let header_len = 30 + name.len() as u64;
        let end = self.offset + header_len + compressed.len() as u64;
        // The central directory must start below 4 GiB too: keep a margin for it.
        let (Ok(offset), Ok(size), Ok(compressed_len), Ok(name_len), true) = (
            u32::try_from(self.offset),
            u32::try_from(data.len()),
            u32::try_from(compressed.len()),
            u16::try_from(name.len()),
            end < (1 << 32) - (1 << 24),
        ) else {
            return Ok(None);
        };
        let (date, time) = modified;
        let crc = crc32fast::hash(data);
        let mut out = Vec::with_capacity(30 + name.len() + compressed.len());
        put32(&mut out, 0x0403_4b50);
        put16(&mut out, VERSION_NEEDED);
        put16(&mut out, FLAG_UTF8);
        put16(&mut out, METHOD_DEFLATE);
        put16(&mut out, time);
        put16(&mut out, date);
        put32(&mut out, crc);
        put32(&mut out, compressed_len);
        put32(&mut out, size);
        put16(&mut out, name_len);
        put16(&mut out, 0);
        out.extend_from_slice(&name);
        out.extend_from_slice(&compressed);
        self.offset = end;
        self.entries.push(Written {
            name,
            crc,
            compressed: compressed_len,
            size,
            offset,
            date,
            time,
        });
        Ok(Some(out))
    }

    /// The central directory and its end record.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            put32(&mut out, 0x0201_4b50);
            put16(&mut out, MADE_BY);
            put16(&mut out, VERSION_NEEDED);
            put16(&mut out, FLAG_UTF8);
            put16(&mut out, METHOD_DEFLATE);
            put16(&mut out, e.time);
            put16(&mut out, e.date);
            put32(&mut out, e.crc);
            put32(&mut out, e.compressed);
            put32(&mut out, e.size);
            put16(&mut out, u16::try_from(e.name.len()).unwrap_or(0));
            put16(&mut out, 0);
            put16(&mut out, 0);
            put16(&mut out, 0);
            put16(&mut out, 0);
            // Regular file, rw-r--r--.
            put32(&mut out, 0o100_644 << 16);
            put32(&mut out, e.offset);
            out.extend_from_slice(&e.name);
        }
        let count = u16::try_from(self.entries.len()).unwrap_or(u16::MAX);
        let directory_len = u32::try_from(out.len()).unwrap_or(u32::MAX);
        put32(&mut out, 0x0605_4b50);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, count);
        put16(&mut out, count);
        put32(&mut out, directory_len);
        put32(&mut out, u32::try_from(self.offset).unwrap_or(u32::MAX));
        put16(&mut out, 0);
        out
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
