/*
 * Calling wsc_timer_start from C (included by the tests that use timers; not a test itself).
 *
 * include/wsc.h (0.1.0) declares the callback parameter of wsc_timer_start as
 * `struct Option_wsc_timer_fn` passed by value, a struct it never defines, and does not declare
 * the callback type (wsc_timer_fn) at all: cbindgen did not see through `Option<wsc_timer_fn>`.
 * A C program cannot pass an incomplete type, so it cannot call wsc_timer_start as declared.
 * The Rust definition takes `Option<extern "C" fn(*mut wsc_context, u64, *mut c_void)>`, which
 * has the ABI of a nullable function pointer; these tests call it through that type.
 * Remove this file once the header declares the callback type.
 */
#ifndef WSC_TIMER_SHIM_H
#define WSC_TIMER_SHIM_H

#include <wsc.h>

/* The callback type of wsc_timer_start, as src/ffi/mod.rs defines it (wsc_timer_fn). */
typedef void (*wt_timer_fn)(wsc_context *ctx, uint64_t timer_id, void *user);
typedef wsc_result (*wt_timer_start_fn)(wsc_context *ctx, uint32_t delay_ms,
                                        uint32_t interval_ms, wt_timer_fn callback, void *user,
                                        uint64_t *out_id);

/* wsc_timer_start with the callback as a function pointer (NULL allowed). The conversion goes
 * through void (*)(void), which GCC's -Wcast-function-type accepts for any function type. */
static inline wsc_result wt_timer_start(wsc_context *ctx, uint32_t delay_ms, uint32_t interval_ms,
                                        wt_timer_fn callback, void *user, uint64_t *out_id) {
    wt_timer_start_fn start = (wt_timer_start_fn)(void (*)(void))wsc_timer_start;
    return start(ctx, delay_ms, interval_ms, callback, user, out_id);
}

#endif /* WSC_TIMER_SHIM_H */
