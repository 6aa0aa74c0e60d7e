/*
 * Build configuration of the libwebsockets-compatible API that wsc provides
 * (libwebsockets.h). Programs test these the way they test a real
 * libwebsockets build's lws_config.h.
 */
#ifndef WSC_LWS_CONFIG_H
#define WSC_LWS_CONFIG_H

/* The libwebsockets API version this layer follows. */
#define LWS_LIBRARY_VERSION_MAJOR 4
#define LWS_LIBRARY_VERSION_MINOR 3
#define LWS_LIBRARY_VERSION_PATCH 0
#define LWS_LIBRARY_VERSION_NUMBER \
	((LWS_LIBRARY_VERSION_MAJOR * 1000000) + (LWS_LIBRARY_VERSION_MINOR * 1000) + \
	 LWS_LIBRARY_VERSION_PATCH)
#define LWS_LIBRARY_VERSION "4.3.0-wsc"

/* This is wsc's client layer, not libwebsockets itself. */
#define LWS_WITH_WSC 1

/* What the layer provides: WebSocket client connections, over TLS too. */
#define LWS_ROLE_WS 1
#define LWS_WITH_CLIENT 1
#define LWS_WITH_TLS 1
#define LWS_WITH_NETWORK 1
#define LWS_WITHOUT_SERVER 1

/* One service thread per context. */
#define LWS_MAX_SMP 1

/*
 * Deliberately not defined: LWS_WITH_MBEDTLS, LWS_WITH_WOLFSSL (TLS is wsc's
 * own), LWS_WITH_SERVER, LWS_ROLE_H1, LWS_ROLE_H2, LWS_ROLE_RAW, LWS_ROLE_MQTT,
 * LWS_WITH_SECURE_STREAMS, LWS_WITH_LIBUV and the other event libraries.
 */

#endif
