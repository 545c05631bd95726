/* enrol-testc: the signer's side of a newborn machine's enrolment (what hyper-control
 * does during netboot-host; docs/enrolment.md), for tests/integration/installer_enrol.sh.
 *
 *   enrol-testc -address=HOST:PORT -token=HEX|-tokenFile=F -hostname=H [-ip=A]...
 *       -caCert=F -caKey=F [-caFile=F] [-identityCaFile=F] -certFile=F -keyFile=F
 *       [-days=N] [-timeout=S] [-setMacToken=HEX] [-otherKey] [-setTwice]
 *
 * Connects to the installer's port without verifying its (self-signed) certificate,
 * calls Installer.GetCertificateRequest, checks the Mac with the token, that the
 * request's key is the key of the TLS connection and that it is for -hostname, signs
 * it with -caCert/-caKey for -hostname and the -ip addresses, and calls
 * Installer.SetCertificates with the certificate, -caFile (default -caCert), the
 * -identityCaFile and the Mac over the certificate. The client certificate is
 * -certFile/-keyFile. For the refusal tests: -setMacToken makes the certificate's Mac
 * with another token, -otherKey signs a request for a fresh key instead, -setTwice
 * sends SetCertificates twice and reports the second answer.
 * Exit: 0 enrolled, 1 refused or failed ("enrol-testc: <why>"), 2 usage. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>

#include "api/codec.h"
#include "api/installer.h"
#include "enrol.h"
#include "fsutil.h"
#include "srpc.h"
#include "srpc_conn.h"

#define MAX_IPS 16

struct opts {
	const char *address, *token, *token_file, *hostname, *ca_cert, *ca_key, *ca_file;
	const char *identity_ca_file, *cert_file, *key_file, *set_mac_token;
	const char *ips[MAX_IPS];
	size_t n_ips;
	unsigned days, timeout_s;
	bool other_key, set_twice;
};

static void usage(const char *why)
{
	fprintf(stderr,
		"enrol-testc: %s\nusage: enrol-testc -address=HOST:PORT -token=HEX|-tokenFile=F "
		"-hostname=H [-ip=A]... -caCert=F -caKey=F [-caFile=F] [-identityCaFile=F] "
		"-certFile=F -keyFile=F [-days=N] [-timeout=S] [-setMacToken=HEX] [-otherKey] "
		"[-setTwice]\n",
		why);
	exit(2);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("enrol-testc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static unsigned parse_uint(const char *name, const char *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n == 0 || n > 100000) {
		char msg[128];

		snprintf(msg, sizeof(msg), "bad value for -%s", name);
		usage(msg);
	}
	return (unsigned)n;
}

/* Go flag syntax: -name=value, -name value, --name; booleans without a value. */
static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
	    {"address", offsetof(struct opts, address)},
	    {"token", offsetof(struct opts, token)},
	    {"tokenFile", offsetof(struct opts, token_file)},
	    {"hostname", offsetof(struct opts, hostname)},
	    {"caCert", offsetof(struct opts, ca_cert)},
	    {"caKey", offsetof(struct opts, ca_key)},
	    {"caFile", offsetof(struct opts, ca_file)},
	    {"identityCaFile", offsetof(struct opts, identity_ca_file)},
	    {"certFile", offsetof(struct opts, cert_file)},
	    {"keyFile", offsetof(struct opts, key_file)},
	    {"setMacToken", offsetof(struct opts, set_mac_token)},
	};
	int i;

	for (i = 1; i < argc; i++) {
		char name[64];
		const char *a = argv[i], *val = NULL, *eq;
		size_t k, n;

		if (a[0] != '-')
			usage("unexpected argument");
		a += a[1] == '-' ? 2 : 1;
		eq = strchr(a, '=');
		n = eq != NULL ? (size_t)(eq - a) : strlen(a);
		if (n == 0 || n >= sizeof(name))
			usage("bad flag");
		memcpy(name, a, n);
		name[n] = '\0';
		if (strcmp(name, "otherKey") == 0 || strcmp(name, "setTwice") == 0) {
			if (eq != NULL)
				usage("boolean flags take no value");
			*(name[0] == 'o' ? &o->other_key : &o->set_twice) = true;
			continue;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			usage("flag needs a value");
		if (strcmp(name, "ip") == 0) {
			if (o->n_ips == MAX_IPS)
				usage("too many -ip");
			o->ips[o->n_ips++] = val;
			continue;
		}
		if (strcmp(name, "days") == 0) {
			o->days = parse_uint(name, val);
			continue;
		}
		if (strcmp(name, "timeout") == 0) {
			o->timeout_s = parse_uint(name, val);
			continue;
		}
		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (strcmp(name, strs[k].name) == 0)
				break;
		if (k == sizeof(strs) / sizeof(strs[0])) {
			char msg[128];

			snprintf(msg, sizeof(msg), "unknown flag -%s", name);
			usage(msg);
		}
		*(const char **)((char *)o + strs[k].off) = val;
	}
	if (o->address == NULL || o->hostname == NULL || o->ca_cert == NULL || o->ca_key == NULL ||
	    o->cert_file == NULL || o->key_file == NULL)
		usage("-address, -hostname, -caCert, -caKey, -certFile and -keyFile are required");
	if ((o->token == NULL) == (o->token_file == NULL))
		usage("give one of -token and -tokenFile");
	if (o->ca_file == NULL)
		o->ca_file = o->ca_cert;
}

static int read_text(const char *path, char **out)
{
	int rc = fsutil_read_file(path, 1u << 20, out, NULL);

	if (rc < 0)
		return fail("read %s: %s", path, strerror(-rc));
	return 0;
}

/* One call whose reply has an Error field: 0, or 1 with the reason printed. */
static int call(struct srpc_client *cl, const char *method, const struct api_type *req_t,
		const void *req, const struct api_type *resp_t, void *resp)
{
	json_t *jreq = api_encode(req_t, req), *jresp = NULL;
	const char *remote;
	char *err = NULL;
	int rc;

	if (jreq == NULL)
		return fail("out of memory");
	rc = srpc_client_call(cl, method, jreq, &jresp);
	json_decref(jreq);
	if (rc < 0)
		return fail("%s: %s", method, srpc_client_error(cl));
	remote = json_string_value(json_object_get(jresp, "Error"));
	if (remote != NULL && *remote != '\0') {
		fail("%s: installer refused: %s", method, remote);
		json_decref(jresp);
		return 1;
	}
	rc = api_decode_msg(resp_t, jresp, method, resp, &err);
	json_decref(jresp);
	if (rc < 0) {
		fail("%s: %s", method, err != NULL ? err : strerror(-rc));
		free(err);
		return 1;
	}
	return 0;
}

struct creds {
	char *token, *set_token, *ca_pem, *idca_pem;
	X509 *ca_cert;
	EVP_PKEY *ca_key;
};

static void creds_free(struct creds *c)
{
	enrol_pem_free(c->token);
	enrol_pem_free(c->set_token);
	free(c->ca_pem);
	free(c->idca_pem);
	X509_free(c->ca_cert);
	EVP_PKEY_free(c->ca_key);
}

static int load_creds(const struct opts *o, struct creds *c)
{
	unsigned char k[ENROL_TOKEN_BYTES];
	char err[512];

	if (o->token_file != NULL) {
		if (read_text(o->token_file, &c->token))
			return 1;
	} else if ((c->token = strdup(o->token)) == NULL) {
		return fail("out of memory");
	}
	c->set_token = strdup(o->set_mac_token != NULL ? o->set_mac_token : c->token);
	if (c->set_token == NULL)
		return fail("out of memory");
	if (enrol_token_parse(c->token, k) < 0 || enrol_token_parse(c->set_token, k) < 0)
		return fail("the enrol token is not 64 hex digits");
	if (enrol_load_cert(o->ca_cert, &c->ca_cert, err, sizeof(err)) < 0 ||
	    enrol_load_key(o->ca_key, &c->ca_key, err, sizeof(err)) < 0)
		return fail("%s", err);
	if (read_text(o->ca_file, &c->ca_pem))
		return 1;
	if (o->identity_ca_file != NULL && read_text(o->identity_ca_file, &c->idca_pem))
		return 1;
	return 0;
}

/* Checks the request the installer sent: its Mac, its key against the TLS peer's and
 * its host name. Returns 0 with *csr, or 1 (printed). */
static int check_request(const struct opts *o, const struct creds *c, SSL *ssl,
			 const struct instapi_get_csr_response *r, X509_REQ **csr)
{
	X509 *peer = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;

	if (enrol_csr_from_pem(api_str(r->csr), csr) < 0)
		return fail("the installer's reply holds no PEM certificate request");
	if (enrol_mac_check_csr(c->token, *csr, r->mac) < 0)
		return fail("Mac of the certificate request is wrong: not this machine's installer "
			    "or not its token");
	if (peer == NULL || !enrol_csr_key_matches(*csr, X509_get0_pubkey(peer)))
		return fail("the certificate request is not for the key of the installer's TLS "
			    "server: somebody else answers on %s",
			    o->address);
	if (strcmp(api_str(r->hostname), o->hostname) != 0)
		return fail("the installer says it is \"%s\", expected \"%s\"",
			    api_str(r->hostname), o->hostname);
	return 0;
}

/* -otherKey: a right request, but for a fresh key (the installer must refuse). */
static int replace_request(const struct opts *o, X509_REQ **csr)
{
	char err[256];
	EVP_PKEY *k;
	int rc;

	if (enrol_key_new(&k) < 0)
		return fail("key generation failed");
	X509_REQ_free(*csr);
	*csr = NULL;
	rc = enrol_csr_new(k, o->hostname, o->ips, o->n_ips, csr, err, sizeof(err));
	EVP_PKEY_free(k);
	return rc < 0 ? fail("%s", err) : 0;
}

static int sign_and_set(const struct opts *o, const struct creds *c, struct srpc_client *cl,
			X509_REQ *csr)
{
	struct enrol_sign_params p = {
	    .hostname = o->hostname, .ips = o->ips, .n_ips = o->n_ips, .days = o->days};
	struct instapi_set_certs_request req = {0};
	struct instapi_set_certs_response resp = {0};
	char mac[ENROL_MAC_HEX + 1], err[512], *pem = NULL;
	X509 *cert = NULL;
	int rc = 1;

	if (enrol_sign_csr(csr, c->ca_cert, c->ca_key, &p, &cert, err, sizeof(err)) < 0)
		return fail("%s", err);
	if (enrol_cert_pem(cert, &pem) < 0 || enrol_mac_cert(c->set_token, cert, mac) < 0) {
		fail("encoding the certificate failed");
		goto out;
	}
	req.certificate = pem;
	req.ca = c->ca_pem;
	req.identity_ca = c->idca_pem;
	req.mac = mac;
	rc = call(cl, INSTAPI_M_SET_CERTS, &instapi_set_certs_request_type, &req,
		  &instapi_set_certs_response_type, &resp);
	api_clear(&instapi_set_certs_response_type, &resp);
	if (rc == 0 && o->set_twice) {
		rc = call(cl, INSTAPI_M_SET_CERTS, &instapi_set_certs_request_type, &req,
			  &instapi_set_certs_response_type, &resp);
		api_clear(&instapi_set_certs_response_type, &resp);
		if (rc == 0)
			fail("the installer accepted a second SetCertificates");
		else
			fprintf(stderr, "enrol-testc: the first SetCertificates was accepted\n");
		rc = rc == 0 ? 3 : 1;
	}
	if (rc == 0) {
		char *serial = NULL;
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);

		if (bn != NULL)
			serial = BN_bn2hex(bn);
		printf("enrolled %s: certificate serial %s, valid %u days\n", o->hostname,
		       serial != NULL ? serial : "?", o->days);
		OPENSSL_free(serial);
		BN_free(bn);
	}
out:
	free(pem);
	X509_free(cert);
	return rc == 3 ? 1 : rc;
}

int main(int argc, char **argv)
{
	struct opts o = {.days = 3650, .timeout_s = 30};
	struct tls_client_config tcfg = {0};
	struct srpc_client_config scfg = {0};
	struct instapi_get_csr_request greq = {0};
	struct instapi_get_csr_response gresp = {0};
	struct creds c = {0};
	struct tls_client *tls = NULL;
	struct srpc_client *cl = NULL;
	X509_REQ *csr = NULL;
	char err[1024];
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &o);
	if (load_creds(&o, &c))
		goto out;
	/* The installer's port presents a self-signed certificate for its new key: it is
	 * not verified; the request's key must be that key instead (check_request). */
	tcfg.cert_file = o.cert_file;
	tcfg.key_file = o.key_file;
	tcfg.insecure = true;
	if (tls_client_new(&tcfg, &tls, err, sizeof(err)) < 0) {
		fail("%s", err);
		goto out;
	}
	scfg.tls = tls;
	scfg.connect_timeout_ms = (int)o.timeout_s * 1000;
	scfg.call_timeout_ms = (int)o.timeout_s * 1000;
	if (srpc_client_dial(o.address, &scfg, &cl, err, sizeof(err)) < 0) {
		fail("%s", err);
		goto out;
	}
	if (call(cl, INSTAPI_M_GET_CSR, &instapi_get_csr_request_type, &greq,
		 &instapi_get_csr_response_type, &gresp))
		goto out;
	if (check_request(&o, &c, srpc_client_conn(cl)->ssl, &gresp, &csr))
		goto out;
	if (o.other_key && replace_request(&o, &csr))
		goto out;
	rc = sign_and_set(&o, &c, cl, csr);
out:
	api_clear(&instapi_get_csr_response_type, &gresp);
	X509_REQ_free(csr);
	srpc_client_close(cl);
	tls_client_free(tls);
	creds_free(&c);
	return rc;
}
