/* tls: OpenSSL server and client contexts for SRPC (spec/rpc.md §3.1, §9, §10.3):
 * CA.pem vs IdentityCA.pem trust, acceptable-CA list, client credential directories,
 * server certificate verification (weaknesses.md #1). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls.h"

const char *tls_last_error(char *buf, size_t sz)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, sz, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, sz);
	ERR_clear_error();
	return buf;
}

/* ---- server ---- */

struct tls_server {
	SSL_CTX *ctx;
	X509_STORE *grant_store; /* CA.pem alone; NULL when every chain is trusted for grants */
};

static bool file_exists(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0;
}

static int load_store(X509_STORE *store, const char *file, char *err, size_t errsz)
{
	char e[256];

	if (X509_STORE_load_file(store, file) != 1) {
		snprintf(err, errsz, "load CA file %s: %s", file, tls_last_error(e, sizeof(e)));
		return -EINVAL;
	}
	return 0;
}

static int server_trust(struct tls_server *srv, const struct tls_server_config *cfg, char *err,
			size_t errsz)
{
	X509_STORE *store = SSL_CTX_get_cert_store(srv->ctx);
	STACK_OF(X509_NAME) * names;
	bool have_id = file_exists(cfg->identity_ca_file);
	int rc;

	if (cfg->ca_file == NULL || !file_exists(cfg->ca_file)) {
		snprintf(err, errsz, "missing CA: %s",
			 cfg->ca_file != NULL ? cfg->ca_file : "(none)");
		return -ENOENT;
	}
	if ((rc = load_store(store, cfg->ca_file, err, errsz)) < 0)
		return rc;
	if (have_id && (rc = load_store(store, cfg->identity_ca_file, err, errsz)) < 0)
		return rc;
	/* CA files may hold intermediates: any certificate in them is an anchor, as in Go. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);

	names = sk_X509_NAME_new_null();
	if (names == NULL || SSL_add_file_cert_subjects_to_stack(names, cfg->ca_file) != 1 ||
	    (have_id && SSL_add_file_cert_subjects_to_stack(names, cfg->identity_ca_file) != 1)) {
		char e[256];

		sk_X509_NAME_pop_free(names, X509_NAME_free);
		snprintf(err, errsz, "read CA subjects: %s", tls_last_error(e, sizeof(e)));
		return -EINVAL;
	}
	SSL_CTX_set_client_CA_list(srv->ctx, names);

	if (!have_id)
		return 0;
	srv->grant_store = X509_STORE_new();
	if (srv->grant_store == NULL)
		return -ENOMEM;
	X509_STORE_set_flags(srv->grant_store, X509_V_FLAG_PARTIAL_CHAIN);
	return load_store(srv->grant_store, cfg->ca_file, err, errsz);
}

int tls_server_new(const struct tls_server_config *cfg, struct tls_server **out, char *err,
		   size_t errsz)
{
	struct tls_server *srv = calloc(1, sizeof(*srv));
	char e[256];
	int rc;

	*out = NULL;
	if (srv == NULL)
		return -ENOMEM;
	srv->ctx = SSL_CTX_new(TLS_server_method());
	if (srv->ctx == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	SSL_CTX_set_min_proto_version(srv->ctx, TLS1_2_VERSION);
	/* No resumption: every connection presents and verifies its full chain. */
	SSL_CTX_set_session_cache_mode(srv->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(srv->ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_num_tickets(srv->ctx, 0);
	if (SSL_CTX_use_certificate_chain_file(srv->ctx, cfg->cert_file) != 1) {
		snprintf(err, errsz, "load certificate %s: %s", cfg->cert_file,
			 tls_last_error(e, sizeof(e)));
		rc = -EINVAL;
		goto out_free;
	}
	if (SSL_CTX_use_PrivateKey_file(srv->ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(srv->ctx) != 1) {
		snprintf(err, errsz, "load key %s: %s", cfg->key_file,
			 tls_last_error(e, sizeof(e)));
		rc = -EINVAL;
		goto out_free;
	}
	if ((rc = server_trust(srv, cfg, err, errsz)) < 0)
		goto out_free;
	SSL_CTX_set_verify(srv->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	*out = srv;
	return 0;
out_free:
	tls_server_free(srv);
	return rc;
}

void tls_server_free(struct tls_server *srv)
{
	if (srv == NULL)
		return;
	SSL_CTX_free(srv->ctx);
	X509_STORE_free(srv->grant_store);
	free(srv);
}

SSL_CTX *tls_server_ctx(struct tls_server *srv)
{
	return srv->ctx;
}

/* Does the peer's leaf chain to CA.pem alone (then its grants count)? */
static bool chain_grant_trusted(struct tls_server *srv, SSL *ssl, X509 *leaf)
{
	X509_STORE_CTX *sctx;
	bool ok;

	if (srv->grant_store == NULL)
		return true;
	sctx = X509_STORE_CTX_new();
	if (sctx == NULL)
		return false;
	ok = X509_STORE_CTX_init(sctx, srv->grant_store, leaf, SSL_get_peer_cert_chain(ssl)) == 1 &&
	     X509_verify_cert(sctx) == 1;
	X509_STORE_CTX_free(sctx);
	return ok;
}

int tls_server_peer_identity(struct tls_server *srv, SSL *ssl, struct tls_identity *id, char *err,
			     size_t errsz)
{
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);

	memset(id, 0, sizeof(*id));
	if (chain == NULL || sk_X509_num(chain) < 1 || SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(err, errsz, "no verified client certificate");
		return -EACCES;
	}
	return tls_identity_from_chain(
	    chain, chain_grant_trusted(srv, ssl, sk_X509_value(chain, 0)), id, err, errsz);
}

/* ---- client ---- */

struct tls_cred {
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) * chain; /* extra certificates of the cert file */
	time_t not_after;
	bool all_methods; /* grants `*.*` */
	size_t n_methods;
	char path[512];
};

struct tls_client {
	SSL_CTX *ctx;
	struct tls_cred *creds;
	size_t n;
	bool insecure;
};

static void cred_clear(struct tls_cred *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	sk_X509_pop_free(c->chain, X509_free);
}

static int asn1_time_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

static int load_pair(const char *cert_file, const char *key_file, struct tls_cred *c, char *err,
		     size_t errsz)
{
	FILE *f;
	X509 *x;
	char **methods = NULL;
	time_t now = time(NULL), nb;
	int n, i;

	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", cert_file);
	if ((f = fopen(cert_file, "r")) == NULL) {
		snprintf(err, errsz, "open %s: %s", cert_file, strerror(errno));
		return -errno;
	}
	c->cert = PEM_read_X509(f, NULL, NULL, NULL);
	c->chain = sk_X509_new_null();
	while (c->cert != NULL && c->chain != NULL &&
	       (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		sk_X509_push(c->chain, x);
	fclose(f);
	ERR_clear_error();
	if (c->cert == NULL || c->chain == NULL) {
		snprintf(err, errsz, "%s: no PEM certificate", cert_file);
		goto out_fail;
	}
	if ((f = fopen(key_file, "r")) == NULL) {
		snprintf(err, errsz, "open %s: %s", key_file, strerror(errno));
		goto out_fail;
	}
	c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (c->key == NULL || X509_check_private_key(c->cert, c->key) != 1) {
		ERR_clear_error();
		snprintf(err, errsz, "%s: no private key matching %s", key_file, cert_file);
		goto out_fail;
	}
	if (asn1_time_to_time(X509_get0_notAfter(c->cert), &c->not_after) < 0 ||
	    asn1_time_to_time(X509_get0_notBefore(c->cert), &nb) < 0) {
		snprintf(err, errsz, "%s: bad validity dates", cert_file);
		goto out_fail;
	}
	if (now < nb) {
		snprintf(err, errsz, "cert in file %s is not yet valid", cert_file);
		goto out_fail;
	}
	if (now > c->not_after) {
		snprintf(err, errsz, "cert in file %s has expired", cert_file);
		goto out_fail;
	}
	n = tls_cert_strings(c->cert, TLS_OID_METHODS, &methods);
	for (i = 0; i < n; i++)
		c->all_methods |= strcmp(methods[i], "*.*") == 0;
	c->n_methods = n > 0 ? (size_t)n : 0;
	tls_strv_free(methods);
	return 0;
out_fail:
	cred_clear(c);
	memset(c, 0, sizeof(*c));
	return -EINVAL;
}

static int cred_cmp(const void *a, const void *b)
{
	const struct tls_cred *x = a, *y = b;

	if (x->not_after != y->not_after)
		return x->not_after > y->not_after ? -1 : 1;
	if (x->all_methods != y->all_methods)
		return x->all_methods ? -1 : 1;
	if (x->n_methods != y->n_methods)
		return x->n_methods > y->n_methods ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int add_cred(struct tls_client *cl, const char *cert_file, const char *key_file, char *err,
		    size_t errsz)
{
	struct tls_cred *nc = realloc(cl->creds, (cl->n + 1) * sizeof(*nc));
	int rc;

	if (nc == NULL)
		return -ENOMEM;
	cl->creds = nc;
	rc = load_pair(cert_file, key_file, &nc[cl->n], err, errsz);
	if (rc == 0)
		cl->n++;
	return rc;
}

static int load_dir(struct tls_client *cl, const char *dir, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char cert[4400], key[4400];
	int rc = 0;

	if (d == NULL) {
		snprintf(err, errsz, "open %s: %s", dir, strerror(errno));
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (strcmp(de->d_name, "key.pem") == 0) {
			snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
		} else if (len > 4 && strcmp(de->d_name + len - 4, ".key") == 0) {
			snprintf(cert, sizeof(cert), "%s/%.*s.cert", dir, (int)(len - 4),
				 de->d_name);
		} else {
			continue;
		}
		snprintf(key, sizeof(key), "%s/%s", dir, de->d_name);
		if (!file_exists(cert))
			continue;
		if ((rc = add_cred(cl, cert, key, err, errsz)) < 0)
			break;
	}
	closedir(d);
	if (rc == 0 && cl->n == 0) {
		snprintf(err, errsz,
			 "%s: no certificate/key pairs (X.cert + X.key or cert.pem + key.pem)",
			 dir);
		rc = -ENOENT;
	}
	return rc;
}

static bool issuer_listed(X509 *cert, const STACK_OF(X509_NAME) * cas)
{
	X509_NAME *issuer = X509_get_issuer_name(cert);
	int i;

	for (i = 0; i < sk_X509_NAME_num(cas); i++) {
		if (X509_NAME_cmp(issuer, sk_X509_NAME_value(cas, i)) == 0)
			return true;
	}
	return false;
}

/* Like Go's client: the first certificate whose chain has an issuer the server names
 * among its acceptable CAs (any, if the server names none); none if nothing matches. */
static const struct tls_cred *pick_cred(const struct tls_client *cl,
					const STACK_OF(X509_NAME) * cas)
{
	size_t i;
	int j;

	if (cl->n == 0)
		return NULL;
	if (cas == NULL || sk_X509_NAME_num(cas) == 0)
		return &cl->creds[0];
	for (i = 0; i < cl->n; i++) {
		const struct tls_cred *c = &cl->creds[i];

		if (issuer_listed(c->cert, cas))
			return c;
		for (j = 0; j < sk_X509_num(c->chain); j++) {
			if (issuer_listed(sk_X509_value(c->chain, j), cas))
				return c;
		}
	}
	return NULL;
}

static int client_cert_cb(SSL *ssl, void *arg)
{
	const struct tls_cred *c = pick_cred(arg, SSL_get_client_CA_list(ssl));

	if (c == NULL)
		return 1;
	if (SSL_use_certificate(ssl, c->cert) != 1 || SSL_use_PrivateKey(ssl, c->key) != 1 ||
	    SSL_set1_chain(ssl, c->chain) != 1)
		return 0;
	return 1;
}

/* "~/x" -> "$HOME/x" into buf (tool flags default to "~/.ssl"). */
static const char *expand_home(const char *path, char *buf, size_t sz)
{
	const char *home = getenv("HOME");
	int n;

	if (strncmp(path, "~/", 2) != 0 && strcmp(path, "~") != 0)
		return path;
	if (!home || !*home)
		return path;
	n = snprintf(buf, sz, "%s%s", home, path + 1);
	return n > 0 && (size_t)n < sz ? buf : path;
}

int tls_client_new(const struct tls_client_config *cfg, struct tls_client **out, char *err,
		   size_t errsz)
{
	struct tls_client *cl = calloc(1, sizeof(*cl));
	char e[256];
	int rc = -ENOMEM;

	*out = NULL;
	if (cl == NULL)
		return -ENOMEM;
	cl->insecure = cfg->insecure;
	cl->ctx = SSL_CTX_new(TLS_client_method());
	if (cl->ctx == NULL)
		goto out_free;
	SSL_CTX_set_min_proto_version(cl->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(cl->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Idle connections hold no TLS buffers: a fleet manager keeps thousands open. */
	SSL_CTX_set_mode(cl->ctx, SSL_MODE_RELEASE_BUFFERS);
	if (cfg->cert_dir != NULL) {
		char dir[4096];

		rc = load_dir(cl, expand_home(cfg->cert_dir, dir, sizeof(dir)), err, errsz);
	} else if (cfg->cert_file != NULL)
		rc = add_cred(cl, cfg->cert_file,
			      cfg->key_file != NULL ? cfg->key_file : cfg->cert_file, err, errsz);
	else
		rc = 0;
	if (rc < 0)
		goto out_free;
	if (cl->n > 1)
		qsort(cl->creds, cl->n, sizeof(*cl->creds), cred_cmp);
	SSL_CTX_set_cert_cb(cl->ctx, client_cert_cb, cl);
	if (!cfg->insecure) {
		if (cfg->ca_file == NULL) {
			snprintf(err, errsz,
				 "no CA file to verify servers with (or use insecure mode)");
			rc = -EINVAL;
			goto out_free;
		}
		if (SSL_CTX_load_verify_file(cl->ctx, cfg->ca_file) != 1) {
			snprintf(err, errsz, "load CA file %s: %s", cfg->ca_file,
				 tls_last_error(e, sizeof(e)));
			rc = -EINVAL;
			goto out_free;
		}
		X509_STORE_set_flags(SSL_CTX_get_cert_store(cl->ctx), X509_V_FLAG_PARTIAL_CHAIN);
		SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_PEER, NULL);
	}
	*out = cl;
	return 0;
out_free:
	tls_client_free(cl);
	return rc;
}

void tls_client_free(struct tls_client *cl)
{
	size_t i;

	if (cl == NULL)
		return;
	for (i = 0; i < cl->n; i++)
		cred_clear(&cl->creds[i]);
	free(cl->creds);
	SSL_CTX_free(cl->ctx);
	free(cl);
}

size_t tls_client_ncerts(const struct tls_client *cl)
{
	return cl->n;
}

X509 *tls_client_cert(const struct tls_client *cl, size_t i)
{
	return i < cl->n ? cl->creds[i].cert : NULL;
}

SSL *tls_client_ssl_new(struct tls_client *cl, const char *host)
{
	SSL *ssl = SSL_new(cl->ctx);
	unsigned char ip[16];
	bool is_ip;

	if (ssl == NULL || host == NULL || host[0] == '\0')
		return ssl;
	is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, host);
	if (cl->insecure)
		return ssl;
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
		  : SSL_set1_host(ssl, host) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

void tls_client_handshake_error(SSL *ssl, const char *host, char *err, size_t errsz)
{
	long v = SSL_get_verify_result(ssl);
	char e[256];

	if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		ERR_clear_error();
		snprintf(err, errsz, "x509: certificate is not valid for host %s", host);
	} else if (v != X509_V_OK) {
		ERR_clear_error();
		snprintf(err, errsz, "x509: certificate for host %s not trusted: %s", host,
			 X509_verify_cert_error_string(v));
	} else {
		snprintf(err, errsz, "TLS handshake with %s: %s", host,
			 tls_last_error(e, sizeof(e)));
	}
}
