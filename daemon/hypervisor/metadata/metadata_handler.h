/* Metadata service request handling: (path, caller VM) -> response, no network I/O.
 * Paths are those of netboot.md §3.2 plus an AWS-style /latest/meta-data/ tree. */
#ifndef SS_METADATA_HANDLER_H
#define SS_METADATA_HANDLER_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The VM behind a request, as the VM manager knows it. */
struct metadata_vm {
	struct in_addr ip;     /* primary address: the key the server looked up */
	char bridge[IFNAMSIZ]; /* bridge of the VM's tap; "" = not checked */
	char *info_json;       /* VmInfo (or LocalVmInfo) JSON text, owned */
	char *dir;	       /* VM state directory (user-data.raw, identity.*), owned */
};

/* How the server learns who is calling: the VM manager implements it. Both functions
 * are called from the HTTP server's thread and must be thread-safe. */
struct metadata_vm_source {
	/* Fills *out (strings newly allocated, released with metadata_vm_clear) for the VM
	 * whose primary address is `ip`; returns 0, or -ENOENT when there is none. */
	int (*lookup_by_ip)(void *ctx, struct in_addr ip, struct metadata_vm *out);
	/* TraceVmMetadata: called for every request, before anything is answered, with the
	 * caller's address and the path. May be NULL. */
	void (*trace)(void *ctx, struct in_addr ip, const char *path);
	void *ctx;
};

/* Frees the strings of *vm and zeroes it; accepts NULL. */
void metadata_vm_clear(struct metadata_vm *vm);

struct metadata_response {
	unsigned int status;	  /* HTTP status */
	const char *content_type; /* static string */
	char *body;		  /* owned; NULL when the body is the file below */
	size_t body_len;
	int fd; /* file to send (owned), or -1 */
	uint64_t fd_size;
};

/* Answers GET `path` for `vm` (NULL: the caller is no known VM, answered with 404).
 * `now` is the clock for epoch-time. Fills *out (status 200 or 404) and returns 0, or
 * returns a negative errno (-ENOMEM, -EINVAL for an unparsable info JSON) with *out
 * set to an empty 500 answer. The caller owns *out and releases it with metadata_response_clear. */
int metadata_handle(const char *path, const struct metadata_vm *vm, const struct timespec *now,
		    struct metadata_response *out);

/* Releases the body and file of *r; accepts NULL. */
void metadata_response_clear(struct metadata_response *r);

/* True when a request header of this name shows the request went through a proxy
 * (X-Forwarded-For, Forwarded, Via, ...): such requests are refused, IMDS-style. */
bool metadata_header_is_proxy(const char *name);

/* True when a Host header value (NULL = absent) names the metadata address itself;
 * anything else is refused so that DNS-rebinding pages inside a VM cannot read it. */
bool metadata_host_is_allowed(const char *host);

/* The URL decoder the HTTP server uses (libmicrohttpd's unescape callback): "%HH" to
 * its byte in place, anything else (a bad escape too) kept. A decoded NUL is stored
 * as 0x1a (SUB): as a C string "/latest/user-data%00.txt" would otherwise be
 * "/latest/user-data". Returns the new length. */
size_t metadata_url_unescape(char *s);

/* What the HTTP server saw of one request. */
struct metadata_request {
	const char *method;
	const char *path;   /* after metadata_url_unescape */
	const char *host;   /* the first Host header, NULL if none */
	unsigned int nhost; /* how many Host headers */
	bool proxy;	    /* a header metadata_header_is_proxy names */
};

/* 0 when the request may be answered, else its refusal: 400 for a path holding a
 * control byte (decoded from %00..%1f or %7f, or raw) or more than one Host header
 * (which one would name the server is a matter of taste), 405 for a method other
 * than GET and HEAD, 403 for a proxied request or a foreign Host. */
unsigned int metadata_request_check(const struct metadata_request *rq);

#endif
