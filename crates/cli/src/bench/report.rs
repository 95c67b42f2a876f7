//! Printing benchmark rows: aligned tables for people, JSON lines for scripts.

use serde_json::{Map, Value};

/// One measured row, as ordered key/value pairs.
pub struct Row(pub Vec<(&'static str, Value)>);

impl Row {
    /// One JSON object on one line, keys in order.
    pub fn json(&self) -> String {
        let mut m = Map::new();
        for (k, v) in &self.0 {
            m.insert((*k).to_string(), v.clone());
        }
        Value::Object(m).to_string()
    }
}

/// Prints rows as JSON lines or as a table with a header.
pub fn print(rows: &[Row], json: bool) {
    if json {
        for r in rows {
            println!("{}", r.json());
        }
        return;
    }
    let Some(first) = rows.first() else { return };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.0.iter().map(|(_, v)| fmt_value(v)).collect())
        .collect();
    let widths: Vec<usize> = first
        .0
        .iter()
        .enumerate()
        .map(|(i, (k, _))| {
            cells
                .iter()
                .map(|c| c[i].len())
                .max()
                .unwrap_or(0)
                .max(k.len())
        })
        .collect();
    let line = |xs: Vec<String>| {
        xs.iter()
            .zip(&widths)
            .map(|(x, w)| format!("{x:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!(
        "{}",
        line(first.0.iter().map(|(k, _)| k.to_string()).collect())
    );
    for c in cells {
        println!("{}", line(c));
    }
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                if f.abs() >= 100.0 {
                    format!("{f:.1}")
                } else {
                    format!("{f:.3}")
                }
            }
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Rounds for printing (keeps JSON readable without losing meaningful digits).
pub fn r3(x: f64) -> Value {
    Value::from((x * 1000.0).round() / 1000.0)
}
