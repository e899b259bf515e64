//! HTML rendering: one self-contained document, semantic elements and class names only.
//! No inline `<script>`, no `<style>` and no `style=` attributes (the server's CSP forbids
//! them); the server's own stylesheet styles the classes.

use crate::model::AfterActionReport;
use crate::walk::{Row, Sink, walk};

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the whole report as an HTML document.
pub fn render(report: &AfterActionReport) -> String {
    let lang = report.language.as_str();
    let title = escape(&report.title);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n</head>\n<body>\n"
    );
    out.push_str(&render_fragment(report));
    out.push_str("</body>\n</html>\n");
    out
}

/// Renders the report as an `<article>`, for embedding in a page.
pub fn render_fragment(report: &AfterActionReport) -> String {
    let mut h = Html(String::new());
    h.0.push_str("<article class=\"after-action-report\">\n");
    walk(report, &mut h);
    h.0.push_str("</article>\n");
    h.0
}

struct Html(String);

impl Sink for Html {
    fn heading(&mut self, level: u8, text: &str, class: &str) {
        let n = level.clamp(1, 6);
        self.0.push_str(&format!(
            "<h{n} class=\"{}\">{}</h{n}>\n",
            escape(class),
            escape(text)
        ));
    }

    fn para(&mut self, text: &str) {
        self.0.push_str(&format!("<p>{}</p>\n", escape(text)));
    }

    fn missing(&mut self, text: &str) {
        self.0
            .push_str(&format!("<p class=\"missing\">{}</p>\n", escape(text)));
    }

    fn list(&mut self, items: &[String], class: &str) {
        self.0
            .push_str(&format!("<ul class=\"{}\">\n", escape(class)));
        for i in items {
            self.0.push_str(&format!("<li>{}</li>\n", escape(i)));
        }
        self.0.push_str("</ul>\n");
    }

    fn pairs(&mut self, items: &[(String, String)], class: &str) {
        self.0
            .push_str(&format!("<dl class=\"{}\">\n", escape(class)));
        for (k, v) in items {
            self.0
                .push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", escape(k), escape(v)));
        }
        self.0.push_str("</dl>\n");
    }

    fn table(&mut self, header: &[String], rows: &[Row], class: &str) {
        self.0
            .push_str(&format!("<table class=\"{}\">\n<thead><tr>", escape(class)));
        for h in header {
            self.0
                .push_str(&format!("<th scope=\"col\">{}</th>", escape(h)));
        }
        self.0.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            if row.rest_day {
                self.0.push_str("<tr class=\"rest-day\">");
            } else {
                self.0.push_str("<tr>");
            }
            for (i, cell) in row.cells.iter().enumerate() {
                let tag = if i == 0 { "th" } else { "td" };
                let scope = if i == 0 { " scope=\"row\"" } else { "" };
                self.0.push_str(&format!("<{tag}{scope}>"));
                let lines: Vec<String> = cell.iter().map(|l| escape(l)).collect();
                match lines.len() {
                    0 => {}
                    1 => self.0.push_str(&lines.join("")),
                    _ => {
                        self.0.push_str("<ul>");
                        for l in lines {
                            self.0.push_str(&format!("<li>{l}</li>"));
                        }
                        self.0.push_str("</ul>");
                    }
                }
                self.0.push_str(&format!("</{tag}>"));
            }
            self.0.push_str("</tr>\n");
        }
        self.0.push_str("</tbody>\n</table>\n");
    }
}
