/*
 * wss:// through the libwebsockets options: LCCSCF_USE_SSL with the CA given as
 * client_ssl_ca_filepath, then as client_ssl_ca_mem; LCCSCF_ALLOW_INSECURE without a CA;
 * LCCSCF_ALLOW_SELFSIGNED alone for the server's self-signed certificate; a client
 * certificate and key (loaded, checked against each other, offered); no CA and no relaxation,
 * or only LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK (the certificate is refused: unknown
 * issuer); a "key" file that holds no key.
 *
 *   tls CERT-FILE wss://localhost:PORT    (run by tls.sh; the key is KEY-FILE beside it:
 *                                          key.pem in the certificate's directory)
 */
#include "lws_test.h"

static int echoed, errors;
static char last_error[256];

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len) {
	unsigned char buf[LWS_PRE + 16];
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		memcpy(buf + LWS_PRE, "over tls", 8);
		if (lws_write(wsi, buf + LWS_PRE, 8, LWS_WRITE_TEXT) < 8)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (len == 8 && !memcmp(in, "over tls", 8))
			echoed++;
		return -1;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		errors++;
		lws_snprintf(last_error, sizeof last_error, "%s", in ? (const char *)in : "");
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "tls", callback, 0, 0, 0, NULL, 0 },
	LWS_PROTOCOL_LIST_TERM
};

static char ca_pem[16384];
static size_t ca_pem_len;

enum ca_kind { CA_NONE, CA_FILE, CA_MEM, CLIENT_CERT, CLIENT_CERT_NO_KEY };

static char key_file[4096];

/* One connection in its own context; returns 1 if it echoed, 0 if it failed. */
static int attempt(const char *ca_file, const struct lt_server *s, enum ca_kind ca, int flags) {
	struct lws_context_creation_info info;
	struct lws_client_connect_info i;
	int before = echoed + errors, n = 0;

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (ca == CA_FILE)
		info.client_ssl_ca_filepath = ca_file;
	if (ca == CA_MEM) {
		info.client_ssl_ca_mem = ca_pem;
		info.client_ssl_ca_mem_len = (unsigned int)ca_pem_len;
	}
	if (ca == CLIENT_CERT || ca == CLIENT_CERT_NO_KEY) {
		/* The server's certificate serves as the client's too: it is a certificate with
		 * its key, which is all a client identity is. */
		info.client_ssl_ca_filepath = ca_file;
		info.client_ssl_cert_filepath = ca_file;
		info.client_ssl_private_key_filepath = ca == CLIENT_CERT ? key_file : ca_file;
	}
	struct lws_context *cx = lws_create_context(&info);
	REQUIRE(cx);
	memset(&i, 0, sizeof i);
	i.context = cx;
	i.address = s->address;
	i.port = s->port;
	i.path = "/";
	i.host = i.address;
	i.ssl_connection = flags;
	last_error[0] = '\0';
	REQUIRE(lws_client_connect_via_info(&i));
	while (n >= 0 && echoed + errors == before)
		n = lws_service(cx, 0);
	lws_context_destroy(cx);
	return echoed + errors > before && last_error[0] == '\0';
}

int main(int argc, const char **argv) {
	struct lt_server server;
	const char *prot, *path;

	REQUIRE(argc == 3);
	lws_strncpy(server.buf, argv[2], sizeof server.buf);
	REQUIRE(!lws_parse_uri(server.buf, &prot, &server.address, &server.port, &path));
	REQUIRE(!strcmp(prot, "wss"));
	FILE *f = fopen(argv[1], "rb");
	REQUIRE(f);
	ca_pem_len = fread(ca_pem, 1, sizeof ca_pem, f);
	fclose(f);
	const char *slash = strrchr(argv[1], '/');
	lws_snprintf(key_file, sizeof key_file, "%.*skey.pem",
		     slash ? (int)(slash - argv[1] + 1) : 0, argv[1]);
	lws_set_log_level(0, NULL);

	CHECK(attempt(argv[1], &server, CA_FILE, LCCSCF_USE_SSL));
	CHECK(attempt(argv[1], &server, CA_MEM, LCCSCF_USE_SSL));
	CHECK(attempt(argv[1], &server, CA_NONE, LCCSCF_USE_SSL | LCCSCF_ALLOW_INSECURE |
					       LCCSCF_ALLOW_SELFSIGNED |
					       LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK));
	CHECK(attempt(argv[1], &server, CA_NONE, LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED));
	CHECK(attempt(argv[1], &server, CLIENT_CERT, LCCSCF_USE_SSL));
	CHECK_INT(echoed, 5);

	CHECK(!attempt(argv[1], &server, CA_NONE, LCCSCF_USE_SSL));
	CHECK(strstr(last_error, "certificate") != NULL);
	CHECK(!attempt(argv[1], &server, CA_NONE,
		       LCCSCF_USE_SSL | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK));
	CHECK(strstr(last_error, "certificate") != NULL);
	CHECK(!attempt(argv[1], &server, CLIENT_CERT_NO_KEY, LCCSCF_USE_SSL));
	CHECK(strstr(last_error, "private key") != NULL);
	CHECK_INT(errors, 3);
	return lt_finish("tls");
}
