/* MigrateVm and CopyVm, run on the target (spec/rpc.md §5, the original's manager
 * migrateVm/copyVm), and PrepareVmForMigration on the source, which records who the
 * target is (vmm/migrate.h has the on-disk states and the recovery).
 *
 * The target calls the source with its own certificate: PrepareVmForMigration and
 * GetVmInfo with its method grants (hypervisors must trust each other), everything
 * that touches the VM (GetVmVolume, StopVm, StartVm, GetVmUserData, DestroyVm,
 * DiscardVmAccessToken) without them (?doNotUseMethodPowers=true), so only the access
 * token the client brought opens the VM: a caller who cannot get a token on the source
 * cannot move or copy the VM through the target.
 *
 * MigrateVm: "initial volume(s) copy" (the VM may run: a stopped VM is made migrating
 * first), then for a running VM "stopping VM", migrating, "update volume(s)" (only
 * changed blocks), the user data, "starting VM" here, RequestCommit; on Commit the
 * record is committed here, then the source VM destroyed. Any failure before the
 * commit removes the incoming VM and gives the source back its VM (stopped ->
 * PrepareVmForMigration(false), restarted if it was running).
 * CopyVm: a new VM with a new address from this hypervisor's pool and the caller as
 * its first owner; the source VM is stopped for the update pass and started again. */
#include "daemon/hypervisor/rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/hvclient.h"
#include "daemon/hypervisor/vmm/migrate.h"
#include "daemon/hypervisor/vmm/vmcreate.h"
#include "daemon/hypervisor/vmm/vmops.h"
#include "fsutil.h"
#include "log.h"

#define EXTRA_MAX ((size_t)1 << 30)

/* One transfer: the two connections to the source and what the client gave. */
struct xfer {
	struct rpc *r;
	struct srpc_call *call;
	const char *source;
	struct in_addr ip; /* on the source */
	char ipstr[INET_ADDRSTRLEN];
	const struct api_bytes *token;
	struct migrate_conn pw, np; /* with and without method powers */
	char err[1024];
};

static int progress(struct xfer *x, const char *msg)
{
	json_t *j = json_pack("{s:s}", "ProgressMessage", msg);
	int rc = j == NULL ? -ENOMEM : srpc_conn_write_json(srpc_call_conn(x->call), j);

	json_decref(j);
	return rc < 0 ? rc : srpc_conn_flush(srpc_call_conn(x->call));
}

static int dial(struct xfer *x)
{
	int rc = migrate_dial(x->r->cfg, x->source, true, &x->pw, x->err, sizeof(x->err));

	if (rc == 0)
		rc = migrate_dial(x->r->cfg, x->source, false, &x->np, x->err, sizeof(x->err));
	return rc;
}

static void hangup(struct xfer *x)
{
	migrate_close(&x->pw);
	migrate_close(&x->np);
}

/* An {AccessToken, IpAddress} call answered by {Error}, on the token connection. */
static int token_call(struct xfer *x, struct srpc_client *cl, const char *method)
{
	struct hvapi_vm_token_request q = {.access_token = *x->token, .ip = x->ip};
	struct hvapi_error_response resp;
	int rc = hvclient_call(cl, method, &hvapi_vm_token_request_type, &q,
			       &hvapi_error_response_type, &resp, x->err, sizeof(x->err));

	if (rc == 0)
		hvapi_error_response_clear(&resp);
	return rc;
}

/* StopVm; a VM that stopped by itself meanwhile is as good. */
static int stop_source(struct xfer *x)
{
	int rc = token_call(x, x->np.cl, HVAPI_M_STOP_VM);

	if (rc == -EREMOTEIO && strcmp(x->err, "VM is already stopped") == 0)
		rc = 0;
	return rc;
}

static int prepare(struct xfer *x, struct srpc_client *cl, bool enable)
{
	struct hvapi_prepare_vm_for_migration_request q = {
	    .access_token = *x->token, .enable = enable, .ip = x->ip};
	struct hvapi_error_response resp;
	int rc = hvclient_call(cl, HVAPI_M_PREPARE_VM_FOR_MIGRATION,
			       &hvapi_prepare_vm_for_migration_request_type, &q,
			       &hvapi_error_response_type, &resp, x->err, sizeof(x->err));

	if (rc == 0)
		hvapi_error_response_clear(&resp);
	return rc;
}

static int start_source(struct xfer *x, struct srpc_client *cl)
{
	struct hvapi_start_vm_request q = {.access_token = *x->token, .ip = x->ip};
	struct hvapi_dhcp_response resp;
	int rc = hvclient_call(cl, HVAPI_M_START_VM, &hvapi_start_vm_request_type, &q,
			       &hvapi_dhcp_response_type, &resp, x->err, sizeof(x->err));

	if (rc == 0)
		hvapi_dhcp_response_clear(&resp);
	return rc;
}

static int source_info(struct xfer *x, struct hvapi_vm_info *out)
{
	struct hvapi_ip_request q = {.ip = x->ip};
	struct hvapi_get_vm_info_response resp;
	int rc = hvclient_call(x->pw.cl, HVAPI_M_GET_VM_INFO, &hvapi_ip_request_type, &q,
			       &hvapi_get_vm_info_response_type, &resp, x->err, sizeof(x->err));

	if (rc < 0)
		return rc;
	*out = resp.vm_info;
	memset(&resp.vm_info, 0, sizeof(resp.vm_info));
	hvapi_get_vm_info_response_clear(&resp);
	return 0;
}

/* The kernel and initrd that came with the root volume. */
static int write_extra(const char *dir, const struct hvapi_get_vm_volume_response *resp, char *err,
		       size_t errsz)
{
	for (size_t i = 0; i < resp->extra_files.n; i++) {
		const struct hvapi_file *f = &resp->extra_files.v[i];
		char path[4200];
		int rc;

		if (strcmp(api_str(f->name), "initrd") != 0 &&
		    strcmp(api_str(f->name), "kernel") != 0) {
			snprintf(err, errsz, "received unsupported extra file: %s",
				 api_str(f->name));
			return -EPROTO;
		}
		if (f->data.len == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		rc = fsutil_write_atomic(path, f->data.data, f->data.len, 0600);
		if (rc < 0) {
			snprintf(err, errsz, "writing %.900s: %s", path, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* One pass over every volume of info: the first fetches whole volumes (and the kernel
 * and initrd), an update pass only the blocks that changed since. */
static int copy_volumes(struct xfer *x, const struct hvapi_local_vm_info *info, bool first)
{
	for (size_t i = 0; i < info->volume_locations.n; i++) {
		const struct hvapi_local_volume *l = &info->volume_locations.v[i];
		struct hvapi_get_vm_volume_request q = {
		    .access_token = *x->token, .ip = x->ip, .volume_index = (uint32_t)i};
		struct hvapi_get_vm_volume_response resp;
		uint64_t size = info->vm.volumes.v[i].size;
		struct stat st;
		int fd, rc;

		q.get_extra_files = first && i == 0;
		q.ignore_extra_files = !q.get_extra_files;
		fd = open(l->filename, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || fstat(fd, &st) < 0) {
			snprintf(x->err, sizeof(x->err), "open %s: %s", l->filename,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return -errno;
		}
		rc = hvclient_get_vm_volume(x->np.cl, &q, st.st_size > 0 ? fd : -1, fd, size,
					    (uint64_t)st.st_size, &resp, NULL, x->err,
					    sizeof(x->err));
		if (rc == 0) {
			if (q.get_extra_files)
				rc = write_extra(l->directory_to_cleanup, &resp, x->err,
						 sizeof(x->err));
			hvapi_get_vm_volume_response_clear(&resp);
		}
		/* check-vms wants raw volumes fully allocated; the copy left holes. */
		if (rc == 0 && info->vm.volumes.v[i].format != HVAPI_VOLUME_FORMAT_QCOW2 &&
		    (rc = -posix_fallocate(fd, 0, (off_t)size)) == -EOPNOTSUPP)
			rc = 0;
		if (rc == 0 && fsync(fd) < 0)
			rc = -errno;
		close(fd);
		if (rc < 0) {
			if (x->err[0] == '\0')
				snprintf(x->err, sizeof(x->err), "%s: %s", l->filename,
					 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* GetVmUserData into <vm dir>/user-data.raw (nothing when it has none). */
static int copy_user_data(struct xfer *x, const char *dir)
{
	struct hvapi_vm_token_request q = {.access_token = *x->token, .ip = x->ip};
	struct hvapi_length_response resp;
	char path[4200], buf[65536];
	int fd, rc;

	rc = hvclient_start(x->np.cl, HVAPI_M_GET_VM_USER_DATA, &hvapi_vm_token_request_type, &q,
			    &hvapi_length_response_type, &resp, x->err, sizeof(x->err));
	if (rc < 0 || resp.length == 0)
		return rc;
	snprintf(path, sizeof(path), "%s/user-data.raw", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(x->err, sizeof(x->err), "open %.900s: %s", path, strerror(errno));
		return -errno;
	}
	for (uint64_t left = resp.length; rc == 0 && left > 0;) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		rc = srpc_conn_read(srpc_client_conn(x->np.cl), buf, n);
		if (rc == 0)
			rc = fsutil_write_all(fd, buf, n);
		left -= n;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		snprintf(x->err, sizeof(x->err), "user data: %s", strerror(-rc));
	return rc;
}

/* ---- MigrateVm ---- */

/* The source gets its VM back after a failure before the commit (fresh connections:
 * a failed transfer leaves the old ones out of step). */
static void give_back(struct xfer *x, bool prepared, bool restart)
{
	char keep[sizeof(x->err)];

	memcpy(keep, x->err, sizeof(keep));
	hangup(x);
	if ((prepared || restart) && dial(x) == 0) {
		if (prepared && prepare(x, x->pw.cl, false) < 0)
			log_warn("%s: giving the VM back to %s: %s", x->ipstr, x->source, x->err);
		if (restart && start_source(x, x->np.cl) < 0)
			log_warn("%s: restarting the VM on %s: %s", x->ipstr, x->source, x->err);
	}
	memcpy(x->err, keep, sizeof(keep));
}

static int ask_commit(struct xfer *x, bool *commit)
{
	struct srpc_conn *c = srpc_call_conn(x->call);
	struct hvapi_migrate_vm_response_response answer = {0};
	json_t *j = json_pack("{s:b}", "RequestCommit", 1);
	char *msg = NULL;
	int rc = j == NULL ? -ENOMEM : srpc_conn_write_json(c, j);

	json_decref(j);
	j = NULL;
	if (rc == 0)
		rc = srpc_conn_flush(c);
	if (rc == 0)
		rc = srpc_conn_read_json(c, &j);
	if (rc == 0 && api_decode_msg(&hvapi_migrate_vm_response_response_type, j,
				      "MigrateVmResponseResponse", &answer, &msg) < 0)
		rc = -EBADMSG;
	free(msg);
	json_decref(j);
	*commit = answer.commit;
	return rc;
}

static int migrate(struct xfer *x, const struct hvapi_migrate_vm_request *q)
{
	struct hvapi_local_vm_info info = {0};
	struct manager *m = x->r->m;
	bool prepared = false, stopped = false, running, commit = false, timed_out = false;
	struct vm *vm = NULL;
	char ip[INET_ADDRSTRLEN];
	int rc;

	inet_ntop(AF_INET, &x->ip, ip, sizeof(ip));
	vm = manager_find(m, x->ip);
	if (vm != NULL) {
		snprintf(x->err, sizeof(x->err), "cannot migrate to the same hypervisor");
		rc = -EEXIST;
		goto out;
	}
	if ((rc = dial(x)) < 0 || (rc = source_info(x, &info.vm)) < 0)
		goto out;
	if (info.vm.address.ip.s_addr != x->ip.s_addr) {
		char other[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &info.vm.address.ip, other, sizeof(other));
		snprintf(x->err, sizeof(x->err), "inconsistent IP address: %s", other);
		rc = -EINVAL;
		goto out;
	}
	running = info.vm.state == HVAPI_STATE_RUNNING;
	if ((rc = migrate_check_target(m, &info.vm, true, x->err, sizeof(x->err))) < 0 ||
	    (rc = migrate_plan_volumes(m, ip, &info.vm, &info, x->err, sizeof(x->err))) < 0)
		goto out;
	/* A stopped VM is made migrating before anything is copied (as the original);
	 * the caller's token opens it. */
	if (!running && (rc = prepare(x, x->pw.cl, true)) == 0)
		prepared = true;
	if (rc < 0)
		goto out;
	rc = migrate_incoming_insert(m, &info, x->source, &vm, x->err, sizeof(x->err));
	if (rc < 0)
		goto out_give_back;
	pthread_mutex_lock(&vm->mu);
	rc = api_copy(&hvapi_local_vm_info_type, &info, &vm->info);
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0 || (rc = progress(x, "initial volume(s) copy")) < 0 ||
	    (rc = copy_volumes(x, &info, true)) < 0)
		goto out_abort;
	if (running) {
		if ((rc = progress(x, "stopping VM")) < 0 || (rc = stop_source(x)) < 0)
			goto out_abort;
		stopped = true;
		if ((rc = prepare(x, x->pw.cl, true)) < 0)
			goto out_abort;
		prepared = true;
		if ((rc = progress(x, "update volume(s)")) < 0 ||
		    (rc = copy_volumes(x, &info, false)) < 0)
			goto out_abort;
	}
	if ((rc = copy_user_data(x, vm->dir)) < 0 || (rc = progress(x, "starting VM")) < 0)
		goto out_abort;
	pthread_mutex_lock(&vm->mu);
	vm_set_state(vm, HVAPI_STATE_STARTING);
	pthread_mutex_unlock(&vm->mu);
	rc = vmops_boot(m, vm, q->dhcp_timeout_ns, &timed_out, x->err, sizeof(x->err));
	if (rc == 0 && timed_out) {
		snprintf(x->err, sizeof(x->err), "DHCP timed out");
		rc = -ETIMEDOUT;
	}
	if (rc < 0 || (rc = ask_commit(x, &commit)) < 0)
		goto out_abort;
	if (!commit) {
		snprintf(x->err, sizeof(x->err), "VM migration abandoned");
		rc = -ECANCELED;
		goto out_abort;
	}
	rc = migrate_incoming_commit(m, vm, x->err, sizeof(x->err));
	if (rc < 0)
		goto out_abort;
	log_info("%s: migrated from %s", ip, x->source);
	/* Committed here: the source's copy goes (if this fails, the source removes it
	 * when it next asks us, see migrate_recover). */
	if (token_call(x, x->np.cl, HVAPI_M_DESTROY_VM) < 0) {
		hangup(x);
		if (dial(x) < 0 || token_call(x, x->np.cl, HVAPI_M_DESTROY_VM) < 0)
			log_warn("%s: destroying the migrated VM on %s: %s", ip, x->source, x->err);
	}
	x->err[0] = '\0';
	goto out;

out_abort:
	log_warn("%s: migration from %s failed: %s", ip, x->source, x->err);
	migrate_incoming_abort(m, vm);
out_give_back:
	give_back(x, prepared, stopped);
out:
	vm_unref(vm);
	api_clear(&hvapi_local_vm_info_type, &info);
	return rc;
}

/* The start of MigrateVm and CopyVm: the source, the VM there and its token. 0, or
 * -EINVAL/-EACCES (x->err says why) when the request lacks the source or the token. */
static int xfer_init(struct xfer *x, const char *source, struct in_addr ip,
		     const struct api_bytes *token)
{
	x->source = source;
	x->ip = ip;
	inet_ntop(AF_INET, &ip, x->ipstr, sizeof(x->ipstr));
	x->token = token;
	if (*source == '\0') {
		snprintf(x->err, sizeof(x->err), "no source hypervisor given");
		return -EINVAL;
	}
	if (token->len == 0) {
		/* Only the owner's token opens the VM on the source (see the top of this file). */
		snprintf(x->err, sizeof(x->err), "no access to resource");
		return -EACCES;
	}
	return 0;
}

/* Their end: hangs up on the source, then sends the error (rc < 0; it goes to the
 * client if its connection still works) or resp with *final set (rc == 0). */
static int xfer_finish(struct xfer *x, int rc, const struct api_type *resp_t, void *resp,
		       bool *final)
{
	hangup(x);
	if (rc < 0 && x->err[0] == '\0')
		snprintf(x->err, sizeof(x->err), "%s", strerror(-rc));
	if (rc < 0)
		return rpc_write_error(x->call, resp_t, x->err);
	if (rc == 0) {
		*final = true;
		rc = rpc_write(x->call, resp_t, resp);
	}
	return rc;
}

static int migrate_vm(struct srpc_call *call, void *arg)
{
	struct hvapi_migrate_vm_request q = {0};
	struct xfer x = {.r = arg, .call = call};
	struct hvapi_migrate_vm_response resp = {0};
	int rc = rpc_read_request(call, &hvapi_migrate_vm_request_type, &q,
				  &hvapi_migrate_vm_response_type);

	if (rc < 0)
		return rc;
	rc = xfer_init(&x, api_str(q.source_hypervisor), q.ip, &q.access_token);
	if (rc == 0)
		rc = migrate(&x, &q);
	rc = xfer_finish(&x, rc, &hvapi_migrate_vm_response_type, &resp, &resp.final);
	api_clear(&hvapi_migrate_vm_request_type, &q);
	return rc;
}

/* ---- CopyVm ---- */

static int copy(struct xfer *x, struct hvapi_copy_vm_request *q, struct in_addr *newip)
{
	struct hvapi_create_vm_request creq = {0};
	struct hvapi_local_vm_info record = {0};
	struct hvapi_vm_info src = {0};
	struct manager *m = x->r->m;
	struct vm_caller c = rpc_caller(x->call);
	struct vm *vm = NULL;
	bool stopped = false, running;
	int rc;

	if (c.user == NULL || *c.user == '\0') {
		snprintf(x->err, sizeof(x->err), "no authentication data");
		return -EACCES;
	}
	if ((rc = dial(x)) < 0 || (rc = source_info(x, &src)) < 0)
		goto out;
	if (src.state != HVAPI_STATE_STOPPED && src.state != HVAPI_STATE_RUNNING) {
		snprintf(x->err, sizeof(x->err), "VM is not stopped or running");
		rc = -EBUSY;
		goto out;
	}
	running = src.state == HVAPI_STATE_RUNNING;
	creq.vm = q->vm;
	creq.vm.address.ip.s_addr = 0;
	if (creq.vm.memory_mib == 0)
		creq.vm.memory_mib = src.memory_mib;
	if (creq.vm.milli_cpus == 0)
		creq.vm.milli_cpus = src.milli_cpus;
	creq.vm.state = src.state; /* checked: stopped or running; the copy is stopped */
	rc = migrate_check_target(m, &creq.vm, false, x->err, sizeof(x->err));
	if (rc == 0)
		rc = vmcreate_allocate(m, &c, &creq, &vm, x->err, sizeof(x->err));
	memset(&creq.vm, 0, sizeof(creq.vm)); /* q still owns it */
	if (rc < 0)
		goto out;
	*newip = vm->ip;
	pthread_mutex_lock(&vm->mu);
	rc = api_copy(&hvapi_local_vm_info_type, &record, &vm->info);
	pthread_mutex_unlock(&vm->mu);
	/* Until info.json is written at the end, a crash leaves a VM directory without
	 * it: start-up removes it with its volumes and frees the address. */
	if (rc == 0)
		rc = fsutil_mkdir_p(vm->dir, 0755);
	if (rc == 0)
		rc = migrate_plan_volumes(m, vm->ipstr, &src, &record, x->err, sizeof(x->err));
	for (size_t i = 0; rc == 0 && i < record.volume_locations.n; i++)
		rc = fsutil_mkdir_p(record.volume_locations.v[i].directory_to_cleanup, 0755);
	if (rc < 0)
		goto out_delete;
	if ((rc = progress(x, "initial volume(s) copy")) < 0 ||
	    (rc = copy_volumes(x, &record, true)) < 0)
		goto out_delete;
	if (running) {
		if ((rc = progress(x, "stopping VM")) < 0 || (rc = stop_source(x)) < 0)
			goto out_delete;
		stopped = true;
		if ((rc = progress(x, "update volume(s)")) < 0 ||
		    (rc = copy_volumes(x, &record, false)) < 0)
			goto out_delete;
	}
	if ((rc = copy_user_data(x, vm->dir)) < 0)
		goto out_delete;
	pthread_mutex_lock(&vm->mu);
	rc = vm_commit(vm, &record);
	pthread_mutex_unlock(&vm->mu);
	if (rc < 0) {
		snprintf(x->err, sizeof(x->err), "writing info.json: %s", strerror(-rc));
		goto out_delete;
	}
	vmops_arm_ack(m, vm);
	pthread_mutex_lock(&vm->mu);
	vm->busy = false;
	pthread_mutex_unlock(&vm->mu);
	manager_changed(m, MANAGER_CHANGED_VM, vm->ipstr);
	manager_changed(m, MANAGER_CHANGED_POOL, NULL);
	log_info("%s: copied from %s on %s", vm->ipstr, x->ipstr, x->source);
	goto out_restart;

out_delete:
	log_warn("copying %s from %s failed: %s", x->ipstr, x->source, x->err);
	for (size_t i = 0; i < record.volume_locations.n; i++) {
		unlink(record.volume_locations.v[i].filename);
		vmops_rmtree(record.volume_locations.v[i].directory_to_cleanup);
	}
	pthread_mutex_lock(&vm->mu);
	vm->busy = false;
	pthread_mutex_unlock(&vm->mu);
	vmops_delete(m, vm);
out_restart:
	if (stopped) {
		char keep[sizeof(x->err)];

		memcpy(keep, x->err, sizeof(keep));
		hangup(x);
		if (dial(x) < 0 || start_source(x, x->np.cl) < 0)
			log_warn("%s: restarting the VM on %s: %s", x->ipstr, x->source, x->err);
		memcpy(x->err, keep, sizeof(keep));
	}
out:
	vm_unref(vm);
	api_clear(&hvapi_local_vm_info_type, &record);
	api_clear(&hvapi_vm_info_type, &src);
	return rc;
}

static int copy_vm(struct srpc_call *call, void *arg)
{
	struct hvapi_copy_vm_request q = {0};
	struct xfer x = {.r = arg, .call = call};
	struct hvapi_copy_vm_response resp = {0};
	int rc =
	    rpc_read_request(call, &hvapi_copy_vm_request_type, &q, &hvapi_copy_vm_response_type);

	if (rc < 0)
		return rc;
	rc = xfer_init(&x, api_str(q.source_hypervisor), q.ip, &q.access_token);
	if (rc == 0)
		rc = copy(&x, &q, &resp.ip);
	rc = xfer_finish(&x, rc, &hvapi_copy_vm_response_type, &resp, &resp.final);
	api_clear(&hvapi_copy_vm_request_type, &q);
	return rc;
}

/* ---- PrepareVmForMigration (the source) ---- */

/* "A + VM" (rpc.md §5): the method grant got the caller here; the VM itself needs
 * ownership or the token, as in the original (which drops the caller's method access
 * for this check). Errors are returned (weaknesses.md #13). With enable, the marker
 * names the target: the caller's address at this daemon's port (hypervisors listen on
 * the same port). */
static int prepare_for_migration(struct rpc *r, struct srpc_call *call, const void *req, void *resp,
				 char *err, size_t errsz)
{
	const struct hvapi_prepare_vm_for_migration_request *q = req;
	const struct srpc_auth *a = srpc_call_auth(call);
	struct vm_caller c = rpc_caller(call);
	struct vm *vm = manager_find(r->m, q->ip);
	char peer[300], host[256];
	const char *colon;
	bool ok;
	int rc;

	(void)resp;
	if (vm == NULL) {
		inet_ntop(AF_INET, &q->ip, host, sizeof(host));
		snprintf(err, errsz, "no VM with IP address: %s found", host);
		return -ENOENT;
	}
	c.admin = false;
	pthread_mutex_lock(&vm->mu);
	ok = vm_access(vm, &c, q->access_token.data, q->access_token.len);
	pthread_mutex_unlock(&vm->mu);
	if (!ok) {
		vm_unref(vm);
		snprintf(err, errsz, "no access to resource");
		return -EACCES;
	}
	colon = a->peer != NULL ? strrchr(a->peer, ':') : NULL;
	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - a->peer) : 0,
		 colon ? a->peer : "");
	snprintf(peer, sizeof(peer), "%s:%d", host, r->cfg->port_num);
	rc = q->enable ? migrate_marker_write(vm->dir, MIGRATE_SOURCE, peer) : 0;
	if (rc < 0)
		snprintf(err, errsz, "writing the migration marker: %s", strerror(-rc));
	if (rc == 0)
		rc = vmops_prepare_migration(r->m, vm, q->enable, err, errsz);
	if ((rc < 0 && q->enable) || (rc == 0 && !q->enable))
		migrate_marker_remove(vm->dir);
	vm_unref(vm);
	return rc;
}

const struct rpc_method rpc_migrate_methods[] = {
    {.name = HVAPI_M_MIGRATE_VM, .stream = migrate_vm},
    {.name = HVAPI_M_COPY_VM, .stream = copy_vm},
    {.name = HVAPI_M_PREPARE_VM_FOR_MIGRATION, .fn = prepare_for_migration},
    {NULL},
};
