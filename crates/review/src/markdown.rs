//! Safe Markdown rendering for model cards and findings.
//!
//! Raw HTML in the source is shown as text, never interpreted, and links or images whose URL is not http(s),
//! mailto, a fragment or a relative path are rendered as plain text: a model card cannot inject script.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:") {
        return true;
    }
    // Relative references and fragments carry no scheme before the first '/', '?' or '#'.
    let scheme_end = lower.find(':');
    let path_end = lower.find(['/', '?', '#']);
    match (scheme_end, path_end) {
        (None, _) => !lower.starts_with("//"),
        (Some(colon), Some(slash)) => slash < colon && !lower.starts_with("//"),
        (Some(_), None) => false,
    }
}

/// Renders Markdown to HTML that is safe to embed in a page.
pub fn render(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut dropped_link_depth = 0usize;
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { ref dest_url, .. }) | Event::Start(Tag::Image { ref dest_url, .. })
            if !safe_url(dest_url) =>
        {
            dropped_link_depth += 1;
            None
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) if dropped_link_depth > 0 => {
            dropped_link_depth -= 1;
            None
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn hostile_markdown_is_inert() {
        let cases = [
            ("<script>alert(1)</script>", "&lt;script&gt;"),
            ("<img src=x onerror=alert(1)>", "&lt;img"),
            ("[x](javascript:alert(1))", "<p>x</p>"),
            ("[x](JaVaScRiPt:alert(1))", "<p>x</p>"),
            ("![y](data:text/html;base64,xx)", "<p>y</p>"),
            ("<a href=\"javascript:x\">z</a>", "&lt;a href="),
        ];
        for (input, expected) in cases {
            let html = render(input);
            assert!(html.contains(expected), "{input} -> {html}");
            assert!(!html.contains("<script"), "{input} -> {html}");
            // Escaped source may show `href="javascript…` as text; only a live tag would be a problem.
            assert!(!html.contains("<a href=\"javascript"), "{input} -> {html}");
            assert!(!html.contains("<img src=\"data"), "{input} -> {html}");
        }
    }

    #[test]
    fn ordinary_markdown_renders() {
        let html =
            render("# Card\n\n**bold** [docs](https://example.org/a) [rel](notes#x)\n\n| a |\n|---|\n| 1 |");
        assert!(html.contains("<h1>Card</h1>"));
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("href=\"https://example.org/a\""));
        assert!(html.contains("href=\"notes#x\""));
        assert!(html.contains("<table>"));
    }
}
