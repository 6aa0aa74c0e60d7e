//! A panic inside the loop, at a callback's dispatch, as a C program lives through it: the
//! process goes on, `wsc_service` reports `WSC_ERR_PANIC` then and on every later call (the
//! context has stopped for good), and the connection hears `on_error(WSC_ERR_PANIC)` and then
//! `on_close` with 1006, once each, before the context is freed.
//!
//! Run with `cargo test --features fault-injection --test panic_in_loop`.
#![cfg(feature = "fault-injection")]

mod common;
mod ffi_client;

use common::{frame, Server};
use ffi_client::{connect, last_error, new_context, service_until, Events, Seen};
use wsc::fault;
use wsc::ffi::*;

#[test]
fn a_panic_at_callback_dispatch_stops_the_context_and_ends_its_connections() {
    let server = Server::start(|peer| {
        peer.open();
        peer.write(&frame(0x81, b"hello"));
        // Whatever the client does next, the server waits for it to go.
        peer.wait_eof();
    });
    let ctx = new_context();
    let events = Events::default();
    let conn = connect(ctx, &server.url(), &[], &events);

    // The first callback (on_open) panics before it reaches C.
    fault::arm("callback");
    let mut results = Vec::new();
    service_until(
        ctx,
        "the panic",
        |results| results.contains(&wsc_result::WSC_ERR_PANIC),
        &mut results,
    );
    assert!(!fault::pending());
    let message = last_error();
    assert!(message.contains("internal error"), "{message}");
    assert!(
        !events.opened(),
        "on_open ran although its dispatch panicked"
    );

    // From now on the context refuses to run.
    for _ in 0..3 {
        // SAFETY: a live context.
        assert_eq!(unsafe { wsc_service(ctx, 10) }, wsc_result::WSC_ERR_PANIC);
    }

    // The connection ends as a failure the application hears about, once.
    // SAFETY: a live context and handle, each freed once.
    unsafe {
        wsc_connection_free(conn);
        wsc_context_free(ctx);
    }
    assert_eq!(
        events.seen(),
        [
            Seen::Error(wsc_result::WSC_ERR_PANIC),
            Seen::Close {
                code: WSC_CLOSE_ABNORMAL,
                closed_by: wsc_closed_by::WSC_CLOSED_BY_FAILURE,
                clean: false
            }
        ]
    );
    server.join();
}
