/* fuzz_tftp: the TFTP server's packet path (daemon/hypervisor/netsvc/tftp/tftp_packet.c,
 * tftp_path.c, netboot_files.c): a request as it arrives on port 69 is parsed, its
 * file name normalised and looked up among a client's netboot files, its options
 * negotiated into an OACK; any datagram also goes through the OACK and transfer-packet
 * parsers (the client side of the bench and tests).
 * The input is one UDP payload (seeds: tftp-hpa, curl and ss-tftpc traffic).
 * Checks beyond the sanitizers: parsed option values are in their RFC ranges; a
 * request rebuilt from what was parsed parses to the same thing; an OACK built from
 * parsed options parses back to them; a normalised name is relative, has no "." or
 * ".." component, no empty component, no backslash or control character, and
 * normalises to itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/hypervisor/netsvc/netboot_files.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_packet.h"
#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"

#define MAX_DATAGRAM 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s\n", what, detail != NULL ? detail : "");
	abort();
}

static void check_opts(const struct tftp_opts *o)
{
	if (o->has_blksize && (o->blksize < TFTP_BLKSIZE_MIN || o->blksize > TFTP_BLKSIZE_MAX))
		fail("blksize out of range", NULL);
	if (o->has_timeout && (o->timeout < 1 || o->timeout > TFTP_TIMEOUT_MAX))
		fail("timeout out of range", NULL);
	if (o->has_windowsize && (o->windowsize < 1 || o->windowsize > TFTP_WINDOW_MAX))
		fail("windowsize out of range", NULL);
}

static bool same_opts(const struct tftp_opts *a, const struct tftp_opts *b)
{
	return a->has_blksize == b->has_blksize && a->has_tsize == b->has_tsize &&
	       a->has_timeout == b->has_timeout && a->has_windowsize == b->has_windowsize &&
	       (!a->has_blksize || a->blksize == b->blksize) &&
	       (!a->has_tsize || a->tsize == b->tsize) &&
	       (!a->has_timeout || a->timeout == b->timeout) &&
	       (!a->has_windowsize || a->windowsize == b->windowsize);
}

static void check_name(const char *in)
{
	char out[TFTP_NAME_MAX + 1], again[TFTP_NAME_MAX + 1], tiny[8];
	const char *p;
	int rc = tftp_path_normalize(in, out, sizeof(out));

	(void)tftp_path_normalize(in, tiny, sizeof(tiny));
	if (rc < 0)
		return;
	if (out[0] == '\0' || out[0] == '/' || strchr(out, '\\') != NULL || strstr(out, "//"))
		fail("normalised name not canonical", out);
	if (out[strlen(out) - 1] == '/')
		fail("normalised name ends with a slash", out);
	for (p = out; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail("control character in a normalised name", out);
	}
	for (p = out; p != NULL; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			fail("dot component in a normalised name", out);
	}
	if (tftp_path_normalize(out, again, sizeof(again)) != 0 || strcmp(out, again) != 0)
		fail("normalisation is not idempotent", out);
}

/* The client's virtual files, as NetbootMachine registers them. */
static struct nbf_registry *registry(void)
{
	static struct nbf_registry *r;
	static const char cfg[] = "{\"Hostname\": \"one\"}\n";
	static const uint8_t mac[6] = {0x52, 0x54, 0, 0x77, 1, 0x11};
	struct netboot_file files[] = {
	    {"config.json", cfg, sizeof(cfg) - 1},
	    {"/tftpboot/imagename", "img-1\n", 6},
	    {"pxelinux.cfg/01-52-54-00-77-01-11", "DEFAULT x\n", 10},
	};
	struct in_addr ip;

	if (r != NULL)
		return r;
	r = nbf_registry_new();
	inet_pton(AF_INET, "10.77.1.11", &ip);
	if (r == NULL || nbf_set(r, ip, NULL, files, 2, 0, 0) < 0)
		abort();
	inet_pton(AF_INET, "10.77.1.12", &ip);
	if (nbf_set(r, ip, mac, files, 3, 0, 0) < 0)
		abort();
	return r;
}

static void lookup(const char *name)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0, 0x77, 1, 0x11};
	char norm[TFTP_NAME_MAX + 1];
	struct nbf_blob *blob;
	struct in_addr ip;
	int i;

	if (tftp_path_normalize(name, norm, sizeof(norm)) < 0)
		return;
	for (i = 0; i < 2; i++) {
		inet_pton(AF_INET, i == 0 ? "10.77.1.11" : "10.77.1.12", &ip);
		blob = NULL;
		if (nbf_lookup(registry(), ip, norm, 1, i == 0 ? NULL : mac, &blob) == NBF_FOUND) {
			if (blob == NULL)
				fail("found without a blob", norm);
			nbf_blob_unref(blob);
		}
	}
}

static const char *mode_name(enum tftp_mode m)
{
	return m == TFTP_MODE_NETASCII ? "netascii" : m == TFTP_MODE_MAIL ? "mail" : "octet";
}

static void fuzz_request(const uint8_t *pkt, size_t len)
{
	struct tftp_request rq, rq2;
	struct tftp_opts back;
	uint8_t buf[1024];
	int n;

	if (tftp_request_parse(pkt, len, &rq) < 0)
		return;
	if (memchr(rq.filename, '\0', sizeof(rq.filename)) == NULL || rq.filename[0] == '\0')
		fail("request file name not terminated or empty", NULL);
	check_opts(&rq.opts);
	check_name(rq.filename);
	lookup(rq.filename);

	n = tftp_build_rrq(buf, sizeof(buf), rq.filename, mode_name(rq.mode), &rq.opts);
	if (n < 0)
		fail("a parsed request cannot be rebuilt", rq.filename);
	if (rq.opcode == TFTP_WRQ)
		buf[1] = TFTP_WRQ;
	if (tftp_request_parse(buf, (size_t)n, &rq2) < 0 || rq2.opcode != rq.opcode ||
	    strcmp(rq2.filename, rq.filename) != 0 || rq2.mode != rq.mode ||
	    !same_opts(&rq.opts, &rq2.opts))
		fail("a rebuilt request parses differently", rq.filename);

	/* The server acknowledges what it accepts (here: all of it). */
	n = tftp_build_oack(buf, TFTP_OACK_MAX, &rq.opts);
	if (n > 0) {
		if (tftp_oack_parse(buf, (size_t)n, &back) < 0 || !same_opts(&rq.opts, &back))
			fail("an OACK does not parse back to its options", NULL);
	}
	n = tftp_build_error(buf, sizeof(buf), TFTP_ENOTFOUND, rq.filename);
	if (n < 0 || n > (int)sizeof(buf))
		fail("error packet length", rq.filename);
}

static void fuzz_reply(const uint8_t *pkt, size_t len)
{
	struct tftp_reply r;
	struct tftp_opts o;

	if (tftp_oack_parse(pkt, len, &o) == 0)
		check_opts(&o);
	if (tftp_reply_parse(pkt, len, &r) < 0)
		return;
	if (memchr(r.errmsg, '\0', sizeof(r.errmsg)) == NULL)
		fail("error message not terminated", NULL);
	if (r.data != NULL && (r.data < pkt || r.data + r.datalen > pkt + len))
		fail("DATA payload outside the packet", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_DATAGRAM)
		return 0;
	fuzz_request(data, size);
	fuzz_reply(data, size);
	return 0;
}
