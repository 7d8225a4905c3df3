//! The expected-failures list: spec directives wasmjit does not pass yet, by name.
//!
//! One directive per line, `folder/file.wast:LINE`, optionally followed by `# reason`.
//! The list only shrinks: a listed directive that passes fails the run as surely as an
//! unlisted one that fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Parses the list's text into directive names.
pub fn parse(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses the superseded-directives list: each directive of an older proposal copy that the
/// final spec reverses, mapped to the final-spec directive that reverses it (named after
/// `# reversed by` as `folder/file.wast:LINE:`). A line without one is an error.
pub fn parse_superseded(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let (name, reason) = line.split_once('#').unwrap_or((line, ""));
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let reverser = reason
            .trim()
            .strip_prefix("reversed by ")
            .and_then(|rest| {
                let (file, rest) = rest.split_once(".wast:")?;
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                (!digits.is_empty()).then(|| format!("{file}.wast:{digits}"))
            })
            .ok_or_else(|| format!("`{line}` names no `reversed by folder/file.wast:LINE`"))?;
        out.insert(name.to_string(), reverser);
    }
    Ok(out)
}

/// The list's text for `failures`, each with its reason.
pub fn render(failures: &[(String, String)]) -> String {
    let mut out = String::from(
        "# Spec directives wasmjit does not pass yet: `folder/file.wast:LINE # reason`.\n\
         # This list only shrinks; the spec test fails if a listed directive passes.\n",
    );
    for (name, reason) in failures {
        let reason: String = reason.chars().take(120).collect();
        let _ = writeln!(out, "{name} # {}", reason.replace('\n', " "));
    }
    out
}

/// How the actual failures differ from the list.
#[derive(Debug, Default)]
pub struct Mismatch {
    /// Failing but not listed.
    pub unexpected_failures: Vec<String>,
    /// Listed but passing.
    pub unexpected_passes: Vec<String>,
}

impl Mismatch {
    /// Whether the run matches the list exactly.
    pub fn is_empty(&self) -> bool {
        self.unexpected_failures.is_empty() && self.unexpected_passes.is_empty()
    }
}

/// Compares the failing directives with the listed ones, among the directives that ran.
pub fn compare(
    listed: &BTreeSet<String>,
    failed: &BTreeSet<String>,
    ran: &BTreeSet<String>,
) -> Mismatch {
    Mismatch {
        unexpected_failures: failed.difference(listed).cloned().collect(),
        unexpected_passes: listed
            .iter()
            .filter(|l| !failed.contains(*l) && ran.contains(*l))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_passes_and_unlisted_failures_are_both_mismatches() {
        let listed = parse("a.wast:1 # old\n\n# comment\nb.wast:2\n");
        let failed: BTreeSet<String> = ["a.wast:1".into(), "c.wast:3".into()].into();
        let ran: BTreeSet<String> =
            ["a.wast:1".into(), "b.wast:2".into(), "c.wast:3".into()].into();
        let m = compare(&listed, &failed, &ran);
        assert_eq!(m.unexpected_failures, ["c.wast:3"]);
        assert_eq!(m.unexpected_passes, ["b.wast:2"]);
        assert!(!m.is_empty());
        assert!(compare(&listed, &listed, &listed).is_empty());
    }

    #[test]
    fn superseded_directives_name_their_reversal() {
        let list = "# c\nold.wast:3 # reversed by new/x.wast:12: because\n\n";
        let parsed = parse_superseded(list).unwrap();
        assert_eq!(parsed["old.wast:3"], "new/x.wast:12");
        assert!(parse_superseded("old.wast:3 # contradicted\n").is_err());
        assert!(parse_superseded("old.wast:3 # reversed by new/x.wast:\n").is_err());
    }
}
