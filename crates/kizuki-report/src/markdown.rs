//! Markdown rendering (CommonMark with GitHub-style tables).

use crate::model::AfterActionReport;
use crate::walk::{Row, Sink, walk};

/// Renders the report as Markdown.
pub fn render(report: &AfterActionReport) -> String {
    let mut md = Markdown(String::new());
    walk(report, &mut md);
    md.0
}

struct Markdown(String);

/// Keeps user text from turning into markup: backslash-escapes Markdown punctuation and
/// HTML-escapes angle brackets and ampersands (Markdown passes raw HTML through).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Sink for Markdown {
    fn heading(&mut self, level: u8, text: &str, _class: &str) {
        let hashes = "#".repeat(usize::from(level.clamp(1, 6)));
        self.0.push_str(&format!("{hashes} {}\n\n", escape(text)));
    }

    fn para(&mut self, text: &str) {
        self.0.push_str(&format!("{}\n\n", escape(text)));
    }

    fn missing(&mut self, text: &str) {
        self.0.push_str(&format!("_{}_\n\n", escape(text)));
    }

    fn list(&mut self, items: &[String], _class: &str) {
        for i in items {
            self.0.push_str(&format!("- {}\n", escape(i)));
        }
        self.0.push('\n');
    }

    fn pairs(&mut self, items: &[(String, String)], _class: &str) {
        for (k, v) in items {
            self.0
                .push_str(&format!("- **{}**: {}\n", escape(k), escape(v)));
        }
        self.0.push('\n');
    }

    fn table(&mut self, header: &[String], rows: &[Row], _class: &str) {
        let head: Vec<String> = header.iter().map(|h| escape(h)).collect();
        self.0.push_str(&format!("| {} |\n", head.join(" | ")));
        self.0
            .push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for row in rows {
            let cells: Vec<String> = row
                .cells
                .iter()
                .map(|c| c.iter().map(|l| escape(l)).collect::<Vec<_>>().join("<br>"))
                .collect();
            self.0.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        self.0.push('\n');
    }
}
