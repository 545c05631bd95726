/* tls: OpenSSL contexts for SRPC (spec/rpc.md §3, §9, §10.3-10.4): server trust split
 * between CA.pem (identity + method grants) and IdentityCA.pem (identity only), peer
 * identity and method-grant extraction, Go path.Match globbing of grants, and client
 * credentials (a directory of cert/key pairs) with server certificate verification. */
#ifndef SS_TLS_H
#define SS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Certificate extensions of the Cloud-Foundations arc, value DER SEQUENCE OF string. */
#define TLS_OID_METHODS "1.3.6.1.4.1.9586.100.7.1"
#define TLS_OID_GROUPS "1.3.6.1.4.1.9586.100.7.2"

/* Who the peer is, from its verified chain. Strings are owned by the struct. */
struct tls_identity {
	char *username; /* first non-empty CommonName up the chain; "" if none */
	char **groups;	/* first non-empty group list up the chain */
	size_t n_groups;
	char **methods; /* grant globs: union over the chain; empty if untrusted */
	size_t n_methods;
	bool methods_trusted; /* chain rooted in CA.pem (or no IdentityCA.pem exists) */
};

/* Frees what the identity owns and zeroes it; accepts a zeroed struct. */
void tls_identity_clear(struct tls_identity *id);

/* Fills *id from a verified chain (leaf first, CA certificates included).
 * trust_methods: collect grants and enforce the "exactly one dot" rule.
 * Returns 0, -EACCES for a grant that is not Service.Method, an extension that does
 * not decode or a CommonName with a NUL byte (err says which), -ENOMEM. Borrows
 * chain. */
int tls_identity_from_chain(STACK_OF(X509) * chain, bool trust_methods, struct tls_identity *id,
			    char *err, size_t errsz);

/* Reads a SEQUENCE OF string extension (any ASN.1 string type, converted to UTF-8).
 * Returns the number of strings (0 if the extension is absent) with *out a new
 * NULL-terminated array (free with tls_strv_free), -EBADMSG if it does not decode,
 * -ENOMEM. */
int tls_cert_strings(X509 *cert, const char *oid, char ***out);
void tls_strv_free(char **v);

/* Go path.Match semantics: '*' any run of non-'/' bytes, '?' one non-'/' character,
 * "[...]" classes with '^' negation and ranges, '\\' escapes. A malformed pattern
 * never matches. Pure. */
bool tls_glob_match(const char *pattern, const char *name);

/* True if any grant of id matches "Service.Method". */
bool tls_identity_grants(const struct tls_identity *id, const char *service_method);

/* ---- server ---- */

struct tls_server; /* opaque; immutable after creation, shareable between threads */

struct tls_server_config {
	const char *cert_file; /* server certificate (PEM, may carry a chain) */
	const char *key_file;
	const char *ca_file;	      /* CA.pem: required */
	const char *identity_ca_file; /* IdentityCA.pem: optional; NULL or absent = none */
};

/* Loads credentials and trust; requires and verifies a client certificate, TLS >= 1.2,
 * and advertises the subjects of both CA files as acceptable CAs.
 * Returns 0 and *out, or -errno with a message in err naming the file. */
int tls_server_new(const struct tls_server_config *cfg, struct tls_server **out, char *err,
		   size_t errsz);
void tls_server_free(struct tls_server *srv);

/* The context to make server SSL objects from. Borrowed. */
SSL_CTX *tls_server_ctx(struct tls_server *srv);

/* After a successful handshake on ssl (made from tls_server_ctx): the peer's identity.
 * Returns 0, -EACCES (no verified certificate or a bad grant; err says why), -ENOMEM. */
int tls_server_peer_identity(struct tls_server *srv, SSL *ssl, struct tls_identity *id, char *err,
			     size_t errsz);

/* ---- client ---- */

struct tls_client; /* opaque; immutable after creation, shareable between threads */

struct tls_client_config {
	const char *cert_dir;  /* every X.key + X.cert, and key.pem + cert.pem; or NULL.
				  A leading "~/" (or "~") is $HOME */
	const char *cert_file; /* explicit pair (used when cert_dir is NULL) */
	const char *key_file;
	const char *ca_file; /* bundle the server certificate must chain to */
	bool insecure;	     /* do not verify the server (bootstrap only) */
};

/* Loads client credentials. A certificate that is expired or not yet valid is an error
 * naming its file (as in Go's LoadCertificatesFromDir). Order: longest remaining
 * lifetime first, then those granting `*.*`, then more grants first. During the
 * handshake the first certificate issued by a CA the server names is presented (none if
 * no match, the first one if the server names no CA). A config with neither cert_dir nor
 * cert_file makes a context without client certificates.
 * Returns 0 and *out, or -errno with a message in err. */
int tls_client_new(const struct tls_client_config *cfg, struct tls_client **out, char *err,
		   size_t errsz);
void tls_client_free(struct tls_client *cl);

/* Number of loaded client certificates and the i-th one in preference order (borrowed). */
size_t tls_client_ncerts(const struct tls_client *cl);
X509 *tls_client_cert(const struct tls_client *cl, size_t i);

/* A new SSL for connecting to host (SNI + host name verification unless insecure).
 * Returns NULL on allocation failure. */
SSL *tls_client_ssl_new(struct tls_client *cl, const char *host);

/* Describes a failed client handshake for host into err: names the host and, when the
 * server certificate was the problem, OpenSSL's verification reason, e.g.
 * "x509: certificate for host H not trusted: unable to get local issuer certificate". */
void tls_client_handshake_error(SSL *ssl, const char *host, char *err, size_t errsz);

/* The OpenSSL error queue's last reason (and clears the queue), for messages. */
const char *tls_last_error(char *buf, size_t sz);

#endif
