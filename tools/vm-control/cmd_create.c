/* vm-control create-vm: builds a CreateVmRequest from the flags, streams the image
 * file and user data after it (hypervisor.md §7.2), prints the progress messages, then
 * acknowledges the VM (else the hypervisor destroys it after 15 s) and prints its IP. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmctl.h"

#define O (&v->o)
#define DOING "creating VM"

/* Opens a raw image (regular file or block device) and tells its size. */
static int open_sized(const char *path, int *fd, uint64_t *size)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return cli_fail(DOING, "open %s: %s", path, strerror(errno));
	if (fstat(*fd, &st) < 0)
		goto fail;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode) && ioctl(*fd, BLKGETSIZE64, size) == 0)
		return 0;
	if (!S_ISBLK(st.st_mode))
		errno = EINVAL;
fail:
	cli_fail(DOING, "%s: %s", path,
		 errno == EINVAL ? "unsupported file type" : strerror(errno));
	close(*fd);
	*fd = -1;
	return 1;
}

/* Copies exactly size bytes of fd to the connection. */
static int stream_fd(struct srpc_conn *conn, int fd, uint64_t size, const char *what)
{
	static uint8_t buf[1 << 16];
	uint64_t done = 0;

	while (done < size) {
		size_t want = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		ssize_t n = read(fd, buf, want);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cli_fail(DOING, "uploading %s: %s after %llu of %llu bytes", what,
					n < 0 ? strerror(errno) : "file shrank",
					(unsigned long long)done, (unsigned long long)size);
		rc = srpc_conn_write(conn, buf, (size_t)n);
		if (rc < 0)
			return cli_fail(DOING, "uploading %s: %s", what, strerror(-rc));
		done += (uint64_t)n;
	}
	return 0;
}

static int fill_volumes(struct vmctl *v, struct hvapi_create_vm_request *r)
{
	const struct vmctl_u64list *sizes =
	    O->volume_sizes.n ? &O->volume_sizes : &O->secondary_volume_sizes;
	int iface0 = O->volume_interfaces.n ? O->volume_interfaces.v[0] : 0;
	int type0 = O->volume_types.n ? O->volume_types.v[0] : 0;

	if (O->volume_format.value || iface0 || type0) {
		r->vm.volumes.v = calloc(1, sizeof(struct hvapi_volume));
		if (!r->vm.volumes.v)
			return -ENOMEM;
		r->vm.volumes.n = 1;
		r->vm.volumes.v[0].format = (enum hvapi_volume_format)O->volume_format.value;
		r->vm.volumes.v[0].interface = (enum hvapi_volume_interface)iface0;
		r->vm.volumes.v[0].type = (enum hvapi_volume_type)type0;
	}
	if (!sizes->n)
		return 0;
	r->secondary_volumes.v = calloc(sizes->n, sizeof(struct hvapi_volume));
	if (!r->secondary_volumes.v)
		return -ENOMEM;
	r->secondary_volumes.n = sizes->n;
	for (size_t i = 0; i < sizes->n; i++) {
		struct hvapi_volume *vol = &r->secondary_volumes.v[i];
		vol->size = sizes->v[i];
		if (i + 1 < O->volume_interfaces.n)
			vol->interface = (enum hvapi_volume_interface)O->volume_interfaces.v[i + 1];
		if (i + 1 < O->volume_types.n)
			vol->type = (enum hvapi_volume_type)O->volume_types.v[i + 1];
	}
	return 0;
}

static int fill_addresses(struct vmctl *v, struct hvapi_create_vm_request *r)
{
	const struct flags_list *ips = &O->request_ips;

	if (ips->n > 0 && *ips->v[0] && inet_pton(AF_INET, ips->v[0], &r->vm.address.ip) != 1)
		return cli_fail(DOING, "invalid IP address: %s", ips->v[0]);
	if (ips->n < 2 || O->secondary_subnet_ids.n == 0)
		return 0;
	r->vm.secondary_addresses.v =
	    calloc(O->secondary_subnet_ids.n, sizeof(struct hvapi_address));
	if (!r->vm.secondary_addresses.v)
		return cli_fail(DOING, "out of memory");
	r->vm.secondary_addresses.n = O->secondary_subnet_ids.n;
	for (size_t i = 1; i < ips->n && i <= O->secondary_subnet_ids.n; i++) {
		if (*ips->v[i] &&
		    inet_pton(AF_INET, ips->v[i], &r->vm.secondary_addresses.v[i - 1].ip) != 1)
			return cli_fail(DOING, "invalid IP address: %s", ips->v[i]);
	}
	return 0;
}

static int copy_strlist(struct api_strlist *dst, const struct flags_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (api_strlist_add(dst, src->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int read_identity(struct vmctl *v, struct hvapi_create_vm_request *r)
{
	int rc;

	if (!*O->identity_cert_file && !*O->identity_key_file)
		return 0;
	if (!*O->identity_cert_file || !*O->identity_key_file)
		return cli_fail(DOING, "give both -identityCertFile and -identityKeyFile");
	rc = vmctl_read_file(O->identity_cert_file, &r->identity_certificate.data,
			     &r->identity_certificate.len);
	if (rc < 0)
		return cli_fail(DOING, "read %s: %s", O->identity_cert_file, strerror(-rc));
	rc = vmctl_read_file(O->identity_key_file, &r->identity_key.data, &r->identity_key.len);
	if (rc < 0)
		return cli_fail(DOING, "read %s: %s", O->identity_key_file, strerror(-rc));
	return 0;
}

/* The request from the flags; returns 0, 1 (error printed) or 2 (usage). */
static int make_request(struct vmctl *v, struct hvapi_create_vm_request *r)
{
	const char *hostname = O->hostname && *O->hostname ? O->hostname : O->vm_hostname;
	const struct hvapi_tags *tags = O->tags.n ? &O->tags : &O->vm_tags;
	const char *name_tag = hvapi_tags_get(tags, "Name");

	if (!*hostname && !(name_tag && *name_tag)) {
		fprintf(stderr, "vm-control: create-vm: no hostname specified (-hostname or a "
				"Name tag in -tags)\n");
		return 2;
	}
	if (!*O->image_name && !*O->image_url && !*O->image_file &&
	    !flags_is_set(v->fs, "minFreeBytes")) {
		fprintf(stderr,
			"vm-control: create-vm: no image specified (-imageFile, "
			"-imageURL, -imageName, or -minFreeBytes for an empty root volume)\n");
		return 2;
	}
	r->dhcp_timeout_ns = O->dhcp_timeout_ns;
	r->do_not_start = O->do_not_start;
	r->enable_netboot = O->enable_netboot;
	r->minimum_free_bytes = O->min_free_bytes;
	r->roundup_power = O->roundup_power;
	r->skip_memory_check = O->skip_memory_check;
	r->vm.console_type = (enum hvapi_console_type)O->console_type.value;
	r->vm.cpu_priority = O->cpu_priority;
	r->vm.destroy_on_powerdown = O->destroy_on_powerdown;
	r->vm.destroy_protection = O->destroy_protection;
	r->vm.disable_virtio = O->disable_virtio;
	r->vm.firmware = (enum hvapi_firmware)O->firmware_type.value;
	r->vm.machine_type = (enum hvapi_machine_type)O->machine_type.value;
	r->vm.memory_mib = O->memory ? O->memory >> 20 : 1024;
	r->vm.milli_cpus = O->milli_cpus ? (uint32_t)O->milli_cpus : 250;
	r->vm.virtual_cpus = (uint32_t)O->virtual_cpus;
	r->vm.spread_volumes = O->spread_volumes;
	r->vm.watchdog_action = (enum hvapi_watchdog_action)O->watchdog_action.value;
	r->vm.watchdog_model = (enum hvapi_watchdog_model)O->watchdog_model.value;
	if (r->vm.virtual_cpus && r->vm.virtual_cpus < r->vm.milli_cpus / 1000) {
		fprintf(stderr, "vm-control: create-vm: -vCPUs must be at least %u\n",
			r->vm.milli_cpus / 1000);
		return 2;
	}
	if (!(r->vm.hostname = strdup(*hostname ? hostname : name_tag)) ||
	    !(r->vm.extra_kernel_options = strdup(O->extra_kernel_options)) ||
	    !(r->vm.subnet_id = strdup(O->subnet_id)) ||
	    copy_strlist(&r->vm.owner_groups, &O->owner_groups) < 0 ||
	    copy_strlist(&r->vm.owner_users, &O->owner_users) < 0 ||
	    copy_strlist(&r->vm.secondary_subnet_ids, &O->secondary_subnet_ids) < 0 ||
	    fill_volumes(v, r) < 0)
		return cli_fail(DOING, "out of memory");
	for (size_t i = 0; i < tags->n; i++)
		if (hvapi_tags_set(&r->vm.tags, tags->v[i].key, tags->v[i].value) < 0)
			return cli_fail(DOING, "out of memory");
	if (!name_tag && hvapi_tags_set(&r->vm.tags, "Name", r->vm.hostname) < 0)
		return cli_fail(DOING, "out of memory");
	if (O->num_network_queues.n) {
		r->vm.network_entries.v =
		    calloc(O->num_network_queues.n, sizeof(struct hvapi_network_entry));
		if (!r->vm.network_entries.v)
			return cli_fail(DOING, "out of memory");
		r->vm.network_entries.n = O->num_network_queues.n;
		for (size_t i = 0; i < O->num_network_queues.n; i++)
			r->vm.network_entries.v[i].num_queues =
			    (uint32_t)O->num_network_queues.v[i];
	}
	if (fill_addresses(v, r) || read_identity(v, r))
		return 1;
	if (*O->image_name) {
		r->vm.image_name = strdup(O->image_name);
		r->image_timeout_ns = O->image_timeout_ns;
		r->skip_bootloader = O->skip_bootloader;
	} else if (*O->image_url) {
		r->vm.image_url = strdup(O->image_url);
	}
	return 0;
}

/* Reads the reply stream up to the final message. */
static int read_responses(struct srpc_conn *conn, struct hvapi_create_vm_response *out)
{
	for (;;) {
		struct hvapi_create_vm_response r;
		json_t *j;
		char *err = NULL;
		int rc = srpc_conn_read_json(conn, &j);

		if (rc < 0)
			return cli_fail(DOING, "reading reply: %s",
					rc == -ECONNRESET ? "connection closed" : strerror(-rc));
		rc =
		    api_decode_msg(&hvapi_create_vm_response_type, j, "CreateVmResponse", &r, &err);
		json_decref(j);
		if (rc < 0) {
			cli_fail(DOING, "%s", err ? err : strerror(-rc));
			free(err);
			return 1;
		}
		if (*r.error) {
			cli_fail(DOING, "%s", r.error);
			hvapi_create_vm_response_clear(&r);
			return 1;
		}
		if (*r.progress_message)
			fprintf(stderr, "%s\n", r.progress_message);
		if (r.final) {
			*out = r;
			return 0;
		}
		hvapi_create_vm_response_clear(&r);
	}
}

static int send_request(struct vmctl *v, const struct hvapi_create_vm_request *r, int image_fd,
			int user_fd)
{
	struct srpc_conn *conn;
	json_t *j;
	int rc;

	if (vmctl_dial(v, DOING))
		return 1;
	if (srpc_client_start(v->client, HVAPI_M_CREATE_VM) < 0)
		return cli_fail(DOING, "%s", srpc_client_error(v->client));
	conn = srpc_client_conn(v->client);
	if (!(j = hvapi_create_vm_request_to_json(r)))
		return cli_fail(DOING, "out of memory");
	rc = srpc_conn_write_json(conn, j);
	json_decref(j);
	/* Raw data go in writes of their own, after the request (rpc.md §10.2). */
	if (rc == 0)
		rc = srpc_conn_flush(conn);
	if (rc < 0)
		return cli_fail(DOING, "sending request: %s", strerror(-rc));
	if (image_fd >= 0 && stream_fd(conn, image_fd, r->image_data_size, "image"))
		return 1;
	if (user_fd >= 0 && stream_fd(conn, user_fd, r->user_data_size, "user data"))
		return 1;
	rc = srpc_conn_flush(conn);
	if (rc < 0)
		return cli_fail(DOING, "uploading: %s", strerror(-rc));
	return 0;
}

int vmctl_cmd_create_vm(struct vmctl *v, const struct vmctl_cmd *c, int argc, char *const argv[])
{
	struct hvapi_create_vm_request r;
	struct hvapi_create_vm_response resp;
	struct hvapi_ip_request ack = {0};
	int image_fd = -1, user_fd = -1, rc;
	char buf[INET_ADDRSTRLEN];

	(void)c;
	(void)argc;
	(void)argv;
	memset(&r, 0, sizeof(r));
	rc = make_request(v, &r);
	if (rc)
		goto out;
	rc = 1;
	if (!*O->image_name && !*O->image_url && *O->image_file &&
	    open_sized(O->image_file, &image_fd, &r.image_data_size))
		goto out;
	if (*O->user_data_file && open_sized(O->user_data_file, &user_fd, &r.user_data_size))
		goto out;
	if (send_request(v, &r, image_fd, user_fd) ||
	    read_responses(srpc_client_conn(v->client), &resp))
		goto out;
	ack.ip = resp.ip;
	if (vmctl_call_simple(v, "acknowledging VM", HVAPI_M_ACKNOWLEDGE_VM, &hvapi_ip_request_type,
			      &ack) == 0) {
		printf("%s\n", inet_ntop(AF_INET, &resp.ip, buf, sizeof(buf)));
		fflush(stdout);
		rc = 0;
		if (!r.do_not_start && resp.dhcp_timed_out)
			rc = cli_fail(DOING, "DHCP ACK timed out");
	}
	hvapi_create_vm_response_clear(&resp);
out:
	if (image_fd >= 0)
		close(image_fd);
	if (user_fd >= 0)
		close(user_fd);
	hvapi_create_vm_request_clear(&r);
	return rc;
}
