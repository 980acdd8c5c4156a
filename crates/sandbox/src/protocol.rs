//! The agent's protocol: one JSON object per line each way, one answer per request, in order. Bytes (file
//! contents, standard input and output) travel as base64.
//!
//! The driver writes `Init` first; the agent answers `Ready` once it is set up, and then answers each request.
//! Lines are read with a bound on both sides: the agent runs as the sandbox's uid, so what it says is as
//! untrusted as anything else inside.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

pub(crate) const VERSION: u32 = 1;

/// The longest request line the agent reads: a placed file of 32 MiB in base64, with room for the rest.
pub(crate) const MAX_REQUEST_LINE: usize = 48 << 20;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Request {
    Init {
        workdir: String,
        env: Vec<(String, String)>,
        cpu_seconds: u64,
        memory_bytes: u64,
        processes: u32,
    },
    Exec {
        argv: Vec<String>,
        stdin: Option<String>,
        cwd: Option<String>,
        env: Vec<(String, String)>,
        timeout_ms: u64,
        max_output: usize,
    },
    Write {
        path: String,
        data: String,
        mode: Option<u32>,
    },
    Read {
        path: String,
        max_bytes: usize,
    },
    Service {
        argv: Vec<String>,
        cwd: Option<String>,
        env: Vec<(String, String)>,
        ready_port: Option<u16>,
        ready_timeout_ms: u64,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Response {
    Ready {
        version: u32,
    },
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        stdout: String,
        stderr: String,
        stdout_truncated: bool,
        stderr_truncated: bool,
        timed_out: bool,
    },
    Written,
    File {
        data: String,
        truncated: bool,
    },
    Started {
        pid: u32,
    },
    Failed {
        message: String,
    },
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(text)
}

/// The longest answer line the driver accepts for an answer carrying `payload` bytes (base64 grows by 4/3).
pub(crate) fn max_response_line(payload: usize) -> usize {
    payload.saturating_mul(4) / 3 + 4096
}

/// Reads one line (without its newline), refusing to buffer more than `max` bytes. `Ok(None)` at the end of
/// the stream.
pub(crate) async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the stream ended inside a line",
                ))
            };
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (buf.get(..at).unwrap_or_default(), Some(at + 1)),
            None => (buf, None),
        };
        if line.len() + chunk.len() > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line is longer than {max} bytes"),
            ));
        }
        line.extend_from_slice(chunk);
        let used = done.unwrap_or(buf.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(Some(line));
        }
    }
}

/// One message as a JSON line.
pub(crate) fn to_line<T: Serialize>(message: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(message).unwrap_or_default();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_bounded() {
        let input: &[u8] = b"short\nexactly10\nthis one is too long\n";
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        assert_eq!(
            read_line_bounded(&mut reader, 10).await.unwrap().unwrap(),
            b"short"
        );
        assert_eq!(
            read_line_bounded(&mut reader, 10).await.unwrap().unwrap(),
            b"exactly10"
        );
        let err = read_line_bounded(&mut reader, 10).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }

    #[tokio::test]
    async fn end_of_stream() {
        let mut reader = tokio::io::BufReader::new(&b""[..]);
        assert!(read_line_bounded(&mut reader, 10).await.unwrap().is_none());
        let mut reader = tokio::io::BufReader::new(&b"partial"[..]);
        assert!(read_line_bounded(&mut reader, 10).await.is_err());
    }

    #[test]
    fn messages_round_trip() {
        let line = to_line(&Request::Read {
            path: "a".into(),
            max_bytes: 3,
        });
        assert_eq!(line, b"{\"op\":\"read\",\"path\":\"a\",\"max_bytes\":3}\n");
        let back: Request = serde_json::from_slice(&line).unwrap();
        assert!(matches!(back, Request::Read { max_bytes: 3, .. }));
        assert!(serde_json::from_str::<Response>(r#"{"answer":"ready","version":1,"x":1}"#).is_err());
    }
}
