//! Reading a document from YAML or JSON text.
//!
//! Errors carry the field path (`spec.masters.count`) as well as line and column, because
//! "invalid type at line 14" sends the user counting lines while the path says what to fix.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::document::MesosCluster;

/// Largest document read, in bytes (a document of a thousand hosts is about 300 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 4 << 20;
/// Largest document once YAML aliases are expanded: scalar bytes plus one per node. A
/// document without aliases is never larger expanded than as text.
pub const MAX_EXPANDED_BYTES: usize = 8 << 20;
/// Deepest nesting of sequences and mappings (the schema itself goes five deep).
pub const MAX_DEPTH: usize = 32;

/// A document that could not be read at all (syntax, types, unknown fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Dotted path of the field, when known (`.` for the document itself).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line and column, when known.
    pub location: Option<(usize, usize)>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some((l, c)) = self.location {
            write!(f, " (line {l}, column {c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// 1-based line and column of byte `offset` of `text`.
fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

fn whole(message: String, location: Option<(usize, usize)>) -> ParseError {
    ParseError {
        path: ".".into(),
        message,
        location,
    }
}

/// Parses a document read as bytes (a file, standard input): at most
/// [`MAX_DOCUMENT_BYTES`], UTF-8, then as [`parse_document`].
pub fn parse_document_bytes(bytes: &[u8]) -> Result<MesosCluster, ParseError> {
    check_size(bytes.len())?;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        whole(
            format!(
                "the document is not UTF-8 text (byte {}); save it as UTF-8",
                e.valid_up_to()
            ),
            Some(line_column(bytes, e.valid_up_to())),
        )
    })?;
    parse_document(text)
}

fn check_size(len: usize) -> Result<(), ParseError> {
    // The CLI reads at most one byte past the cap, so the length itself is not reported.
    if len > MAX_DOCUMENT_BYTES {
        return Err(whole(
            format!(
                "the document is larger than {} MiB; a cluster document is a few KiB, so this is not one",
                MAX_DOCUMENT_BYTES >> 20
            ),
            None,
        ));
    }
    Ok(())
}

/// Parses a document; JSON when the text starts with `{`, YAML otherwise. Before the
/// document is read into its types, a first pass over its tree (aliases expanded, nothing
/// kept) refuses what would exhaust or fool the reader, each with its field path: more
/// than [`MAX_DOCUMENT_BYTES`] of text, aliases expanding past [`MAX_EXPANDED_BYTES`],
/// nesting deeper than [`MAX_DEPTH`], NUL characters, duplicate keys, numbers past 64 bits.
pub fn parse_document(text: &str) -> Result<MesosCluster, ParseError> {
    check_size(text.len())?;
    if let Some(i) = text.find('\0') {
        return Err(whole(
            "the document contains a NUL character; remove it".into(),
            Some(line_column(text.as_bytes(), i)),
        ));
    }
    let json = text.trim_start().starts_with('{');
    let mut walk = WalkState::default();
    // A syntax error found by the walk is reported by the typed parse below, with its
    // location; only what the walk itself refuses is reported from here.
    if json {
        let _ = Walk::root(&mut walk).deserialize(&mut serde_json::Deserializer::from_str(text));
    } else if !text.trim().is_empty() {
        let _ = Walk::root(&mut walk).deserialize(serde_yaml_ng::Deserializer::from_str(text));
    }
    if let Some(e) = walk.refused {
        return Err(e);
    }
    if json {
        parse_json(text)
    } else {
        parse_yaml(text)
    }
}

/// What the first pass has seen so far.
#[derive(Default)]
struct WalkState {
    /// Scalar bytes plus one per node, aliases expanded.
    expanded: usize,
    /// The first refusal.
    refused: Option<ParseError>,
}

/// One node of the first pass, at `path`.
struct Walk<'s> {
    state: &'s mut WalkState,
    path: String,
    depth: usize,
}

/// Ends the first pass at its first refusal (the message is in the state).
const STOP: &str = "refused";

impl<'s> Walk<'s> {
    fn root(state: &'s mut WalkState) -> Self {
        Walk {
            state,
            path: String::new(),
            depth: 0,
        }
    }

    fn shown(&self) -> String {
        if self.path.is_empty() {
            ".".into()
        } else {
            self.path.clone()
        }
    }

    fn refuse<E: de::Error>(&mut self, message: String) -> E {
        if self.state.refused.is_none() {
            self.state.refused = Some(ParseError {
                path: self.shown(),
                message,
                location: None,
            });
        }
        E::custom(STOP)
    }

    fn count<E: de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        self.state.expanded = self.state.expanded.saturating_add(bytes).saturating_add(1);
        if self.state.expanded > MAX_EXPANDED_BYTES {
            return Err(self.refuse(format!(
                "the document expands to more than {} MiB (YAML aliases repeat what they name); write the values out or use fewer aliases",
                MAX_EXPANDED_BYTES >> 20
            )));
        }
        Ok(())
    }

    fn child(&mut self, segment: &str) -> Walk<'_> {
        let path = if self.path.is_empty() || segment.starts_with('[') {
            format!("{}{segment}", self.path)
        } else {
            format!("{}.{segment}", self.path)
        };
        Walk {
            state: self.state,
            path,
            depth: self.depth + 1,
        }
    }

    fn past_64_bits<E: de::Error>(&mut self) -> E {
        self.refuse(
            "the number does not fit in 64 bits; no field of the document takes one that large"
                .into(),
        )
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(mut self, _: bool) -> Result<(), E> {
        self.count(1)
    }
    fn visit_i64<E: de::Error>(mut self, _: i64) -> Result<(), E> {
        self.count(8)
    }
    fn visit_u64<E: de::Error>(mut self, _: u64) -> Result<(), E> {
        self.count(8)
    }
    fn visit_i128<E: de::Error>(mut self, v: i128) -> Result<(), E> {
        if i64::try_from(v).is_err() && u64::try_from(v).is_err() {
            return Err(self.past_64_bits());
        }
        self.count(8)
    }
    fn visit_u128<E: de::Error>(mut self, v: u128) -> Result<(), E> {
        if u64::try_from(v).is_err() {
            return Err(self.past_64_bits());
        }
        self.count(8)
    }
    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        // An integer too large for 64 bits arrives as a float.
        if v.abs() >= 18_446_744_073_709_551_616.0 {
            return Err(self.past_64_bits());
        }
        self.count(8)
    }
    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        if v.contains('\0') {
            return Err(self.refuse("the value contains a NUL character; remove it".into()));
        }
        self.count(v.len())
    }
    fn visit_bytes<E: de::Error>(mut self, v: &[u8]) -> Result<(), E> {
        self.count(v.len())
    }
    fn visit_none<E: de::Error>(mut self) -> Result<(), E> {
        self.count(0)
    }
    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.count(0)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.count(0)?;
        if self.depth >= MAX_DEPTH {
            return Err(self.refuse(format!(
                "nested deeper than {MAX_DEPTH} levels; no field of the document is"
            )));
        }
        let mut i = 0usize;
        while seq
            .next_element_seed(self.child(&format!("[{i}]")))?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.count(0)?;
        if self.depth >= MAX_DEPTH {
            return Err(self.refuse(format!(
                "nested deeper than {MAX_DEPTH} levels; no field of the document is"
            )));
        }
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let mut child = self.child(&key);
            child.count(key.len())?;
            if !seen.insert(key.clone()) {
                return Err(child.refuse(format!(
                    "`{key}` appears twice in the same mapping; keep one"
                )));
            }
            map.next_value_seed(child)?;
        }
        Ok(())
    }
}

/// A mapping key, as text (a key that is not a scalar is named `?`).
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.chars().take(200).collect())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("~".into())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("a mapping key must be a plain value"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("a mapping key must be a plain value"))
    }
}

fn clean_path(p: &serde_path_to_error::Path) -> String {
    let s = p.to_string();
    // `?` stands for a position serde could not name (inside a syntax error).
    let s = s.trim_end_matches(".?").to_string();
    if s.is_empty() || s == "?" {
        ".".into()
    } else {
        s
    }
}

/// serde's messages end with " at line L column C" for YAML; the location is reported
/// separately, so strip it from the message.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn parse_yaml(text: &str) -> Result<MesosCluster, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError {
            path: ".".into(),
            message: "the document is empty; write a MesosCluster (see manifests/examples/)".into(),
            location: None,
        });
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = clean_path(e.path());
        let inner = e.into_inner();
        let location = inner.location().map(|l| (l.line(), l.column()));
        let message = strip_location(&inner.to_string());
        // serde_yaml_ng already starts its message with the path; say it once.
        let message = match message.strip_prefix(&format!("{path}: ")) {
            Some(m) => m.to_string(),
            None => message,
        };
        ParseError {
            path,
            message,
            location,
        }
    })
}

fn parse_json(text: &str) -> Result<MesosCluster, ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc: MesosCluster = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = clean_path(e.path());
        let inner = e.into_inner();
        ParseError {
            path,
            location: Some((inner.line(), inner.column())),
            message: strip_location(&inner.to_string()),
        }
    })?;
    de.end().map_err(|e| ParseError {
        path: ".".into(),
        location: Some((e.line(), e.column())),
        message: strip_location(&e.to_string()),
    })?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_error_names_the_field_path() {
        let e = parse_document(
            "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: a}\nspec:\n  hosts: []\n  zookeeper: {image: zk:1, servers: three}\n",
        )
        .unwrap_err();
        assert_eq!(e.path, "spec.zookeeper.servers");
        assert!(e.location.is_some());
    }

    #[test]
    fn unknown_field_is_an_error() {
        let e = parse_document(
            "{\"apiVersion\":\"x\",\"kind\":\"y\",\"metadata\":{\"name\":\"a\",\"labels\":{}}}",
        )
        .unwrap_err();
        assert_eq!(e.path, "metadata.labels");
        assert!(e.message.contains("unknown field"), "{}", e.message);
    }

    const BASE: &str = "apiVersion: mesos-operator.io/v1alpha1\nkind: MesosCluster\nmetadata: {name: a}\nspec:\n  hosts: [{name: h1, address: 10.0.0.1, docker: {endpoint: 'unix:///d.sock'}}]\n  zookeeper: {image: 'zk:3.8.0', servers: 1}\n  masters: {image: 'm:1', count: 1, env: {MESOS_X: '1'}}\n  agents: {image: 'a:1', hosts: all, containerizers: [docker]}\n";

    /// The document is refused, and not after a pathological time: the bound catches a
    /// parser that blows up (minutes) while a loaded machine (a debug build beside a test
    /// run takes a few seconds here) does not fail it; how fast is `make bench`'s.
    fn refused(text: &str) -> ParseError {
        let t = std::time::Instant::now();
        let e = parse_document(text).unwrap_err();
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30),
            "{:?}",
            t.elapsed()
        );
        e
    }

    #[test]
    fn the_base_document_parses() {
        parse_document(BASE).unwrap();
        // The same as JSON, via serde_json.
        let v: serde_json::Value = serde_yaml_ng::from_str(BASE).unwrap();
        parse_document(&v.to_string()).unwrap();
    }

    #[test]
    fn a_document_past_4_mib_is_refused_before_it_is_read() {
        let text = format!("{BASE}# {}\n", "x".repeat(MAX_DOCUMENT_BYTES));
        let e = refused(&text);
        assert_eq!(e.path, ".");
        assert!(e.message.contains("larger than 4 MiB"), "{e}");
        assert!(parse_document_bytes(text.as_bytes()).is_err());
    }

    #[test]
    fn aliases_are_bounded_by_the_expanded_size() {
        // 1 MiB aliased 100,000 times: 100 GB expanded, 1.4 MB of text.
        let big = "x".repeat(1 << 20);
        let text = BASE
            .replace("MESOS_X: '1'", &format!("MESOS_X: &b {big}"))
            .replace("[docker]", &format!("[{}]", vec!["*b"; 100_000].join(", ")));
        let e = refused(&text);
        assert!(e.path.starts_with("spec.agents.containerizers["), "{e}");
        assert!(e.message.contains("expands to more than 8 MiB"), "{e}");
        // A few aliases of small values are fine.
        let text = BASE.replace("MESOS_X: '1'", "MESOS_X: &one '1', MESOS_Y: *one");
        parse_document(&text).unwrap();
    }

    #[test]
    fn deep_nesting_is_refused_with_its_path() {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = refused(&BASE.replace("{MESOS_X: '1'}", &format!("{{MESOS_X: {deep}}}")));
        assert!(e.path.starts_with("spec.masters.env.MESOS_X[0][0]"), "{e}");
        assert!(e.message.contains("nested deeper than 32"), "{e}");
        let e = refused(&format!("{{\"apiVersion\": {deep}}}"));
        assert!(e.path.starts_with("apiVersion[0]"), "{e}");
    }

    #[test]
    fn nul_characters_are_refused() {
        let e = refused(&BASE.replace("{name: a}", "{name: \"a\\0b\"}"));
        assert_eq!(e.path, "metadata.name");
        assert!(e.message.contains("NUL"), "{e}");
        let e = refused(&BASE.replace("{name: a}", "{name: a\0b}"));
        assert_eq!(e.location, Some((3, 19)), "{e}");
        let e = refused("{\"apiVersion\": \"a\\u0000\"}");
        assert_eq!(e.path, "apiVersion");
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_place() {
        let mut bytes = BASE.as_bytes().to_vec();
        bytes.splice(60..60, [0xff, 0xfe]);
        let e = parse_document_bytes(&bytes).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{e}");
        assert_eq!(e.location, Some((3, 3)), "{e}");
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        let e = refused(&BASE.replace("{name: a}", "{name: a, name: b}"));
        assert_eq!(e.path, "metadata.name");
        assert!(e.message.contains("appears twice"), "{e}");
        let e = refused(&BASE.replace("MESOS_X: '1'", "MESOS_X: '1', MESOS_X: '2'"));
        assert_eq!(e.path, "spec.masters.env.MESOS_X");
        let v: serde_json::Value = serde_yaml_ng::from_str(BASE).unwrap();
        let json = v
            .to_string()
            .replace("\"MESOS_X\":\"1\"", "\"MESOS_X\":\"1\",\"MESOS_X\":\"2\"");
        assert_eq!(refused(&json).path, "spec.masters.env.MESOS_X");
    }

    #[test]
    fn numbers_past_64_bits_are_refused_with_their_path() {
        for n in [
            "18446744073709551616",
            "-9223372036854775809",
            "340282366920938463463374607431768211456",
            "1e300",
        ] {
            let e = refused(&BASE.replace("count: 1", &format!("count: {n}")));
            assert_eq!(e.path, "spec.masters.count", "{n}: {e}");
            assert!(e.message.contains("64 bits"), "{n}: {e}");
            let e = refused(&format!("{{\"kind\": {n}}}"));
            assert_eq!(e.path, "kind", "{n}: {e}");
        }
    }

    proptest::proptest! {
        /// Whatever bytes arrive, the parser answers (a document or an error); it never panics.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = parse_document_bytes(&bytes);
        }

        /// Nor does the base document with a stretch of it replaced by arbitrary text.
        #[test]
        fn a_mangled_document_never_panics(at in 0usize..400, junk in "[\\PC\\n\\t\\[\\]{}&*:,-]{0,64}") {
            let mut text = BASE.to_string();
            let at = (0..=at.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            text.insert_str(at, &junk);
            let _ = parse_document(&text);
        }
    }
}
