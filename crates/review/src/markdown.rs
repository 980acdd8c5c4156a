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
    use proptest::prelude::*;

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

    /// The elements the renderer writes for the Markdown it accepts, and the attributes each may carry.
    const ELEMENTS: [(&str, &[&str]); 25] = [
        ("p", &[]),
        ("h1", &[]),
        ("h2", &[]),
        ("h3", &[]),
        ("h4", &[]),
        ("h5", &[]),
        ("h6", &[]),
        ("blockquote", &[]),
        ("pre", &[]),
        ("code", &["class"]),
        ("ol", &["start"]),
        ("ul", &[]),
        ("li", &[]),
        ("table", &[]),
        ("thead", &[]),
        ("tbody", &[]),
        ("tr", &[]),
        ("th", &["style"]),
        ("td", &["style"]),
        ("em", &[]),
        ("strong", &[]),
        ("del", &[]),
        ("a", &["href", "title"]),
        ("img", &["src", "alt", "title"]),
        ("input", &["disabled", "type", "checked"]),
    ];
    const VOID: [&str; 2] = ["hr", "br"];

    /// An attribute value as a browser reads it.
    fn unescape(value: &str) -> String {
        value
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// Whether a browser would follow a URL to something other than a web page or a mail: it parses the URL
    /// after dropping tabs and newlines anywhere and control characters and spaces around it.
    fn runs_something(url: &str) -> bool {
        let url: String = url.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
        let url = url.trim_matches(|c: char| c <= ' ').to_ascii_lowercase();
        let scheme_end = url.find(':');
        let scheme = scheme_end.and_then(|end| url.get(..end)).filter(|scheme| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        scheme.is_some_and(|scheme| !["http", "https", "mailto"].contains(&scheme))
    }

    /// Everything in the HTML that is markup, checked: only the elements and attributes above, no event
    /// handler, no URL that runs something, every quote closed. Text is escaped, so every `<` opens a tag.
    fn inert(html: &str) -> Result<(), String> {
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            let tag_and_more = rest.get(open + 1..).unwrap_or("");
            let close = tag_and_more.find('>').ok_or("a tag is never closed")?;
            let tag = tag_and_more.get(..close).unwrap_or("");
            rest = tag_and_more.get(close + 1..).unwrap_or("");
            let tag = tag.trim_end_matches('/').trim_end();
            let (name, mut attributes) = tag.split_once(' ').unwrap_or((tag, ""));
            let name = name.strip_prefix('/').unwrap_or(name);
            let allowed: &[&str] = match ELEMENTS.iter().find(|(element, _)| *element == name) {
                Some((_, allowed)) => allowed,
                None if VOID.contains(&name) => &[],
                None => return Err(format!("element <{name}>")),
            };
            while !attributes.trim().is_empty() {
                let trimmed = attributes.trim_start();
                let (attribute, after) = match trimmed.split_once('=') {
                    Some((attribute, after)) if !attribute.contains(' ') => (attribute, after),
                    _ => {
                        let (bare, after) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
                        if !allowed.contains(&bare) {
                            return Err(format!("attribute {bare} of <{name}>"));
                        }
                        attributes = after;
                        continue;
                    }
                };
                if !allowed.contains(&attribute) {
                    return Err(format!("attribute {attribute} of <{name}>"));
                }
                let value = after.strip_prefix('"').ok_or(format!("unquoted {attribute}"))?;
                let end = value.find('"').ok_or(format!("unclosed {attribute}"))?;
                let raw = value.get(..end).unwrap_or("");
                attributes = value.get(end + 1..).unwrap_or("");
                let value = unescape(raw);
                let fine = match attribute {
                    "href" | "src" => !runs_something(&value),
                    "style" => ["text-align: left", "text-align: center", "text-align: right"]
                        .contains(&value.as_str()),
                    "class" => value.starts_with("language-"),
                    _ => true,
                };
                if !fine {
                    return Err(format!("{attribute}={value:?} on <{name}>"));
                }
            }
        }
        Ok(())
    }

    /// Markdown made of the pieces that attacks are made of, in any order, with any text between them.
    fn hostile_markdown() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            proptest::sample::select(vec![
                "[",
                "]",
                "(",
                ")",
                "<",
                ">",
                "!",
                "\"",
                "'",
                "`",
                "```",
                "*",
                "_",
                "~~",
                "#",
                "|",
                "\\",
                "\n",
                "\n\n",
                " ",
                "\t",
                "- [ ] ",
                "1. ",
                "> ",
                "---",
                "| a | b |\n|:-|-:|\n",
                "[r]: ",
                "[r]",
                "<https://ok.example/x>",
                "<javascript:alert(1)>",
                "<a@b.example>",
                "javascript:",
                "JaVaScRiPt:",
                "java\tscript:",
                "java\nscript:",
                "\u{1}javascript:",
                " javascript:",
                "vbscript:",
                "data:text/html;base64,PHNjcmlwdD4=",
                "file:///etc/passwd",
                "&#106;avascript:",
                "&#x6A;",
                "&colon;",
                "&#58;",
                "%6Aavascript:",
                "//evil.example",
                "https://ok.example/a",
                "mailto:a@b",
                "#frag",
                "?q=1",
                "/path",
                "alert(1)",
                "<script>",
                "</script>",
                "<img src=x onerror=alert(1)>",
                "onerror=",
                "onclick=\"",
                "<a href=\"javascript:x\">",
                "</a>",
                "<svg onload=alert(1)>",
                "<iframe src=x>",
                "<style>",
                "<!--",
                "-->",
                "<![CDATA[",
                "&amp;",
                "&lt;",
                "&",
                "\u{0}",
                "\u{2028}",
                "\u{feff}",
            ])
            .prop_map(str::to_owned),
            "\\PC{0,6}",
        ];
        let piece = prop_oneof![3 => piece, 1 => link()];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    /// A link, image, autolink or reference to a URL that may run something, spelt the ways browsers forgive.
    fn link() -> impl Strategy<Value = String> {
        let scheme = proptest::sample::select(vec![
            "javascript:",
            "JAVASCRIPT:",
            "jAvAsCrIpT:",
            "java\tscript:",
            "java\\tscript:",
            "&#106;avascript:",
            "javascript&#58;",
            "javascript&colon;",
            "vbscript:",
            "data:text/html,",
            "data:image/svg+xml,",
            "file:",
            "blob:",
            "https:",
            "http:",
            "mailto:",
            "",
            "/",
            "//",
            "#",
            "?",
        ]);
        let before = proptest::sample::select(vec!["", " ", "\u{1}", "\u{8}", "\u{1f}", "\u{a0}", "%20"]);
        let after = prop_oneof![
            proptest::sample::select(vec![
                "alert(1)",
                "//evil.example/x",
                "x",
                "",
                "a b",
                "\"x\" onerror=y"
            ])
            .prop_map(str::to_owned),
            "\\PC{0,8}",
        ];
        let destination = (before, scheme, after).prop_map(|(b, s, a)| format!("{b}{s}{a}"));
        (destination, 0..7u8).prop_map(|(d, form)| match form {
            0 => format!("[x]({d})"),
            1 => format!("![x]({d})"),
            2 => format!("<{d}>"),
            3 => format!("[x][r]\n\n[r]: {d}\n"),
            4 => format!("[x](<{d}>)"),
            5 => format!("[x]({d} \"t\")"),
            _ => format!("[![x]({d})]({d})"),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn hostile_markdown_renders_to_inert_html(source in hostile_markdown()) {
            let html = render(&source);
            if let Err(why) = inert(&html) {
                prop_assert!(false, "{why}: {source:?} -> {html}");
            }
        }

        #[test]
        fn any_text_renders_to_inert_html(source in "\\PC{0,300}") {
            let html = render(&source);
            if let Err(why) = inert(&html) {
                prop_assert!(false, "{why}: {source:?} -> {html}");
            }
        }
    }

    #[test]
    fn the_checker_sees_what_would_run() {
        for html in [
            "<script>alert(1)</script>",
            "<b>bold</b>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\" JaVa\tScRiPt:x\">x</a>",
            "<a href=\"\u{1}javascript:x\">x</a>",
            "<img src=\"data:image/svg+xml,x\" alt=\"\" />",
            "<p onclick=\"x\">",
            "<img src=\"x\" alt=\"unclosed />",
            "<td style=\"background: url(javascript:x)\">",
        ] {
            assert!(inert(html).is_err(), "{html}");
        }
        let ordinary =
            "[a](https://ok.example) ![b](/x.png) `c`\n\n| a |\n|:-:|\n| 1 |\n\n- [x] d\n\n```rust\nx\n```";
        assert_eq!(inert(&render(ordinary)), Ok(()), "{}", render(ordinary));
    }
}
