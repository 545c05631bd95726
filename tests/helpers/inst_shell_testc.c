/* inst-shell-testc: a client of Installer.Shell for tests/integration/installer_daemon.sh
 * (what hyper-control installer-shell does, without the terminal):
 *
 *   inst-shell-testc -address=HOST:PORT -certFile=F -keyFile=F [-timeout=S] [INPUT]
 *
 * Dials the installer's port (its certificate is self-signed: not verified), starts
 * Installer.Shell, sends INPUT (with "\n" escapes turned into newlines) and prints
 * what comes back until the server closes or -timeout seconds pass.
 * Exit: 0 when the shell ran and the server closed, 1 on refusal or failure. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flags.h"
#include "srpc.h"
#include "tls.h"

static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

int main(int argc, char **argv)
{
	const char *addr, *cert, *key;
	struct tls_client_config tcfg = {.insecure = true};
	struct srpc_client_config ccfg = {0};
	struct srpc_client *cl;
	struct tls_client *tls;
	struct srpc_conn *c;
	struct flags *fs;
	char err[512], buf[4096], *input = NULL;
	int timeout_s, rc = 1;
	time_t end;

	signal(SIGPIPE, SIG_IGN);
	fs = flags_new("inst-shell-testc", NULL);
	flags_string(fs, "address", &addr, "127.0.0.1:6978", "The installer's port");
	flags_string(fs, "certFile", &cert, "", "Client certificate");
	flags_string(fs, "keyFile", &key, "", "Client key");
	flags_int(fs, "timeout", &timeout_s, 10, "Seconds to wait for the server to close");
	flags_parse_or_exit(fs, argc, argv);
	tcfg.cert_file = cert[0] ? cert : NULL;
	tcfg.key_file = key[0] ? key : NULL;
	if (tls_client_new(&tcfg, &tls, err, sizeof(err)) < 0) {
		fprintf(stderr, "inst-shell-testc: %s\n", err);
		return 1;
	}
	ccfg.tls = tls;
	if (srpc_client_dial(addr, &ccfg, &cl, err, sizeof(err)) < 0) {
		fprintf(stderr, "inst-shell-testc: %s\n", err);
		goto out_tls;
	}
	if (srpc_client_start(cl, "Installer.Shell") < 0) {
		fprintf(stderr, "inst-shell-testc: %s\n", srpc_client_error(cl));
		goto out_close;
	}
	c = srpc_client_conn(cl);
	if (flags_nargs(fs) > 0 && (input = unescape(flags_arg(fs, 0))) != NULL) {
		srpc_conn_write(c, input, strlen(input));
		srpc_conn_flush(c);
	}
	end = time(NULL) + timeout_s;
	for (;;) {
		struct pollfd p = {.fd = srpc_conn_fd(c), .events = POLLIN};
		ssize_t n;

		if (time(NULL) >= end) {
			fprintf(stderr, "inst-shell-testc: timed out\n");
			goto out_close;
		}
		if (!srpc_conn_pending(c) && poll(&p, 1, 200) <= 0)
			continue;
		n = srpc_conn_read_some(c, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
	rc = 0;
out_close:
	srpc_client_close(cl);
out_tls:
	tls_client_free(tls);
	free(input);
	flags_free(fs);
	return rc;
}
