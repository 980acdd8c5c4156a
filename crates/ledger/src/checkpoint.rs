//! C2SP tlog-checkpoint bodies: origin, tree size, base64 root hash, each on its own line.

use crate::merkle::{Hash, hash_from_slice};
use crate::{LedgerError, malformed};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }

    /// Parses a checkpoint body (the text of a signed note); extension lines after the third are ignored.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        if !text.ends_with('\n') {
            return Err(malformed("checkpoint", "must end in a newline"));
        }
        let mut lines = text.lines();
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| malformed("checkpoint", "no origin line"))?;
        let size = lines
            .next()
            .ok_or_else(|| malformed("checkpoint", "no size line"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(malformed(
                "checkpoint",
                "size must be a decimal number without leading zeros",
            ));
        }
        let size = size
            .parse()
            .map_err(|_| malformed("checkpoint", "size out of range"))?;
        let root = lines
            .next()
            .ok_or_else(|| malformed("checkpoint", "no root hash line"))?;
        let root = STANDARD
            .decode(root)
            .map_err(|e| malformed("checkpoint", e.to_string()))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root: hash_from_slice(&root)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size: 42,
            root: [7u8; 32],
        };
        assert_eq!(Checkpoint::parse(&cp.body()).unwrap(), cp);
        let bad = [
            "example.org/log\n42\n",
            "example.org/log\n042\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "example.org/log\n-1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "example.org/log\n42\nBwcH\n",
            "\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
            "example.org/log\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
        ];
        for text in bad {
            assert!(Checkpoint::parse(text).is_err(), "{text:?}");
        }
    }
}
