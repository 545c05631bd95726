/* The libvirt backend: one connection (re-opened when libvirtd restarts), transient
 * domains named <prefix><vm ip>, and lifecycle events delivered to one callback.
 * Domains are transient: libvirt only knows VMs that run; the daemon's state files
 * are the only definition of a VM, so the two can never disagree about settings. */
#ifndef HV_VIRT_H
#define HV_VIRT_H

#include <stddef.h>

enum virt_event_kind {
	VIRT_EV_STARTED,      /* a domain of ours started */
	VIRT_EV_SHUTDOWN,     /* it stopped after a guest or ACPI shutdown */
	VIRT_EV_DESTROYED,    /* it was killed from the host (us or virsh destroy) */
	VIRT_EV_CRASHED,      /* QEMU or the guest failed, or libvirt lost it */
	VIRT_EV_WATCHDOG,     /* the guest watchdog fired with action poweroff */
	VIRT_EV_RECONNECTED,  /* the connection was re-established: re-check domains */
	VIRT_EV_DISCONNECTED, /* the connection to libvirtd was lost */
};

struct virt_event {
	enum virt_event_kind kind;
	const char *vm; /* the name without the prefix (the VM's IP); NULL for connection events */
};

/* Called on libvirt's event thread. It may take daemon locks and write files but must
 * not wait for another libvirt call to complete. */
typedef void (*virt_event_fn)(const struct virt_event *ev, void *arg);

struct virt; /* opaque; thread-safe */

/* Opens uri (e.g. qemu:///system, test:///default), registers for lifecycle events of
 * domains whose names start with prefix, and starts the event and reconnect threads.
 * Returns 0 and *out, or -errno with the reason in err. Borrows uri and prefix. */
int virt_open(const char *uri, const char *prefix, virt_event_fn fn, void *arg, struct virt **out,
	      char *err, size_t errsz);

/* Stops the threads and closes the connection. Running domains are left alone. */
void virt_close(struct virt *v);

/* The libvirt domain name of VM vm (prefix + vm) into buf. Returns buf. */
char *virt_domain_name(const struct virt *v, const char *vm, char *buf, size_t sz);

/* Creates and starts a transient domain from xml. 0, -EEXIST if it already runs,
 * -ENOTCONN, or -EIO with libvirt's message in err. */
int virt_start(struct virt *v, const char *xml, char *err, size_t errsz);

/* Asks the guest to power down (ACPI). 0, -ENOENT if not running, -ENOTCONN, -EIO. */
int virt_shutdown(struct virt *v, const char *vm, char *err, size_t errsz);

/* Sends ctrl-alt-delete. 0, -ENOENT, -ENOTCONN, -EIO. */
int virt_reboot(struct virt *v, const char *vm, char *err, size_t errsz);

/* Kills the domain at once. 0, -ENOENT if not running, -ENOTCONN, -EIO. */
int virt_destroy(struct virt *v, const char *vm, char *err, size_t errsz);

/* Sends one QMP command (a JSON object, as text) to the running VM's QEMU monitor
 * through libvirt, and returns QEMU's reply (new string) in *reply. 0, -ENOENT if not
 * running, -ENOTCONN, or -EIO with libvirt's message in err (a command QEMU refuses
 * is a reply with an "error" member, not a failure). */
int virt_qmp(struct virt *v, const char *vm, const char *cmd, char **reply, char *err,
	     size_t errsz);

/* 1 if the VM's domain is active, 0 if there is none, -ENOTCONN, -EIO. */
int virt_is_running(struct virt *v, const char *vm);

/* The VMs (names without prefix) of every active domain with our prefix. *out is a
 * new NULL-terminated array (free with virt_list_free). Returns the count or -errno. */
int virt_list(struct virt *v, char ***out);
void virt_list_free(char **list);

/* The libvirt XML of a running VM's domain (new string) or NULL. */
char *virt_xml(struct virt *v, const char *vm);

/* True while the connection is up. */
int virt_connected(struct virt *v);

/* A short human description of the hypervisor behind the connection, e.g.
 * "QEMU 7.2.22 (libvirt 9.0.0)", into buf. */
char *virt_describe(struct virt *v, char *buf, size_t sz);

#endif
