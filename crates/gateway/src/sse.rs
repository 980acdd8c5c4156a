//! Server-sent events, cut from a byte stream as it arrives.
//!
//! Linear time and bounded memory whatever the upstream sends: each byte is looked at once for a line end (the
//! parser remembers how far it has looked in a line not yet complete, instead of scanning it again with every
//! chunk), only the bytes of the event in progress are held, and an event larger than the limit stops the
//! parser rather than growing it.

use bytes::BytesMut;

/// One server-sent event: its `event:` name, if any, and its `data:` lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Cuts a byte stream into server-sent events.
#[derive(Debug)]
pub struct SseParser {
    /// Bytes of the line in progress (and of lines not yet cut from the last chunk).
    buffer: BytesMut,
    /// How many bytes at the start of `buffer` are known to hold no line end.
    scanned: usize,
    event: Option<String>,
    data: String,
    has_data: bool,
    /// Bytes of the current event's complete lines, comments included.
    event_bytes: usize,
    max_event: usize,
    too_large: bool,
    /// Bytes looked at for a line end, ever: what the tests hold to linear time.
    examined: u64,
}

impl SseParser {
    /// A parser that refuses an event of more than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        SseParser {
            buffer: BytesMut::new(),
            scanned: 0,
            event: None,
            data: String::new(),
            has_data: false,
            event_bytes: 0,
            max_event,
            too_large: false,
            examined: 0,
        }
    }

    /// Feeds bytes; returns the events they completed. Once an event passes the limit, returns nothing more
    /// (`too_large` tells).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if self.too_large {
            return events;
        }
        self.buffer.extend_from_slice(chunk);
        loop {
            let unscanned = self.buffer.get(self.scanned..).unwrap_or_default();
            match memchr::memchr(b'\n', unscanned) {
                None => {
                    self.examined += unscanned.len() as u64;
                    self.scanned = self.buffer.len();
                    break;
                }
                Some(at) => {
                    self.examined += at as u64 + 1;
                    let line = self.buffer.split_to(self.scanned + at + 1);
                    self.scanned = 0;
                    if !self.line(&line, &mut events) {
                        self.stop();
                        return events;
                    }
                }
            }
        }
        // A line in progress counts as soon as it arrives; a lone `\r` may yet be an event's end.
        let pending = if self.buffer.as_ref() == b"\r" {
            0
        } else {
            self.buffer.len()
        };
        if self.event_bytes + pending > self.max_event {
            self.stop();
        }
        events
    }

    /// Takes one line (with its end); false when the event it belongs to is over the limit.
    fn line(&mut self, raw: &[u8], events: &mut Vec<SseEvent>) -> bool {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.has_data || self.event.is_some() {
                events.push(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                });
                self.has_data = false;
            }
            self.event_bytes = 0;
            return true;
        }
        self.event_bytes += raw.len();
        if self.event_bytes > self.max_event {
            return false;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = line.split_once(':').unwrap_or((&line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            // Comments (`: keep-alive`), ids and retry hints are not relayed.
            _ => {}
        }
        true
    }

    fn stop(&mut self) {
        self.too_large = true;
        self.buffer = BytesMut::new();
        self.scanned = 0;
        self.data = String::new();
        self.has_data = false;
        self.event = None;
    }

    /// Whether an event passed the limit (the parser then takes nothing more).
    pub fn too_large(&self) -> bool {
        self.too_large
    }

    /// Whether bytes of an unfinished event are held.
    pub fn is_mid_event(&self) -> bool {
        !self.buffer.is_empty() || self.has_data
    }

    /// Bytes looked at for a line end so far: each byte of the stream once, however it was cut into chunks.
    pub fn examined(&self) -> u64 {
        self.examined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn events_are_cut_whatever_the_chunking() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n";
        for size in [1, 2, 3, 7, stream.len()] {
            let mut parser = SseParser::new(MIB);
            let events: Vec<SseEvent> = stream.chunks(size).flat_map(|c| parser.push(c)).collect();
            assert_eq!(events.len(), 3, "chunks of {size}");
            assert_eq!(events[1].event.as_deref(), Some("ping"));
            assert_eq!(events[2].data, "[DONE]");
            assert!(!parser.is_mid_event());
        }
    }

    #[test]
    fn lines_and_fields() {
        let stream = "data: one\r\ndata:two\ndata\n\nevent: e\n\nid: 3\nretry: 5\n\n\n\ndata: é\n\n";
        let mut parser = SseParser::new(MIB);
        let events = parser.push(stream.as_bytes());
        let got: Vec<(Option<&str>, &str)> = events
            .iter()
            .map(|e| (e.event.as_deref(), e.data.as_str()))
            .collect();
        assert_eq!(got, [(None, "one\ntwo\n"), (Some("e"), ""), (None, "é")]);
    }

    /// The 40 MB event of issue 8, in 4 KiB chunks: refused at the limit, having looked at each byte once.
    /// (Before, every chunk rescanned the whole event: about 2·10¹¹ bytes looked at, 57 s.)
    #[test]
    fn an_unterminated_event_is_refused_at_the_limit_in_linear_time() {
        let chunk = vec![b'a'; 4096];
        let mut parser = SseParser::new(MIB);
        assert!(parser.push(b"data: ").is_empty());
        let mut pushed = 6;
        while pushed < 40_000_000 && !parser.too_large() {
            assert!(parser.push(&chunk).is_empty());
            pushed += chunk.len();
        }
        assert!(parser.too_large());
        assert!(pushed <= MIB + chunk.len(), "stopped after {pushed} bytes");
        assert_eq!(parser.examined(), pushed as u64);
        assert!(!parser.is_mid_event(), "nothing is held after the refusal");
        assert!(parser.push(b"\n\ndata: x\n\n").is_empty());

        // Allowed, the whole 40 MB event is still looked at only once.
        let mut parser = SseParser::new(64 * MIB);
        parser.push(b"data: ");
        for _ in 0..(40_000_000 / chunk.len()) {
            assert!(parser.push(&chunk).is_empty());
        }
        let events = parser.push(b"\n\n");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), 40_000_000 / 4096 * 4096);
        assert_eq!(parser.examined(), 6 + (40_000_000 / 4096 * 4096) as u64 + 2);
    }

    #[test]
    fn the_limit_counts_an_events_lines_and_resets_between_events() {
        // Two events of 60 bytes each pass a 100-byte limit; one of 120 bytes in many lines does not.
        let line = format!("data: {}\n", "x".repeat(23));
        let small = format!("{line}{line}\n");
        let mut parser = SseParser::new(100);
        assert_eq!(parser.push(format!("{small}{small}").as_bytes()).len(), 2);
        assert!(!parser.too_large());
        let events = parser.push(format!("{small}{line}{line}{line}{line}\n").as_bytes());
        assert_eq!(events.len(), 1, "the event before the large one is still cut");
        assert!(parser.too_large());
    }

    /// Pushes `bytes` cut at the given offsets (taken modulo its length, in order), collecting the events.
    fn push_in_pieces(parser: &mut SseParser, bytes: &[u8], cuts: Vec<usize>) -> Vec<SseEvent> {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut events = Vec::new();
        let mut from = 0;
        for cut in cuts {
            events.extend(parser.push(&bytes[from..cut]));
            from = cut;
        }
        events
    }

    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            "data: [ -~]{0,20}",
            "data:[ -~]{0,5}",
            "event: [a-z_]{1,12}",
            ": [ -~]{0,10}",
            "id: [0-9]{1,3}",
            Just(String::new()),
            "data: [é☃a]{0,4}",
        ];
        (
            proptest::collection::vec((line, prop_oneof![Just("\n"), Just("\r\n")]), 0..40),
            any::<bool>(),
        )
            .prop_map(|(lines, ends)| {
                let mut out: Vec<u8> = lines
                    .into_iter()
                    .flat_map(|(l, end)| format!("{l}{end}").into_bytes())
                    .collect();
                if ends {
                    out.extend_from_slice(b"\n");
                }
                out
            })
    }

    proptest! {
        /// Any chunking of a stream, even inside a UTF-8 character or between `\r` and `\n`, gives the same
        /// events as the whole stream at once, and looks at each byte once.
        #[test]
        fn any_chunking_gives_the_same_events(
            bytes in stream(),
            cuts in proptest::collection::vec(0usize..2000, 0..20),
        ) {
            let mut whole = SseParser::new(MIB);
            let expected = whole.push(&bytes);
            let mut parser = SseParser::new(MIB);
            let events = push_in_pieces(&mut parser, &bytes, cuts);
            prop_assert_eq!(&events, &expected);
            prop_assert_eq!(parser.is_mid_event(), whole.is_mid_event());
            prop_assert_eq!(parser.examined(), bytes.len() as u64);
        }

        /// With a limit, the chunking does not change which events come out before the refusal either.
        #[test]
        fn the_limit_does_not_depend_on_the_chunking(
            bytes in stream(),
            limit in 1usize..120,
            cuts in proptest::collection::vec(0usize..2000, 0..20),
        ) {
            let mut whole = SseParser::new(limit);
            let expected = whole.push(&bytes);
            let mut parser = SseParser::new(limit);
            let events = push_in_pieces(&mut parser, &bytes, cuts);
            prop_assert_eq!(&events, &expected);
            prop_assert_eq!(parser.too_large(), whole.too_large());
        }
    }
}
