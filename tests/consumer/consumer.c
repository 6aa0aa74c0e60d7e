/* consumer URL: connect, send one text message, expect it echoed, close.
 * Exits 0 on success. Built against an installed wsc by tests/consumer.sh. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <wsc.h>

static const char greeting[] = "hello from a consumer";

static void on_open(wsc_connection *conn, void *user) {
  (void)user;
  wsc_send_text(conn, greeting, strlen(greeting));
}

static void on_message(wsc_connection *conn, const uint8_t *data, size_t len, bool is_text,
                       void *user) {
  bool *echoed = user;
  *echoed = is_text && len == strlen(greeting) && memcmp(data, greeting, len) == 0;
  wsc_close(conn, 1000, "done");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s ws://HOST:PORT\n", argv[0]);
    return 2;
  }
  wsc_context *ctx = NULL;
  if (wsc_context_new(NULL, &ctx) != WSC_OK) {
    return 1;
  }
  bool echoed = false;
  wsc_callbacks callbacks = WSC_CALLBACKS_INIT;
  callbacks.on_open = on_open;
  callbacks.on_message = on_message;
  wsc_result r = wsc_connect(ctx, argv[1], NULL, &callbacks, &echoed, NULL);
  if (r != WSC_OK) {
    fprintf(stderr, "wsc_connect: %s\n", wsc_result_str(r));
    wsc_context_free(ctx);
    return 1;
  }
  /* At most 10 s: the connection is done once on_close has run. */
  for (int i = 0; i < 100 && wsc_context_connection_count(ctx) > 0; i++) {
    wsc_service(ctx, 100);
  }
  wsc_context_free(ctx);
  printf("wsc %s: %s\n", wsc_version(), echoed ? "echo received" : "NO ECHO");
  return echoed ? 0 : 1;
}
