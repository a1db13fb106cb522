//! Addresses as documents and endpoints write them: where bytes go, and whether that is
//! this machine (the only place clear text may go without being asked for by name).

/// The host part of `tcp://HOST:PORT`, `https://HOST:PORT/...`, `HOST:PORT` or `[V6]:PORT`.
pub fn host_of(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6).to_string();
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .to_string()
}

/// `localhost` (any case) or a loopback address (`[::1]` with or without brackets).
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_every_endpoint_form() {
        assert_eq!(host_of("tcp://10.0.0.2:2376"), "10.0.0.2");
        assert_eq!(host_of("registry.local:5000"), "registry.local");
        assert_eq!(host_of("https://[fd00::1]:5000/v2/"), "fd00::1");
        assert_eq!(host_of("registry.local"), "registry.local");
    }

    #[test]
    fn this_machine_is_localhost_or_a_loopback_address() {
        for h in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["127.0.0.1.example", "10.0.0.1", "registry.local", ""] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
