/* Flag definitions of the image server (see isflags.h). */
#include "daemon/imageserver/isflags.h"

#define SEC 1000000000LL

void isflags_define(struct flags *fs, struct is_config *c)
{
	flags_int(fs, "portNum", &c->port_num, 6971,
		  "Port number to allocate and listen on for HTTP/RPC");
	flags_string(fs, "imageDir", &c->image_dir, "/var/lib/imageserver",
		     "Name of image server data directory");
	flags_string(fs, "objectDir", &c->object_dir, "/var/lib/objectserver",
		     "Name of image server object directory");
	flags_string(fs, "CAfile", &c->ca_file, "/etc/ssl/CA.pem",
		     "Name of file containing the root of trust for identity and methods");
	flags_string(fs, "identityCAfile", &c->identity_ca_file, "/etc/ssl/IdentityCA.pem",
		     "Name of file containing the root of trust for identity only");
	flags_string(fs, "certFile", &c->cert_file, "/etc/ssl/imageserver/cert.pem",
		     "Name of file containing the server certificate");
	flags_string(fs, "keyFile", &c->key_file, "/etc/ssl/imageserver/key.pem",
		     "Name of file containing the server key");
	flags_strlist(fs, "srpcTrustedUsers", &c->srpc_trusted_users, "",
		      "Users granted every method");
	flags_strlist(fs, "srpcTrustedGroups", &c->srpc_trusted_groups, "",
		      "Groups granted every method");
	flags_duration(fs, "srpcDefaultTlsHandshakeTimeout", &c->srpc_tls_handshake_timeout_ns,
		       10 * SEC, "TLS handshake timeout");
	flags_duration(fs, "rpcIoTimeout", &c->rpc_io_timeout_ns, 60 * SEC,
		       "An RPC call whose client sends or reads nothing this long is dropped");
	flags_duration(fs, "rpcIdleTimeout", &c->rpc_idle_timeout_ns, 300 * SEC,
		       "An RPC connection with no call for this long is closed");
	flags_size(fs, "maxMessageSize", &c->max_message_size, 256ULL << 20,
		   "Largest JSON message accepted (an AddImage request holds the whole image)");
	flags_duration(fs, "gcInterval", &c->gc_interval_ns, 3600 * SEC,
		       "Interval between garbage collections of unreferenced objects (0: never)");
	flags_duration(fs, "gcGracePeriod", &c->gc_grace_ns, 3600 * SEC,
		       "Unreferenced objects younger than this are kept (uploads before AddImage)");
	flags_duration(fs, "maxGetImageWait", &c->max_get_image_wait_ns, 600 * SEC,
		       "Longest wait of a GetImage with a Timeout for its image to appear");
	flags_int(fs, "maxConcurrentGetObjects", &c->max_concurrent_gets, 100,
		  "GetObjects calls served at once (more wait)");
	flags_string(fs, "logDir", &c->log_dir, "/var/log/imageserver", "Directory for log files");
	flags_int(fs, "logbufLines", &c->logbuf_lines, 1024, "Number of log lines kept in memory");
	flags_size(fs, "logFileMaxSize", &c->log_file_max_size, 10ULL << 20,
		   "Rotate log files after this size");
	flags_size(fs, "logQuota", &c->log_quota, 100ULL << 20,
		   "Delete old log files beyond this total size");
	flags_bool(fs, "alsoLogToStderr", &c->also_log_to_stderr, false,
		   "If true, also write logs to stderr");
	flags_int(fs, "initialLogDebugLevel", &c->initial_log_debug_level, -1,
		  "Initial debug log level (-1: no debug lines)");
	flags_bool(fs, "logSubseconds", &c->log_subseconds, false,
		   "If true, log timestamps with microseconds");
}
