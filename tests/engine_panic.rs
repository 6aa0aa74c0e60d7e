//! A panic inside the loop (a bug in wsc, or a Rust handler that panics) stops the context for
//! good: every connection hears `on_error` (panic) and `on_close` (1006), and later calls fail
//! with the panic error instead of running on the state the panic left.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsc::{CloseInfo, ClosedBy, Connection, Context, Error, ErrorKind, Handler, Options};

#[derive(Default)]
struct Log {
    events: Mutex<Vec<String>>,
    /// Panic in the first `on_error`.
    panic_on_error: AtomicBool,
}

impl Handler for Log {
    fn on_error(&self, _: &Connection, error: &Error) {
        self.events
            .lock()
            .unwrap()
            .push(format!("error {:?}", error.kind));
        if self.panic_on_error.swap(false, Ordering::SeqCst) {
            panic!("a handler that panics");
        }
    }
    fn on_close(&self, _: &Connection, info: &CloseInfo) {
        assert_eq!((info.closed_by, info.clean), (ClosedBy::Failure, false));
        self.events
            .lock()
            .unwrap()
            .push(format!("close {}", info.code));
    }
}

fn assert_stopped_for_good(ctx: &Context) {
    let kind = |r: Result<(), Error>| r.unwrap_err().kind;
    assert_eq!(kind(ctx.service(Some(Duration::ZERO))), ErrorKind::Panic);
    let connect = ctx.connect(
        "ws://127.0.0.1:9/",
        Options::default(),
        Box::new(Log::default()),
    );
    assert_eq!(connect.err().map(|e| e.kind), Some(ErrorKind::Panic));
    let timer = ctx.start_timer(Duration::ZERO, None, Box::new(|_| {}));
    assert_eq!(timer.err().map(|e| e.kind), Some(ErrorKind::Panic));
    assert_eq!(ctx.live_connections(), 0);
}

#[test]
fn a_handler_that_panics_stops_the_context_and_ends_every_connection() {
    // Nothing listens on a port just released: the connect fails with an on_error.
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // A server that accepts TCP and never answers: the second connection stays in its handshake.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Context::new(64 * 1024).unwrap();
    let failing = Arc::new(Log::default());
    failing.panic_on_error.store(true, Ordering::SeqCst);
    let waiting = Arc::new(Log::default());
    let options = Options {
        proxy: wsc::proxy::ProxySetting::Direct,
        ..Options::default()
    };
    let url = |port: u16| format!("ws://127.0.0.1:{port}/");
    ctx.connect(&url(refused), options.clone(), Box::new(failing.clone()))
        .unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    ctx.connect(&url(silent_port), options, Box::new(waiting.clone()))
        .unwrap();
    let mut result = Ok(());
    for _ in 0..200 {
        result = ctx.service(Some(Duration::from_millis(20)));
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result.unwrap_err().kind, ErrorKind::Panic);
    assert_eq!(
        *failing.events.lock().unwrap(),
        ["error ConnectRefused", "error Panic", "close 1006"]
    );
    assert_eq!(
        *waiting.events.lock().unwrap(),
        ["error Panic", "close 1006"]
    );
    assert_stopped_for_good(&ctx);
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_panic_inside_the_loop_stops_the_context() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Context::new(64 * 1024).unwrap();
    let log = Arc::new(Log::default());
    let url = format!("ws://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    ctx.connect(&url, Options::default(), Box::new(log.clone()))
        .unwrap();
    ctx.service(Some(Duration::ZERO)).unwrap();
    wsc::fault::arm("service");
    let error = ctx.service(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Panic);
    assert!(error.message.contains("panic inside wsc"), "{error}");
    assert_eq!(*log.events.lock().unwrap(), ["error Panic", "close 1006"]);
    assert_stopped_for_good(&ctx);
}
