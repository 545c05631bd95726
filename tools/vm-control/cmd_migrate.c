/* vm-control subcommands that move volumes over the wire: get-vm-volume (the volume
 * into -volumeFilename through the GetBlocks exchange: an existing file is the
 * earlier copy, so only changed blocks travel), migrate-vm and copy-vm (the
 * hypervisor named by -hypervisorHostname fetches the VM from -sourceHypervisor with
 * an access token this tool gets for the caller there). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "vmctl.h"

#define O (&v->o)
#define TOKEN_LIFETIME_NS (24LL * 3600 * 1000000000) /* as the original: a day */

/* ---- get-vm-volume ---- */

int vmctl_cmd_get_volume(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_get_vm_volume_request req = {.access_token = O->access_token,
						  .ignore_extra_files = true};
	struct hvapi_get_vm_volume_response resp;
	struct hvapi_get_vm_info_response info;
	struct rsync_stats st = {0};
	char err[1024];
	struct stat sb;
	uint64_t size;
	int fd, rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip))
		return 1;
	if (!*O->volume_filename)
		return cli_fail(c->doing, "no -volumeFilename given");
	req.volume_index = (uint32_t)O->volume_index;
	struct hvapi_ip_request ir = {.ip = req.ip};
	if (vmctl_call(v, c->doing, HVAPI_M_GET_VM_INFO, &hvapi_ip_request_type, &ir,
		       &hvapi_get_vm_info_response_type, &info))
		return 1;
	if (O->volume_index >= info.vm_info.volumes.n) {
		hvapi_get_vm_info_response_clear(&info);
		return cli_fail(c->doing, "volume index %llu too large: VM has %zu volumes",
				(unsigned long long)O->volume_index, info.vm_info.volumes.n);
	}
	size = info.vm_info.volumes.v[O->volume_index].size;
	hvapi_get_vm_info_response_clear(&info);
	fd = open(O->volume_filename, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cli_fail(c->doing, "open %s: %s", O->volume_filename, strerror(errno));
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size > size) {
		close(fd);
		return cli_fail(c->doing, "%s", "file larger than volume");
	}
	rc = hvclient_get_vm_volume(v->client, &req, sb.st_size > 0 ? fd : -1, fd, size,
				    (uint64_t)sb.st_size, &resp, &st, err, sizeof(err));
	if (rc == 0)
		hvapi_get_vm_volume_response_clear(&resp);
	if (close(fd) < 0 && rc == 0)
		return cli_fail(c->doing, "close %s: %s", O->volume_filename, strerror(errno));
	if (rc < 0)
		return cli_fail(c->doing, "%s", err);
	fprintf(stderr, "sent %llu B, received %llu/%llu B\n", (unsigned long long)st.nwritten,
		(unsigned long long)st.nread, (unsigned long long)size);
	return 0;
}

/* ---- migrate-vm, copy-vm ---- */

/* The source hypervisor: dialled with the same credentials; its address as the target
 * is given it ("host:port"). */
static int dial_source(struct vmctl *v, const char *doing, struct srpc_client **out, char *addr,
		       size_t addrsz)
{
	struct srpc_client_config cfg = {0};
	const char *h = O->source_hypervisor;
	const char *colon = strrchr(h, ':');
	char err[512];
	int n;

	if (!*h)
		return cli_fail(doing, "no -sourceHypervisor given");
	if (vmctl_dial(v, doing)) /* loads the credentials too */
		return 1;
	if (colon != NULL && (h[0] == '[' || strchr(h, ':') == colon))
		n = snprintf(addr, addrsz, "%s", h);
	else
		n = snprintf(addr, addrsz, strchr(h, ':') ? "[%s]:%d" : "%s:%d", h,
			     O->hypervisor_port);
	if (n < 0 || (size_t)n >= addrsz)
		return cli_fail(doing, "source hypervisor name too long");
	cfg.tls = v->tls;
	cfg.connect_timeout_ms = (int)(O->connect_timeout_ns / 1000000);
	if (srpc_client_dial(addr, &cfg, out, err, sizeof(err)) < 0)
		return cli_fail(doing, "%s", err);
	return 0;
}

/* The VM's info and a token for it on the source (the caller must own the VM there). */
static int source_token(struct srpc_client *src, struct in_addr ip, const char *doing,
			struct hvapi_vm_info *vm, struct api_bytes *token)
{
	struct hvapi_get_vm_access_token_request tr = {.ip = ip, .lifetime_ns = TOKEN_LIFETIME_NS};
	struct hvapi_get_vm_access_token_response tresp;
	struct hvapi_get_vm_info_response info;
	struct hvapi_ip_request ir = {.ip = ip};
	char err[1024];

	if (hvclient_call(src, HVAPI_M_GET_VM_INFO, &hvapi_ip_request_type, &ir,
			  &hvapi_get_vm_info_response_type, &info, err, sizeof(err)) < 0)
		return cli_fail(doing, "%s", err);
	*vm = info.vm_info;
	memset(&info.vm_info, 0, sizeof(info.vm_info));
	hvapi_get_vm_info_response_clear(&info);
	if (vm->state == HVAPI_STATE_MIGRATING)
		return cli_fail(doing, "VM is migrating");
	if (hvclient_call(src, HVAPI_M_GET_VM_ACCESS_TOKEN, &hvapi_get_vm_access_token_request_type,
			  &tr, &hvapi_get_vm_access_token_response_type, &tresp, err,
			  sizeof(err)) < 0)
		return cli_fail(doing, "%s", err);
	*token = tresp.token;
	memset(&tresp.token, 0, sizeof(tresp.token));
	hvapi_get_vm_access_token_response_clear(&tresp);
	return 0;
}

static void discard_token(struct srpc_client *src, struct in_addr ip, struct api_bytes *token)
{
	struct hvapi_vm_token_request r = {.ip = ip, .access_token = *token};
	struct hvapi_error_response resp;
	char err[256];

	if (hvclient_call(src, HVAPI_M_DISCARD_VM_ACCESS_TOKEN, &hvapi_vm_token_request_type, &r,
			  &hvapi_error_response_type, &resp, err, sizeof(err)) == 0)
		hvapi_error_response_clear(&resp);
}

/* "commit" or "abandon" from stdin, as the original asks. */
static bool ask_commit(void)
{
	char line[64];

	fprintf(stderr, "Commit VM (commit/abandon): ");
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "commit") == 0)
		return true;
	if (strcmp(line, "abandon") != 0)
		fprintf(stderr, "invalid response: %s\n", line);
	return false;
}

/* Reads MigrateVm/CopyVm responses until Final or Error; progress to stderr. A
 * RequestCommit (MigrateVm) is answered from stdin. For copy, *ip gets IpAddress. */
static int follow(struct vmctl *v, const char *doing, bool migrate, struct in_addr *ip)
{
	struct srpc_conn *conn = srpc_client_conn(v->client);

	for (;;) {
		const char *e, *progress;
		json_t *j = NULL;
		int rc = srpc_conn_read_json(conn, &j);

		if (rc < 0)
			return cli_fail(doing, "%s",
					rc == -ECONNRESET ? "connection closed" : strerror(-rc));
		e = json_string_value(sjson_lookup(j, "Error"));
		progress = json_string_value(sjson_lookup(j, "ProgressMessage"));
		if (e != NULL && *e) {
			cli_fail(doing, "%s", e);
			json_decref(j);
			return 1;
		}
		if (progress != NULL && *progress)
			fprintf(stderr, "%s\n", progress);
		if (migrate && json_is_true(sjson_lookup(j, "RequestCommit"))) {
			json_t *answer = json_pack("{s:b}", "Commit", ask_commit());

			rc = answer == NULL ? -ENOMEM : srpc_conn_write_json(conn, answer);
			json_decref(answer);
			if (rc == 0)
				rc = srpc_conn_flush(conn);
			if (rc < 0) {
				json_decref(j);
				return cli_fail(doing, "%s", strerror(-rc));
			}
		}
		if (json_is_true(sjson_lookup(j, "Final"))) {
			if (!migrate) {
				struct hvapi_copy_vm_response resp;
				char *msg = NULL;

				if (api_decode_msg(&hvapi_copy_vm_response_type, j, "reply", &resp,
						   &msg) == 0) {
					*ip = resp.ip;
					hvapi_copy_vm_response_clear(&resp);
				}
				free(msg);
			}
			json_decref(j);
			return 0;
		}
		json_decref(j);
	}
}

/* Sends the MigrateVm or CopyVm request on the target's connection and follows the
 * replies to Final. 0 or 1 (error printed). */
static int start_and_follow(struct vmctl *v, const struct vmctl_cmd *c, const struct api_type *t,
			    const void *req, bool migrate, struct in_addr *ip)
{
	int rc = vmctl_stream_send(v, c->doing, c->method, t, req);

	if (rc > 0)
		return 1;
	if (rc < 0)
		return cli_fail(c->doing, "%s", srpc_client_error(v->client));
	return follow(v, c->doing, migrate, ip);
}

int vmctl_cmd_migrate_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_migrate_vm_request req = {.dhcp_timeout_ns = O->dhcp_timeout_ns,
					       .skip_memory_check = O->skip_memory_check};
	struct hvapi_vm_info vm = {0};
	struct srpc_client *src = NULL;
	struct in_addr unused;
	char addr[320];
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip) ||
	    dial_source(v, c->doing, &src, addr, sizeof(addr)))
		return 1;
	rc = source_token(src, req.ip, c->doing, &vm, &req.access_token);
	hvapi_vm_info_clear(&vm);
	if (rc) {
		srpc_client_close(src);
		return 1;
	}
	req.source_hypervisor = addr;
	rc = start_and_follow(v, c, &hvapi_migrate_vm_request_type, &req, true, &unused);
	discard_token(src, req.ip, &req.access_token);
	free(req.access_token.data);
	srpc_client_close(src);
	return rc;
}

/* The copy's settings: flags, else the source VM's (as the original). */
static int copy_request(struct vmctl *v, const struct hvapi_vm_info *src,
			struct hvapi_copy_vm_request *req)
{
	struct hvapi_vm_info *vm = &req->vm;

	if (api_copy(&hvapi_vm_info_type, vm, src) < 0)
		return -ENOMEM;
	vm->address.ip.s_addr = 0;
	memset(vm->address.mac, 0, sizeof(vm->address.mac));
	if (*O->hostname) {
		free(vm->hostname);
		vm->hostname = strdup(O->hostname);
	}
	if (O->memory)
		vm->memory_mib = O->memory >> 20;
	if (O->milli_cpus)
		vm->milli_cpus = O->milli_cpus;
	if (*O->subnet_id) {
		free(vm->subnet_id);
		vm->subnet_id = strdup(O->subnet_id);
	}
	vm->destroy_protection = vm->destroy_protection || O->destroy_protection;
	return 0;
}

int vmctl_cmd_copy_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_copy_vm_request req = {.skip_memory_check = O->skip_memory_check};
	struct hvapi_vm_info vm = {0};
	struct srpc_client *src = NULL;
	struct in_addr newip = {0};
	char addr[320], ipstr[INET_ADDRSTRLEN];
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &req.ip) ||
	    dial_source(v, c->doing, &src, addr, sizeof(addr)))
		return 1;
	rc = source_token(src, req.ip, c->doing, &vm, &req.access_token);
	if (rc == 0 && copy_request(v, &vm, &req) < 0)
		rc = cli_fail(c->doing, "out of memory");
	hvapi_vm_info_clear(&vm);
	if (rc) {
		api_clear(&hvapi_copy_vm_request_type, &req);
		srpc_client_close(src);
		return 1;
	}
	req.source_hypervisor = strdup(addr);
	rc = start_and_follow(v, c, &hvapi_copy_vm_request_type, &req, false, &newip);
	discard_token(src, req.ip, &req.access_token);
	api_clear(&hvapi_copy_vm_request_type, &req);
	srpc_client_close(src);
	if (rc)
		return rc;
	struct hvapi_ip_request ack = {.ip = newip};
	if (vmctl_call_simple(v, "acknowledging VM", HVAPI_M_ACKNOWLEDGE_VM, &hvapi_ip_request_type,
			      &ack))
		return 1;
	inet_ntop(AF_INET, &newip, ipstr, sizeof(ipstr));
	printf("%s\n", ipstr);
	return 0;
}
