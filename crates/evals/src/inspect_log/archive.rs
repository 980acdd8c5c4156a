//! The zip container of a `.eval` log, written forward only.
//!
//! Each entry arrives whole, so it is compressed before its header is written and no data descriptors or
//! seeking are needed. One zstd context serves every entry: making a fresh one per entry (as general zip
//! writers do) costs more than compressing a small sample, and a run has tens of thousands of them. Entries
//! past 4 GiB, archives past 4 GiB and more than 65,535 entries get their zip64 records (APPNOTE 4.3.14, 4.5.3).

use std::io::{self, Write};

/// Zip's method number for zstd (APPNOTE 4.4.5), as Inspect writes it.
const METHOD_ZSTD: u16 = 93;
/// The version needed to extract a zstd entry, as Python's `zipfile_zstd` (and so Inspect) writes it.
const VERSION_ZSTD: u16 = 20;
/// The version needed once zip64 records are used.
const VERSION_ZIP64: u16 = 45;
/// "Made by": Unix, spec 6.3.
const MADE_BY: u16 = (3 << 8) | 63;
/// Flag bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
/// Inspect caps each zstd frame at this much input, so that its web viewer's decoder can read large entries.
const MAX_FRAME_INPUT: usize = 200 << 20;

const U32_MAX: u64 = 0xFFFF_FFFF;
const U16_MAX: u64 = 0xFFFF;

/// An MS-DOS date and time, as zip headers keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosTime {
    pub date: u16,
    pub time: u16,
}

impl DosTime {
    /// 1980-01-01 00:00:00, the earliest a zip can say.
    pub const EPOCH: DosTime = DosTime {
        date: (1 << 5) | 1,
        time: 0,
    };

    /// The time an ISO 8601 text (`2026-11-30T03:58:37+00:00`) says, as written; `None` if it says none a zip
    /// can hold.
    pub fn parse(iso: &str) -> Option<DosTime> {
        let field = |from: usize, to: usize| iso.get(from..to)?.parse::<u16>().ok();
        let (year, month, day) = (field(0, 4)?, field(5, 7)?, field(8, 10)?);
        let (hour, minute, second) = (field(11, 13)?, field(14, 16)?, field(17, 19)?);
        let valid = (1980..=2107).contains(&year)
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60;
        valid.then(|| DosTime {
            date: ((year - 1980) << 9) | (month << 5) | day,
            time: (hour << 11) | (minute << 5) | (second / 2),
        })
    }
}

/// What the central directory keeps of an entry.
struct Written {
    name: Vec<u8>,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// A zip archive being written to `out`: entries, then [`Archive::finish`] writes the directory.
pub struct Archive<W: Write> {
    out: W,
    offset: u64,
    modified: DosTime,
    compressor: zstd::bulk::Compressor<'static>,
    compressed: Vec<u8>,
    entries: Vec<Written>,
}

impl<W: Write> Archive<W> {
    /// An empty archive whose entries will carry `modified` and be compressed at zstd `level`.
    pub fn new(out: W, modified: DosTime, level: i32) -> io::Result<Self> {
        Ok(Archive {
            out,
            offset: 0,
            modified,
            compressor: zstd::bulk::Compressor::new(level)?,
            compressed: Vec::new(),
            entries: Vec::new(),
        })
    }

    /// Compresses `data` and appends it as the entry `name`.
    pub fn add(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        if name.len() > U16_MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an entry name longer than 65,535 bytes",
            ));
        }
        // zstd writes a vector from its start, up to its capacity.
        self.compressed.clear();
        if data.len() <= MAX_FRAME_INPUT {
            self.compressed.reserve(zstd::compress_bound(data.len()));
            self.compressor.compress_to_buffer(data, &mut self.compressed)?;
        } else {
            let mut frame = Vec::new();
            for chunk in data.chunks(MAX_FRAME_INPUT) {
                frame.clear();
                frame.reserve(zstd::compress_bound(chunk.len()));
                self.compressor.compress_to_buffer(chunk, &mut frame)?;
                self.compressed.extend_from_slice(&frame);
            }
        }
        let entry = Written {
            name: name.as_bytes().to_vec(),
            crc: crc32fast::hash(data),
            compressed: self.compressed.len() as u64,
            size: data.len() as u64,
            offset: self.offset,
        };
        let large = entry.size >= U32_MAX || entry.compressed >= U32_MAX;
        let mut header = Vec::with_capacity(30 + entry.name.len() + 20);
        put32(&mut header, 0x0403_4b50);
        put16(&mut header, if large { VERSION_ZIP64 } else { VERSION_ZSTD });
        put16(&mut header, flags(name));
        put16(&mut header, METHOD_ZSTD);
        put16(&mut header, self.modified.time);
        put16(&mut header, self.modified.date);
        put32(&mut header, entry.crc);
        put32(
            &mut header,
            if large { u32::MAX } else { entry.compressed as u32 },
        );
        put32(&mut header, if large { u32::MAX } else { entry.size as u32 });
        put16(&mut header, entry.name.len() as u16);
        put16(&mut header, if large { 20 } else { 0 });
        header.extend_from_slice(&entry.name);
        if large {
            put16(&mut header, 0x0001);
            put16(&mut header, 16);
            put64(&mut header, entry.size);
            put64(&mut header, entry.compressed);
        }
        self.write(&header)?;
        let compressed = std::mem::take(&mut self.compressed);
        let wrote = self.write(&compressed);
        self.compressed = compressed;
        wrote?;
        self.entries.push(entry);
        Ok(())
    }

    /// Writes the central directory and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        let start = self.offset;
        let entries = std::mem::take(&mut self.entries);
        let mut record = Vec::new();
        for e in &entries {
            record.clear();
            let mut zip64 = Vec::new();
            if e.size >= U32_MAX {
                put64(&mut zip64, e.size);
            }
            if e.compressed >= U32_MAX {
                put64(&mut zip64, e.compressed);
            }
            if e.offset >= U32_MAX {
                put64(&mut zip64, e.offset);
            }
            put32(&mut record, 0x0201_4b50);
            put16(&mut record, MADE_BY);
            put16(
                &mut record,
                if zip64.is_empty() {
                    VERSION_ZSTD
                } else {
                    VERSION_ZIP64
                },
            );
            put16(&mut record, flags_bytes(&e.name));
            put16(&mut record, METHOD_ZSTD);
            put16(&mut record, self.modified.time);
            put16(&mut record, self.modified.date);
            put32(&mut record, e.crc);
            put32(&mut record, clamp32(e.compressed));
            put32(&mut record, clamp32(e.size));
            put16(&mut record, e.name.len() as u16);
            put16(
                &mut record,
                if zip64.is_empty() {
                    0
                } else {
                    zip64.len() as u16 + 4
                },
            );
            put16(&mut record, 0); // comment
            put16(&mut record, 0); // disk
            put16(&mut record, 0); // internal attributes
            put32(&mut record, 0o100644 << 16); // a regular file, rw-r--r--
            put32(&mut record, clamp32(e.offset));
            record.extend_from_slice(&e.name);
            if !zip64.is_empty() {
                put16(&mut record, 0x0001);
                put16(&mut record, zip64.len() as u16);
                record.extend_from_slice(&zip64);
            }
            self.write(&record)?;
        }
        let end = self.offset;
        let (count, size) = (entries.len() as u64, end - start);
        let mut tail = Vec::with_capacity(98);
        if count >= U16_MAX || size >= U32_MAX || start >= U32_MAX {
            // zip64 end of central directory record, then its locator.
            put32(&mut tail, 0x0606_4b50);
            put64(&mut tail, 44);
            put16(&mut tail, MADE_BY);
            put16(&mut tail, VERSION_ZIP64);
            put32(&mut tail, 0);
            put32(&mut tail, 0);
            put64(&mut tail, count);
            put64(&mut tail, count);
            put64(&mut tail, size);
            put64(&mut tail, start);
            put32(&mut tail, 0x0706_4b50);
            put32(&mut tail, 0);
            put64(&mut tail, end);
            put32(&mut tail, 1);
        }
        put32(&mut tail, 0x0605_4b50);
        put16(&mut tail, 0);
        put16(&mut tail, 0);
        put16(&mut tail, count.min(U16_MAX) as u16);
        put16(&mut tail, count.min(U16_MAX) as u16);
        put32(&mut tail, clamp32(size));
        put32(&mut tail, clamp32(start));
        put16(&mut tail, 0);
        self.write(&tail)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

fn flags(name: &str) -> u16 {
    flags_bytes(name.as_bytes())
}

fn flags_bytes(name: &[u8]) -> u16 {
    if name.is_ascii() { 0 } else { FLAG_UTF8 }
}

fn clamp32(v: u64) -> u32 {
    u32::try_from(v)
        .ok()
        .filter(|v| u64::from(*v) < U32_MAX)
        .unwrap_or(u32::MAX)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
