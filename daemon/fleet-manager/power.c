/* power: PowerOnMachine. IPMI runs ipmitool (fork/execve, never a shell) with a timeout
 * and reads the chassis power status back; Wake-on-LAN sends the magic packet to the
 * directed broadcast of the machine's topology subnet. */
#include "daemon/fleet-manager/power.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POWER_DEFAULT_TIMEOUT_MS 30000
#define POWER_DEFAULT_WOL_PORT 9
#define POWER_OUT_MAX 2048
/* A BMC may report the new state a moment after accepting "power on". */
#define POWER_READBACK_TRIES 5
#define POWER_READBACK_PAUSE_MS 1000

/* What one ipmitool run left: its exit status and the start of stdout and stderr. */
struct power_run {
	int status; /* waitpid's */
	bool timed_out;
	char out[POWER_OUT_MAX];
	size_t outlen;
	char err[POWER_OUT_MAX];
	size_t errlen;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* cfg->ipmitool, or "ipmitool" looked up in PATH, as an absolute path for execve. */
static int power_find_tool(const struct power_config *cfg, char *path, size_t sz)
{
	const char *name = cfg->ipmitool ? cfg->ipmitool : "ipmitool";
	const char *dirs, *p;

	if (strchr(name, '/')) {
		if ((size_t)snprintf(path, sz, "%s", name) >= sz)
			return -ENAMETOOLONG;
		return access(path, X_OK) < 0 ? -errno : 0;
	}
	dirs = getenv("PATH");
	if (!dirs || !*dirs)
		dirs = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = dirs; *p;) {
		size_t n = strcspn(p, ":");
		int len = snprintf(path, sz, "%.*s/%s", (int)n, n ? p : ".", name);

		if (len > 0 && (size_t)len < sz && access(path, X_OK) == 0)
			return 0;
		p += n;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}

/* Appends what was read from fd to buf (keeping the first sz - 1 bytes, draining the
 * rest). 1 while open, 0 at EOF, -errno. */
static int power_drain(int fd, char *buf, size_t sz, size_t *len)
{
	char tmp[512];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	if (*len < sz - 1) {
		size_t k = (size_t)n < sz - 1 - *len ? (size_t)n : sz - 1 - *len;

		memcpy(buf + *len, tmp, k);
		*len += k;
	}
	buf[*len] = '\0';
	return 1;
}

/* The child side: stdin /dev/null, stdout and stderr to the pipes, no other fd of the
 * fleet-manager (its sockets need not be close-on-exec), default signals. Only
 * async-signal-safe calls: the parent has threads. */
static void power_child(int devnull, int out, int err, int maxfd, const char *path,
			char *const argv[])
{
	sigset_t none;
	int fd;

	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	if (close_range(3, ~0U, 0) < 0)
		for (fd = 3; fd < maxfd; fd++)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, environ);
	_exit(127);
}

/* Runs argv (argv[0] = path) with a deadline; r gets the exit status and the output.
 * 0 once it was reaped (whatever its status), -errno if it could not be run. */
static int power_run(const char *path, char *const argv[], int timeout_ms, struct power_run *r)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, devnull, rc = 0, open_fds = 2;
	struct pollfd pfd[2];
	struct rlimit rl;
	long long deadline;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 1 << 20)
		rl.rlim_cur = 1 << 20;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out_close;
	}
	if (pid == 0)
		power_child(devnull, outp[1], errp[1], (int)rl.rlim_cur, path, argv);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	deadline = now_ms() + timeout_ms;
	pfd[0] = (struct pollfd){.fd = outp[0], .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = errp[0], .events = POLLIN};
	while (open_fds > 0) {
		long long left = deadline - now_ms();
		int i, n;

		if (left <= 0) {
			r->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		n = poll(pfd, 2, (int)left);
		if (n < 0 && errno != EINTR) {
			kill(pid, SIGKILL);
			break;
		}
		for (i = 0; n > 0 && i < 2; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if ((i == 0 ? power_drain(pfd[i].fd, r->out, sizeof(r->out), &r->outlen)
				    : power_drain(pfd[i].fd, r->err, sizeof(r->err), &r->errlen)) <=
			    0) {
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	/* Output closed is not exit: the tool may still linger, so the deadline holds. */
	for (;;) {
		pid_t w = waitpid(pid, &r->status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r->status = -1; /* SIGCHLD ignored: the status is lost */
			break;
		}
		if (w == 0 && !r->timed_out && now_ms() >= deadline) {
			r->timed_out = true;
			kill(pid, SIGKILL);
		}
		if (w == 0)
			sleep_ms(10);
	}
out_close:
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	close(devnull);
	return rc;
}

/* Tool output as one line for an error message: lines joined with "; ", control
 * characters dropped. */
static void power_one_line(const char *in, char *out, size_t sz)
{
	size_t o = 0;
	bool sep = false;

	for (; *in && o + 3 < sz; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '\n' || c == '\r') {
			sep = o > 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (sep) {
			out[o++] = ';';
			out[o++] = ' ';
			sep = false;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* Why a run failed, for msg: "exit 1: Error: Unable to establish ...". */
static void power_run_why(const struct power_run *r, int timeout_ms, char *why, size_t sz)
{
	char text[POWER_OUT_MAX];
	int n;

	power_one_line(r->errlen ? r->err : r->out, text, sizeof(text));
	if (r->timed_out)
		n = snprintf(why, sz, "no answer within %d ms", timeout_ms);
	else if (r->status == -1)
		n = snprintf(why, sz, "exit status unknown");
	else if (WIFEXITED(r->status))
		n = snprintf(why, sz, "exit %d", WEXITSTATUS(r->status));
	else
		n = snprintf(why, sz, "killed by signal %d", WTERMSIG(r->status));
	if (n > 0 && (size_t)n < sz && text[0])
		snprintf(why + n, sz - (size_t)n, ": %s", text);
}

static bool power_run_ok(const struct power_run *r)
{
	return !r->timed_out && r->status != -1 && WIFEXITED(r->status) &&
	       WEXITSTATUS(r->status) == 0;
}

/* ipmitool -I lanplus -H host -U user -f file [-C n] chassis power <action>. */
static int power_ipmitool(const struct power_config *cfg, const char *path, const char *host,
			  const char *action, struct power_run *r)
{
	char suite[16];
	char *argv[16];
	int i = 0;

	argv[i++] = (char *)path;
	argv[i++] = "-I";
	argv[i++] = "lanplus";
	argv[i++] = "-H";
	argv[i++] = (char *)host;
	argv[i++] = "-U";
	argv[i++] = (char *)cfg->ipmi_username;
	argv[i++] = "-f";
	argv[i++] = (char *)cfg->ipmi_password_file;
	if (cfg->ipmi_cipher_suite >= 0) {
		snprintf(suite, sizeof(suite), "%d", cfg->ipmi_cipher_suite);
		argv[i++] = "-C";
		argv[i++] = suite;
	}
	argv[i++] = "chassis";
	argv[i++] = "power";
	argv[i++] = (char *)action;
	argv[i] = NULL;
	return power_run(path, argv,
			 cfg->timeout_ms > 0 ? cfg->timeout_ms : POWER_DEFAULT_TIMEOUT_MS, r);
}

enum power_state { POWER_UNKNOWN, POWER_ON, POWER_OFF };

static enum power_state power_parse_status(const char *out)
{
	if (strstr(out, "Chassis Power is on"))
		return POWER_ON;
	if (strstr(out, "Chassis Power is off"))
		return POWER_OFF;
	return POWER_UNKNOWN;
}

static int power_ipmi(const struct power_config *cfg, const char *host, char *msg, size_t msgsz)
{
	int timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : POWER_DEFAULT_TIMEOUT_MS;
	char path[4096], why[POWER_OUT_MAX + 64];
	struct power_run *r;
	enum power_state st = POWER_UNKNOWN;
	int rc, try;

	if (!cfg->ipmi_username || !*cfg->ipmi_username || !cfg->ipmi_password_file ||
	    !*cfg->ipmi_password_file) {
		snprintf(msg, msgsz, "IPMI %s: no -ipmiUsername or -ipmiPasswordFile given", host);
		return -EINVAL;
	}
	if (access(cfg->ipmi_password_file, R_OK) < 0) {
		rc = -errno;
		snprintf(msg, msgsz, "IPMI %s: password file %s: %s", host, cfg->ipmi_password_file,
			 strerror(-rc));
		return rc;
	}
	rc = power_find_tool(cfg, path, sizeof(path));
	if (rc < 0) {
		snprintf(msg, msgsz, "IPMI %s: %s: %s", host,
			 cfg->ipmitool ? cfg->ipmitool : "ipmitool",
			 rc == -ENOENT ? "not found in PATH" : strerror(-rc));
		return rc;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		snprintf(msg, msgsz, "IPMI %s: out of memory", host);
		return -ENOMEM;
	}
	rc = power_ipmitool(cfg, path, host, "on", r);
	if (rc < 0) {
		snprintf(msg, msgsz, "IPMI %s: running %s: %s", host, path, strerror(-rc));
		goto out_free;
	}
	if (!power_run_ok(r)) {
		power_run_why(r, timeout_ms, why, sizeof(why));
		snprintf(msg, msgsz, "IPMI %s: chassis power on: %s", host, why);
		rc = r->timed_out ? -ETIMEDOUT : -EIO;
		goto out_free;
	}
	/* The tool's exit status is not proof (some commands exit 0 on a refusal). */
	for (try = 0; try < POWER_READBACK_TRIES; try++) {
		if (try > 0)
			sleep_ms(POWER_READBACK_PAUSE_MS);
		rc = power_ipmitool(cfg, path, host, "status", r);
		if (rc < 0) {
			snprintf(msg, msgsz, "IPMI %s: running %s: %s", host, path, strerror(-rc));
			goto out_free;
		}
		if (!power_run_ok(r)) {
			power_run_why(r, timeout_ms, why, sizeof(why));
			snprintf(msg, msgsz, "IPMI %s: chassis power status after power on: %s",
				 host, why);
			rc = r->timed_out ? -ETIMEDOUT : -EIO;
			goto out_free;
		}
		st = power_parse_status(r->out);
		if (st != POWER_OFF)
			break;
	}
	if (st == POWER_ON) {
		snprintf(msg, msgsz, "IPMI %s: chassis power is on", host);
		rc = 0;
	} else {
		power_one_line(r->out, why, sizeof(why));
		snprintf(msg, msgsz, "IPMI %s: chassis power on accepted but the status says: %s",
			 host, why[0] ? why : "(nothing)");
		rc = -EIO;
	}
out_free:
	free(r);
	return rc;
}

static bool power_mac_set(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) != 0;
}

/* The entry Wake-on-LAN wakes: the primary one if it has a MAC, else the first
 * secondary entry with one (its IP, or the primary IP when it has none). */
static bool power_wol_target(const struct topo_machine *m, const uint8_t **mac, struct in_addr *ip)
{
	size_t i;

	if (power_mac_set(m->m.net.host_mac)) {
		*mac = m->m.net.host_mac;
		*ip = m->m.net.host_ip;
		return true;
	}
	for (i = 0; i < m->m.secondary.n; i++) {
		const struct fmapi_network_entry *e = &m->m.secondary.v[i];

		if (!power_mac_set(e->host_mac))
			continue;
		*mac = e->host_mac;
		*ip = e->host_ip.s_addr ? e->host_ip : m->m.net.host_ip;
		return true;
	}
	return false;
}

/* The nearest visible subnet whose IpGateway/IpMask contains ip. */
static const struct fmapi_topology_subnet *power_subnet_of(const struct topo_machine *m,
							   struct in_addr ip)
{
	size_t i;

	if (!ip.s_addr)
		return NULL;
	for (i = 0; i < m->nsubnets; i++) {
		const struct hvapi_subnet *s = &m->subnets[i]->subnet;
		uint32_t mask = s->ip_mask.s_addr;

		if (mask && (ip.s_addr & mask) == (s->ip_gateway.s_addr & mask))
			return m->subnets[i];
	}
	return NULL;
}

/* 6 x 0xff, then the MAC 16 times. */
static void power_magic_packet(const uint8_t mac[6], uint8_t pkt[102])
{
	int i;

	memset(pkt, 0xff, 6);
	for (i = 0; i < 16; i++)
		memcpy(pkt + 6 + 6 * i, mac, 6);
}

static int power_wol(const struct power_config *cfg, const struct topo_machine *m,
		     const char *noipmi, char *msg, size_t msgsz)
{
	int port = cfg->wake_on_lan_port > 0 ? cfg->wake_on_lan_port : POWER_DEFAULT_WOL_PORT;
	const struct fmapi_topology_subnet *sub;
	char macs[18], ips[INET_ADDRSTRLEN], bcs[INET_ADDRSTRLEN];
	struct sockaddr_in to = {.sin_family = AF_INET};
	const uint8_t *mac;
	uint8_t pkt[102];
	struct in_addr ip;
	int fd, one = 1, rc;

	if (!power_wol_target(m, &mac, &ip)) {
		snprintf(msg, msgsz, "%s (and no MAC address for Wake-on-LAN)", noipmi);
		return -ENXIO;
	}
	snprintf(macs, sizeof(macs), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	inet_ntop(AF_INET, &ip, ips, sizeof(ips));
	sub = power_subnet_of(m, ip);
	if (!sub) {
		snprintf(msg, msgsz, "%s (and no topology subnet contains %s for Wake-on-LAN)",
			 noipmi, ip.s_addr ? ips : "its address");
		return -ENXIO;
	}
	to.sin_addr.s_addr = sub->subnet.ip_gateway.s_addr | ~sub->subnet.ip_mask.s_addr;
	to.sin_port = htons((uint16_t)port);
	inet_ntop(AF_INET, &to.sin_addr, bcs, sizeof(bcs));
	power_magic_packet(mac, pkt);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(msg, msgsz, "Wake-on-LAN: socket: %s", strerror(-rc));
		return rc;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0) {
		rc = -errno;
		snprintf(msg, msgsz, "Wake-on-LAN: SO_BROADCAST: %s", strerror(-rc));
		goto out_close;
	}
	/* Only onto a link of this host: a subnet we are not on would send the broadcast
	 * through the default gateway, as the original (which looks for a connected route)
	 * never does. */
	if (sendto(fd, pkt, sizeof(pkt), MSG_DONTROUTE, (struct sockaddr *)&to, sizeof(to)) < 0) {
		rc = -errno;
		snprintf(msg, msgsz, "Wake-on-LAN: magic packet for %s to %s:%d (subnet %s): %s%s",
			 macs, bcs, port, sub->subnet.id ? sub->subnet.id : "", strerror(-rc),
			 rc == -ENETUNREACH ? " (the subnet is not on a link of this host)" : "");
		goto out_close;
	}
	snprintf(msg, msgsz, "Wake-on-LAN: magic packet for %s sent to %s:%d", macs, bcs, port);
	rc = 0;
out_close:
	close(fd);
	return rc;
}

int power_on_machine(const struct power_config *cfg, const struct topo_machine *m, char *msg,
		     size_t msgsz)
{
	const struct fmapi_network_entry *ipmi = &m->m.ipmi;
	char host[256], noipmi[320];

	if (ipmi->host_ip.s_addr) {
		inet_ntop(AF_INET, &ipmi->host_ip, host, sizeof(host));
		return power_ipmi(cfg, host, msg, msgsz);
	}
	if (ipmi->hostname && *ipmi->hostname) {
		snprintf(host, sizeof(host), "%s", ipmi->hostname);
		return power_ipmi(cfg, host, msg, msgsz);
	}
	snprintf(noipmi, sizeof(noipmi), "no IPMI address for: %s",
		 m->m.net.hostname ? m->m.net.hostname : "");
	return power_wol(cfg, m, noipmi, msg, msgsz);
}
