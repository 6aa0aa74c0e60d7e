//! Shared by the TLS and proxy tests: a TLS WebSocket echo server and an echoing client.

pub mod tls_server;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsc::{CloseInfo, Connection, Context, Error, ErrorKind, Handler, Options};

#[derive(Default)]
pub struct Recorder {
    pub messages: Mutex<Vec<String>>,
    pub errors: Mutex<Vec<(ErrorKind, String)>>,
    pub closed: Mutex<Option<CloseInfo>>,
}

pub struct Echo(pub Arc<Recorder>);

impl Handler for Echo {
    fn on_open(&self, conn: &Connection) {
        conn.send(true, "hello over TLS ✓".as_bytes()).unwrap();
    }
    fn on_message(&self, conn: &Connection, data: &[u8], _: bool) {
        self.0
            .messages
            .lock()
            .unwrap()
            .push(String::from_utf8(data.to_vec()).unwrap());
        conn.close(1000, b"done").unwrap();
    }
    fn on_error(&self, _: &Connection, e: &Error) {
        self.0
            .errors
            .lock()
            .unwrap()
            .push((e.kind, e.message.clone()));
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        *self.0.closed.lock().unwrap() = Some(info.clone());
    }
}

pub fn run(url: &str, options: Options) -> Arc<Recorder> {
    let ctx = Context::new(64 * 1024).unwrap();
    let record = Arc::new(Recorder::default());
    ctx.connect(url, options, Box::new(Echo(record.clone())))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while ctx.live_connections() > 0 {
        assert!(Instant::now() < deadline, "the connection did not end");
        ctx.service(Some(Duration::from_millis(50))).unwrap();
    }
    record
}
