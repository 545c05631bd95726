/* enrol: hyper-control's side of a netbooted machine's enrolment (docs/enrolment.md,
 * "PXE: token, request, signed certificate"): the installer's certificate request is
 * checked against the one-time token written into its /tftpdata, against the key of the
 * TLS session it came over and against the machine's own name and addresses, then
 * signed with the fleet CA's key and sent back with the fleet's CA files. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/ssl.h>

#include "api/installer.h"
#include "enrol.h"
#include "fsutil.h"
#include "hyperctl.h"
#include "srpc_conn.h"
#include "tls.h"

#define NS_PER_MS 1000000LL
#define HC_ENROL_MAX_IPS 64

struct hc_signer {
	X509 *cert;
	EVP_PKEY *key;
	char *ca_pem, *idca_pem;
	unsigned days;
};

void hc_signer_free(struct hc_signer *s)
{
	if (!s)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	free(s->ca_pem);
	free(s->idca_pem);
	free(s);
}

int hc_signer_load(struct hc *h, const char *doing, struct hc_signer **out)
{
	const struct hc_opts *o = &h->o;
	struct hc_signer *s;
	char err[512];
	int64_t days;
	int rc;

	*out = NULL;
	if (!o->signer_cert_file || !*o->signer_cert_file || !o->signer_key_file ||
	    !*o->signer_key_file)
		return hc_fail(doing, "-signerCertFile and -signerKeyFile are needed to sign the "
				      "machine's certificate");
	days = (o->cert_lifetime_ns + 86400LL * 1000000000LL - 1) / (86400LL * 1000000000LL);
	if (days < 1 || days > 100000)
		return hc_fail(doing, "-certLifetime: between one day and 100000 days");
	s = calloc(1, sizeof(*s));
	if (!s)
		return hc_fail(doing, "out of memory");
	s->days = (unsigned)days;
	if (enrol_load_cert(o->signer_cert_file, &s->cert, err, sizeof(err)) < 0 ||
	    enrol_load_key(o->signer_key_file, &s->key, err, sizeof(err)) < 0)
		goto fail;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		snprintf(err, sizeof(err), "%s is not the key of %s", o->signer_key_file,
			 o->signer_cert_file);
		goto fail;
	}
	rc = fsutil_read_file(o->ca_file, 1u << 20, &s->ca_pem, NULL);
	if (rc < 0) {
		snprintf(err, sizeof(err), "reading -CAfile %s: %s", o->ca_file, strerror(-rc));
		goto fail;
	}
	rc = fsutil_read_file(o->identity_ca_file, 1u << 20, &s->idca_pem, NULL);
	if (rc < 0 && rc != -ENOENT) {
		snprintf(err, sizeof(err), "reading -identityCAfile %s: %s", o->identity_ca_file,
			 strerror(-rc));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	hc_signer_free(s);
	return hc_fail(doing, "%s", err);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * NS_PER_MS};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The machine's addresses as text (the only IP SANs the request may ask for). */
static size_t machine_ips(const struct fmapi_get_machine_info_response *mi,
			  char txt[][INET_ADDRSTRLEN], const char *ptr[], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i <= mi->machine.secondary.n && n < max; i++) {
		const struct fmapi_network_entry *e =
		    i == 0 ? &mi->machine.net : &mi->machine.secondary.v[i - 1];

		if (!e->host_ip.s_addr)
			continue;
		inet_ntop(AF_INET, &e->host_ip, txt[n], INET_ADDRSTRLEN);
		ptr[n] = txt[n];
		n++;
	}
	return n;
}

/* GetCertificateRequest once: 0 with *resp, -EAGAIN when the installer is not (yet)
 * waiting for enrolment, other failures with err. */
static int get_request(struct srpc_client *cl, struct instapi_get_csr_response *resp, char *err,
		       size_t errsz)
{
	struct instapi_get_csr_request req = {0};
	json_t *jreq = api_encode(&instapi_get_csr_request_type, &req), *jresp = NULL;
	const char *remote;
	char *msg = NULL;
	int rc;

	if (!jreq) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = srpc_client_call(cl, INSTAPI_M_GET_CSR, jreq, &jresp);
	json_decref(jreq);
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", INSTAPI_M_GET_CSR, srpc_client_error(cl));
		return rc;
	}
	remote = json_string_value(json_object_get(jresp, "Error"));
	if (remote && *remote) {
		snprintf(err, errsz, "%s: %s", INSTAPI_M_GET_CSR, remote);
		rc = strstr(remote, "not waiting for enrolment") ? -EAGAIN : -EREMOTEIO;
		json_decref(jresp);
		return rc;
	}
	rc = api_decode_msg(&instapi_get_csr_response_type, jresp, INSTAPI_M_GET_CSR, resp, &msg);
	json_decref(jresp);
	if (rc < 0) {
		snprintf(err, errsz, "%s", msg ? msg : strerror(-rc));
		free(msg);
	}
	return rc;
}

/* Dials the installer and asks for its request, with back-off (50 ms, times 4, at most
 * 5 s) until the deadline: the installer opens its port and reaches step "enrol" a
 * while after its DHCP. */
static int dial_and_request(struct tls_client *tls, const char *addr, int64_t deadline_ms,
			    struct srpc_client **cl, struct instapi_get_csr_response *resp,
			    char *err, size_t errsz)
{
	struct srpc_client_config cfg = {
	    .tls = tls, .connect_timeout_ms = 5000, .call_timeout_ms = 30000};
	int64_t backoff = 50;
	bool said = false;
	int rc;

	for (;;) {
		rc = srpc_client_dial(addr, &cfg, cl, err, errsz);
		if (rc == 0) {
			rc = get_request(*cl, resp, err, errsz);
			if (rc == 0)
				return 0;
			srpc_client_close(*cl);
			*cl = NULL;
		}
		if (rc == -ENOMEM || rc == -EREMOTEIO || now_ms() + backoff > deadline_ms)
			return rc;
		if (!said) {
			hc_progress("waiting for the installer on %s", addr);
			said = true;
		}
		sleep_ms(backoff);
		backoff = backoff * 4 > 5000 ? 5000 : backoff * 4;
	}
}

/* The three checks of the request (docs/enrolment.md): the Mac, the TLS key, the name.
 * The SANs are checked by enrol_sign_csr. 0 or 1 (printed). */
static int check_request(const char *doing, const char *addr, const char *token, SSL *ssl,
			 const char *hostname, const struct instapi_get_csr_response *r,
			 X509_REQ **csr)
{
	X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;

	if (enrol_csr_from_pem(api_str(r->csr), csr) < 0)
		return hc_fail(doing, "the installer's reply holds no certificate request");
	if (enrol_mac_check_csr(token, *csr, api_str(r->mac)) < 0)
		return hc_fail(doing,
			       "the Mac of the certificate request is wrong: %s is not this "
			       "machine's installer, or it does not have this boot's enrol-token",
			       addr);
	if (!peer || !enrol_csr_key_matches(*csr, X509_get0_pubkey(peer)))
		return hc_fail(doing,
			       "the certificate request is not for the key of the installer's TLS "
			       "server: somebody else answers on %s",
			       addr);
	if (strcmp(api_str(r->hostname), hostname) != 0)
		return hc_fail(doing, "the installer says it is \"%s\", expected \"%s\"",
			       api_str(r->hostname), hostname);
	return 0;
}

static int sign_and_send(const char *doing, const struct hc_signer *s, struct srpc_client *cl,
			 const char *token, X509_REQ *csr, const struct enrol_sign_params *p)
{
	struct instapi_set_certs_request req = {0};
	struct instapi_set_certs_response resp = {0};
	char mac[ENROL_MAC_HEX + 1], err[512], *pem = NULL;
	X509 *cert = NULL;
	int rc;

	if (enrol_sign_csr(csr, s->cert, s->key, p, &cert, err, sizeof(err)) < 0)
		return hc_fail(doing, "refusing the installer's certificate request: %s", err);
	if (enrol_cert_pem(cert, &pem) < 0 || enrol_mac_cert(token, cert, mac) < 0) {
		X509_free(cert);
		free(pem);
		return hc_fail(doing, "encoding the certificate failed");
	}
	req.certificate = pem;
	req.ca = s->ca_pem;
	req.identity_ca = s->idca_pem;
	req.mac = mac;
	rc = hc_call(cl, doing, INSTAPI_M_SET_CERTS, &instapi_set_certs_request_type, &req,
		     &instapi_set_certs_response_type, &resp);
	api_clear(&instapi_set_certs_response_type, &resp);
	free(pem);
	X509_free(cert);
	return rc;
}

int hc_enrol(struct hc *h, const char *doing, const struct hc_signer *s,
	     const struct fmapi_get_machine_info_response *mi, struct in_addr ip, const char *token,
	     int64_t timeout_ns)
{
	struct tls_client_config tcfg = {.cert_dir = h->o.cert_directory, .insecure = true};
	struct instapi_get_csr_response resp = {0};
	char addr[64], ipt[INET_ADDRSTRLEN], err[1024];
	char txt[HC_ENROL_MAX_IPS][INET_ADDRSTRLEN];
	const char *ips[HC_ENROL_MAX_IPS];
	struct enrol_sign_params p = {.hostname = api_str(mi->machine.net.hostname),
				      .days = s->days};
	struct srpc_client *cl = NULL;
	struct tls_client *tls = NULL;
	X509_REQ *csr = NULL;
	int rc = 1;

	p.ips = ips;
	p.n_ips = machine_ips(mi, txt, ips, HC_ENROL_MAX_IPS);
	inet_ntop(AF_INET, &ip, ipt, sizeof(ipt));
	snprintf(addr, sizeof(addr), "%s:%d", ipt, h->o.installer_port);
	/* The installer's port presents a self-signed certificate for the key it made at
	 * start: it cannot be verified against a CA. What proves that this is the machine's
	 * installer is the Mac with the token and that the request is for the key of this
	 * very TLS session (check_request). The client certificate is the operator's. */
	if (tls_client_new(&tcfg, &tls, err, sizeof(err)) < 0)
		return hc_fail(doing, "loading credentials: %s", err);
	hc_progress("enrolling %s (%s)", p.hostname, addr);
	if (dial_and_request(tls, addr, now_ms() + timeout_ns / NS_PER_MS, &cl, &resp, err,
			     sizeof(err)) < 0) {
		hc_fail(doing, "enrolling %s: %s", p.hostname, err);
		goto out;
	}
	if (check_request(doing, addr, token, srpc_client_conn(cl)->ssl, p.hostname, &resp, &csr))
		goto out;
	rc = sign_and_send(doing, s, cl, token, csr, &p);
	if (rc == 0)
		hc_progress("certificate sent to %s (valid %u days)", p.hostname, s->days);
out:
	api_clear(&instapi_get_csr_response_type, &resp);
	X509_REQ_free(csr);
	srpc_client_close(cl);
	tls_client_free(tls);
	return rc;
}
