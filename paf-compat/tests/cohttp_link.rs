//! The "Link" suite of CoHTTP's `cohttp/test/test_header.ml`, ported. CoHTTP
//! parses a response whose fields are `Link: …` and reads them back with
//! `Header.get_links`; here the fields are built as that parser yields them.

use paf_compat::link::{Arc, Charset, Ext, Language, Link, Rel};
use paf_compat::Header;

/// The headers of CoHTTP's `get_resp lines`: each line is `Name: value`.
fn headers_of_lines(lines: &[&str]) -> Header {
    Header::of_list(lines.iter().map(|line| {
        let (name, value) = line.split_once(": ").expect("test lines are `Name: value`");
        (name, value)
    }))
}

fn link(context: &str, arc: Arc, target: &str) -> Link {
    Link {
        context: context.into(),
        arc,
        target: target.into(),
    }
}

fn rels(relation: Vec<Rel>) -> Arc {
    Arc {
        relation,
        ..Arc::empty()
    }
}

/// Mirrors cohttp/test/test_header.ml "simple" (Link)
#[test]
fn link_simple() {
    let h = headers_of_lines(&["Link: </page/2>; rel=next"]);
    assert_eq!(
        h.get_links(),
        vec![link("", rels(vec![Rel::Next]), "/page/2")],
        "link_simple"
    );
}

/// Mirrors cohttp/test/test_header.ml "multiple rels"
#[test]
fn link_multi_rel() {
    let h = headers_of_lines(&["Link: </page/2>; rel=\"next last\""]);
    assert_eq!(
        h.get_links(),
        vec![link("", rels(vec![Rel::Next, Rel::Last]), "/page/2")],
        "link_multi_rel"
    );
}

/// Mirrors cohttp/test/test_header.ml "multiple lines"
#[test]
fn link_multi_line() {
    let h = headers_of_lines(&["Link: </page/2>; rel=\"next\"", "Link: </page/1>; rel=self"]);
    assert_eq!(
        h.get_links(),
        vec![
            link("", rels(vec![Rel::Next]), "/page/2"),
            link("", rels(vec![Rel::SelfRel]), "/page/1"),
        ],
        "link_multi_line"
    );
}

/// Mirrors cohttp/test/test_header.ml "multiheader"
#[test]
fn link_multi_multi() {
    let h = headers_of_lines(&["Link: </page/2>; rel=\"next\", </page/3>; rel=last"]);
    assert_eq!(
        h.get_links(),
        vec![
            link("", rels(vec![Rel::Next]), "/page/2"),
            link("", rels(vec![Rel::Last]), "/page/3"),
        ],
        "link_multi_multi"
    );
}

/// Mirrors cohttp/test/test_header.ml "rel uri"
#[test]
fn link_rel_uri() {
    let uri = "http://example.com/a,valid;uri";
    let h = headers_of_lines(&[&format!("Link: </page/2>; rel=\"next {uri}\"; hreflang=en")]);
    let arc = Arc {
        relation: vec![Rel::Next, Rel::extension(uri)],
        hreflang: Some("en".into()),
        ..Arc::empty()
    };
    assert_eq!(
        h.get_links(),
        vec![link("", arc, "/page/2")],
        "link_rel_uri"
    );
}

/// Mirrors cohttp/test/test_header.ml "anchor"
#[test]
fn link_anchor() {
    let h = headers_of_lines(&["Link: </page/1>; anchor=\"/page/2\"; rel=prev"]);
    assert_eq!(
        h.get_links(),
        vec![link("/page/2", rels(vec![Rel::Prev]), "/page/1")],
        "link_anchor"
    );
}

/// Mirrors cohttp/test/test_header.ml "rev"
#[test]
fn link_rev() {
    let h = headers_of_lines(&["Link: </page/2>; rev=prev"]);
    let arc = Arc {
        reverse: true,
        relation: vec![Rel::Prev],
        ..Arc::empty()
    };
    assert_eq!(h.get_links(), vec![link("/page/2", arc, "")], "link_rev");
}

/// Mirrors cohttp/test/test_header.ml "media"
#[test]
fn link_media() {
    let h = headers_of_lines(&["Link: </page/2>; media=screen"]);
    let arc = Arc {
        media: Some("screen".into()),
        ..Arc::empty()
    };
    assert_eq!(h.get_links(), vec![link("", arc, "/page/2")], "link_media");
}

/// Mirrors cohttp/test/test_header.ml "media complex"
#[test]
fn link_media_complex() {
    let h = headers_of_lines(&["Link: </page/2>; media=\"screen, print and dpi < 200\""]);
    let arc = Arc {
        media: Some("screen, print and dpi < 200".into()),
        ..Arc::empty()
    };
    assert_eq!(h.get_links(), vec![link("", arc, "/page/2")], "t_links");
}

/// Mirrors cohttp/test/test_header.ml "title"
#[test]
fn link_title() {
    let h = headers_of_lines(&["Link: </page/2>; title=\"Next!\"; rel=next"]);
    let arc = Arc {
        relation: vec![Rel::Next],
        title: Some("Next!".into()),
        ..Arc::empty()
    };
    assert_eq!(h.get_links(), vec![link("", arc, "/page/2")], "link_title");
}

/// Mirrors cohttp/test/test_header.ml "title star"
#[test]
fn link_title_star() {
    let h = headers_of_lines(&["Link: </page/2>; title*=UTF-8'en'Next!; rel=next"]);
    let arc = Arc {
        relation: vec![Rel::Next],
        title_ext: Some(
            Ext::make("Next!".to_owned())
                .with_charset(Charset::of_string("UTF-8"))
                .with_language(Language::of_string("en")),
        ),
        ..Arc::empty()
    };
    assert_eq!(
        h.get_links(),
        vec![link("", arc, "/page/2")],
        "link_title_star"
    );
}

/// Mirrors cohttp/test/test_header.ml "type token"
#[test]
fn link_type_token() {
    let h = headers_of_lines(&["Link: </page/2>; type=text/html; rel=next"]);
    let arc = Arc {
        relation: vec![Rel::Next],
        media_type: Some(("text".into(), "html".into())),
        ..Arc::empty()
    };
    assert_eq!(
        h.get_links(),
        vec![link("", arc, "/page/2")],
        "link_type_token"
    );
}

/// Mirrors cohttp/test/test_header.ml "type quoted"
#[test]
fn link_type_quoted() {
    let h = headers_of_lines(&["Link: </page/2>; type=\"text/html\"; rel=next"]);
    let arc = Arc {
        relation: vec![Rel::Next],
        media_type: Some(("text".into(), "html".into())),
        ..Arc::empty()
    };
    assert_eq!(
        h.get_links(),
        vec![link("", arc, "/page/2")],
        "link_type_quoted"
    );
}

/// Mirrors cohttp/test/test_header.ml "extension"
#[test]
fn link_ext() {
    let h = headers_of_lines(&["Link: </page/2>; see=saw; rel=next"]);
    let arc = Arc {
        relation: vec![Rel::Next],
        extensions: vec![("see".into(), "saw".into())],
        ..Arc::empty()
    };
    assert_eq!(h.get_links(), vec![link("", arc, "/page/2")], "link_ext");
}

/// Mirrors cohttp/test/test_header.ml "extension star"
#[test]
fn link_ext_star() {
    let h = headers_of_lines(&["Link: </page/2>; zig*=''zag; rel=next"]);
    let arc = Arc {
        relation: vec![Rel::Next],
        extension_exts: vec![(
            "zig".into(),
            Ext::make("zag".to_owned())
                .with_charset(Charset::of_string(""))
                .with_language(Language::of_string("")),
        )],
        ..Arc::empty()
    };
    assert_eq!(
        h.get_links(),
        vec![link("", arc, "/page/2")],
        "link_ext_star"
    );
}
