/* server_flags: the flags every server program has (see server_flags.h). */
#include <stdio.h>

#include "server_flags.h"

#define SEC 1000000000LL

void server_flags_define(struct flags *fs, struct server_flags *f, const char *prog,
			 int64_t idle_ns)
{
	snprintf(f->def_cert, sizeof(f->def_cert), "/etc/ssl/%s/cert.pem", prog);
	snprintf(f->def_key, sizeof(f->def_key), "/etc/ssl/%s/key.pem", prog);
	snprintf(f->def_log, sizeof(f->def_log), "/var/log/%s", prog);
	flags_string(fs, "CAfile", &f->ca_file, "/etc/ssl/CA.pem",
		     "Name of file containing the root of trust for identity and methods");
	flags_string(fs, "identityCAfile", &f->identity_ca_file, "/etc/ssl/IdentityCA.pem",
		     "Name of file containing the root of trust for identity only");
	flags_string(fs, "certFile", &f->cert_file, f->def_cert,
		     "Name of file containing the server certificate");
	flags_string(fs, "keyFile", &f->key_file, f->def_key,
		     "Name of file containing the server key");
	flags_strlist(fs, "srpcTrustedUsers", &f->srpc_trusted_users, "",
		      "Users granted every method");
	flags_strlist(fs, "srpcTrustedGroups", &f->srpc_trusted_groups, "",
		      "Groups granted every method");
	flags_duration(fs, "srpcDefaultTlsHandshakeTimeout", &f->srpc_tls_handshake_timeout_ns,
		       10 * SEC, "TLS handshake timeout");
	flags_duration(fs, "rpcIoTimeout", &f->rpc_io_timeout_ns, 60 * SEC,
		       "An RPC call whose client sends or reads nothing this long is dropped");
	flags_duration(fs, "rpcIdleTimeout", &f->rpc_idle_timeout_ns, idle_ns,
		       "An RPC connection with no call for this long is closed");
	flags_string(fs, "logDir", &f->log_dir, f->def_log, "Directory for log files");
	flags_int(fs, "logbufLines", &f->logbuf_lines, 1024, "Number of log lines kept in memory");
	flags_size(fs, "logFileMaxSize", &f->log_file_max_size, 10ULL << 20,
		   "Rotate log files after this size");
	flags_size(fs, "logQuota", &f->log_quota, 100ULL << 20,
		   "Delete old log files beyond this total size");
	flags_bool(fs, "alsoLogToStderr", &f->also_log_to_stderr, false,
		   "If true, also write logs to stderr");
	flags_int(fs, "initialLogDebugLevel", &f->initial_log_debug_level, -1,
		  "Initial debug log level (-1: no debug lines)");
	flags_bool(fs, "logSubseconds", &f->log_subseconds, false,
		   "If true, log timestamps with microseconds");
}

void server_flags_apply(const struct server_flags *f, struct server_config *cfg,
			struct tls_server_config *tc)
{
	tc->cert_file = f->cert_file;
	tc->key_file = f->key_file;
	tc->ca_file = f->ca_file;
	tc->identity_ca_file = f->identity_ca_file;
	cfg->tls = tc;
	cfg->srpc.trusted_users = f->srpc_trusted_users.n ? f->srpc_trusted_users.v : NULL;
	cfg->srpc.trusted_groups = f->srpc_trusted_groups.n ? f->srpc_trusted_groups.v : NULL;
	cfg->srpc.handshake_timeout_ms = (int)(f->srpc_tls_handshake_timeout_ns / 1000000);
	cfg->srpc.io_timeout_ms = (int)(f->rpc_io_timeout_ns / 1000000);
	cfg->srpc.idle_timeout_ms = (int)(f->rpc_idle_timeout_ns / 1000000);
	cfg->log.to_stderr = f->also_log_to_stderr;
	cfg->log.dir = f->log_dir;
	cfg->log.file_max_size = f->log_file_max_size;
	cfg->log.quota = f->log_quota;
	cfg->log.ring_lines = f->logbuf_lines > 0 ? (size_t)f->logbuf_lines : 0;
	cfg->log.subseconds = f->log_subseconds;
	cfg->log.debug_level = f->initial_log_debug_level;
}
