//! Replays the committed inputs through the same checks the fuzz targets run: the seed corpus
//! (`corpus/<target>/`) and every input a run found (`regressions/<target>/`).

use std::fs;
use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = fs::read(&path).unwrap();
            eprintln!("{}", path.display());
            check(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no input for {target}");
}

#[test]
fn handshake() {
    replay("handshake", wsc_fuzz::handshake::check);
}

#[test]
fn receiver() {
    replay("receiver", wsc_fuzz::receiver::check);
}

#[test]
fn deflate() {
    replay("deflate", wsc_fuzz::deflate::check);
}

#[test]
fn proxy_connect() {
    replay("proxy_connect", wsc_fuzz::proxy_connect::check);
}

#[test]
fn socks_negotiation() {
    replay("socks_negotiation", wsc_fuzz::socks_negotiation::check);
}

#[test]
fn client() {
    replay("client", wsc_fuzz::client::check);
}
