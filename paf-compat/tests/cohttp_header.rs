//! CoHTTP's header tests, ported: `http/test/test_header.ml` (the unit tests
//! of `Http.Header`) and the header-level cases of `cohttp/test/test_header.ml`
//! and `cohttp-lwt-unix/test/test_parser.ml`.
//!
//! Each `check` is one vector of the OCaml file, with its OCaml label.

use paf_compat::Header;

/// Owned pairs, to compare with [`Header::to_list`].
fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// CoHTTP's `hstr`.
const HSTR: [(&str, &str); 4] = [
    ("accept", "application/xml"),
    ("transfer-encoding", "chunked"),
    ("accept", "text/html"),
    ("content-length", "100"),
];

/// CoHTTP's `prebuilt = H.of_list hstr`.
fn prebuilt() -> Header {
    Header::of_list(HSTR)
}

/// CoHTTP's `h`: first, second, and two `accept` values.
fn h_update() -> Header {
    Header::init()
        .add("first", "1")
        .add("second", "2")
        .add("accept", "foo")
        .add("accept", "bar")
}

/// Mirrors http/test/test_header.ml "Header.to_list"
#[test]
fn to_list_keeps_order_and_case() {
    assert_eq!(Header::init().to_list(), pairs(&[]), "to_list (init ())");
    assert_eq!(
        Header::init().add("a", "a1").to_list(),
        pairs(&[("a", "a1")]),
        "to_list (add (init ()) k v"
    );
    assert_eq!(
        prebuilt().to_list(),
        pairs(&HSTR),
        "to_list (of_list h) = h"
    );
}

/// Mirrors http/test/test_header.ml "Header.is_empty"
#[test]
fn is_empty_only_without_fields() {
    assert!(Header::init().is_empty(), "is_empty (init ())");
    assert!(
        !Header::init().add("a", "a1").is_empty(),
        "is_empty (add (init ()) k v"
    );
    assert!(
        Header::init().add("a", "a1").remove("a").is_empty(),
        "is_empty (remove (add (init ()) k v) k)"
    );
}

/// Mirrors http/test/test_header.ml "Header.init_with"
#[test]
fn init_with_keeps_the_name_case() {
    assert_eq!(
        Header::init_with("traNsfer-eNcoding", "chunked").to_list(),
        pairs(&[("traNsfer-eNcoding", "chunked")]),
        "init_with k v"
    );
}

/// Mirrors http/test/test_header.ml "Header.mem"
#[test]
fn mem_finds_present_names_only() {
    assert!(!Header::init().mem("a"), "mem (init ()) k = false");
    assert!(prebuilt().mem("accept"), "mem h k");
    assert!(prebuilt().mem("content-length"), "mem h k");
    assert!(!prebuilt().mem("a"), "mem h k");
}

/// Mirrors http/test/test_header.ml "Header.add"
#[test]
fn add_appends_at_the_end() {
    let with = |extra: &[(&str, &str)]| {
        let mut l = pairs(&HSTR);
        l.extend(pairs(extra));
        l
    };
    assert_eq!(
        prebuilt().add("a", "a1").to_list(),
        with(&[("a", "a1")]),
        "add h k v"
    );
    assert_eq!(
        prebuilt().add("a", "a1").add("a", "a1").to_list(),
        with(&[("a", "a1"), ("a", "a1")]),
        "add (add h k v) k v"
    );
    assert_eq!(
        prebuilt().add("a", "a1").add("b", "b1").to_list(),
        with(&[("a", "a1"), ("b", "b1")]),
        "add (add h k' v') k v"
    );
}

/// Mirrors http/test/test_header.ml "Header.get"
#[test]
fn get_returns_the_last_value() {
    assert_eq!(
        Header::init().add("a", "a1").get("a"),
        Some("a1"),
        "get (add (init () k v) k"
    );
    assert_eq!(
        prebuilt().add("a", "a1").get("a"),
        Some("a1"),
        "get (add h k v) k when mem h k = false"
    );
    assert_eq!(
        prebuilt().add("a", "a1").get("accept"),
        Some("text/html"),
        "get (add h k v) k when mem h k = true"
    );
    assert_eq!(
        prebuilt().add("a", "a1").add("a", "a2").get("a"),
        Some("a2"),
        "get (add (add h k v') k v) k = v"
    );
}

/// Mirrors http/test/test_header.ml "Header.add_list"
#[test]
fn add_list_appends_in_order() {
    let l = [("a", "a1"), ("b", "b1")];
    let none: [(&str, &str); 0] = [];
    assert_eq!(
        Header::init().add_list(none).to_list(),
        pairs(&[]),
        "add_list (init ()) []"
    );
    assert_eq!(
        Header::init().add_list(l).to_list(),
        pairs(&l),
        "add_list (init ()) l"
    );
    assert_eq!(
        prebuilt().add_list(none).to_list(),
        pairs(&HSTR),
        "add_list h []"
    );
    let mut expected = pairs(&HSTR);
    expected.push(("a".into(), "a1".into()));
    assert_eq!(
        prebuilt().add_list([("a", "a1")]).to_list(),
        expected,
        "add_list h [k, v]"
    );
    let mut expected = pairs(&HSTR);
    expected.extend(pairs(&l));
    assert_eq!(prebuilt().add_list(l).to_list(), expected, "add_list h l");
}

/// Mirrors http/test/test_header.ml "Header.add_multi"
#[test]
fn add_multi_appends_one_field_per_value() {
    let vals = ["a1", "a2", "a3"];
    let l = pairs(&[("a", "a1"), ("a", "a2"), ("a", "a3")]);
    let no_values: [&str; 0] = [];
    assert_eq!(
        Header::init().add_multi("a", no_values).to_list(),
        pairs(&[]),
        "add_multi (init ()) k []"
    );
    assert_eq!(
        Header::init().add_multi("a", vals).to_list(),
        l,
        "add_multi (init ()) k vals"
    );
    assert_eq!(
        prebuilt().add_multi("a", no_values).to_list(),
        pairs(&HSTR),
        "add_multi h k []"
    );
    let mut expected = pairs(&HSTR);
    expected.extend(l);
    assert_eq!(
        prebuilt().add_multi("a", vals).to_list(),
        expected,
        "add_multi h k vals"
    );
}

/// Mirrors http/test/test_header.ml "Header.add_unless_exists"
#[test]
fn add_unless_exists_leaves_present_names() {
    assert_eq!(
        Header::init().add_unless_exists("a", "a1").to_list(),
        pairs(&[("a", "a1")]),
        "add_unless_exists (init ()) k v"
    );
    let mut expected = pairs(&HSTR);
    expected.push(("a".into(), "a1".into()));
    assert_eq!(
        prebuilt().add_unless_exists("a", "a1").to_list(),
        expected,
        "add_unless_exists h k v when mem h k = false"
    );
    assert_eq!(
        prebuilt()
            .add_unless_exists("transfer-encoding", "chunked")
            .to_list(),
        pairs(&HSTR),
        "add_unless_exists h k v when mem h k = true)"
    );
    assert_eq!(
        prebuilt().add_unless_exists("accept", "text/*").to_list(),
        pairs(&HSTR),
        "add_unless_exists h k v when mem h k = true)"
    );
}

/// Mirrors http/test/test_header.ml "Header.remove"
#[test]
fn remove_drops_every_value_of_a_name() {
    assert_eq!(
        Header::init().remove("accept").to_list(),
        pairs(&[]),
        "remove (init ()) k"
    );
    assert_eq!(
        Header::init()
            .add("k", "v")
            .add("k", "v")
            .remove("k")
            .to_list(),
        pairs(&[]),
        "remove (add (add (init ()) k v) k v) k"
    );
    assert_eq!(
        prebuilt().remove("a").to_list(),
        pairs(&HSTR),
        "remove h k when mem h k = false"
    );
    assert_eq!(
        prebuilt().remove("transfer-encoding").to_list(),
        pairs(&[
            ("accept", "application/xml"),
            ("accept", "text/html"),
            ("content-length", "100"),
        ]),
        "remove h k when mem h k = true"
    );
    assert_eq!(
        prebuilt().remove("accept").to_list(),
        pairs(&[("transfer-encoding", "chunked"), ("content-length", "100")]),
        "remove h k when mem h k = true"
    );
}

/// Mirrors http/test/test_header.ml "Header.replace"
#[test]
fn replace_keeps_the_place_of_the_last_value() {
    assert_eq!(
        Header::init().replace("a", "a1").to_list(),
        pairs(&[("a", "a1")]),
        "replace (init ()) k v"
    );
    assert_eq!(
        Header::init().add("a", "a1").replace("a", "a1").to_list(),
        pairs(&[("a", "a1")]),
        "replace (add (init ()) k v) k v"
    );
    assert_eq!(
        Header::init().add("a", "a1").replace("a", "a2").to_list(),
        pairs(&[("a", "a2")]),
        "replace (add (init ()) k v) k v'"
    );
    let mut expected = pairs(&HSTR);
    expected.push(("a".into(), "a1".into()));
    assert_eq!(
        prebuilt().replace("a", "a1").to_list(),
        expected,
        "replace h k v when mem h k = false"
    );
    assert_eq!(
        prebuilt().replace("transfer-encoding", "gzip").to_list(),
        pairs(&[
            ("accept", "application/xml"),
            ("transfer-encoding", "gzip"),
            ("accept", "text/html"),
            ("content-length", "100"),
        ]),
        "replace h k v when mem h k = true"
    );
    assert_eq!(
        prebuilt().replace("accept", "text/*").to_list(),
        pairs(&[
            ("transfer-encoding", "chunked"),
            ("accept", "text/*"),
            ("content-length", "100"),
        ]),
        "replace h k v when mem h = true"
    );
}

/// Mirrors http/test/test_header.ml "Header.update"
#[test]
fn update_touches_only_the_last_value() {
    let h = h_update();
    assert_eq!(
        h.clone().update("second", |v| v.map(|_| "2a".to_owned())),
        h.clone().replace("second", "2a"),
        "update existing header"
    );
    assert_eq!(
        h.clone().update("second", |v| match v {
            Some(_) => None,
            None => Some("3".to_owned()),
        }),
        h.clone().remove("second"),
        "update remove header"
    );
    assert_eq!(
        h.clone()
            .update("accept", |v| v.map(|_| "baz".to_owned()))
            .get_multi("accept"),
        vec!["foo", "baz"],
        "update existing header with multiple values"
    );
    assert_eq!(
        h.clone()
            .update("third", |v| match v {
                Some(_) => None,
                None => Some("3".to_owned()),
            })
            .get_multi("third"),
        vec!["3"],
        "update add new header"
    );
    assert_eq!(
        h.clone().update("third", |_| None),
        h,
        "update_remove_absent_header"
    );
    assert_eq!(
        h.clone().update("third", |v| v.map(|_| "3".to_owned())),
        h,
        "update_new_header: unchanged"
    );
    assert_eq!(
        h.clone().update("accept", |_| None).get("accept"),
        Some("foo"),
        "update_existing_header_remove_multivalue: remove last"
    );
}

/// Mirrors http/test/test_header.ml "Header.update_all"
#[test]
fn update_all_rewrites_every_value() {
    let h = h_update();
    let replace_if_any = |with: Vec<String>| {
        move |vs: Vec<&str>| {
            if vs.is_empty() {
                Vec::new()
            } else {
                with.clone()
            }
        }
    };
    assert_eq!(
        h.clone()
            .update_all("second", replace_if_any(vec!["2a".into()])),
        h.clone().remove("second").add("second", "2a"),
        "update_all existing header"
    );
    assert_eq!(
        h.clone().update_all("second", |vs| if vs.is_empty() {
            vec!["3".to_owned()]
        } else {
            Vec::new()
        }),
        h.clone().remove("second"),
        "update_all remove header"
    );
    assert_eq!(
        h.clone()
            .update_all("accept", replace_if_any(vec!["baz".into()]))
            .get_multi("accept"),
        vec!["baz"],
        "update_all existing header with multiple values"
    );
    let appended = h.clone().update_all("accept", |vs| {
        let mut vs: Vec<String> = vs.into_iter().map(str::to_owned).collect();
        if !vs.is_empty() {
            vs.push("baz".into());
        }
        vs
    });
    assert_eq!(
        appended.get_multi_concat("accept"),
        h.clone().add("accept", "baz").get_multi_concat("accept"),
        "update_all_existing_header_multivalued"
    );
    assert_eq!(
        h.clone().update_all("accept", |_| Vec::new()),
        h.clone().remove("accept"),
        "update_all_existing_header_multivalue : remove all"
    );
    assert_eq!(
        h.clone().update_all("third", |vs| if vs.is_empty() {
            vec!["3".to_owned(), "33".to_owned()]
        } else {
            Vec::new()
        }),
        h.clone().add_multi("third", ["3", "33"]),
        "update add new header"
    );
    assert_eq!(
        h.clone().update_all("third", |_| Vec::new()),
        h,
        "update_remove_absent_header"
    );
    assert_eq!(
        h.clone()
            .update_all("third", replace_if_any(vec!["3".into()])),
        h,
        "update_new_header: unchanged"
    );
}

/// Mirrors http/test/test_header.ml "Header.get_multi"
#[test]
fn get_multi_returns_values_in_order() {
    assert!(
        Header::init().get_multi("a").is_empty(),
        "get_multi (init ()) k"
    );
    assert!(
        prebuilt().get_multi("a").is_empty(),
        "get_multi h k when mem h k = false"
    );
    assert_eq!(
        prebuilt().get_multi("transfer-encoding"),
        vec!["chunked"],
        "get_multi h k when mem h k = true"
    );
    assert_eq!(
        prebuilt().get_multi("accept"),
        vec!["application/xml", "text/html"],
        "get_multi h k when mem h k = true"
    );
}

/// Mirrors http/test/test_header.ml "Header.get_multi_concat"
#[test]
fn get_multi_concat_joins_with_a_bare_comma() {
    let h1 = prebuilt().add("a", "a1").add("a", "a2");
    assert_eq!(
        Header::init().get_multi_concat("a"),
        None,
        "get_multi_concat (init ()) k"
    );
    assert_eq!(
        prebuilt().get_multi_concat("a"),
        None,
        "get_multi_concat h k when mem h k = false"
    );
    assert_eq!(
        prebuilt().get_multi_concat("accept").as_deref(),
        Some("application/xml,text/html"),
        "get_multi_concat h k when mem h k = true"
    );
    assert_eq!(
        h1.get_multi_concat("a").as_deref(),
        Some("a1,a2"),
        "get_multi_concat ~list_value_only:false h k when mem h k = true"
    );
    assert_eq!(
        h1.get_multi_concat_list_value_only("a").as_deref(),
        Some("a2"),
        "get_multi_concat ~list_value_only:true h k when mem h k = true"
    );
}

/// Mirrors http/test/test_header.ml "Header.map"
#[test]
fn map_rewrites_values_in_place() {
    assert_eq!(
        Header::init().map(|_, v| v.to_owned()).to_list(),
        pairs(&[]),
        "map (fun _ v -> v) (init ())"
    );
    assert_eq!(
        prebuilt().map(|_, v| v.to_owned()).to_list(),
        prebuilt().to_list(),
        "map (fun _ v -> v) (init ())"
    );
    assert_eq!(
        prebuilt().map(|_, v| format!("{v}, a")).to_list(),
        pairs(&[
            ("accept", "application/xml, a"),
            ("transfer-encoding", "chunked, a"),
            ("accept", "text/html, a"),
            ("content-length", "100, a"),
        ]),
        "map (fun _ v -> v ^ a ) (init ())"
    );
}

/// Mirrors http/test/test_header.ml "Header.fold"
#[test]
fn fold_visits_the_newest_field_first() {
    let rev = |k: &str, v: &str, acc: Header| acc.add(k, v);
    let h1 = prebuilt().fold(rev, Header::init());
    let mut reversed = h1.to_list();
    reversed.reverse();
    assert_eq!(
        reversed,
        prebuilt().to_list(),
        "[fold (fun k v acc -> H.(add acc k v)) h (init ())] reverses the header"
    );
    assert_eq!(
        prebuilt()
            .fold(rev, Header::init())
            .fold(rev, Header::init()),
        prebuilt(),
        "[fold rev (fold rev h (init ())) (init ()) = h] "
    );
    assert_eq!(
        prebuilt().fold(|_, _, acc| acc + 1, 0),
        prebuilt().to_list().len(),
        "[fold (fun _ _ acc -> acc+1) h 0] returns the length of h"
    );
}

/// Mirrors http/test/test_header.ml "Header.iter"
#[test]
fn iter_visits_the_newest_field_first() {
    let mut h = Header::init();
    prebuilt().iter(|k, v| h = std::mem::take(&mut h).add(k, v));
    let mut reversed = h.to_list();
    reversed.reverse();
    assert_eq!(
        reversed,
        prebuilt().to_list(),
        "[iter (fun k v -> href := H.(add !href k v)) h] reverses the header"
    );
    let mut count = 0;
    prebuilt().iter(|_, _| count += 1);
    assert_eq!(
        count,
        prebuilt().to_list().len(),
        "[iter (fun _ _ -> count := !count+1) h] works fine"
    );
}

/// Mirrors http/test/test_header.ml "Header.to_lines"
#[test]
fn to_lines_end_with_crlf() {
    assert_eq!(
        prebuilt().to_lines(),
        vec![
            "accept: application/xml\r\n",
            "transfer-encoding: chunked\r\n",
            "accept: text/html\r\n",
            "content-length: 100\r\n",
        ],
        "to_lines h"
    );
}

/// Mirrors http/test/test_header.ml "Header.to_frames"
#[test]
fn to_frames_have_no_crlf() {
    assert_eq!(
        prebuilt().to_frames(),
        vec![
            "accept: application/xml",
            "transfer-encoding: chunked",
            "accept: text/html",
            "content-length: 100",
        ],
        "to_frames h"
    );
}

/// Mirrors http/test/test_header.ml "Header.to_string"
#[test]
fn to_string_is_the_wire_block() {
    assert_eq!(
        prebuilt().to_string(),
        "accept: application/xml\r\n\
         transfer-encoding: chunked\r\n\
         accept: text/html\r\n\
         content-length: 100\r\n\
         \r\n",
        "to_string h"
    );
}

/// Mirrors http/test/test_header.ml "many headers"
#[test]
fn many_headers_are_all_kept() {
    let size = 1_000_000;
    let mut h = Header::init();
    for n in (1..=size).rev() {
        h = h.add(format!("h{n}"), format!("v{n}"));
    }
    assert_eq!(h.to_list().len(), size, "many_headers");
}

/// Mirrors http/test/test_header.ml "transfer encoding is in correct order"
#[test]
fn repeated_transfer_encoding_keeps_its_order() {
    let h = Header::of_list([
        ("transfer-encoding", "gzip"),
        ("transfer-encoding", "chunked"),
    ]);
    assert_eq!(
        h.to_string(),
        "transfer-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n",
        "transfer_encoding_string_is_ordered"
    );
    assert_eq!(
        h.get_multi_concat("transfer-encoding").as_deref(),
        Some("gzip,chunked"),
        "transfer_encoding_get_is_ordered"
    );
}

/// Mirrors http/test/test_header.ml "large header" (and the `get` half of
/// cohttp/test/test_header.ml "large header")
#[test]
fn large_header_value_is_kept_whole() {
    let v1 = "a".repeat(1024 * 1024 * 100);
    let h = Header::init()
        .add("x-large", v1.as_str())
        .add(v1.as_str(), "foo");
    assert_eq!(h.get("x-large"), Some(v1.as_str()), "x-large");
}

/// Mirrors cohttp/test/test_header.ml "Media Type"
#[test]
fn media_type_is_the_first_word_of_content_type() {
    let h = Header::init_with("content-type", " foo/bar ; charset=UTF-8");
    assert_eq!(h.get_media_type(), Some("foo/bar"), "media type");
}

/// Mirrors cohttp/test/test_header.ml "Content Range" ("none",
/// "content-length", "content-range")
#[test]
fn content_range_from_length_or_range() {
    assert_eq!(Header::init().get_content_range(), None, "none");
    assert_eq!(
        Header::of_list([("Content-Length", "123")]).get_content_range(),
        Some(123),
        "content_length"
    );
    assert_eq!(
        Header::of_list([("Content-Range", "bytes 200-300/1000")]).get_content_range(),
        Some(101),
        "content_range"
    );
}

/// Mirrors cohttp/test/test_header.ml "Cache Control" "concat" (the two
/// fields as the response parser yields them)
#[test]
fn cache_control_values_concatenate() {
    let h = Header::of_list([
        ("Cache-Control", "public"),
        ("Cache-Control", "max-age:86400"),
    ]);
    assert_eq!(
        h.get_multi_concat("Cache-Control").as_deref(),
        Some("public,max-age:86400"),
        "test_cachecontrol_concat"
    );
}

/// Mirrors cohttp-lwt-unix/test/test_parser.ml "basic_res_parse" (its header
/// checks, on the fields as the parser yields them)
#[test]
fn parsed_response_fields_are_found_ignoring_case() {
    let h = Header::of_list([
        ("Date", "Mon, 23 May 2005 22:38:34 GMT"),
        ("Server", "Apache/1.3.3.7 (Unix) (Red-Hat/Linux)"),
        ("Last-Modified", "Wed, 08 Jan 2003 23:11:55 GMT"),
        ("Etag", "\"3f80f-1b6-3e1cb03b\""),
        ("Accept", "text/*"),
        ("Accept", "application/xml"),
        ("Accept-Ranges", "none"),
        ("Content-Length", "0"),
        ("Connection", "close"),
        ("Content-Type", "text/html; charset=UTF-8"),
    ]);
    assert_eq!(h.get("connection"), Some("close"));
    assert_eq!(h.get("Accept-ranges"), Some("none"));
    assert_eq!(h.get("content-type"), Some("text/html; charset=UTF-8"));
}
