/* Unit tests of the metadata request handler: path table, listings, epoch time,
 * file-backed paths, AWS-style tree, 404s and request hygiene checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/hypervisor/metadata/metadata_handler.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char vm_json[] =
    "{\"Address\": {\"IpAddress\": \"10.0.0.5\", \"MacAddress\": \"52:54:00:aa:bb:cc\"},"
    " \"CreatedOn\": \"2024-05-01T09:59:50Z\", \"Hostname\": \"web1\","
    " \"MemoryInMiB\": 1024, \"MilliCPUs\": 2000, \"State\": \"running\","
    " \"SubnetId\": \"prod\","
    " \"SecondaryAddresses\": [{\"IpAddress\": \"10.1.0.7\", \"MacAddress\": "
    "\"52:54:00:00:00:02\"}],"
    " \"SecondarySubnetIDs\": [\"back\"],"
    " \"Tags\": {\"Name\": \"frontend\", \"bad/key\": \"x\", \"Role\": \"web\"},"
    " \"VolumeLocations\": [{\"Filename\": \"/data/10.0.0.5/root\"}]}";

struct fixture {
	char dir[64];
	struct metadata_vm vm;
	struct timespec now;
};

static void write_file(const char *dir, const char *name, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ss-mdunit-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	write_file(fx->dir, "user-data.raw", "#cloud-config\nhostname: web1\n");
	write_file(fx->dir, "identity.key", "RSA KEY\n");
	write_file(fx->dir, "identity.cert", "RSA CERT\n");
	write_file(fx->dir, "identity-Ed25519.X509-key", "ED KEY\n");
	inet_pton(AF_INET, "10.0.0.5", &fx->vm.ip);
	fx->vm.info_json = strdup(vm_json);
	fx->vm.dir = strdup(fx->dir);
	fx->now.tv_sec = 1700000000;
	fx->now.tv_nsec = 5;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	const char *files[] = {"user-data.raw", "identity.key", "identity.cert",
			       "identity-Ed25519.X509-key"};
	char path[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, files[i]);
		unlink(path);
	}
	rmdir(fx->dir);
	metadata_vm_clear(&fx->vm);
	free(fx);
	return 0;
}

/* GETs path and returns the body as a new string (file bodies read in), status out. */
static char *get(struct fixture *fx, const struct metadata_vm *vm, const char *path,
		 unsigned int *status)
{
	struct metadata_response r;
	char *body;
	int rc = metadata_handle(path, vm, &fx->now, &r);

	assert_int_equal(rc, 0);
	*status = r.status;
	if (r.fd >= 0) {
		body = calloc(1, r.fd_size + 1);
		assert_non_null(body);
		assert_int_equal(read(r.fd, body, r.fd_size), (ssize_t)r.fd_size);
	} else {
		body = calloc(1, r.body_len + 1);
		assert_non_null(body);
		if (r.body_len)
			memcpy(body, r.body, r.body_len);
	}
	metadata_response_clear(&r);
	return body;
}

static void expect(struct fixture *fx, const char *path, unsigned int status, const char *body)
{
	unsigned int st;
	char *b = get(fx, &fx->vm, path, &st);

	assert_int_equal(st, status);
	assert_string_equal(b, body);
	free(b);
}

static void test_fixed_paths(void **state)
{
	struct fixture *fx = *state;

	expect(fx, "/datasource/SmallStack", 200, "true\n");
	expect(fx, "/latest/is-externally-patchable", 200, "true\n");
}

static void test_epoch_time_format(void **state)
{
	struct fixture *fx = *state;
	unsigned int st;
	regex_t re;
	char *b;

	expect(fx, "/latest/dynamic/epoch-time", 200, "1700000000.000000005\n");
	fx->now.tv_nsec = 999999999;
	expect(fx, "/latest/dynamic/epoch-time", 200, "1700000000.999999999\n");
	clock_gettime(CLOCK_REALTIME, &fx->now);
	b = get(fx, &fx->vm, "/latest/dynamic/epoch-time", &st);
	assert_int_equal(regcomp(&re, "^[0-9]{10,}\\.[0-9]{9}\n$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, b, 0, NULL, 0), 0);
	regfree(&re);
	free(b);
}

static void test_document_is_indented_vminfo(void **state)
{
	struct fixture *fx = *state;
	unsigned int st;
	char *b = get(fx, &fx->vm, "/latest/dynamic/instance-identity/document", &st);

	assert_int_equal(st, 200);
	assert_true(strncmp(b, "{\n    \"Address\": {\n        \"IpAddress\": \"10.0.0.5\"", 49) ==
		    0);
	assert_non_null(strstr(b, "\n    \"Hostname\": \"web1\",\n"));
	/* host paths of LocalVmInfo are not shown to the VM */
	assert_null(strstr(b, "VolumeLocations"));
	assert_null(strstr(b, "/data/"));
	assert_string_equal(b + strlen(b) - 2, "}\n");
	free(b);
}

static void test_file_paths(void **state)
{
	struct fixture *fx = *state;
	const char *ident = "/latest/dynamic/instance-identity/";
	char path[128];

	expect(fx, "/latest/user-data", 200, "#cloud-config\nhostname: web1\n");
	snprintf(path, sizeof(path), "%sX.509-key", ident);
	expect(fx, path, 200, "RSA KEY\n");
	snprintf(path, sizeof(path), "%sRSA-X.509-key", ident);
	expect(fx, path, 200, "RSA KEY\n");
	snprintf(path, sizeof(path), "%sRSA-SSH-key", ident);
	expect(fx, path, 200, "RSA KEY\n");
	snprintf(path, sizeof(path), "%sRSA-X.509-certificate", ident);
	expect(fx, path, 200, "RSA CERT\n");
	snprintf(path, sizeof(path), "%sEd25519-X.509-key", ident);
	expect(fx, path, 200, "ED KEY\n");
	/* listed, but the file does not exist */
	snprintf(path, sizeof(path), "%sEd25519-SSH-certificate", ident);
	expect(fx, path, 404, "");
}

static void test_missing_user_data_is_404(void **state)
{
	struct fixture *fx = *state;
	char path[256];

	snprintf(path, sizeof(path), "%s/user-data.raw", fx->dir);
	assert_int_equal(unlink(path), 0);
	expect(fx, "/latest/user-data", 404, "");
	/* a directory in place of the file is not served either */
	assert_int_equal(mkdir(path, 0700), 0);
	expect(fx, "/latest/user-data", 404, "");
	assert_int_equal(rmdir(path), 0);
	write_file(fx->dir, "user-data.raw", "again\n");
	expect(fx, "/latest/user-data", 200, "again\n");
}

static void test_listings(void **state)
{
	struct fixture *fx = *state;

	expect(fx, "/", 200, "datasource\nlatest\n");
	expect(fx, "/latest/", 200, "dynamic\nis-externally-patchable\nmeta-data\nuser-data\n");
	expect(fx, "/latest", 200, "dynamic\nis-externally-patchable\nmeta-data\nuser-data\n");
	expect(fx, "/datasource/", 200, "SmallStack\n");
	expect(fx, "/latest/dynamic/", 200, "epoch-time\ninstance-identity\n");
	expect(fx, "/latest/dynamic/instance-identity/", 200,
	       "Ed25519-SSH-certificate\nEd25519-SSH-key\nEd25519-X.509-certificate\n"
	       "Ed25519-X.509-key\nRSA-SSH-certificate\nRSA-SSH-key\nRSA-X.509-certificate\n"
	       "RSA-X.509-key\nX.509-certificate\nX.509-key\ndocument\n");
}

static void test_listing_star(void **state)
{
	struct fixture *fx = *state;
	unsigned int st;
	char *b = get(fx, &fx->vm, "/*", &st);

	assert_int_equal(st, 200);
	assert_true(strncmp(b, "datasource/SmallStack\nlatest/dynamic/epoch-time\n", 48) == 0);
	assert_non_null(strstr(b, "\nlatest/user-data\n"));
	assert_non_null(strstr(b, "\nlatest/meta-data/local-ipv4\n"));
	assert_null(strstr(b, "\n/"));
	free(b);
}

static void test_meta_data_tree(void **state)
{
	struct fixture *fx = *state;
	const char *mac = "/latest/meta-data/network/interfaces/macs/52:54:00:aa:bb:cc/";
	char path[128];

	expect(fx, "/latest/meta-data/", 200,
	       "hostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nnetwork/\n"
	       "tags/\n");
	expect(fx, "/latest/meta-data/network/interfaces/macs/", 200,
	       "52:54:00:00:00:02/\n52:54:00:aa:bb:cc/\n");
	expect(fx, mac, 200, "device-number\nlocal-ipv4s\nmac\nsubnet-id\n");
	snprintf(path, sizeof(path), "%slocal-ipv4s", mac);
	expect(fx, path, 200, "10.0.0.5");
	snprintf(path, sizeof(path), "%ssubnet-id", mac);
	expect(fx, path, 200, "prod");
	expect(fx, "/latest/meta-data/network/interfaces/macs/52:54:00:00:00:02/device-number", 200,
	       "1");
	expect(fx, "/latest/meta-data/network/interfaces/macs/52:54:00:00:00:02/subnet-id", 200,
	       "back");
	expect(fx, "/latest/meta-data/local-ipv4", 200, "10.0.0.5");
	expect(fx, "/latest/meta-data/mac", 200, "52:54:00:aa:bb:cc");
	expect(fx, "/latest/meta-data/hostname", 200, "web1");
	expect(fx, "/latest/meta-data/local-hostname", 200, "web1");
	expect(fx, "/latest/meta-data/instance-type", 200, "ss.2000m.1024mib");
	/* tags: a key with '/' cannot make paths of its own */
	expect(fx, "/latest/meta-data/tags/instance/", 200, "Name\nRole\n");
	expect(fx, "/latest/meta-data/tags/instance/Name", 200, "frontend");
	expect(fx, "/latest/meta-data/tags/instance/bad/key", 404, "");
}

static void test_instance_id(void **state)
{
	struct fixture *fx = *state;
	unsigned int st;
	char *a, *b, *json;
	regex_t re;

	a = get(fx, &fx->vm, "/latest/meta-data/instance-id", &st);
	assert_int_equal(st, 200);
	assert_int_equal(regcomp(&re, "^i-[0-9a-f]{16}$", REG_EXTENDED), 0);
	assert_int_equal(regexec(&re, a, 0, NULL, 0), 0);
	regfree(&re);
	b = get(fx, &fx->vm, "/latest/meta-data/instance-id", &st);
	assert_string_equal(a, b); /* stable */
	free(b);
	/* a new VM on the same address is a new instance */
	json = strdup(vm_json);
	memcpy(strstr(json, "2024-05-01"), "2025", 4);
	free(fx->vm.info_json);
	fx->vm.info_json = json;
	b = get(fx, &fx->vm, "/latest/meta-data/instance-id", &st);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void test_hostname_fallback(void **state)
{
	struct fixture *fx = *state;

	free(fx->vm.info_json);
	fx->vm.info_json = strdup("{\"Address\": {\"IpAddress\": \"10.0.0.5\"}, \"State\": "
				  "\"running\"}");
	expect(fx, "/latest/meta-data/hostname", 200, "ip-10-0-0-5");
	expect(fx, "/latest/meta-data/mac", 404, "");
	expect(fx, "/latest/meta-data/", 200,
	       "hostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\n");
}

static void test_not_found(void **state)
{
	struct fixture *fx = *state;
	unsigned int st;
	char *b;

	expect(fx, "/nope", 404, "");
	expect(fx, "/latest/user-data/", 404, "");
	expect(fx, "/latest/meta-data/ami-id", 404, "");
	expect(fx, "latest/user-data", 404, "");
	expect(fx, "", 404, "");
	/* an unknown caller gets nothing, not even listings */
	b = get(fx, NULL, "/", &st);
	assert_int_equal(st, 404);
	assert_string_equal(b, "");
	free(b);
	b = get(fx, NULL, "/latest/dynamic/instance-identity/document", &st);
	assert_int_equal(st, 404);
	free(b);
}

static void test_bad_info_json(void **state)
{
	struct fixture *fx = *state;
	struct metadata_response r;

	free(fx->vm.info_json);
	fx->vm.info_json = strdup("{not json");
	assert_int_equal(metadata_handle("/", &fx->vm, &fx->now, &r), -EINVAL);
	assert_int_equal(r.status, 500);
	assert_null(r.body);
	assert_int_equal(r.fd, -1);
	metadata_response_clear(&r);
}

static void test_proxy_headers_refused(void **state)
{
	(void)state;
	assert_true(metadata_header_is_proxy("X-Forwarded-For"));
	assert_true(metadata_header_is_proxy("x-forwarded-for"));
	assert_true(metadata_header_is_proxy("Forwarded"));
	assert_true(metadata_header_is_proxy("VIA"));
	assert_true(metadata_header_is_proxy("X-Real-IP"));
	assert_false(metadata_header_is_proxy("Host"));
	assert_false(metadata_header_is_proxy("User-Agent"));
	assert_false(metadata_header_is_proxy("X-Forwarded"));
}

static void test_host_header(void **state)
{
	(void)state;
	assert_true(metadata_host_is_allowed(NULL));
	assert_true(metadata_host_is_allowed("169.254.169.254"));
	assert_true(metadata_host_is_allowed("169.254.169.254:80"));
	assert_false(metadata_host_is_allowed("evil.example"));
	assert_false(metadata_host_is_allowed("169.254.169.254.nip.io"));
	assert_false(metadata_host_is_allowed("169.254.169.254:8080"));
	assert_false(metadata_host_is_allowed(""));
}

/* Issue 17: "/latest/user-data%00.txt" was served as the user data. */
static void test_url_unescape(void **state)
{
	char a[] = "/latest/user-data%00.txt", b[] = "/a%2Fb%41%zz%4", c[] = "/x%0a%7F%7e",
	     d[] = "%", e[] = "/plain";

	(void)state;
	assert_int_equal(metadata_url_unescape(a), 22);
	assert_string_equal(a, "/latest/user-data\x1a.txt");
	assert_int_equal(metadata_url_unescape(b), 10);
	assert_string_equal(b, "/a/bA%zz%4"); /* bad escapes kept, as libmicrohttpd does */
	assert_int_equal(metadata_url_unescape(c), 5);
	assert_string_equal(c, "/x\n\x7f~");
	assert_int_equal(metadata_url_unescape(d), 1);
	assert_string_equal(d, "%");
	assert_int_equal(metadata_url_unescape(e), 6);
	assert_string_equal(e, "/plain");
}

static void test_request_check(void **state)
{
	char nul[] = "/latest/user-data%00.txt", lf[] = "/latest/user-data%0a";
	struct metadata_request ok = {
	    .method = "GET", .path = "/latest/user-data", .nhost = 1, .host = "169.254.169.254"};
	struct metadata_request rq;

	(void)state;
	assert_int_equal(metadata_request_check(&ok), 0);
	rq = ok;
	rq.method = "HEAD";
	assert_int_equal(metadata_request_check(&rq), 0);
	rq = ok;
	rq.nhost = 0;
	rq.host = NULL;
	assert_int_equal(metadata_request_check(&rq), 0); /* HTTP/1.0 */
	rq = ok;
	metadata_url_unescape(nul);
	rq.path = nul;
	assert_int_equal(metadata_request_check(&rq), 400);
	metadata_url_unescape(lf);
	rq.path = lf;
	assert_int_equal(metadata_request_check(&rq), 400);
	rq.path = "/latest/user-data\t";
	assert_int_equal(metadata_request_check(&rq), 400);
	rq = ok;
	rq.nhost = 2; /* the first one allowed, a second one anything */
	assert_int_equal(metadata_request_check(&rq), 400);
	rq = ok;
	rq.method = "POST";
	assert_int_equal(metadata_request_check(&rq), 405);
	rq = ok;
	rq.proxy = true;
	assert_int_equal(metadata_request_check(&rq), 403);
	rq = ok;
	rq.host = "evil.example";
	assert_int_equal(metadata_request_check(&rq), 403);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fixed_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_epoch_time_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_document_is_indented_vminfo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_user_data_is_404, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listing_star, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_meta_data_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_instance_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostname_fallback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_info_json, setup, teardown),
	    cmocka_unit_test(test_proxy_headers_refused),
	    cmocka_unit_test(test_host_header),
	    cmocka_unit_test(test_url_unescape),
	    cmocka_unit_test(test_request_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
