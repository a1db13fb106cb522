//! The ZooKeeper super user's credential, read from its secret by one rule for every use:
//! the hashed digest the servers are given and the login the operator sends. Two rules (a
//! digest trimmed of every line end, a login trimmed of one `\n`) made a secret saved with
//! a CRLF hash one password and log in with another, so every reconfig failed NoAuth.

use crate::secrets::Secret;

use super::ActError;

/// The `user:password` text of the secret ([`Secret::line`]), holding a `:` after a
/// non-empty user.
pub(crate) fn credential(secret: &Secret) -> Result<&str, ActError> {
    let text = secret.line().ok_or_else(|| {
        ActError::Zookeeper(format!(
            "the superDigest secret {} is not UTF-8 text; store user:password",
            secret.name()
        ))
    })?;
    match text.split_once(':') {
        Some((user, _)) if !user.is_empty() => Ok(text),
        _ => Err(ActError::Zookeeper(format!(
            "the superDigest secret {} must hold user:password",
            secret.name()
        ))),
    }
}

/// ZooKeeper's `DigestAuthenticationProvider.superDigest` value for the credential:
/// `user:BASE64(SHA1(user:password))`. The servers only ever see this hash.
pub(crate) fn super_digest(secret: &Secret) -> Result<Vec<u8>, ActError> {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let text = credential(secret)?;
    let user = text.split_once(':').map_or("", |(u, _)| u);
    let hash = Sha1::digest(text.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
    Ok(format!("{user}:{b64}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(bytes: &[u8]) -> Secret {
        Secret::new("zk-super", bytes.to_vec())
    }

    #[test]
    fn the_digest_is_zookeepers_own_format() {
        // Computed independently: printf super:superpw | openssl sha1 -binary | base64
        assert_eq!(
            super_digest(&secret(b"super:superpw\n")).unwrap(),
            b"super:g9oN2HttPfn8MMWJZ2r45Np/LIA=".to_vec()
        );
        assert!(super_digest(&secret(b"nocolon")).is_err());
        assert!(super_digest(&secret(b":nouser")).is_err());
    }

    #[test]
    fn the_login_is_what_the_digest_was_computed_from_whatever_the_line_end() {
        let digest_of = |login: &str| {
            use base64::Engine;
            use sha1::{Digest, Sha1};
            let (user, _) = login.split_once(':').unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(login));
            format!("{user}:{b64}").into_bytes()
        };
        for stored in [
            &b"super:pw"[..],
            b"super:pw\n",
            b"super:pw\r\n",
            b"super:pw\n\n",
            b"super:pw\r",
        ] {
            let s = secret(stored);
            let login = credential(&s).unwrap();
            assert_eq!(login, "super:pw", "{stored:?}");
            assert_eq!(super_digest(&s).unwrap(), digest_of(login), "{stored:?}");
        }
    }

    #[test]
    fn an_error_names_the_secret_never_its_bytes() {
        let e = credential(&secret(b"hunter2-no-colon"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("zk-super"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
