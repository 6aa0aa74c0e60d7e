//! The bits of HTTP/1.1 grammar (RFC 7230 §3.2) that the handshake, the extension negotiation
//! and the proxy exchange share: tokens, field values, comma-separated lists, parameters, and
//! a received header block kept in one allocation.

/// RFC 7230 §3.2.6 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 7230 §3.2.6 `token`: one or more `tchar`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// RFC 7230 §3.2 `field-value` may not contain control characters other than HTAB.
pub fn is_field_value(s: &str) -> bool {
    !s.bytes().any(|b| b.is_ascii_control() && b != b'\t')
}

/// A field value without the optional whitespace (`OWS`: spaces and tabs) around it.
pub fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = value.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(s), Some(e)) => &value[s..=e],
        _ => &[],
    }
}

/// Splits a `#list` (RFC 7230 §7) on commas that are not inside a quoted-string, trimming
/// each element.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in value.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                items.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(value[start..].trim());
    items
}

/// A parameter: a token, optionally `=` a token or a quoted-string (unescaped).
pub type Param<'a> = (&'a str, Option<String>);

/// A cursor over one field value made of `token *( ";" param )` elements separated by commas,
/// with optional whitespace between (RFC 6455 §9.1's `extension-list`, RFC 7230's `#list`).
/// Errors are short descriptions of what was malformed.
pub struct ListCursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> ListCursor<'a> {
    pub fn new(s: &'a str) -> Self {
        ListCursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ows();
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    fn token(&mut self) -> Result<&'a str, &'static str> {
        self.skip_ows();
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        match &self.s[start..self.pos] {
            "" => Err("expected a token"),
            token => Ok(token),
        }
    }

    /// RFC 7230 §3.2.6 `quoted-string`, unescaped; the opening quote is already consumed.
    fn quoted_string(&mut self) -> Result<String, &'static str> {
        let unterminated = "unterminated quoted-string";
        let mut value = String::new();
        loop {
            let c = self.peek().ok_or(unterminated)?;
            self.pos += 1;
            match c {
                b'"' => return Ok(value),
                b'\\' => {
                    let escaped = self.peek().ok_or(unterminated)?;
                    self.pos += 1;
                    value.push(escaped as char);
                }
                c if c.is_ascii_control() && c != b'\t' => {
                    return Err("control character in quoted-string")
                }
                // Not a token character either way: the caller judges the value.
                c => value.push(c as char),
            }
        }
    }

    /// The next list element, `Ok(None)` for an empty one, which RFC 7230 §7 says to ignore.
    fn element(&mut self) -> Result<Option<(&'a str, Vec<Param<'a>>)>, &'static str> {
        self.skip_ows();
        if matches!(self.peek(), None | Some(b',')) {
            return Ok(None);
        }
        let name = self.token()?;
        let mut params = Vec::new();
        while self.eat(b';') {
            let param = self.token()?;
            let value = if !self.eat(b'=') {
                None
            } else if self.eat(b'"') {
                Some(self.quoted_string()?)
            } else {
                Some(self.token()?.to_owned())
            };
            params.push((param, value));
        }
        self.skip_ows();
        match self.peek() {
            None | Some(b',') => Ok(Some((name, params))),
            Some(_) => Err("expected ';' or ','"),
        }
    }

    /// Every non-empty element of the value, in order.
    pub fn elements(mut self) -> Result<Vec<(&'a str, Vec<Param<'a>>)>, &'static str> {
        let mut elements = Vec::new();
        loop {
            elements.extend(self.element()?);
            if self.peek().is_none() {
                return Ok(elements);
            }
            self.pos += 1; // the ','
        }
    }
}

/// A received header block (status line and fields) kept as it arrived, in one allocation:
/// an open connection holds a couple of hundred bytes for it rather than two strings per
/// field. Lookups (rare) parse it again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderBlock {
    raw: Box<[u8]>,
    /// How many fields it has: the room a parse needs.
    count: usize,
}

impl HeaderBlock {
    /// Keeps `head`, a complete header block that httparse parsed into `fields`.
    pub fn new(head: &[u8], fields: &[httparse::Header<'_>]) -> Self {
        HeaderBlock {
            raw: head.into(),
            count: fields.len(),
        }
    }

    /// Each field as (name, value without surrounding blanks), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut slots = vec![httparse::EMPTY_HEADER; self.count];
        let mut response = httparse::Response::new(&mut slots);
        // It parsed before, so it parses again; an empty list otherwise.
        let parsed = response.parse(&self.raw).is_ok();
        let fields: Vec<(&[u8], &[u8])> = match parsed {
            true => response
                .headers
                .iter()
                .map(|h| (h.name.as_bytes(), trim_ows(h.value)))
                .collect(),
            false => Vec::new(),
        };
        fields.into_iter()
    }

    /// The value of the first field called `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_values() {
        assert!(is_token("permessage-deflate"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a\"b"));
        assert!(is_field_value("a\tb \"c\""));
        assert!(!is_field_value("a\r\nb"));
        assert_eq!(trim_ows(b" \t x y\t "), b"x y");
        assert_eq!(trim_ows(b" \t "), b"");
    }

    #[test]
    fn lists_split_outside_quotes() {
        assert_eq!(split_list(" a , b;x=\"1,2\" ,"), ["a", "b;x=\"1,2\"", ""]);
    }

    #[test]
    fn list_elements_with_parameters() {
        let elements = ListCursor::new(" a ; x = 1 ;y, , b;z=\"q\\\"\" ")
            .elements()
            .unwrap();
        assert_eq!(
            elements,
            [
                ("a", vec![("x", Some("1".into())), ("y", None)]),
                ("b", vec![("z", Some("q\"".into()))]),
            ]
        );
        for (bad, why) in [
            ("a;", "expected a token"),
            ("a;x=\"1", "unterminated quoted-string"),
            ("a b", "expected ';' or ','"),
            ("a;x=\"\u{1}\"", "control character in quoted-string"),
        ] {
            assert_eq!(ListCursor::new(bad).elements(), Err(why), "{bad}");
        }
    }

    /// The block of a complete response head.
    fn block(head: &[u8]) -> HeaderBlock {
        let mut fields = [httparse::EMPTY_HEADER; 8];
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(head).unwrap() {
            httparse::Status::Complete(n) => HeaderBlock::new(&head[..n], response.headers),
            httparse::Status::Partial => panic!("a complete head"),
        }
    }

    #[test]
    fn header_blocks_keep_fields_in_place() {
        let head = b"HTTP/1.1 101 OK\r\nUpgrade:  websocket \r\nX-A: 1\r\nx-a: 2\r\n\r\n";
        let block = block(head);
        assert_eq!(block.len(), 3);
        assert_eq!(block.get("upgrade"), Some(&b"websocket"[..]));
        assert_eq!(block.get("X-A"), Some(&b"1"[..]), "the first of two");
        assert_eq!(block.get("missing"), None);
        let names: Vec<&[u8]> = block.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"Upgrade"[..], b"X-A", b"x-a"]);
    }

    #[test]
    fn empty_and_blank_values_are_empty() {
        let head = b"HTTP/1.1 101 OK\r\nX-Empty:\r\nX-Blank:   \r\nX-Last: z\r\n\r\n";
        let block = block(head);
        assert_eq!(block.get("x-empty"), Some(&b""[..]));
        assert_eq!(block.get("x-blank"), Some(&b""[..]));
        assert_eq!(block.get("x-last"), Some(&b"z"[..]));
    }
}
