//! Counters a benchmark runner reads between two client runs: the bytes of WebSocket frames
//! the server received after the handshakes (headers, masks and payloads, compressed as they
//! were sent; inside TLS for wss://). A runner divides the difference by the payload bytes its
//! client sent to get the compression ratio of permessage-deflate ("wire bytes per payload
//! byte"). A request for the path `/stats` is answered with them as JSON, and closed.

use std::sync::atomic::{AtomicU64, Ordering};

static FRAME_BYTES_IN: AtomicU64 = AtomicU64::new(0);

/// Counts `n` bytes of frames received.
pub fn frames_in(n: usize) {
    FRAME_BYTES_IN.fetch_add(n as u64, Ordering::Relaxed);
}

/// The HTTP answer to a request for `/stats`, or None for any other request.
pub fn answer(head: &str) -> Option<String> {
    if head.split(' ').nth(1)? != "/stats" {
        return None;
    }
    let body = format!(
        "{{\"frame_bytes_in\":{}}}\n",
        FRAME_BYTES_IN.load(Ordering::Relaxed)
    );
    Some(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stats_path_is_answered_with_the_count() {
        assert!(answer("GET / HTTP/1.1\r\n").is_none());
        frames_in(5);
        let a = answer("GET /stats HTTP/1.1\r\n").unwrap();
        assert!(a.starts_with("HTTP/1.1 200 OK\r\n"));
        let body = a.split("\r\n\r\n").nth(1).unwrap();
        let n: u64 = body
            .trim()
            .trim_start_matches("{\"frame_bytes_in\":")
            .trim_end_matches('}')
            .parse()
            .unwrap();
        assert!(n >= 5);
    }
}
