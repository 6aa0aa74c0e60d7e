//! The SOCKS5 negotiation (`socks::Negotiation`) against a proxy that answers anything.
//!
//! Input: a settings byte (bit 0: with credentials; bit 1: the destination given only after
//! the answers; bits 2-3: an IPv4 address, an IPv6 address or a name to ask for), two bytes
//! choosing a cut point, then the proxy's answers.
//!
//! Checked:
//! - the same outcome (open, waiting or the same error; the same bytes sent, bound address and
//!   bytes left over) whether the answers arrive whole, cut in two, or byte by byte;
//! - what is sent is the greeting, then RFC 1929's user name and password (only with
//!   credentials), then the CONNECT request, in that order and nothing else; open only after
//!   the request, with the bound address known;
//! - never waiting with more than `MAX_ANSWER` bytes held.

use wsc::socks::{Credentials, Destination, Negotiation, MAX_ANSWER};

use crate::Input;

#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<bool, String>,
    sent: Vec<u8>,
    bound: Option<Destination>,
    leftover: Vec<u8>,
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let settings = input.byte();
    let cut = input.u16() as usize;
    let answers = input.rest();
    let credentials = (settings & 1 != 0)
        .then(|| Credentials::new("user".into(), "secret".into()).expect("valid"));
    let late = settings & 2 != 0;
    let destination = match (settings >> 2) & 3 {
        0 => Destination::Address("127.0.0.1:80".parse().unwrap()),
        1 => Destination::Address("[::1]:443".parse().unwrap()),
        _ => Destination::domain("echo.example", 8080).expect("valid"),
    };
    let run = |chunks: &[&[u8]]| {
        let initial = (!late).then(|| destination.clone());
        let mut n = Negotiation::new(credentials.clone(), initial);
        let mut result = Ok(false);
        for chunk in chunks {
            result = n.receive(chunk).map_err(|e| e.message);
            if result.is_err() {
                break;
            }
        }
        if late && result.is_ok() {
            n.set_destination(destination.clone());
            result = n.receive(&[]).map_err(|e| e.message);
        }
        assert_eq!(n.is_open(), result == Ok(true));
        Outcome {
            result,
            sent: n.to_send().to_vec(),
            bound: n.bound().cloned(),
            leftover: n.leftover().to_vec(),
        }
    };

    let whole = run(&[answers]);
    let cut = cut % (answers.len() + 1);
    let (head, tail) = answers.split_at(cut);
    assert_eq!(run(&[head, tail]), whole, "cut at {cut}");
    let bytes: Vec<&[u8]> = answers.chunks(1).collect();
    assert_eq!(run(&bytes), whole, "byte by byte");

    // The greeting, then the user name and password, then the request: nothing else.
    let greeting: &[u8] = match credentials {
        Some(_) => &[5, 2, 0, 2],
        None => &[5, 1, 0],
    };
    let rest = whole
        .sent
        .strip_prefix(greeting)
        .expect("the greeting goes first");
    let rest = match credentials {
        Some(_) => rest.strip_prefix(b"\x01\x04user\x06secret").unwrap_or(rest),
        None => rest,
    };
    let mut request = vec![5, 1, 0];
    match &destination {
        Destination::Address(addr) => {
            match addr.ip() {
                std::net::IpAddr::V4(ip) => {
                    request.push(1);
                    request.extend_from_slice(&ip.octets());
                }
                std::net::IpAddr::V6(ip) => {
                    request.push(4);
                    request.extend_from_slice(&ip.octets());
                }
            }
            request.extend_from_slice(&addr.port().to_be_bytes());
        }
        Destination::Domain(name, port) => {
            request.extend_from_slice(&[3, name.len() as u8]);
            request.extend_from_slice(name.as_bytes());
            request.extend_from_slice(&port.to_be_bytes());
        }
    }
    assert!(
        rest.is_empty() || rest == request,
        "unexpected bytes sent: {:?}",
        whole.sent
    );
    match whole.result {
        Ok(true) => {
            assert_eq!(rest, request, "open without a request");
            assert!(whole.bound.is_some(), "open without a bound address");
        }
        Ok(false) => {
            assert!(whole.bound.is_none());
            assert!(whole.leftover.is_empty());
            // Everything given is still held: no more than an answer holds.
            // At most the method and authentication answers taken, and what one answer holds.
            assert!(
                answers.len() <= MAX_ANSWER + 4,
                "waiting on {} bytes",
                answers.len()
            );
        }
        Err(_) => assert!(whole.bound.is_none()),
    }
}
