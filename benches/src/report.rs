//! Text tables for stdout and the JSON report.

use serde_json::{json, Value};

use crate::engines::{Measurement, Schedule};
use crate::stats::{fastest, format_ns, format_ratio, format_spread, geomean, median, spread};

/// A titled table of preformatted cells, printed with aligned columns.
#[derive(Clone, Debug)]
pub struct Table {
    /// Printed above the table.
    pub title: String,
    /// Column names.
    pub header: Vec<String>,
    /// Cells, one `Vec` per row, as long as `header`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as aligned text: the first column left-aligned, the others right-aligned.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |row: &[String]| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, &w))| {
                    if i == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            format!("| {} |\n", cells.join(" | "))
        };
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        let mut out = format!("\n## {}\n\n", self.title);
        out += &line(&self.header);
        out += &format!("|-{}-|\n", rule.join("-|-"));
        for row in &self.rows {
            out += &line(row);
        }
        out
    }

    /// The table as JSON: `{"title", "header", "rows"}`.
    pub fn to_json(&self) -> Value {
        json!({ "title": self.title, "header": self.header, "rows": self.rows })
    }
}

/// A table of one time metric: a row per item (kernel), and per engine a time column and a
/// ratio column against each baseline engine that is present (and not always 0). The last
/// row holds the geometric means of the ratios.
///
/// `value(row, engine)` is the time in ns, or `None` if that engine did not measure the row.
pub fn ratio_table(
    title: &str,
    first_column: &str,
    rows: &[String],
    engines: &[String],
    baselines: &[&str],
    value: impl Fn(&str, &str) -> Option<f64>,
) -> Table {
    let baselines: Vec<&str> = baselines
        .iter()
        .copied()
        .filter(|b| engines.iter().any(|e| e == b))
        .filter(|b| rows.iter().any(|r| value(r, b).is_some_and(|v| v > 0.0)))
        .collect();
    let mut header = vec![first_column.to_owned()];
    // (engine, baseline) for each ratio column, in order.
    let mut columns: Vec<(&str, Option<&str>)> = Vec::new();
    for engine in engines {
        header.push(engine.clone());
        columns.push((engine, None));
        for &baseline in baselines.iter().filter(|&&b| b != engine) {
            header.push(format!("{engine}/{baseline}"));
            columns.push((engine, Some(baseline)));
        }
    }
    let ratio = |row: &str, engine: &str, baseline: &str| {
        let (v, b) = (value(row, engine)?, value(row, baseline)?);
        (b > 0.0 && v > 0.0).then(|| v / b)
    };
    let mut table_rows = Vec::new();
    for row in rows {
        let mut cells = vec![row.clone()];
        for &(engine, baseline) in &columns {
            cells.push(match baseline {
                None => value(row, engine).map_or("-".to_owned(), format_ns),
                Some(b) => ratio(row, engine, b).map_or("-".to_owned(), format_ratio),
            });
        }
        table_rows.push(cells);
    }
    let mut means = vec!["geomean".to_owned()];
    for &(engine, baseline) in &columns {
        means.push(match baseline {
            None => String::new(),
            Some(b) => {
                let ratios: Vec<f64> = rows.iter().filter_map(|r| ratio(r, engine, b)).collect();
                geomean(&ratios).map_or("-".to_owned(), format_ratio)
            }
        });
    }
    if columns.iter().any(|(_, baseline)| baseline.is_some()) {
        table_rows.push(means);
    }
    Table {
        title: title.to_owned(),
        header,
        rows: table_rows,
    }
}

/// Appends each engine's spread to its time cells: `12.3 ms (+1.5%)`. `spread(row, engine)`
/// is a [`crate::stats::spread`]; cells without one stay as they are.
pub fn add_spreads(table: &mut Table, spread: impl Fn(&str, &str) -> Option<f64>) {
    let header = table.header.clone();
    for row in &mut table.rows {
        let name = row[0].clone();
        for (cell, engine) in row.iter_mut().zip(&header).skip(1) {
            if let Some(s) = spread(&name, engine) {
                *cell = format!("{cell} ({})", format_spread(s));
            }
        }
    }
}

/// The title words that say how run times are summarised.
pub fn run_time_summary(schedule: Schedule) -> String {
    format!(
        "fastest of {} interleaved runs after {} warm-up(s); (+x%): the median's distance \
         from the fastest",
        schedule.runs, schedule.warmups
    )
}

/// Everything measured for one kernel.
#[derive(Clone, Debug)]
pub struct KernelResult {
    /// The kernel's name.
    pub name: String,
    /// Per engine (by name), what it measured; engines that failed are absent.
    pub measurements: Vec<(String, Measurement)>,
}

impl KernelResult {
    /// The measurement of `engine`, if it has one.
    pub fn get(&self, engine: &str) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|(name, _)| name == engine)
            .map(|(_, m)| m)
    }
}

/// The three per-kernel tables: run time (fastest, with spreads), compile time, instantiate
/// time.
pub fn kernel_tables(
    results: &[KernelResult],
    engines: &[String],
    schedule: Schedule,
) -> Vec<Table> {
    let rows: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
    let baselines = ["wasmtime", "native"];
    let find = |kernel: &str, engine: &str| {
        results
            .iter()
            .find(|r| r.name == kernel)
            .and_then(|r| r.get(engine))
    };
    let mut run_time = ratio_table(
        &format!("Run time ({})", run_time_summary(schedule)),
        "kernel",
        &rows,
        engines,
        &baselines,
        |k, e| find(k, e).map(|m| fastest(&m.run_ns) as f64),
    );
    add_spreads(&mut run_time, |k, e| spread(&find(k, e)?.run_ns));
    vec![
        run_time,
        ratio_table(
            "Compile time (native: dlopen)",
            "kernel",
            &rows,
            engines,
            &baselines,
            |k, e| find(k, e).map(|m| m.compile_ns as f64),
        ),
        ratio_table(
            "Instantiate time (memory creation + instantiation + start function)",
            "kernel",
            &rows,
            // Native code needs no instantiation: its column would be all zeros.
            &engines
                .iter()
                .filter(|e| *e != "native")
                .cloned()
                .collect::<Vec<_>>(),
            &baselines,
            |k, e| find(k, e).map(|m| m.instantiate_ns as f64),
        ),
    ]
}

/// The JSON report: settings, every measurement, every table and any errors.
pub fn to_json(
    mode: &str,
    runs: usize,
    results: &[KernelResult],
    tables: &[Table],
    errors: &[String],
) -> Value {
    let kernels: Vec<Value> = results
        .iter()
        .map(|r| {
            let engines: serde_json::Map<String, Value> = r
                .measurements
                .iter()
                .map(|(engine, m)| {
                    let value = json!({
                        "n": m.n,
                        "compile_ns": m.compile_ns,
                        "instantiate_ns": m.instantiate_ns,
                        "run_ns": m.run_ns,
                        "run_median_ns": median(&m.run_ns),
                        "run_fastest_ns": fastest(&m.run_ns),
                        "checksum": m.checksum.to_string(),
                    });
                    (engine.clone(), value)
                })
                .collect();
            json!({ "name": r.name, "engines": engines })
        })
        .collect();
    json!({
        "mode": mode,
        "runs": runs,
        "kernels": kernels,
        "tables": tables.iter().map(Table::to_json).collect::<Vec<_>>(),
        "errors": errors,
    })
}
