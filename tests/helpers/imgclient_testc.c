/* imgclient-testc: drives lib/image/client.c against a real image server, one
 * sub-command per client function, for tests/integration/imageserver.sh.
 *   mkdir DIR [all] | checkdir DIR | listdirs | listimages | find DIR [ignore-expiring]
 *   check NAME | get NAME [nofs] [TIMEOUT_MS] | addimage NAME FILE.json | delete NAME
 *   expiration NAME | setexpiration NAME RFC3339 | resolve STREAM_OR_NAME
 *   checkobjects HEX... | addobjects FILE... | getobjects STOREDIR HEX...
 * Prints what the call returned; a failure prints "error: <text>" and exits 1. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "image/client.h"
#include "json.h"

static struct srpc_client *cl;

static int fail(int rc, const char *text)
{
	fprintf(stderr, "error: %s\n", text != NULL && text[0] ? text : strerror(-rc));
	return 1;
}

static int print_name(const char *name, void *arg)
{
	(void)arg;
	printf("%s\n", name);
	return 0;
}

static int parse_hashes(char *const *hex, size_t n, struct image_hash *out)
{
	for (size_t i = 0; i < n; i++)
		if (image_hash_parse(hex[i], &out[i]) < 0) {
			fprintf(stderr, "error: bad hash %s\n", hex[i]);
			return -EINVAL;
		}
	return 0;
}

static int hash_file(const char *path, struct image_hash *h, uint64_t *size)
{
	struct image_hasher *hs = image_hasher_new();
	char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL || hs == NULL) {
		if (f != NULL)
			fclose(f);
		image_hasher_free(hs);
		return -errno;
	}
	*size = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		image_hasher_update(hs, buf, n);
		*size += n;
	}
	fclose(f);
	image_hasher_final(hs, h);
	image_hasher_free(hs);
	return 0;
}

static int cmd_objects(const char *cmd, int n, char *const *args)
{
	char err[1024] = "", hex[IMAGE_HASH_HEXLEN + 1];
	struct image_hash *hs = calloc((size_t)n + 1, sizeof(*hs));
	uint64_t *sizes = calloc((size_t)n + 1, sizeof(*sizes));
	struct objstore *st = NULL;
	int rc = 0;

	if (hs == NULL || sizes == NULL)
		return 1;
	if (strcmp(cmd, "checkobjects") == 0) {
		if ((rc = parse_hashes(args, (size_t)n, hs)) == 0 &&
		    (rc = imgclient_check_objects(cl, hs, (size_t)n, sizes)) < 0)
			snprintf(err, sizeof(err), "%s", srpc_client_error(cl));
		for (int i = 0; rc == 0 && i < n; i++)
			printf("%llu\n", (unsigned long long)sizes[i]);
	} else if (strcmp(cmd, "addobjects") == 0) {
		for (int i = 0; rc == 0 && i < n; i++)
			rc = hash_file(args[i], &hs[i], &sizes[i]);
		if (rc == 0)
			rc = imgclient_add_objects(cl, hs, sizes, args, (size_t)n, NULL, NULL, err,
						   sizeof(err));
		for (int i = 0; rc == 0 && i < n; i++) {
			image_hash_hex(&hs[i], hex);
			printf("%s\n", hex);
		}
	} else if (n >= 1 && (rc = objstore_open(args[0], &st, err, sizeof(err))) == 0 &&
		   (rc = parse_hashes(args + 1, (size_t)n - 1, hs)) == 0) {
		rc = imgclient_get_objects(cl, hs, (size_t)n - 1, st, NULL, NULL, err, sizeof(err));
		if (rc == 0)
			printf("fetched %d\n", n - 1);
	}
	objstore_close(st);
	free(hs);
	free(sizes);
	return rc < 0 ? fail(rc, err) : 0;
}

static int cmd_image(const char *cmd, int n, char *const *a)
{
	bool b = false;
	char *name = NULL, err[1024] = "";
	struct timespec at;
	struct image img;
	int rc = -EINVAL;

	if (strcmp(cmd, "mkdir") == 0 && n >= 1)
		rc = imgclient_make_directory(cl, a[0], n > 1);
	else if (strcmp(cmd, "checkdir") == 0 && n == 1) {
		if ((rc = imgclient_check_directory(cl, a[0], &b)) == 0)
			printf("%s\n", b ? "true" : "false");
	} else if (strcmp(cmd, "check") == 0 && n == 1) {
		if ((rc = imgclient_check_image(cl, a[0], &b)) == 0)
			printf("%s\n", b ? "true" : "false");
	} else if (strcmp(cmd, "listdirs") == 0) {
		rc = imgclient_list_directories(cl, print_name, NULL);
	} else if (strcmp(cmd, "listimages") == 0) {
		rc = imgclient_list_images(cl, print_name, NULL);
	} else if (strcmp(cmd, "find") == 0 && n >= 1) {
		if ((rc = imgclient_find_latest(cl, a[0], n > 1, &name)) == 0)
			printf("[%s]\n", name);
	} else if (strcmp(cmd, "resolve") == 0 && n == 1) {
		if ((rc = imgclient_resolve(cl, a[0], &name, err, sizeof(err))) == 0)
			printf("%s\n", name);
		else
			return fail(rc, err);
	} else if (strcmp(cmd, "get") == 0 && n >= 1) {
		rc = imgclient_get_image(cl, a[0], n > 1 && strcmp(a[1], "nofs") == 0,
					 n > 2 ? atoi(a[2]) : 0, &img);
		if (rc == 0) {
			json_t *j = image_to_json(&img, true);
			char *s = j != NULL ? sjson_dumps(j, 0) : NULL;

			printf("%s\n", s != NULL ? s : "?");
			free(s);
			json_decref(j);
			image_free(&img);
		}
	} else if (strcmp(cmd, "addimage") == 0 && n == 2) {
		json_t *j = NULL;
		char *jerr = NULL;

		rc = sjson_load_file(a[1], 0, &j, &jerr);
		if (rc < 0)
			return fail(rc, jerr);
		rc = image_from_json(j, &img, err, sizeof(err));
		json_decref(j);
		if (rc < 0)
			return fail(rc, err);
		rc = imgclient_add_image(cl, a[0], &img);
		image_free(&img);
	} else if (strcmp(cmd, "delete") == 0 && n == 1) {
		rc = imgclient_delete_image(cl, a[0]);
	} else if (strcmp(cmd, "expiration") == 0 && n == 1) {
		char buf[64];

		if ((rc = imgclient_get_expiration(cl, a[0], &at)) == 0)
			printf("%s\n", sjson_format_time(&at, buf, sizeof(buf)));
	} else if (strcmp(cmd, "setexpiration") == 0 && n == 2) {
		if (sjson_parse_time(a[1], &at) < 0)
			return fail(-EINVAL, "bad time");
		rc = imgclient_change_expiration(cl, a[0], &at);
	} else {
		fprintf(stderr, "imgclient-testc: unknown command or arguments: %s\n", cmd);
		return 2;
	}
	free(name);
	return rc < 0 ? fail(rc, srpc_client_error(cl)) : 0;
}

int main(int argc, char **argv)
{
	const char *addr, *cert, *key, *ca, *cmd;
	struct flags *fs =
	    flags_new("imgclient-testc", "imgclient-testc [flags] COMMAND ARGS...\n");
	struct tls_client_config tcfg = {0};
	struct srpc_client_config ccfg = {0};
	struct tls_client *tls = NULL;
	char err[512];
	int rc;

	flags_string(fs, "addr", &addr, "127.0.0.1:6971", "Server host:port");
	flags_string(fs, "certFile", &cert, "", "Client certificate");
	flags_string(fs, "keyFile", &key, "", "Client key");
	flags_string(fs, "CAfile", &ca, "", "CA bundle to verify the server with");
	flags_parse_or_exit(fs, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	cmd = flags_arg(fs, 0);
	if (cmd == NULL) {
		flags_print_usage(fs, stderr);
		flags_free(fs);
		return 2;
	}
	tcfg.cert_file = cert[0] ? cert : NULL;
	tcfg.key_file = key[0] ? key : NULL;
	tcfg.ca_file = ca[0] ? ca : NULL;
	if (tls_client_new(&tcfg, &tls, err, sizeof(err)) < 0 ||
	    (ccfg.tls = tls, srpc_client_dial(addr, &ccfg, &cl, err, sizeof(err)) < 0)) {
		fprintf(stderr, "error: %s\n", err);
		tls_client_free(tls);
		flags_free(fs);
		return 1;
	}
	if (strstr(cmd, "objects") != NULL)
		rc = cmd_objects(cmd, flags_nargs(fs) - 1, flags_args(fs) + 1);
	else
		rc = cmd_image(cmd, flags_nargs(fs) - 1, flags_args(fs) + 1);
	srpc_client_close(cl);
	tls_client_free(tls);
	flags_free(fs);
	return rc;
}
