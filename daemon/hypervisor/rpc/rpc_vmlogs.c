/* ListVmVirtualiserLogFiles and GetVmVirtualiserLogFile: libvirt's QEMU log of a VM
 * (rpc.md §5). */
#include "daemon/hypervisor/rpc/rpc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/hypervisor/vmm/libvirt/virt.h"
#include "log.h"

/* ---- virtualiser logs ---- */

/* The log file name prefix of the VM: "<domain>.log". */
static void log_prefix(struct rpc *r, struct vm *vm, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s.log", r->m->domain_prefix, vm->ipstr);
}

static bool is_vm_log(const char *prefix, const char *name)
{
	size_t pl = strlen(prefix);

	return strncmp(name, prefix, pl) == 0 && (name[pl] == '\0' || name[pl] == '.');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_logs(struct rpc *r, struct srpc_call *call, const void *req, void *resp, char *err,
		     size_t errsz)
{
	const struct hvapi_ip_request *q = req;
	struct hvapi_list_vm_virtualiser_log_files_response *p = resp;
	const char *dir = r->cfg->virtualiser_log_directory;
	char prefix[128], path[4096];
	struct vm *vm = rpc_vm(r, call, q->ip, NULL, err, errsz);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (vm == NULL)
		return -ENOENT;
	log_prefix(r, vm, prefix, sizeof(prefix));
	vm_unref(vm);
	d = opendir(dir);
	if (d == NULL)
		return 0; /* no logs yet */
	while ((de = readdir(d)) != NULL) {
		char **v;

		if (!is_vm_log(prefix, de->d_name))
			continue;
		v = realloc(p->filenames.v, (p->filenames.n + 1) * sizeof(*v));
		if (v == NULL)
			break;
		p->filenames.v = v;
		v[p->filenames.n] = strdup(de->d_name);
		if (v[p->filenames.n] != NULL)
			p->filenames.n++;
	}
	closedir(d);
	qsort(p->filenames.v, p->filenames.n, sizeof(char *), cmp_str);
	p->lengths.v = calloc(p->filenames.n ? p->filenames.n : 1, sizeof(uint64_t));
	if (p->lengths.v == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	p->lengths.n = p->filenames.n;
	for (size_t i = 0; i < p->filenames.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, p->filenames.v[i]);
		if (stat(path, &st) == 0)
			p->lengths.v[i] = (uint64_t)st.st_size;
	}
	return 0;
}

static int get_log(struct srpc_call *call, void *arg)
{
	struct rpc *r = arg;
	struct hvapi_get_vm_virtualiser_log_file_request q = {0};
	struct hvapi_length_response resp = {0};
	char err[512] = "", prefix[128], path[4096], buf[65536];
	struct srpc_conn *c = srpc_call_conn(call);
	uint64_t left;
	struct vm *vm;
	struct stat st;
	int rc = rpc_read_request(call, &hvapi_get_vm_virtualiser_log_file_request_type, &q,
				  &hvapi_length_response_type),
	    fd = -1;

	if (rc < 0)
		return rc;
	vm = rpc_vm(r, call, q.ip, NULL, err, sizeof(err));
	if (vm != NULL) {
		log_prefix(r, vm, prefix, sizeof(prefix));
		vm_unref(vm);
		if (q.filename == NULL || q.filename[0] == '\0' ||
		    strchr(q.filename, '/') != NULL || strcmp(q.filename, ".") == 0 ||
		    strcmp(q.filename, "..") == 0)
			snprintf(err, sizeof(err), "filename must be a plain basename");
		else if (!is_vm_log(prefix, q.filename))
			snprintf(err, sizeof(err), "%s is not a log file of this VM", q.filename);
		else {
			snprintf(path, sizeof(path), "%s/%s", r->cfg->virtualiser_log_directory,
				 q.filename);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
				snprintf(err, sizeof(err), "%s: %s", q.filename,
					 fd < 0 ? strerror(errno) : "not a regular file");
		}
	}
	api_clear(&hvapi_get_vm_virtualiser_log_file_request_type, &q);
	if (err[0] != '\0') {
		if (fd >= 0)
			close(fd);
		return rpc_write_error(call, &hvapi_length_response_type, err) < 0 ? -EIO : 0;
	}
	resp.length = (uint64_t)st.st_size;
	rc = rpc_write(call, &hvapi_length_response_type, &resp);
	for (left = resp.length; rc == 0 && left > 0;) {
		ssize_t got = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (got <= 0) {
			rc = -EIO; /* truncated under us: the client cannot be told otherwise */
			break;
		}
		rc = srpc_conn_write(c, buf, (size_t)got);
		left -= (uint64_t)got;
	}
	close(fd);
	if (rc == 0)
		rc = srpc_conn_flush(c);
	return rc;
}

const struct rpc_method rpc_vmlog_methods[] = {
    {.name = HVAPI_M_LIST_VM_VIRTUALISER_LOG_FILES, .fn = list_logs},
    {.name = HVAPI_M_GET_VM_VIRTUALISER_LOG_FILE, .stream = get_log},
    {NULL},
};
