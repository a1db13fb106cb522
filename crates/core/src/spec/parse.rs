//! Reading a document from YAML or JSON text.
//!
//! Errors carry the field path (`spec.masters.count`) as well as line and column, because
//! "invalid type at line 14" sends the user counting lines while the path says what to fix.

use std::fmt;

use super::document::MesosCluster;

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

/// Parses a document; JSON when the text starts with `{`, YAML otherwise.
pub fn parse_document(text: &str) -> Result<MesosCluster, ParseError> {
    if text.trim_start().starts_with('{') {
        parse_json(text)
    } else {
        parse_yaml(text)
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
}
