//! The key-encryption keys of `--secrets-key-file`.
//!
//! Format: one key per line, `NAME:BASE64` where BASE64 (standard alphabet, padded) holds
//! exactly 32 random bytes; blank lines and lines starting with `#` are ignored. The first
//! key encrypts every secret written; any key in the file decrypts. Rotation is therefore:
//! put a new key first, run `mesos-operator secret reencrypt`, then drop the old line.
//!
//! The file is refused when group or others may read it (mode & 0o077), as ssh refuses a
//! private key: whoever reads it reads every secret in etcd. Errors name the file, the line
//! and the fix, never the key bytes (a malformed line may be a key with a typo, so it is
//! never echoed either).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use zeroize::Zeroizing;

/// Bytes in a key-encryption key (XChaCha20-Poly1305 takes 256-bit keys).
pub const KEY_LEN: usize = 32;

/// The longest key name accepted; names are written into every envelope.
const MAX_NAME_LEN: usize = 64;

/// What the fix line of a malformed key says; shared by every line error.
const FORMAT_HINT: &str = "each key line is NAME:BASE64 of exactly 32 random bytes, e.g. `echo \"k2:$(head -c 32 /dev/urandom | base64)\"`";

/// Why a key file cannot be used. Nothing is written when loading fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be opened or read.
    #[error("cannot read --secrets-key-file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Group or others may read the file.
    #[error("--secrets-key-file {path} is accessible by group or others (mode {mode:04o}); whoever reads it reads every secret; run `chmod 600 {path}`")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// One line is malformed.
    #[error("--secrets-key-file {path} line {line}: {reason}; {FORMAT_HINT}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong (never the line's text).
        reason: String,
    },
    /// The file holds no key.
    #[error("--secrets-key-file {path} holds no key; {FORMAT_HINT}")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// One key-encryption key: a name (written into envelopes) and 32 bytes (zeroed on drop).
pub struct Kek {
    name: String,
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl Kek {
    /// The key's name (safe to print).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key bytes, for the cipher only.
    pub(super) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<key {}>", self.name)
    }
}

/// The keys of one key file, in file order: the first encrypts, all decrypt.
pub struct Keyring {
    path: PathBuf,
    keys: Vec<Kek>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.keys.iter().map(Kek::name).collect();
        write!(f, "Keyring({}: {names:?})", self.path.display())
    }
}

impl Keyring {
    /// Reads and checks a key file: private to its owner, every line well-formed, at least
    /// one key, no name twice.
    pub fn load(path: &Path) -> Result<Keyring, KeyFileError> {
        let read_err = |e: std::io::Error| KeyFileError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let mut file = std::fs::File::open(path).map_err(read_err)?;
        // The mode of the file opened, not of whatever the path names a moment later.
        let meta = file.metadata().map_err(read_err)?;
        check_private(path, &meta)?;
        let mut text = Zeroizing::new(String::new());
        file.read_to_string(&mut text).map_err(read_err)?;
        Keyring::parse(path, &text)
    }

    /// Parses key file text; `path` is only for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Keyring, KeyFileError> {
        let mut keys: Vec<Kek> = Vec::new();
        // The line each key came from, for a name used twice.
        let mut lines: Vec<usize> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| KeyFileError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            };
            let Some((name, b64)) = line.split_once(':') else {
                return Err(bad("no ':' between the key's name and its base64".into()));
            };
            let (name, b64) = (name.trim(), b64.trim());
            if !is_key_name(name) {
                return Err(bad(format!(
                    "the key's name must be 1-{MAX_NAME_LEN} letters, digits, '.', '_' or '-'"
                )));
            }
            if let Some(first) = keys.iter().position(|k| k.name == name) {
                return Err(bad(format!(
                    "the key name {name} is already used on line {}; names must be unique",
                    lines[first]
                )));
            }
            let decoded = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| bad(format!("the key {name} is not valid base64")))?,
            );
            if decoded.len() != KEY_LEN {
                return Err(bad(format!(
                    "the key {name} is {} bytes, not {KEY_LEN}",
                    decoded.len()
                )));
            }
            let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
            bytes.copy_from_slice(&decoded);
            keys.push(Kek {
                name: name.to_string(),
                bytes,
            });
            lines.push(i + 1);
        }
        if keys.is_empty() {
            return Err(KeyFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Keyring {
            path: path.to_path_buf(),
            keys,
        })
    }

    /// The key every new value is encrypted with: the file's first.
    pub fn primary(&self) -> &Kek {
        // `parse` never builds an empty keyring.
        &self.keys[0]
    }

    /// The key named `name`, if the file holds it.
    pub fn get(&self, name: &str) -> Option<&Kek> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The file the keys came from (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Key names go into every envelope and into messages: a short, plain alphabet.
fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), KeyFileError> {
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A key line for tests: `name` and 32 bytes of `fill`.
    pub(in crate::secrets) fn line(name: &str, fill: u8) -> String {
        format!(
            "{name}:{}",
            base64::engine::general_purpose::STANDARD.encode([fill; KEY_LEN])
        )
    }

    #[test]
    fn the_first_key_encrypts_and_comments_and_blank_lines_are_skipped() {
        let text = format!(
            "# rotated 2026-01\n\n  {}  \n{}\n",
            line("k2", 2),
            line("k1", 1)
        );
        let ring = Keyring::parse(Path::new("/k"), &text).unwrap();
        assert_eq!(ring.primary().name(), "k2");
        assert_eq!(ring.get("k1").unwrap().bytes(), &[1u8; KEY_LEN]);
        assert!(ring.get("k3").is_none());
        assert!(!format!("{ring:?}").contains("AQEB"), "{ring:?}");
    }

    #[test]
    fn parse_errors_name_the_file_and_line_never_the_key() {
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let cases = [
            (format!("# c\n{}\nk2{short}\n", line("k1", 1)), 3, "no ':'"),
            (format!("\n\nk1:{short}\n"), 3, "16 bytes, not 32"),
            ("k1:not base64!!\n".to_string(), 1, "not valid base64"),
            (format!("bad name:{short}\n"), 1, "name must be"),
            (
                format!("{}\n{}\n", line("k1", 1), line("k1", 2)),
                2,
                "already used on line 1",
            ),
        ];
        for (text, n, want) in cases {
            let e = Keyring::parse(Path::new("/etc/mo.keys"), &text).unwrap_err();
            assert!(
                matches!(e, KeyFileError::Line { line, .. } if line == n),
                "{e}"
            );
            let msg = e.to_string();
            assert!(
                msg.contains("/etc/mo.keys line") && msg.contains(want),
                "{msg}"
            );
            assert!(msg.contains("NAME:BASE64"), "the fix: {msg}");
            assert!(!msg.contains(&short) && !msg.contains("AQEB"), "{msg}");
        }
        let e = Keyring::parse(Path::new("/k"), "# nothing\n\n").unwrap_err();
        assert!(matches!(e, KeyFileError::Empty { .. }), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused_and_a_private_one_loads() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, format!("{}\n", line("k1", 1))).unwrap();
        for mode in [0o640, 0o604, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = Keyring::load(&path).unwrap_err();
            assert_eq!(
                e,
                KeyFileError::Permissions {
                    path: path.clone(),
                    mode
                }
            );
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Keyring::load(&path).unwrap().primary().name(), "k1");
        let e = Keyring::load(&dir.path().join("absent")).unwrap_err();
        assert!(matches!(e, KeyFileError::Read { .. }), "{e}");
    }
}
