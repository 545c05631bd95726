/* vm-control subcommands for a VM's console and identity: connect-to-vm-console (a
 * local TCP port proxied to the VM's VNC server through the hypervisor, optionally
 * with a VNC viewer started on it, as the original), replace-vm-credentials and
 * replace-vm-identity. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmctl.h"

#define O (&v->o)

/* Starts the streaming call with {IpAddress} and reads its {Error} reply. 0 or 1. */
static int start_console(struct vmctl *v, const struct vmctl_cmd *c, struct in_addr ip)
{
	struct hvapi_ip_request req = {.ip = ip};
	struct hvapi_error_response resp;

	if (vmctl_stream_start(v, c->doing, c->method, &hvapi_ip_request_type, &req,
			       &hvapi_error_response_type, &resp))
		return 1;
	hvapi_error_response_clear(&resp);
	return 0;
}

/* A listening socket on 127.0.0.1 with a port chosen by the kernel. */
static int listen_local(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Runs "viewer ::port" in the background, as the original. */
static int start_viewer(const char *viewer, int port, pid_t *pid)
{
	char arg[32];

	snprintf(arg, sizeof(arg), "::%d", port);
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		execlp(viewer, viewer, arg, (char *)NULL);
		fprintf(stderr, "vm-control: exec %s: %s\n", viewer, strerror(errno));
		_exit(127);
	}
	return 0;
}

int vmctl_cmd_console(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct in_addr ip;
	pid_t viewer = -1;
	int lfd, cfd, port = 0, rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &ip) || start_console(v, c, ip))
		return 1;
	lfd = listen_local(&port);
	if (lfd < 0)
		return cli_fail(c->doing, "listen: %s", strerror(-lfd));
	if (!*O->vnc_viewer) {
		fprintf(stderr, "listening on port %d for VNC connection\n", port);
	} else if ((rc = start_viewer(O->vnc_viewer, port, &viewer)) < 0) {
		close(lfd);
		return cli_fail(c->doing, "starting %s: %s", O->vnc_viewer, strerror(-rc));
	}
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	rc = cfd < 0 ? -errno : 0;
	close(lfd);
	if (rc < 0)
		return cli_fail(c->doing, "accept: %s", strerror(-rc));
	rc = srpc_conn_relay(srpc_client_conn(v->client), cfd);
	close(cfd);
	if (viewer > 0)
		waitpid(viewer, NULL, 0);
	return rc < 0 ? cli_fail(c->doing, "%s", strerror(-rc)) : 0;
}

int vmctl_cmd_replace_credentials(struct vmctl *v, const struct vmctl_cmd *c, int argc,
				  char *const argv[])
{
	struct hvapi_replace_vm_credentials_request req = {0};
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (!*O->identity_cert_file || !*O->identity_key_file)
		return cli_fail(c->doing, "give both -identityCertFile and -identityKeyFile");
	rc = vmctl_read_file(O->identity_cert_file, &req.identity_certificate.data,
			     &req.identity_certificate.len);
	if (rc < 0) {
		rc = cli_fail(c->doing, "read %s: %s", O->identity_cert_file, strerror(-rc));
		goto out;
	}
	rc = vmctl_read_file(O->identity_key_file, &req.identity_key.data, &req.identity_key.len);
	if (rc < 0) {
		rc = cli_fail(c->doing, "read %s: %s", O->identity_key_file, strerror(-rc));
		goto out;
	}
	rc = vmctl_call_simple(v, c->doing, c->method, &hvapi_replace_vm_credentials_request_type,
			       &req);
out:
	hvapi_replace_vm_credentials_request_clear(&req);
	return rc;
}

/* Without -identityName the VM's identity is erased, as the original. With it, the
 * original asks the hypervisor's identity provider (Keymaster) for a role requesting
 * certificate; this tool has no client for one (docs/vm-control.md). */
int vmctl_cmd_replace_identity(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			       char *const argv[])
{
	struct hvapi_replace_vm_identity_request req = {0};
	struct hvapi_get_identity_provider_response idp = {0};
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (!*O->identity_name)
		return vmctl_call_simple(v, c->doing, c->method,
					 &hvapi_replace_vm_identity_request_type, &req);
	if (vmctl_call(v, c->doing, HVAPI_M_GET_IDENTITY_PROVIDER, NULL, NULL,
		       &hvapi_get_identity_provider_response_type, &idp))
		return 1;
	if (idp.base_url == NULL || *idp.base_url == '\0')
		rc = cli_fail(c->doing, "%s: has no Identity Provider", v->addr);
	else
		rc = cli_fail(c->doing,
			      "requesting a role requesting certificate from %s is not supported",
			      idp.base_url);
	hvapi_get_identity_provider_response_clear(&idp);
	return rc;
}
