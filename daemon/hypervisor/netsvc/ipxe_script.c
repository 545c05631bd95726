/* pxelinux config -> iPXE script. */
#include "daemon/hypervisor/netsvc/ipxe_script.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/hypervisor/netsvc/tftp/tftp_path.h"

#define IPXE_CFG_MAX (64 * 1024)
#define IPXE_MAX_LABELS 64
#define IPXE_FIELD 1024

struct label {
	char name[128];
	char kernel[IPXE_FIELD];
	char initrd[IPXE_FIELD];
	char append[IPXE_FIELD];
	int ipappend;
	bool localboot;
};

struct pxecfg {
	char def[IPXE_FIELD];
	char ontimeout[128];
	struct label labels[IPXE_MAX_LABELS];
	size_t n;
};

static void copy_field(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
	size_t l = strlen(dst);
	while (l > 0 && isspace((unsigned char)dst[l - 1]))
		dst[--l] = 0;
}

static void parse_line(struct pxecfg *c, char *line)
{
	char *kw = line, *arg;
	while (isspace((unsigned char)*kw))
		kw++;
	if (!*kw || *kw == '#')
		return;
	arg = kw;
	while (*arg && !isspace((unsigned char)*arg))
		arg++;
	if (*arg)
		*arg++ = 0;
	while (isspace((unsigned char)*arg))
		arg++;
	struct label *cur = c->n ? &c->labels[c->n - 1] : NULL;

	if (!strcasecmp(kw, "DEFAULT")) {
		copy_field(c->def, sizeof(c->def), arg);
	} else if (!strcasecmp(kw, "ONTIMEOUT")) {
		copy_field(c->ontimeout, sizeof(c->ontimeout), arg);
	} else if (!strcasecmp(kw, "LABEL")) {
		if (c->n == IPXE_MAX_LABELS)
			return;
		cur = &c->labels[c->n++];
		memset(cur, 0, sizeof(*cur));
		copy_field(cur->name, sizeof(cur->name), arg);
	} else if (!cur) {
		return; /* other global keywords (UI, PROMPT, TIMEOUT, MENU ...) */
	} else if (!strcasecmp(kw, "KERNEL") || !strcasecmp(kw, "LINUX")) {
		copy_field(cur->kernel, sizeof(cur->kernel), arg);
	} else if (!strcasecmp(kw, "INITRD")) {
		copy_field(cur->initrd, sizeof(cur->initrd), arg);
	} else if (!strcasecmp(kw, "APPEND")) {
		copy_field(cur->append, sizeof(cur->append), strcmp(arg, "-") ? arg : "");
	} else if (!strcasecmp(kw, "IPAPPEND") || !strcasecmp(kw, "SYSAPPEND")) {
		cur->ipappend = atoi(arg);
	} else if (!strcasecmp(kw, "LOCALBOOT")) {
		cur->localboot = true;
	}
}

/* Splits "kernel args" of a DEFAULT without a matching label. */
static void label_from_cmdline(struct label *l, const char *cmd)
{
	memset(l, 0, sizeof(*l));
	const char *sp = cmd;
	while (*sp && !isspace((unsigned char)*sp))
		sp++;
	snprintf(l->kernel, sizeof(l->kernel), "%.*s", (int)(sp - cmd), cmd);
	while (isspace((unsigned char)*sp))
		sp++;
	copy_field(l->append, sizeof(l->append), sp);
}

static const struct label *pick(struct pxecfg *c, struct label *tmp)
{
	const char *want[2] = {c->def, c->ontimeout};
	for (int w = 0; w < 2; w++) {
		if (!want[w][0])
			continue;
		for (size_t i = 0; i < c->n; i++)
			if (!strcmp(c->labels[i].name, want[w]))
				return &c->labels[i];
	}
	if (c->n)
		return &c->labels[0];
	if (c->def[0]) {
		label_from_cmdline(tmp, c->def);
		return tmp;
	}
	return NULL;
}

struct out {
	char *buf;
	size_t len, cap;
	bool err;
};

static void emit(struct out *o, const char *s)
{
	size_t n = strlen(s);
	if (o->err)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->err = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
}

/* A boot file path as a URL relative to the script ("/tftpboot/x" -> "x"). */
static void emit_path(struct out *o, const char *p, size_t n)
{
	char raw[IPXE_FIELD], norm[IPXE_FIELD];
	snprintf(raw, sizeof(raw), "%.*s", (int)n, p);
	emit(o, tftp_path_normalize(raw, norm, sizeof(norm)) == 0 ? norm : raw);
}

/* " initrd=<name>" for each initrd: an EFI-stub kernel started by iPXE under UEFI
 * finds its initrds only through these (iPXE names an image after the last component
 * of its path); a BIOS boot ignores them. */
static void emit_initrd_args(struct out *o, const char *initrds)
{
	for (const char *s = initrds; *s;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		char raw[IPXE_FIELD], norm[IPXE_FIELD];
		snprintf(raw, sizeof(raw), "%.*s", (int)n, s);
		const char *name = tftp_path_normalize(raw, norm, sizeof(norm)) == 0 ? norm : raw;
		const char *slash = strrchr(name, '/');
		if (n) {
			emit(o, " initrd=");
			emit(o, slash ? slash + 1 : name);
		}
		s += n + (e ? 1 : 0);
	}
}

/* Moves initrd=a,b from args into initrds. */
static void split_initrd(const char *append, char *args, size_t argcap, char *initrds, size_t icap)
{
	args[0] = 0;
	const char *s = append;
	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		const char *e = s;
		while (*e && !isspace((unsigned char)*e))
			e++;
		if (e == s)
			break;
		size_t al = strlen(args), il = strlen(initrds);
		if (!strncmp(s, "initrd=", 7))
			snprintf(initrds + il, icap - il, "%s%.*s", il ? "," : "", (int)(e - s - 7),
				 s + 7);
		else
			snprintf(args + al, argcap - al, "%s%.*s", al ? " " : "", (int)(e - s), s);
		s = e;
	}
}

static char *render(const struct label *l)
{
	struct out o = {0};
	char args[IPXE_FIELD], initrds[IPXE_FIELD];

	emit(&o, "#!ipxe\n");
	if (l->localboot || !l->kernel[0]) {
		emit(&o, "exit\n");
		return o.err ? (free(o.buf), NULL) : o.buf;
	}
	snprintf(initrds, sizeof(initrds), "%s", l->initrd);
	split_initrd(l->append, args, sizeof(args), initrds, sizeof(initrds));
	emit(&o, "kernel ");
	emit_path(&o, l->kernel, strlen(l->kernel));
	emit_initrd_args(&o, initrds);
	if (args[0]) {
		emit(&o, " ");
		emit(&o, args);
	}
	if (l->ipappend & 1)
		emit(&o, " ip=${ip}:${next-server}:${gateway}:${netmask}");
	if (l->ipappend & 2)
		emit(&o, " BOOTIF=01-${mac:hexhyp}");
	emit(&o, "\n");
	for (const char *s = initrds; *s;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n) {
			emit(&o, "initrd ");
			emit_path(&o, s, n);
			emit(&o, "\n");
		}
		s += n + (e ? 1 : 0);
	}
	emit(&o, "boot\n");
	if (o.err) {
		free(o.buf);
		errno = ENOMEM;
		return NULL;
	}
	return o.buf;
}

char *ipxe_script_from_pxelinux(const char *cfg, size_t len)
{
	if (len > IPXE_CFG_MAX) {
		errno = E2BIG;
		return NULL;
	}
	struct pxecfg *c = calloc(1, sizeof(*c));
	char *text = malloc(len + 1);
	char *out = NULL;
	struct label tmp;
	if (!c || !text) {
		errno = ENOMEM;
		goto out;
	}
	memcpy(text, cfg, len);
	text[len] = 0;
	for (char *save = NULL, *line = strtok_r(text, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save))
		parse_line(c, line);
	const struct label *l = pick(c, &tmp);
	if (!l) {
		errno = ENOENT;
		goto out;
	}
	out = render(l);
out:
	free(text);
	free(c);
	return out;
}
