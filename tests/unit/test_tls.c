/* Unit tests of lib/tls: Go path.Match globbing of grants, grant/group extraction from
 * certificates made now with the openssl command (tests/lib/srpc.sh), CA.pem vs
 * IdentityCA.pem trust through a real in-process handshake, client cert loading. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/pem.h>

#include "srpc_conn.h"
#include "tls.h"

static char dir[256];

/* Runs the certificate helpers of tests/lib/srpc.sh in dir. */
static void sh(const char *script)
{
	const char *top = getenv("SS_TOP") != NULL ? getenv("SS_TOP") : ".";
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "cd '%s' && bash -c '. \"%s/tests/lib/srpc.sh\" && %s'", dir,
		 top, script);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", script);
}

static char *path(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static X509 *load(const char *name)
{
	FILE *f = fopen(path(name), "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ss%d-tlsunit-XXXXXX", (int)(getpid() % 100000));
	if (mkdtemp(dir) == NULL)
		return -1;
	sh("srpc_ca . CA && srpc_ca . IdentityCA && srpc_ca . OtherCA && "
	   "srpc_cert . server CA srv san=DNS:localhost,IP:127.0.0.1 && "
	   "srpc_cert . admin CA alice grants=Hypervisor.*,Test.Echo groups=ops,dev && "
	   "srpc_cert . ident IdentityCA bob grants=*.* groups=staff && "
	   "srpc_cert . nodot CA eve grants=Test.Echo,NoDot && "
	   "srpc_cert . twodots CA eve grants=a.b.c && "
	   "srpc_cert . printable CA p grants=A.B type=PRINTABLE && "
	   "srpc_cert . ia5 CA p grants=A.B,C.* type=IA5 && "
	   "srpc_cert . t61 CA p grants=A.B type=T61 && "
	   "srpc_cert . bmp CA p grants=A.B type=BMP && "
	   "srpc_cert . utf8 CA p grants=Säge.Blatt type=FORMAT:UTF8,UTF8 && "
	   "srpc_cert . integer CA p grants=5 type=INT && "
	   "srpc_cert . nogrants CA nobody && "
	   "srpc_cert . long CA l grants=*.* start=20200101000000Z end=20990101000000Z && "
	   "srpc_cert . expired CA x start=20200101000000Z end=20200102000000Z && "
	   "srpc_cert . stranger OtherCA mallory grants=*.*");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- globbing: Go path.Match semantics ---- */

static void test_glob(void **state)
{
	static const struct {
		const char *pattern, *name;
		bool match;
	} cases[] = {
	    {"*.*", "Hypervisor.GetCapacity", true},
	    {"*.*", ".LocalUpgradeToUnix", true},
	    {"Hypervisor.*", "Hypervisor.GetCapacity", true},
	    {"Hypervisor.*", "Hypervisor.", true},
	    {"Hypervisor.*", "HypervisorX.Get", false},
	    {"Hypervisor.Get*", "Hypervisor.GetVmInfo", true},
	    {"Hypervisor.Get*", "Hypervisor.ListVMs", false},
	    {"*.GetVmInfo", "Hypervisor.GetVmInfo", true},
	    {"*Vm*", "Hypervisor.GetVmInfo", true},
	    {"Hypervisor.GetVmInfo", "Hypervisor.GetVmInfo", true},
	    {"Hypervisor.GetVmInfo", "Hypervisor.GetVmInfos", false},
	    {"Hypervisor.GetVmInfo?", "Hypervisor.GetVmInfos", true},
	    {"Hypervisor.GetVmInfo?", "Hypervisor.GetVmInfo", false},
	    {"Hyper?isor.*", "Hypervisor.X", true},
	    {"[HV]*.*", "VmControl.X", true},
	    {"[HV]*.*", "Other.X", false},
	    {"[^H]*.*", "Hypervisor.X", false},
	    {"[^H]*.*", "Other.X", true},
	    {"[!H]*.*", "!x.y", true}, /* '!' is not negation in Go */
	    {"[!H]*.*", "Other.X", false},
	    {"[a-c]x.y", "bx.y", true},
	    {"[a-c]x.y", "dx.y", false},
	    {"a\\*b.c", "a*b.c", true},
	    {"a\\*b.c", "axb.c", false},
	    {"a\\.b", "a.b", true},
	    {"[\\]]x.y", "]x.y", true},
	    {"*", "a/b", false}, /* '*' never matches '/' */
	    {"a?b", "a/b", false},
	    {"*x", "yyyx", true},
	    {"a*b*c.d", "aXbYc.d", true},
	    {"a*b*c.d", "aXbYc.e", false},
	    {"", "", true},
	    {"", "a", false},
	    {"*", "", true},
	    {"a[", "a[", false}, /* malformed patterns never match */
	    {"a[b", "ab", false},
	    {"[]a.b", "]a.b", false},
	    {"a\\", "a\\", false},
	    {"[a-]x", "ax", false},
	    {"ä.?", "ä.ö", true}, /* '?' is one UTF-8 character */
	    {"[ä-ü].x", "ö.x", true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (tls_glob_match(cases[i].pattern, cases[i].name) != cases[i].match)
			fail_msg("glob %zu: \"%s\" vs \"%s\": want %s", i, cases[i].pattern,
				 cases[i].name, cases[i].match ? "match" : "no match");
	}
}

/* ---- extension strings ---- */

static void expect_strings(const char *cert, const char *a, const char *b)
{
	X509 *x = load(cert);
	char **v;
	int n = tls_cert_strings(x, TLS_OID_METHODS, &v);

	assert_int_equal(n, b != NULL ? 2 : 1);
	assert_string_equal(v[0], a);
	if (b != NULL)
		assert_string_equal(v[1], b);
	assert_null(v[n]);
	tls_strv_free(v);
	X509_free(x);
}

static void test_string_types(void **state)
{
	X509 *x;
	char **v;

	(void)state;
	expect_strings("admin.cert", "Hypervisor.*", "Test.Echo");
	expect_strings("printable.cert", "A.B", NULL);
	expect_strings("ia5.cert", "A.B", "C.*");
	expect_strings("t61.cert", "A.B", NULL);
	expect_strings("bmp.cert", "A.B", NULL);
	expect_strings("utf8.cert", "Säge.Blatt", NULL);

	x = load("integer.cert");
	assert_int_equal(tls_cert_strings(x, TLS_OID_METHODS, &v), -EBADMSG);
	X509_free(x);
	x = load("nogrants.cert");
	assert_int_equal(tls_cert_strings(x, TLS_OID_METHODS, &v), 0);
	assert_null(v);
	X509_free(x);
}

/* ---- identity from a chain ---- */

static int identity_of(const char *leaf, const char *ca, bool trust, struct tls_identity *id,
		       char *err, size_t errsz)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	int rc;

	sk_X509_push(chain, load(leaf));
	if (ca != NULL)
		sk_X509_push(chain, load(ca));
	rc = tls_identity_from_chain(chain, trust, id, err, errsz);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/* A CommonName with a NUL byte read as a C string would name another, shorter user
 * ("admin\0x" as "admin"); such a certificate has no identity. */
static void test_identity_cn_nul(void **state)
{
	static const unsigned char cn[] = {'a', 'd', 'm', 'i', 'n', 0, 'x'};
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x = X509_new();
	struct tls_identity id;
	char err[256];

	(void)state;
	assert_non_null(chain);
	assert_non_null(x);
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName,
						    V_ASN1_UTF8STRING, cn, sizeof(cn), -1, 0),
			 1);
	sk_X509_push(chain, x);
	assert_int_equal(tls_identity_from_chain(chain, true, &id, err, sizeof(err)), -EACCES);
	assert_string_equal(err, "certificate common name contains a NUL byte");
	assert_null(id.username);
	sk_X509_pop_free(chain, X509_free);
}

static void test_identity_chain(void **state)
{
	struct tls_identity id;
	char err[256];

	(void)state;
	assert_int_equal(identity_of("admin.cert", "CA.pem", true, &id, err, sizeof(err)), 0);
	assert_string_equal(id.username, "alice");
	assert_int_equal(id.n_groups, 2);
	assert_string_equal(id.groups[1], "dev");
	assert_int_equal(id.n_methods, 2);
	assert_true(tls_identity_grants(&id, "Hypervisor.ListVMs"));
	assert_true(tls_identity_grants(&id, "Test.Echo"));
	assert_false(tls_identity_grants(&id, "Test.Stream"));
	tls_identity_clear(&id);

	/* Untrusted for methods: identity only. */
	assert_int_equal(identity_of("admin.cert", "CA.pem", false, &id, err, sizeof(err)), 0);
	assert_string_equal(id.username, "alice");
	assert_int_equal(id.n_groups, 2);
	assert_int_equal(id.n_methods, 0);
	assert_false(tls_identity_grants(&id, "Test.Echo"));
	tls_identity_clear(&id);

	/* Grants are the union over the chain; groups the first non-empty list. */
	assert_int_equal(identity_of("ia5.cert", "admin.cert", true, &id, err, sizeof(err)), 0);
	assert_string_equal(id.username, "p");
	assert_int_equal(id.n_methods, 4);
	assert_true(tls_identity_grants(&id, "C.D"));
	assert_true(tls_identity_grants(&id, "Hypervisor.X"));
	assert_int_equal(id.n_groups, 2);
	assert_string_equal(id.groups[0], "ops");
	tls_identity_clear(&id);

	/* "Exactly one dot", only when trusted for methods. */
	assert_int_equal(identity_of("nodot.cert", "CA.pem", true, &id, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "bad service method: \"NoDot\""));
	assert_int_equal(identity_of("twodots.cert", "CA.pem", true, &id, err, sizeof(err)),
			 -EACCES);
	assert_int_equal(identity_of("nodot.cert", "CA.pem", false, &id, err, sizeof(err)), 0);
	assert_string_equal(id.username, "eve");
	tls_identity_clear(&id);
	assert_int_equal(identity_of("integer.cert", NULL, true, &id, err, sizeof(err)), -EACCES);
}

/* ---- real handshake: which CA a chain is rooted in decides grant trust ---- */

struct hs_client {
	int fd;
	const char *cert;
	int rc;
};

static void *client_main(void *p)
{
	struct hs_client *hc = p;
	struct tls_client_config cfg = {
	    .cert_file = path(hc->cert), .key_file = NULL, .ca_file = path("CA.pem")};
	char keyp[512], err[256], b;
	struct tls_client *cl;
	SSL *ssl;

	snprintf(keyp, sizeof(keyp), "%s", path(hc->cert));
	memcpy(keyp + strlen(keyp) - 4, "key", 4);
	cfg.key_file = keyp;
	hc->rc = tls_client_new(&cfg, &cl, err, sizeof(err));
	if (hc->rc < 0)
		return NULL;
	ssl = tls_client_ssl_new(cl, "localhost");
	hc->rc = srpc_ssl_handshake(ssl, hc->fd, false, srpc_now_ms() + 10000);
	if (hc->rc == 0)
		SSL_read(ssl, &b, 1); /* until the server closes */
	SSL_free(ssl);
	tls_client_free(cl);
	close(hc->fd);
	return NULL;
}

/* Handshakes a client presenting cert with a server trusting CA.pem (+ IdentityCA.pem if
 * with_id). Returns the server-side result of tls_server_peer_identity. */
static int handshake_identity(const char *cert, bool with_id, struct tls_identity *id)
{
	struct tls_server_config cfg = {path("server.cert"), path("server.key"), path("CA.pem"),
					with_id ? path("IdentityCA.pem") : path("absent.pem")};
	struct hs_client hc = {.cert = cert};
	struct tls_server *srv;
	char err[256];
	pthread_t t;
	int sv[2], rc;
	SSL *ssl;

	memset(id, 0, sizeof(*id));
	assert_int_equal(tls_server_new(&cfg, &srv, err, sizeof(err)), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	hc.fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, client_main, &hc), 0);
	ssl = SSL_new(tls_server_ctx(srv));
	rc = srpc_ssl_handshake(ssl, sv[0], true, srpc_now_ms() + 10000);
	if (rc == 0)
		rc = tls_server_peer_identity(srv, ssl, id, err, sizeof(err));
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(sv[0]);
	pthread_join(t, NULL);
	tls_server_free(srv);
	return rc;
}

static void test_handshake_trust(void **state)
{
	struct tls_identity id;

	(void)state;
	/* Signed by CA.pem: grants count. */
	assert_int_equal(handshake_identity("admin.cert", true, &id), 0);
	assert_string_equal(id.username, "alice");
	assert_true(id.methods_trusted);
	assert_true(tls_identity_grants(&id, "Hypervisor.GetCapacity"));
	tls_identity_clear(&id);

	/* Signed by IdentityCA.pem: identity and groups only, its *.* ignored. */
	assert_int_equal(handshake_identity("ident.cert", true, &id), 0);
	assert_string_equal(id.username, "bob");
	assert_int_equal(id.n_groups, 1);
	assert_string_equal(id.groups[0], "staff");
	assert_false(id.methods_trusted);
	assert_int_equal(id.n_methods, 0);
	assert_false(tls_identity_grants(&id, "Hypervisor.GetCapacity"));
	tls_identity_clear(&id);

	/* No IdentityCA.pem: every accepted certificate is trusted for methods. */
	assert_int_equal(handshake_identity("admin.cert", false, &id), 0);
	assert_true(id.methods_trusted);
	tls_identity_clear(&id);
	/* ... but IdentityCA-signed certificates are no longer accepted at all. */
	assert_true(handshake_identity("ident.cert", false, &id) < 0);

	/* Unknown CA and a grant without a dot are refused. */
	assert_true(handshake_identity("stranger.cert", true, &id) < 0);
	assert_int_equal(handshake_identity("nodot.cert", true, &id), -EACCES);
}

/* ---- client credentials ---- */

static void test_client_dir(void **state)
{
	struct tls_client_config cfg = {.cert_dir = NULL, .insecure = true};
	struct tls_client *cl;
	char err[512], cmd[2048], d[300];
	X509_NAME *n;
	char cn[64];

	(void)state;
	snprintf(d, sizeof(d), "%s/certdir", dir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s && cd %s && cp ../admin.cert a.cert && cp ../admin.key a.key && "
		 "cp ../long.cert cert.pem && cp ../long.key key.pem && cp ../ia5.cert lonely.cert",
		 d, d);
	assert_int_equal(system(cmd), 0);
	cfg.cert_dir = d;
	assert_int_equal(tls_client_new(&cfg, &cl, err, sizeof(err)), 0);
	assert_int_equal(tls_client_ncerts(cl), 2);
	/* Longest remaining lifetime first. */
	n = X509_get_subject_name(tls_client_cert(cl, 0));
	X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "l");
	tls_client_free(cl);

	snprintf(cmd, sizeof(cmd), "cp %s/expired.cert %s/x.cert && cp %s/expired.key %s/x.key",
		 dir, d, dir, d);
	assert_int_equal(system(cmd), 0);
	assert_true(tls_client_new(&cfg, &cl, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "x.cert has expired"));

	cfg.cert_dir = path("no-such-dir");
	assert_true(tls_client_new(&cfg, &cl, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "no-such-dir"));

	/* Verification needs a CA file unless insecure. */
	cfg.cert_dir = NULL;
	cfg.insecure = false;
	assert_int_equal(tls_client_new(&cfg, &cl, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glob),
	    cmocka_unit_test(test_string_types),
	    cmocka_unit_test(test_identity_chain),
	    cmocka_unit_test(test_identity_cn_nul),
	    cmocka_unit_test(test_handshake_trust),
	    cmocka_unit_test(test_client_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
