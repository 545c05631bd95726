/* nftables text for the metadata service's own tables, and its atomic application
 * through libnftables (the `nft` parser as a library: no fork, one transaction). */
#include "daemon/hypervisor/metadata/metadata_nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LL "169.254.0.0/16"
#define MD_ADDR "169.254.169.254"

/* Growable string; the first allocation failure sticks. */
struct nft_buf {
	char *s;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void nb_printf(struct nft_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 1024;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

static char *nb_finish(struct nft_buf *b)
{
	if (b->oom) {
		free(b->s);
		errno = ENOMEM;
		return NULL;
	}
	return b->s;
}

bool metadata_ifname_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	/* What Linux allows (no '/', ':', blanks), less what would change the meaning of a
	 * quoted nftables name: the quote itself, backslash, and '*' (a wildcard). */
	for (const char *p = name; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("/:\"\\*", *p))
			return false;
	return true;
}

bool metadata_nft_table_ok(const char *table)
{
	size_t n = strlen(table);

	if (n == 0 || n > 32 ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", table[0]))
		return false;
	return strspn(table, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
	       n;
}

static void nb_mac(struct nft_buf *b, const uint8_t m[6])
{
	nb_printf(b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

enum nb_set_kind {
	NB_LL_PORTS, /* ifname: veths and taps */
	NB_MD_VETHS, /* ifname: veths */
	NB_TAPS,     /* ifname: every tap */
	NB_TAP_MAC,  /* ifname . ether_addr */
	NB_TAP_IP,   /* ifname . ipv4_addr, taps whose IP is known */
	NB_TAP_NOIP, /* ifname, taps whose IP is not known yet */
	NB_TAP_DNAT, /* ifname : ether_addr of the namespace on the tap's bridge */
};

static const struct metadata_nft_bridge *
nb_tap_bridge(const struct metadata_tap *t, const struct metadata_nft_bridge *br, size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		if (strcmp(br[i].name, t->bridge) == 0)
			return &br[i];
	return NULL;
}

/* One element of a tap set, or false when the tap is not in it. */
static bool nb_tap_elem(struct nft_buf *b, enum nb_set_kind kind, const char *sep,
			const struct metadata_tap *t, const struct metadata_nft_bridge *br,
			size_t nb)
{
	const struct metadata_nft_bridge *tb = nb_tap_bridge(t, br, nb);
	char ip[INET_ADDRSTRLEN];
	bool known = t->ip.s_addr != INADDR_ANY;

	if ((kind == NB_TAP_IP && !known) || (kind == NB_TAP_NOIP && known) ||
	    (kind == NB_TAP_DNAT && (!known || !tb)) || kind == NB_MD_VETHS)
		return false;
	nb_printf(b, "%s\"%s\"", sep, t->name);
	if (kind == NB_TAP_MAC) {
		nb_printf(b, " . ");
		nb_mac(b, t->mac);
	} else if (kind == NB_TAP_IP) {
		inet_ntop(AF_INET, &t->ip, ip, sizeof(ip));
		nb_printf(b, " . %s", ip);
	} else if (kind == NB_TAP_DNAT) {
		nb_printf(b, " : ");
		nb_mac(b, tb->ns_mac);
	}
	return true;
}

static void nb_set(struct nft_buf *b, enum nb_set_kind kind, const struct metadata_nft_bridge *br,
		   size_t nb, const struct metadata_tap *taps, size_t nt)
{
	static const char *const names[] = {"ll_ports", "md_veths", "vm_taps", "tap_mac",
					    "tap_ip",	"tap_noip", "tap_dnat"};
	static const char *const types[] = {"ifname",
					    "ifname",
					    "ifname",
					    "ifname . ether_addr",
					    "ifname . ipv4_addr",
					    "ifname",
					    "ifname : ether_addr"};
	bool any = false;

	nb_printf(b, "\t%s %s {\n\t\ttype %s\n", kind == NB_TAP_DNAT ? "map" : "set", names[kind],
		  types[kind]);
	for (size_t i = 0; i < nb && (kind == NB_LL_PORTS || kind == NB_MD_VETHS); i++) {
		nb_printf(b, "%s\"%s\"", any ? ", " : "\t\telements = { ", br[i].veth);
		any = true;
	}
	for (size_t i = 0; i < nt; i++)
		if (nb_tap_elem(b, kind, any ? ", " : "\t\telements = { ", &taps[i], br, nb))
			any = true;
	nb_printf(b, "%s\t}\n", any ? " }\n" : "");
}

static void nb_base_chain(struct nft_buf *b, const char *name)
{
	nb_printf(b, "\tchain %s {\n\t\ttype filter hook %s priority -300; policy accept;\n", name,
		  name);
}

/* What a VM's tap may send: its own MAC always; ARP only about its own IP (or the
 * 0.0.0.0 of an address probe); IPv4 only from its own IP, or DHCP from 0.0.0.0; IPv6
 * (own MAC). Anything else, VLAN tags included, is dropped. A tap whose IP is not known
 * yet may send any IPv4 except to link-local: such a VM gets no metadata. Traffic to
 * the metadata address sent through the VM's gateway carries the gateway's MAC: it is
 * rewritten to the namespace's MAC so the bridge hands it to the namespace. */
static void nb_tap_chain(struct nft_buf *b)
{
	nb_printf(b, "\tchain vm_tap {\n"
		     "\t\tiifname . ether saddr != @tap_mac drop\n"
		     "\t\tip daddr " MD_ADDR " ether daddr set iifname map @tap_dnat\n"
		     "\t\tether type arp iifname . arp saddr ether != @tap_mac drop\n"
		     "\t\tarp saddr ip 0.0.0.0 return\n"
		     "\t\tiifname . arp saddr ip @tap_ip return\n"
		     "\t\tiifname @tap_noip ether type arp return\n"
		     "\t\tiifname . ip saddr @tap_ip return\n"
		     "\t\tip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 "
		     "return\n"
		     "\t\tiifname @tap_noip ip daddr != " LL " return\n"
		     "\t\tether type ip6 return\n"
		     "\t\tdrop\n\t}\n");
}

static bool md_names_ok(const struct metadata_nft_bridge *br, size_t nb,
			const struct metadata_tap *taps, size_t nt)
{
	for (size_t i = 0; i < nb; i++)
		if (!metadata_ifname_ok(br[i].name) || !metadata_ifname_ok(br[i].veth))
			return false;
	for (size_t i = 0; i < nt; i++)
		if (!metadata_ifname_ok(taps[i].name) ||
		    (taps[i].bridge[0] && !metadata_ifname_ok(taps[i].bridge)))
			return false;
	return true;
}

/* ll_ports: the ports that may carry link-local traffic (VM taps we know and the
 * namespaces' veths); md_veths: the namespaces' veths. Ports outside ll_ports (uplinks,
 * unknown taps) can neither reach a metadata namespace nor carry 169.254.0.0/16: a host
 * on the physical network cannot spoof a VM towards the metadata server, and link-local
 * traffic never leaves the host (netboot.md §3.1 step 2, kept in our own table). */
char *metadata_nft_ruleset(const char *table, const struct metadata_nft_bridge *br, size_t nb,
			   const struct metadata_tap *taps, size_t nt)
{
	struct nft_buf b = {0};

	if (!metadata_nft_table_ok(table) || !md_names_ok(br, nb, taps, nt)) {
		errno = EINVAL;
		return NULL;
	}
	nb_printf(&b,
		  "# SmallStack metadata service: generated, replaced whole on every change.\n");
	nb_printf(&b, "table bridge %s\ndelete table bridge %s\ntable bridge %s {\n", table, table,
		  table);
	for (int k = NB_LL_PORTS; k <= NB_TAP_DNAT; k++)
		nb_set(&b, (enum nb_set_kind)k, br, nb, taps, nt);

	nb_base_chain(&b, "prerouting");
	nb_printf(&b, "\t\tiifname @vm_taps jump vm_tap\n");
	nb_printf(&b, "\t\tip daddr " LL " iifname != @ll_ports drop\n");
	nb_printf(&b, "\t\tarp daddr ip " LL " iifname != @ll_ports drop\n\t}\n");

	nb_base_chain(&b, "forward");
	nb_printf(&b, "\t\tiifname @md_veths oifname != @ll_ports drop\n");
	nb_printf(&b, "\t\toifname @md_veths iifname != @ll_ports drop\n");
	nb_printf(&b, "\t\tip saddr " LL " oifname != @ll_ports drop\n");
	nb_printf(&b, "\t\tip daddr " LL " oifname != @ll_ports drop\n");
	nb_printf(&b, "\t\tarp saddr ip " LL " oifname != @ll_ports drop\n");
	nb_printf(&b, "\t\tarp daddr ip " LL " oifname != @ll_ports drop\n\t}\n");

	nb_base_chain(&b, "input");
	nb_printf(&b, "\t\tip saddr " LL " iifname != @ll_ports drop\n\t}\n");

	nb_base_chain(&b, "output");
	nb_printf(&b, "\t\tip daddr " LL " oifname != @ll_ports drop\n");
	nb_printf(&b, "\t\tarp daddr ip " LL " oifname != @ll_ports drop\n\t}\n");

	nb_tap_chain(&b);
	nb_printf(&b, "}\n");

	/* Link-local is never routed (RFC 3927) into or out of a non-bridge interface.
	 * Bridge to bridge must pass: with br_netfilter, bridged frames cross this hook
	 * too (in and out through the bridge device). */
	nb_printf(&b, "table inet %s\ndelete table inet %s\ntable inet %s {\n", table, table,
		  table);
	nb_base_chain(&b, "forward");
	for (int i = 0; i < 4; i++)
		nb_printf(&b, "\t\tip %s " LL " meta %s != \"bridge\" drop\n",
			  i < 2 ? "saddr" : "daddr", i % 2 ? "oifkind" : "iifkind");
	nb_printf(&b, "\t}\n}\n");
	return nb_finish(&b);
}

char *metadata_nft_teardown(const char *table)
{
	struct nft_buf b = {0};

	if (!metadata_nft_table_ok(table)) {
		errno = EINVAL;
		return NULL;
	}
	nb_printf(&b, "table bridge %s\ndelete table bridge %s\n", table, table);
	nb_printf(&b, "table inet %s\ndelete table inet %s\n", table, table);
	return nb_finish(&b);
}

int metadata_nft_apply(const char *text, char **err)
{
	struct nft_ctx *ctx;
	int rc = 0;

	if (err)
		*err = NULL;
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (nft_run_cmd_from_buffer(ctx, text) != 0) {
		const char *msg = nft_ctx_get_error_buffer(ctx);
		rc = -EIO;
		if (err)
			*err = strdup(msg && *msg ? msg : "nftables transaction failed");
	}
out_free:
	nft_ctx_free(ctx);
	return rc;
}
