//! Rendering for people (tables, YAML, diffs) and for scripts (JSON).

use mesos_operator_core::spec::{Component, MesosCluster};
use serde::Serialize;

use super::CliError;

/// Pretty JSON.
pub(super) fn json<T: Serialize + ?Sized>(v: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(v)
        .map_err(|e| CliError::Failed(format!("cannot render JSON: {e}")))
}

/// YAML.
pub(super) fn yaml<T: Serialize + ?Sized>(v: &T) -> Result<String, CliError> {
    serde_yaml_ng::to_string(v).map_err(|e| CliError::Failed(format!("cannot render YAML: {e}")))
}

/// Left-aligned columns separated by two spaces.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.len());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let n = cells.len();
        for (i, c) in cells.into_iter().enumerate() {
            out.push_str(c);
            if i + 1 < n {
                out.push_str(&" ".repeat(widths[i] - c.len() + 2));
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// One line per cluster: generation, images and counts.
pub(super) fn cluster_table(docs: &[MesosCluster]) -> String {
    let rows: Vec<Vec<String>> = docs
        .iter()
        .map(|d| {
            let mut r = vec![
                d.metadata.name.clone(),
                d.metadata.generation.unwrap_or(0).to_string(),
                d.spec.hosts.len().to_string(),
            ];
            for c in Component::ALL {
                let n = d.component_hosts(c).len();
                r.push(match d.image(c) {
                    Some(img) => format!("{n}x {img}"),
                    None => "-".into(),
                });
            }
            r.push(if d.spec.rollout.paused { "yes" } else { "no" }.into());
            r
        })
        .collect();
    table(
        &[
            "NAME",
            "GENERATION",
            "HOSTS",
            "ZOOKEEPER",
            "MASTERS",
            "AGENTS",
            "MARATHON",
            "DNS",
            "LOADBALANCER",
            "PAUSED",
        ],
        &rows,
    )
}

/// A unified-style line diff (`-` old, `+` new, two lines of context).
pub(super) fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table; documents are a few hundred lines at most.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        let lo = k.saturating_sub(2);
        let hi = (k + 2).min(ops.len() - 1);
        ops[lo..=hi].iter().any(|(c, _)| *c != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, l)) in ops.iter().enumerate() {
        if *c != ' ' || near_change(k) {
            if skipped {
                out.push_str("  ...\n");
                skipped = false;
            }
            out.push_str(&format!("{c} {l}\n"));
        } else {
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let d = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
        assert!(d.contains("- d\n+ D\n"), "{d}");
        assert!(d.contains("  b\n") && !d.contains("  a\n"), "{d}");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "B"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(t, "A     B\nlong  x\n");
    }
}
