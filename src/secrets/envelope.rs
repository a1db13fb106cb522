//! Envelope encryption of secret values stored in etcd.
//!
//! Each value gets a fresh random 32-byte data key; the value is encrypted with it under
//! XChaCha20-Poly1305 (a random 24-byte nonce is safe at any volume), and the data key is
//! encrypted ("wrapped") with the key-encryption key named in the envelope, from
//! `--secrets-key-file`. Both encryptions take the full etcd key of the secret
//! (`<prefix>secrets/<name>`) as associated data, so a value copied to another name or
//! another prefix fails authentication instead of being served as that other secret.
//!
//! The stored form is one JSON object, recognisable and versioned:
//! `{"mesosOperatorSecret":1,"alg":"xchacha20poly1305","key":"NAME","wrapNonce":"b64",
//! "wrappedKey":"b64","nonce":"b64","data":"b64"}` (standard base64, padded). A value
//! without the `mesosOperatorSecret` member is a clear value from before encryption and is
//! read as it is, so existing installs keep working until `secret reencrypt` runs.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keyring::{Kek, Keyring, KEY_LEN};

/// The envelope format version this code writes and reads.
pub const VERSION: u32 = 1;
/// The one algorithm of version 1.
pub const ALG: &str = "xchacha20poly1305";
/// The member that marks a stored value as an envelope.
const MARKER: &str = "mesosOperatorSecret";
/// XChaCha20's nonce length.
const NONCE_LEN: usize = 24;
/// Poly1305's tag length, added to every ciphertext.
const TAG_LEN: usize = 16;

/// Why a stored value cannot be sealed or opened. Names key names, never bytes; the
/// caller adds the secret's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// An envelope, read with no key file.
    #[error(
        "it is encrypted with key {key}; pass --secrets-key-file naming a file that holds that key"
    )]
    NoKeyFile {
        /// The key the envelope names.
        key: String,
    },
    /// An envelope whose key the key file does not hold.
    #[error("it is encrypted with key {key}, which {file} does not hold; add that key to --secrets-key-file")]
    UnknownKey {
        /// The key the envelope names.
        key: String,
        /// The key file.
        file: String,
    },
    /// Authentication failed: the value was changed, or copied from another etcd key.
    #[error("its stored value fails authentication under key {key} (was it moved from another key name, or changed?)")]
    Unauthentic {
        /// The key the envelope names.
        key: String,
    },
    /// It says it is an envelope but is not a readable one.
    #[error("its stored envelope is unreadable: {0}")]
    Malformed(String),
    /// The system's random source failed; nothing was written.
    #[error("the system's random source failed: {0}")]
    Random(String),
}

/// How a stored value is kept, as `secret list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// Stored in clear (written without `--secrets-key-file`).
    Clear {
        /// Bytes of the secret.
        size: usize,
    },
    /// An envelope.
    Encrypted {
        /// The key-encryption key's name.
        key: String,
        /// Bytes of the secret (not of the envelope).
        size: usize,
    },
}

/// The stored JSON. Unknown members are refused: a later version says so by its number.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Stored {
    mesos_operator_secret: u32,
    alg: String,
    key: String,
    wrap_nonce: String,
    wrapped_key: String,
    nonce: String,
    data: String,
}

/// Whether a stored value is an envelope (by its marker member) and, if so, which key
/// and how big the secret is; decrypts nothing and needs no key.
pub fn inspect(value: &[u8]) -> Result<Form, EnvelopeError> {
    match parse(value)? {
        None => Ok(Form::Clear { size: value.len() }),
        Some(s) => {
            let data = decode("data", &s.data)?;
            Ok(Form::Encrypted {
                key: s.key,
                size: data.len().saturating_sub(TAG_LEN),
            })
        }
    }
}

/// Encrypts `plain` for the etcd key `etcd_key` with the keyring's first key.
pub fn seal(plain: &[u8], etcd_key: &str, keys: &Keyring) -> Result<Vec<u8>, EnvelopeError> {
    let kek = keys.primary();
    let data_key = Zeroizing::new(random::<KEY_LEN>()?);
    let wrap_nonce = random::<NONCE_LEN>()?;
    let nonce = random::<NONCE_LEN>()?;
    let aad = etcd_key.as_bytes();
    let sealing_failed = |_| EnvelopeError::Malformed("encryption failed".into());
    let wrapped = cipher(kek.bytes())
        .encrypt(
            XNonce::from_slice(&wrap_nonce),
            Payload {
                msg: data_key.as_slice(),
                aad,
            },
        )
        .map_err(sealing_failed)?;
    let data = cipher(&data_key)
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(sealing_failed)?;
    let stored = Stored {
        mesos_operator_secret: VERSION,
        alg: ALG.into(),
        key: kek.name().into(),
        wrap_nonce: B64.encode(wrap_nonce),
        wrapped_key: B64.encode(wrapped),
        nonce: B64.encode(nonce),
        data: B64.encode(data),
    };
    serde_json::to_vec(&stored).map_err(|e| EnvelopeError::Malformed(e.to_string()))
}

/// The secret bytes of a stored value read from `etcd_key`: an envelope is decrypted with
/// the key it names, a clear value is returned as it is.
pub fn open(
    value: &[u8],
    etcd_key: &str,
    keys: Option<&Keyring>,
) -> Result<Vec<u8>, EnvelopeError> {
    let Some(s) = parse(value)? else {
        return Ok(value.to_vec());
    };
    let Some(keys) = keys else {
        return Err(EnvelopeError::NoKeyFile { key: s.key });
    };
    let Some(kek) = keys.get(&s.key) else {
        return Err(EnvelopeError::UnknownKey {
            key: s.key,
            file: keys.path().display().to_string(),
        });
    };
    open_with(&s, etcd_key, kek)
}

fn open_with(s: &Stored, etcd_key: &str, kek: &Kek) -> Result<Vec<u8>, EnvelopeError> {
    let aad = etcd_key.as_bytes();
    let wrap_nonce = decode_nonce("wrapNonce", &s.wrap_nonce)?;
    let nonce = decode_nonce("nonce", &s.nonce)?;
    let wrapped = decode("wrappedKey", &s.wrapped_key)?;
    let data = decode("data", &s.data)?;
    let unauthentic = |_| EnvelopeError::Unauthentic { key: s.key.clone() };
    let data_key = Zeroizing::new(
        cipher(kek.bytes())
            .decrypt(
                XNonce::from_slice(&wrap_nonce),
                Payload { msg: &wrapped, aad },
            )
            .map_err(unauthentic)?,
    );
    let data_key: &[u8; KEY_LEN] = data_key
        .as_slice()
        .try_into()
        .map_err(|_| EnvelopeError::Malformed("the wrapped data key is not 32 bytes".into()))?;
    cipher(data_key)
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &data, aad })
        .map_err(unauthentic)
}

/// `None` for a clear value; the envelope for a value carrying the marker member, which
/// must then be a whole, known envelope (never silently taken for clear bytes).
fn parse(value: &[u8]) -> Result<Option<Stored>, EnvelopeError> {
    // Cheap test first: clear values (PEM, digests) are never JSON objects with the marker.
    if !value.starts_with(b"{") {
        return Ok(None);
    }
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(value)
    else {
        return Ok(None);
    };
    let Some(version) = obj.get(MARKER) else {
        return Ok(None);
    };
    if version.as_u64() != Some(u64::from(VERSION)) {
        return Err(EnvelopeError::Malformed(format!(
            "envelope version {version} is not one this mesos-operator reads ({VERSION}); upgrade mesos-operator"
        )));
    }
    let s: Stored = serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    if s.alg != ALG {
        return Err(EnvelopeError::Malformed(format!(
            "algorithm {:?} is not {ALG}",
            s.alg
        )));
    }
    Ok(Some(s))
}

fn decode(field: &str, b64: &str) -> Result<Vec<u8>, EnvelopeError> {
    B64.decode(b64)
        .map_err(|_| EnvelopeError::Malformed(format!("{field} is not base64")))
}

fn decode_nonce(field: &str, b64: &str) -> Result<[u8; NONCE_LEN], EnvelopeError> {
    decode(field, b64)?
        .as_slice()
        .try_into()
        .map_err(|_| EnvelopeError::Malformed(format!("{field} is not {NONCE_LEN} bytes")))
}

fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

/// `N` bytes from the operating system's random source.
fn random<const N: usize>() -> Result<[u8; N], EnvelopeError> {
    let mut b = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| EnvelopeError::Random(e.to_string()))?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::keyring::tests::line;
    use super::*;

    const AT: &str = "/mesos-operator/secrets/zk-super";
    const VALUE: &[u8] = b"super:hunter2-do-not-print";

    fn ring(names: &[(&str, u8)]) -> Keyring {
        let text: Vec<String> = names.iter().map(|(n, f)| line(n, *f)).collect();
        Keyring::parse(Path::new("/etc/mo.keys"), &text.join("\n")).unwrap()
    }

    fn envelope(v: &[u8]) -> serde_json::Value {
        serde_json::from_slice(v).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_and_shows_no_plain_bytes() {
        let keys = ring(&[("k1", 1)]);
        let sealed = seal(VALUE, AT, &keys).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("hunter2"));
        let e = envelope(&sealed);
        assert_eq!(e["mesosOperatorSecret"], 1);
        assert_eq!(e["alg"], ALG);
        assert_eq!(e["key"], "k1");
        assert_eq!(open(&sealed, AT, Some(&keys)).unwrap(), VALUE);
        assert_eq!(
            inspect(&sealed).unwrap(),
            Form::Encrypted {
                key: "k1".into(),
                size: VALUE.len()
            }
        );
        // Two seals of one value share nothing: fresh data key and nonces.
        let again = envelope(&seal(VALUE, AT, &keys).unwrap());
        assert_ne!(again["data"], e["data"]);
        assert_ne!(again["wrappedKey"], e["wrappedKey"]);
    }

    #[test]
    fn a_value_moved_to_another_key_name_or_prefix_fails() {
        let keys = ring(&[("k1", 1)]);
        let sealed = seal(VALUE, AT, &keys).unwrap();
        for other in [
            "/mesos-operator/secrets/ca",
            "/other-prefix/secrets/zk-super",
        ] {
            let e = open(&sealed, other, Some(&keys)).unwrap_err();
            assert_eq!(e, EnvelopeError::Unauthentic { key: "k1".into() });
            assert!(e.to_string().contains("moved from another key name"), "{e}");
        }
    }

    #[test]
    fn a_tampered_byte_fails() {
        let keys = ring(&[("k1", 1)]);
        let mut e = envelope(&seal(VALUE, AT, &keys).unwrap());
        for field in ["data", "wrappedKey", "nonce", "wrapNonce"] {
            let mut bytes = B64.decode(e[field].as_str().unwrap()).unwrap();
            bytes[3] ^= 0x01;
            let saved = e[field].clone();
            e[field] = B64.encode(&bytes).into();
            let tampered = serde_json::to_vec(&e).unwrap();
            assert_eq!(
                open(&tampered, AT, Some(&keys)).unwrap_err(),
                EnvelopeError::Unauthentic { key: "k1".into() },
                "{field}"
            );
            e[field] = saved;
        }
        assert_eq!(
            open(&serde_json::to_vec(&e).unwrap(), AT, Some(&keys)).unwrap(),
            VALUE
        );
    }

    #[test]
    fn any_key_of_the_file_decrypts_and_the_first_encrypts() {
        let old = ring(&[("k1", 1)]);
        let sealed = seal(VALUE, AT, &old).unwrap();
        let rotated = ring(&[("k2", 2), ("k1", 1)]);
        assert_eq!(open(&sealed, AT, Some(&rotated)).unwrap(), VALUE);
        assert_eq!(envelope(&seal(VALUE, AT, &rotated).unwrap())["key"], "k2");
        // A key of the same name but other bytes does not open it.
        let imposter = ring(&[("k1", 9)]);
        assert!(matches!(
            open(&sealed, AT, Some(&imposter)),
            Err(EnvelopeError::Unauthentic { .. })
        ));
    }

    #[test]
    fn an_unknown_key_or_no_key_file_names_the_key_and_the_option() {
        let sealed = seal(VALUE, AT, &ring(&[("k1", 1)])).unwrap();
        let e = open(&sealed, AT, Some(&ring(&[("k2", 2)]))).unwrap_err();
        assert_eq!(
            e,
            EnvelopeError::UnknownKey {
                key: "k1".into(),
                file: "/etc/mo.keys".into()
            }
        );
        assert!(e.to_string().contains("add that key to --secrets-key-file"));
        let e = open(&sealed, AT, None).unwrap_err();
        assert_eq!(e, EnvelopeError::NoKeyFile { key: "k1".into() });
        assert!(e.to_string().contains("--secrets-key-file"), "{e}");
    }

    #[test]
    fn clear_values_read_as_they_are_and_broken_envelopes_are_errors() {
        for clear in [
            &b"-----BEGIN PRIVATE KEY-----\n"[..],
            br#"{"principal": "ops", "secret": "x"}"#,
            b"{not json",
        ] {
            assert_eq!(open(clear, AT, None).unwrap(), clear);
            assert_eq!(inspect(clear).unwrap(), Form::Clear { size: clear.len() });
        }
        let keys = ring(&[("k1", 1)]);
        let mut e = envelope(&seal(VALUE, AT, &keys).unwrap());
        e["mesosOperatorSecret"] = 2.into();
        let v2 = serde_json::to_vec(&e).unwrap();
        assert!(
            matches!(open(&v2, AT, Some(&keys)), Err(EnvelopeError::Malformed(m)) if m.contains("version 2"))
        );
        e["mesosOperatorSecret"] = 1.into();
        e["alg"] = "aes-gcm".into();
        assert!(matches!(
            open(&serde_json::to_vec(&e).unwrap(), AT, Some(&keys)),
            Err(EnvelopeError::Malformed(_))
        ));
    }
}
