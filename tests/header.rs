//! include/wsc.h must be what cbindgen generates from the C API module (src/ffi) now, declare
//! only `wsc_`/`WSC_` names, read as C documentation, and carry the result codes the library
//! has.

use std::collections::BTreeMap;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn committed_header() -> String {
    std::fs::read_to_string(root().join("include/wsc.h")).expect("include/wsc.h")
}

#[test]
fn header_is_up_to_date() {
    let root = root();
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_src(root.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/wsc.h");
    let committed = std::fs::read(&path).unwrap_or_default();
    if committed != generated {
        if std::env::var_os("WSC_UPDATE_HEADER").is_some() {
            std::fs::write(&path, &generated).expect("write include/wsc.h");
        } else {
            panic!("include/wsc.h is stale: run `WSC_UPDATE_HEADER=1 cargo test --test header`");
        }
    }
}

#[test]
fn version_macros_match_cargo() {
    let header = committed_header();
    for (name, value) in [
        ("WSC_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("WSC_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("WSC_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            header.contains(&format!("#define {name} {value}\n")),
            "{name} is not {value}"
        );
    }
    assert!(header.contains(&format!(
        "#define WSC_VERSION_STRING \"{}\"\n",
        env!("CARGO_PKG_VERSION")
    )));
    // SAFETY: wsc_version returns a NUL-terminated string in static storage.
    let loaded = unsafe { std::ffi::CStr::from_ptr(wsc::ffi::wsc_version()) };
    assert_eq!(loaded.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

// ---- a small reader for the C the header contains ----

/// The header split into code (comments blanked out, C++-only blocks removed) and the text of
/// its comments.
struct Parsed {
    code: String,
    comments: Vec<String>,
}

fn parse(header: &str) -> Parsed {
    let mut code = String::new();
    let mut comments = Vec::new();
    let mut rest = header;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('\n').unwrap_or(after.len());
            comments.push(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("/*") {
            let end = after.find("*/").expect("an unterminated comment");
            comments.push(after[..end].to_string());
            code.push(' ');
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('"') {
            // A string literal (in a #define): kept whole, so nothing in it reads as code.
            let end = after.find('"').expect("an unterminated string");
            code.push_str(&rest[..end + 2]);
            rest = &after[end + 1..];
        } else {
            let c = rest.chars().next().unwrap();
            code.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    // `extern "C" {` and its `}` exist for C++ only, between #ifdef __cplusplus and #endif.
    let mut kept = String::new();
    let mut in_cplusplus = false;
    for line in code.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("#ifdef __cplusplus") {
            in_cplusplus = true;
        } else if in_cplusplus && trimmed.starts_with("#endif") {
            in_cplusplus = false;
        } else if !in_cplusplus {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    Parsed {
        code: kept,
        comments,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(String),
    Punct(char),
}

fn tokens(code: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| c.is_ascii_alphanumeric() || **c == '_')
            {
                word.push(c);
                chars.next();
            }
            out.push(Token::Ident(word));
        } else if c.is_ascii_digit() {
            let mut number = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric()) {
                number.push(c);
                chars.next();
            }
            out.push(Token::Number(number));
        } else {
            out.push(Token::Punct(c));
            chars.next();
        }
    }
    out
}

fn ident(token: Option<&Token>) -> Option<&str> {
    match token {
        Some(Token::Ident(name)) => Some(name),
        _ => None,
    }
}

/// What the header declares at file scope: macros, type names, struct and enum tags,
/// enumerators (with their values) and functions.
#[derive(Debug, Default)]
struct Declared {
    macros: Vec<String>,
    types: Vec<String>,
    tags: Vec<String>,
    functions: Vec<String>,
    /// Enum name -> its enumerators and values, in order.
    enums: BTreeMap<String, Vec<(String, i64)>>,
}

impl Declared {
    fn all_names(&self) -> Vec<&str> {
        let enumerators = self.enums.values().flatten().map(|(name, _)| name);
        self.macros
            .iter()
            .chain(&self.types)
            .chain(&self.tags)
            .chain(&self.functions)
            .chain(enumerators)
            .map(String::as_str)
            .collect()
    }
}

fn declared(code: &str) -> Declared {
    let mut d = Declared::default();
    let mut c_code = String::new();
    for line in code.lines() {
        let line = line.trim();
        if let Some(directive) = line.strip_prefix('#') {
            let mut words = directive.split_whitespace();
            if words.next() == Some("define") {
                d.macros
                    .push(words.next().expect("a macro name").to_string());
            }
        } else {
            c_code.push_str(line);
            c_code.push('\n');
        }
    }
    // Statements at file scope end with ';' outside braces.
    let all = tokens(&c_code);
    let mut statements: Vec<&[Token]> = Vec::new();
    let (mut start, mut depth) = (0, 0);
    for (i, t) in all.iter().enumerate() {
        match t {
            Token::Punct('{') => depth += 1,
            Token::Punct('}') => depth -= 1,
            Token::Punct(';') if depth == 0 => {
                statements.push(&all[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    assert!(
        all[start..].is_empty(),
        "text after the last declaration: {:?}",
        &all[start..]
    );
    for s in statements {
        // Tags: `struct NAME`/`enum NAME`, and the enumerators of an enum body.
        for (i, t) in s.iter().enumerate() {
            let (Some(keyword), Some(tag)) = (ident(Some(t)), ident(s.get(i + 1))) else {
                continue;
            };
            if keyword != "struct" && keyword != "enum" {
                continue;
            }
            if !d.tags.iter().any(|t| t == tag) {
                d.tags.push(tag.to_string());
            }
            if keyword == "enum" && s.get(i + 2) == Some(&Token::Punct('{')) {
                let end = s[i + 3..]
                    .iter()
                    .position(|t| *t == Token::Punct('}'))
                    .expect("the end of the enum");
                let body = &s[i + 3..i + 3 + end];
                let values = body
                    .split(|t| *t == Token::Punct(','))
                    .filter(|e| !e.is_empty())
                    .map(|e| match e {
                        [Token::Ident(name), Token::Punct('='), Token::Number(n)] => {
                            (name.clone(), n.parse().expect("a decimal value"))
                        }
                        [Token::Ident(name), Token::Punct('='), Token::Punct('-'), Token::Number(n)] => {
                            (name.clone(), -n.parse::<i64>().expect("a decimal value"))
                        }
                        other => panic!("an enumerator without an explicit value: {other:?}"),
                    })
                    .collect();
                d.enums.insert(tag.to_string(), values);
            }
        }
        if ident(s.first()) == Some("typedef") {
            // A function pointer type names itself in `(*NAME)`; others (struct and enum
            // bodies included) last.
            let has_body = s.contains(&Token::Punct('{'));
            let pointer = s.windows(3).filter(|_| !has_body).find_map(|w| match w {
                [Token::Punct('('), Token::Punct('*'), Token::Ident(name)] => Some(name.clone()),
                _ => None,
            });
            let name = pointer.or_else(|| ident(s.last()).map(str::to_string));
            d.types.push(name.expect("the name a typedef declares"));
        } else {
            // A function: the name before the first '('.
            let open = s
                .iter()
                .position(|t| *t == Token::Punct('('))
                .unwrap_or_else(|| panic!("a declaration that is not a function: {s:?}"));
            let name = ident(open.checked_sub(1).and_then(|i| s.get(i)));
            d.functions.push(
                name.expect("a function name before its parameters")
                    .to_string(),
            );
        }
    }
    d
}

fn prefixed(name: &str) -> bool {
    name.starts_with("wsc_") || name.starts_with("WSC_")
}

/// Rust that reads wrongly in C documentation: doc links, paths, generic types, keywords.
const RUST_ONLY: [&str; 12] = [
    "[`", "`]", "crate::", "super::", "self::", "Option<", "Result<", "Box<", "Arc<", "Self",
    "&mut ", "impl ",
];

#[test]
fn every_name_in_the_header_has_the_prefix_and_its_docs_read_as_c() {
    let header = committed_header();
    let parsed = parse(&header);
    let d = declared(&parsed.code);
    // The reader found the header's parts: it is not passing by seeing nothing.
    assert!(d.functions.iter().any(|f| f == "wsc_connect"), "{d:?}");
    assert!(d.functions.len() >= 25, "{:?}", d.functions);
    assert!(d.types.iter().any(|t| t == "wsc_timer_fn"), "{d:?}");
    assert!(d.types.iter().any(|t| t == "wsc_context"), "{d:?}");
    assert!(d.tags.iter().any(|t| t == "wsc_callbacks"), "{d:?}");
    assert!(d.macros.iter().any(|m| m == "WSC_CLOSE_NORMAL"), "{d:?}");
    assert!(d.enums.contains_key("wsc_closed_by"), "{d:?}");

    let unprefixed: Vec<&str> = d.all_names().into_iter().filter(|n| !prefixed(n)).collect();
    assert!(
        unprefixed.is_empty(),
        "include/wsc.h declares names without wsc_/WSC_: {unprefixed:?}"
    );

    let rust: Vec<&String> = parsed
        .comments
        .iter()
        .filter(|c| RUST_ONLY.iter().any(|r| c.contains(r)))
        .collect();
    assert!(
        rust.is_empty(),
        "include/wsc.h has Rust-only text in its comments: {rust:#?}"
    );
}

#[test]
fn the_reader_notices_what_the_checks_are_for() {
    let bad = "#define LEND_MIN 4096\n\
               // The loop's own state is in [`Session`].\n\
               typedef struct Session Session;\n\
               typedef enum wsc_result { WSC_OK = 0, PANIC = 10 } wsc_result;\n\
               typedef void (*timer_fn)(int x);\n\
               int connect(const char *url);\n";
    let parsed = parse(bad);
    let d = declared(&parsed.code);
    let mut unprefixed: Vec<&str> = d.all_names().into_iter().filter(|n| !prefixed(n)).collect();
    unprefixed.sort_unstable();
    assert_eq!(
        unprefixed,
        ["LEND_MIN", "PANIC", "Session", "Session", "connect", "timer_fn"]
    );
    assert_eq!(
        parsed.comments,
        [" The loop's own state is in [`Session`]."]
    );
}

#[test]
fn result_codes_in_the_header_are_the_library_s() {
    let d = declared(&parse(&committed_header()).code);
    let in_header = d
        .enums
        .get("wsc_result")
        .expect("enum wsc_result in the header");
    let in_library: Vec<(String, i64)> = wsc::ffi::wsc_result::all()
        .iter()
        .map(|r| (r.name().to_string(), *r as i64))
        .collect();
    assert_eq!(in_header, &in_library);
    // And the library describes each, differently.
    let mut descriptions = std::collections::HashSet::new();
    for (name, number) in &in_library {
        let text = wsc::ffi::wsc_result_str(*number as i32);
        // SAFETY: wsc_result_str returns a NUL-terminated string in static storage.
        let text = unsafe { std::ffi::CStr::from_ptr(text) }.to_str().unwrap();
        assert_ne!(text, "unknown result", "{name}");
        assert!(descriptions.insert(text), "{name}: \"{text}\" again");
    }
}
