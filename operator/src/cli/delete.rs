//! `sparkswarm delete KIND NAME`: removes the object's document (the whole file when it
//! is the only one); the operator then undoes what the object created.

use std::process::ExitCode;

use crate::manifest::document;
use crate::manifest::write::{write_if_unchanged, WriteOutcome};

use super::target::{find, load_manifests, parse_ref, qualified};
use super::{CliError, CliResult, Globals};

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// KIND NAME or KIND/NAME
    pub kind: String,
    pub name: Option<String>,
}

pub fn run(g: &Globals, args: DeleteArgs) -> CliResult {
    let (kind, name) = parse_ref(&args.kind, args.name.as_deref())?;
    let catalog = load_manifests(&g.manifests)?;
    let entry = find(&catalog, kind, &name)?;
    let file = document::read(&entry.path)?;
    if file.docs.len() <= 1 {
        std::fs::remove_file(&entry.path)?;
    } else {
        let text = remove_document(&file.text, entry.doc_index).ok_or_else(|| {
            CliError(format!("error: cannot find document {} in {}", entry.doc_index, entry.path.display()))
        })?;
        if write_if_unchanged(&entry.path, &file.text, &text)? == WriteOutcome::Conflict {
            return Err(CliError(format!("error: {} changed while deleting; try again", entry.path.display())));
        }
    }
    println!("{} \"{name}\" deleted", qualified(kind));
    Ok(ExitCode::SUCCESS)
}

/// Removes document `index` (counting non-empty documents) together with the `---` line
/// that introduces it, leaving every other byte as it was.
pub fn remove_document(text: &str, index: usize) -> Option<String> {
    // Byte offsets where each `---` separator line starts.
    let mut seps = Vec::new();
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        if l == "---" || l.starts_with("--- ") || l.starts_with("---\t") {
            seps.push(off);
        }
        off += line.len();
    }
    // Segments: [0, sep0), [sep0, sep1), ... each a document with its introducing `---`.
    let mut bounds = vec![0];
    bounds.extend(seps.iter().copied().filter(|&s| s > 0));
    bounds.push(text.len());
    bounds.dedup();
    let segments: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let non_empty: Vec<&(usize, usize)> = segments.iter().filter(|(a, b)| has_content(&text[*a..*b])).collect();
    let &&(start, end) = non_empty.get(index)?;
    // Keep a leading `---` of the file when the first document goes.
    let start = if start == 0 && seps.first() == Some(&0) {
        text.find('\n').map(|i| i + 1).unwrap_or(text.len()).min(end)
    } else {
        start
    };
    Some(format!("{}{}", &text[..start], &text[end..]))
}

fn has_content(segment: &str) -> bool {
    segment.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_one_document_and_its_separator() {
        let text = "# head\na: 1\n---\nb: 2\n---\n# c's comment\nc: 3\n";
        assert_eq!(remove_document(text, 1).unwrap(), "# head\na: 1\n---\n# c's comment\nc: 3\n");
        assert_eq!(remove_document(text, 2).unwrap(), "# head\na: 1\n---\nb: 2\n");
        assert_eq!(remove_document(text, 0).unwrap(), "---\nb: 2\n---\n# c's comment\nc: 3\n");
        assert!(remove_document(text, 3).is_none());
    }
}
