/* server_flags: the flags every server program has — TLS files, SRPC trust and
 * timeouts, logging — defined once, so that the hypervisor, the image server and the
 * fleet manager spell and default them alike, and turned into lib/server's
 * configuration. */
#ifndef SS_SERVER_FLAGS_H
#define SS_SERVER_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "flags.h"
#include "server.h"

struct server_flags {
	const char *ca_file;
	const char *identity_ca_file;
	const char *cert_file;
	const char *key_file;
	struct flags_list srpc_trusted_users;
	struct flags_list srpc_trusted_groups;
	int64_t srpc_tls_handshake_timeout_ns;
	int64_t rpc_io_timeout_ns, rpc_idle_timeout_ns;
	const char *log_dir;
	int logbuf_lines;
	uint64_t log_file_max_size;
	uint64_t log_quota;
	bool also_log_to_stderr;
	int initial_log_debug_level;
	bool log_subseconds;
	/* Storage of the per-program defaults (flags borrow them). */
	char def_cert[128], def_key[128], def_log[128];
};

/* Defines -CAfile, -identityCAfile, -certFile and -keyFile (default
 * /etc/ssl/<prog>/cert.pem and key.pem), -srpcTrustedUsers, -srpcTrustedGroups,
 * -srpcDefaultTlsHandshakeTimeout, -rpcIoTimeout, -rpcIdleTimeout (default idle_ns) and
 * the logging flags (-logDir default /var/log/<prog>) on fs, bound to f. prog is
 * borrowed for as long as fs lives. */
void server_flags_define(struct flags *fs, struct server_flags *f, const char *prog,
			 int64_t idle_ns);

/* Fills the TLS files of tc, and the trust, timeouts and logging of cfg, from f. */
void server_flags_apply(const struct server_flags *f, struct server_config *cfg,
			struct tls_server_config *tc);

#endif
