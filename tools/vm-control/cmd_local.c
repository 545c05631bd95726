/* vm-control export-local-vm, import-local-vm and commit-imported-vm: moving a VM
 * between the hypervisor and another VM manager on the same host, as the original's
 * commands do. Both need the hypervisor's root cookie (root on the host), ask
 * "commit/defer/abandon" on the terminal and talk to the hypervisor on this host. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "vmctl.h"

#define O (&v->o)

/* GetRootCookiePath, then the cookie's bytes (readable by root only). */
static int read_root_cookie(struct vmctl *v, const char *doing, struct api_bytes *out)
{
	struct hvapi_get_root_cookie_path_response r;
	size_t len;
	int rc;

	if (vmctl_call(v, doing, HVAPI_M_GET_ROOT_COOKIE_PATH, NULL, NULL,
		       &hvapi_get_root_cookie_path_response_type, &r))
		return 1;
	rc = vmctl_read_file(r.path, &out->data, &len);
	if (rc < 0) {
		cli_fail(doing, "reading root cookie %s: %s%s", r.path, strerror(-rc),
			 rc == -EACCES ? " (run as root)" : "");
		hvapi_get_root_cookie_path_response_clear(&r);
		return 1;
	}
	out->len = len;
	hvapi_get_root_cookie_path_response_clear(&r);
	return 0;
}

/* Asks "<prompt> (commit/defer/abandon)? " on stderr until one of them is typed. */
static int ask_commit(const char *doing, const char *prompt, char *answer, size_t sz)
{
	for (;;) {
		fprintf(stderr, "%s (commit/defer/abandon)? ", prompt);
		fflush(stderr);
		if (fgets(answer, (int)sz, stdin) == NULL)
			return cli_fail(doing, "deferring, error reading input: EOF");
		answer[strcspn(answer, "\n")] = '\0';
		if (strcmp(answer, "commit") == 0 || strcmp(answer, "defer") == 0 ||
		    strcmp(answer, "abandon") == 0)
			return 0;
	}
}

/* Runs cmd with arg (no shell), data on its stdin; stdout and stderr are ours. */
static int run_command(const char *doing, const char *cmd, const char *arg, const char *data)
{
	int fds[2], status;
	pid_t pid;
	size_t len = data ? strlen(data) : 0;

	if (pipe(fds) < 0)
		return cli_fail(doing, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return cli_fail(doing, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp(cmd, cmd, arg, (char *)NULL);
		fprintf(stderr, "%s: %s\n", cmd, strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	if (len > 0 && fsutil_write_all(fds[1], data, len) < 0 && errno != EPIPE)
		fprintf(stderr, "writing to %s: %s\n", cmd, strerror(errno));
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cli_fail(doing, "waiting for %s: %s", cmd, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cli_fail(doing, "%s %s: exit status %d", cmd, arg,
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

static int vm_call(struct vmctl *v, const char *doing, const char *method, struct in_addr ip)
{
	struct hvapi_vm_token_request r = {.ip = ip};

	return vmctl_call_simple(v, doing, method, &hvapi_vm_token_request_type, &r);
}

/* ---- export-local-vm ---- */

/* Hands the exported record to -localVmCreate and asks for the decision. */
static int export_hand_over(struct vmctl *v, const struct vmctl_cmd *c, const char *host,
			    struct in_addr ip, const struct hvapi_export_local_vm_info *info,
			    bool *restart)
{
	char *json = api_dumps(&hvapi_export_local_vm_info_type, info, JSON_INDENT(4));
	char answer[64], prompt[64], text[INET_ADDRSTRLEN];
	int rc;

	if (json == NULL)
		return cli_fail(c->doing, "out of memory");
	if (!*O->local_vm_create) {
		printf("%s\n", json);
		free(json);
		return cli_fail(c->doing, "no command specified: debug mode");
	}
	rc = run_command(c->doing, O->local_vm_create, host, json);
	free(json);
	if (rc)
		return rc;
	snprintf(prompt, sizeof(prompt), "Commit VM %s",
		 inet_ntop(AF_INET, &ip, text, sizeof(text)));
	if (ask_commit(c->doing, prompt, answer, sizeof(answer)))
		return 1;
	if (strcmp(answer, "abandon") == 0) {
		if (*O->local_vm_destroy && run_command(c->doing, O->local_vm_destroy, host, NULL))
			return 1;
		return cli_fail(c->doing, "you abandoned your VM");
	}
	*restart = false;
	if (strcmp(answer, "defer") == 0)
		return cli_fail(c->doing, "you deferred committing your VM");
	/* Exporting: the addresses leave this hypervisor's pool with the VM. */
	return vm_call(v, c->doing, HVAPI_M_DESTROY_VM, ip);
}

int vmctl_cmd_export_local_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			      char *const argv[])
{
	struct hvapi_export_local_vm_request r = {0};
	struct hvapi_export_local_vm_response resp;
	bool restart = true;
	int rc;

	(void)argc;
	if (vmctl_vm_ip(argv[0], c->doing, &r.ip) ||
	    read_root_cookie(v, c->doing, &r.verification_cookie))
		return 1;
	if (vm_call(v, c->doing, HVAPI_M_STOP_VM, r.ip)) {
		free(r.verification_cookie.data);
		return 1;
	}
	rc = vmctl_call(v, c->doing, c->method, &hvapi_export_local_vm_request_type, &r,
			&hvapi_export_local_vm_response_type, &resp);
	free(r.verification_cookie.data);
	if (rc == 0) {
		rc = export_hand_over(v, c, argv[0], r.ip, &resp.vm_info, &restart);
		hvapi_export_local_vm_response_clear(&resp);
	}
	/* As the original: whatever went wrong, the VM runs here again. */
	if (rc && restart) {
		struct hvapi_start_vm_request s = {.ip = r.ip};
		struct hvapi_dhcp_response d;

		if (vmctl_call(v, "restarting VM", HVAPI_M_START_VM, &hvapi_start_vm_request_type,
			       &s, &hvapi_dhcp_response_type, &d) == 0)
			hvapi_dhcp_response_clear(&d);
	}
	return rc;
}

/* ---- import-local-vm ---- */

/* <first volume directory>/import/<pid>, made for the volume files' second names. */
static int import_area(struct vmctl *v, const char *doing, char *dir, size_t sz)
{
	struct hvapi_list_volume_directories_response r;
	int rc = 0;

	if (vmctl_call(v, doing, HVAPI_M_LIST_VOLUME_DIRECTORIES, NULL, NULL,
		       &hvapi_list_volume_directories_response_type, &r))
		return 1;
	if (r.directories.n == 0)
		rc = cli_fail(doing, "no volume directories");
	else if (snprintf(dir, sz, "%s/import", r.directories.v[0]) >= (int)sz)
		rc = cli_fail(doing, "volume directory name too long");
	else if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		rc = cli_fail(doing, "mkdir %s: %s", dir, strerror(errno));
	else if (snprintf(dir + strlen(dir), sz - strlen(dir), "/%d", (int)getpid()) >= (int)sz ||
		 mkdir(dir, 0755) < 0)
		rc = cli_fail(doing, "mkdir %s: %s", dir, strerror(errno));
	hvapi_list_volume_directories_response_clear(&r);
	return rc;
}

/* Second names (or copies) of the volume files in dir, listed in names. */
static int import_files(const char *doing, const char *dir, int n, char *const files[],
			struct api_strlist *names)
{
	for (int i = 0; i < n; i++) {
		char path[4200];
		int rc = 0;

		if (i == 0)
			snprintf(path, sizeof(path), "%s/root", dir);
		else
			snprintf(path, sizeof(path), "%s/secondary-volume.%d", dir, i - 1);
		if (link(files[i], path) < 0)
			rc = fsutil_copy_file(files[i], path);
		if (rc < 0)
			return cli_fail(doing, "%s to %s: %s", files[i], path, strerror(-rc));
		if (api_strlist_add(names, path) < 0)
			return cli_fail(doing, "out of memory");
	}
	return 0;
}

static void remove_area(const char *dir, const struct api_strlist *names)
{
	for (size_t i = 0; i < names->n; i++)
		unlink(names->v[i]);
	rmdir(dir);
}

int vmctl_cmd_import_local_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc,
			      char *const argv[])
{
	struct hvapi_import_local_vm_request r = {.skip_memory_check = O->skip_memory_check};
	char dir[4096], answer[64], prompt[64], ip[INET_ADDRSTRLEN], *err = NULL;
	int rc;

	rc = api_load_file(&hvapi_vm_info_type, argv[0], &r.vm, &err);
	if (rc < 0) {
		cli_fail(c->doing, "%s: %s", argv[0], err ? err : strerror(-rc));
		free(err);
		return 1;
	}
	inet_ntop(AF_INET, &r.vm.address.ip, ip, sizeof(ip));
	rc = read_root_cookie(v, c->doing, &r.verification_cookie) ||
	     import_area(v, c->doing, dir, sizeof(dir));
	if (rc) {
		hvapi_import_local_vm_request_clear(&r);
		return 1;
	}
	rc = import_files(c->doing, dir, argc - 1, argv + 1, &r.volume_filenames);
	if (rc == 0)
		rc = vmctl_call_simple(v, c->doing, c->method, &hvapi_import_local_vm_request_type,
				       &r);
	remove_area(dir, &r.volume_filenames);
	hvapi_import_local_vm_request_clear(&r);
	if (rc)
		return 1;
	fprintf(stderr, "imported VM %s\n", ip);
	snprintf(prompt, sizeof(prompt), "Commit VM %s", ip);
	if (ask_commit(c->doing, prompt, answer, sizeof(answer)))
		return 1;
	inet_pton(AF_INET, ip, &r.vm.address.ip);
	if (strcmp(answer, "abandon") == 0) {
		if (vm_call(v, c->doing, HVAPI_M_DESTROY_VM, r.vm.address.ip))
			return 1;
		return cli_fail(c->doing, "you abandoned your VM");
	}
	if (strcmp(answer, "defer") == 0)
		return cli_fail(c->doing, "you deferred committing your VM");
	{
		struct hvapi_ip_request q = {.ip = r.vm.address.ip};

		return vmctl_call_simple(v, c->doing, HVAPI_M_COMMIT_IMPORTED_VM,
					 &hvapi_ip_request_type, &q);
	}
}
