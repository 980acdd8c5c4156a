//! Fresh capture-the-flag flags: a new random flag for every sample, so an answer cannot be remembered from
//! training data or an earlier sample, placed where the challenge expects it.

use crate::spec::{PlacedFile, validate_env_name, validate_path};
use crate::{Error, SandboxSpec};
use std::fmt::Write as _;

/// `flag{…}` around 128 random bits in hex. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Flag(String);

impl Flag {
    pub fn generate() -> Self {
        let bits: [u8; 16] = rand::random();
        let mut flag = String::with_capacity(38);
        flag.push_str("flag{");
        for byte in bits {
            let _ = write!(flag, "{byte:02x}");
        }
        flag.push('}');
        Self(flag)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Flag(…)")
    }
}

/// Where a challenge wants its flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagPlacement {
    /// In a file (relative to the work directory, or absolute), readable by the sandbox.
    File { path: String },
    /// In an environment variable every command sees.
    Env { name: String },
    /// Written into the setup script in place of every occurrence of `placeholder` (for a setup that builds
    /// the flag into a service, a database, a binary).
    Setup { placeholder: String },
}

impl FlagPlacement {
    /// Puts `flag` into `spec`. A placement that cannot hold (no setup script, or no placeholder in it) is an
    /// error rather than a challenge silently without its flag.
    pub fn place(&self, flag: &Flag, spec: &mut SandboxSpec) -> Result<(), Error> {
        match self {
            Self::File { path } => {
                validate_path(path).map_err(|m| Error::spec("flag.path", m))?;
                spec.files.push(PlacedFile {
                    path: path.clone(),
                    contents: flag.as_str().as_bytes().to_vec(),
                    mode: Some(0o444),
                });
            }
            Self::Env { name } => {
                validate_env_name(name).map_err(|m| Error::spec("flag.env", m))?;
                spec.env.insert(name.clone(), flag.as_str().to_owned());
            }
            Self::Setup { placeholder } => {
                let setup = spec
                    .setup
                    .as_mut()
                    .filter(|s| !placeholder.is_empty() && s.contains(placeholder.as_str()));
                let Some(setup) = setup else {
                    return Err(Error::spec(
                        "flag.setup",
                        format!("the setup script does not contain {placeholder:?}"),
                    ));
                };
                *setup = setup.replace(placeholder.as_str(), flag.as_str());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_fresh_128_bit_hex() {
        let a = Flag::generate();
        let b = Flag::generate();
        assert_ne!(a, b);
        let hex = a
            .as_str()
            .strip_prefix("flag{")
            .unwrap()
            .strip_suffix('}')
            .unwrap();
        assert_eq!(hex.len(), 32);
        assert!(
            hex.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(!format!("{a:?}").contains(hex));
    }

    #[test]
    fn placements() {
        let flag = Flag::generate();
        let mut spec = SandboxSpec {
            setup: Some("echo FLAG_HERE > /tmp/f; echo FLAG_HERE".into()),
            ..SandboxSpec::default()
        };
        FlagPlacement::File {
            path: "flag.txt".into(),
        }
        .place(&flag, &mut spec)
        .unwrap();
        FlagPlacement::Env { name: "FLAG".into() }
            .place(&flag, &mut spec)
            .unwrap();
        FlagPlacement::Setup {
            placeholder: "FLAG_HERE".into(),
        }
        .place(&flag, &mut spec)
        .unwrap();
        assert_eq!(spec.files[0].contents, flag.as_str().as_bytes());
        assert_eq!(spec.env["FLAG"], flag.as_str());
        assert_eq!(
            spec.setup.as_deref().unwrap(),
            format!("echo {0} > /tmp/f; echo {0}", flag.as_str())
        );

        let refused = [
            FlagPlacement::Setup {
                placeholder: "MISSING".into(),
            },
            FlagPlacement::Setup {
                placeholder: String::new(),
            },
            FlagPlacement::Env {
                name: "BAD-NAME".into(),
            },
            FlagPlacement::File { path: String::new() },
        ];
        for placement in refused {
            assert!(placement.place(&flag, &mut spec).is_err(), "{placement:?}");
        }
        assert!(
            FlagPlacement::Setup {
                placeholder: "X".into()
            }
            .place(&flag, &mut SandboxSpec::default())
            .is_err()
        );
    }
}
