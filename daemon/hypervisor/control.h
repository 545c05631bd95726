/* The control socket <stateDir>/control (spec/hypervisor.md §9): a Unix stream socket
 * (0600) taking one command line per connection ("stop", "stop-vms-on-next-stop"),
 * answered "ok\n" or "bad request\n". The connection is then held open until the
 * daemon exits, so a client waiting for EOF waits for the stop to complete. */
#ifndef HV_CONTROL_H
#define HV_CONTROL_H

#include <stddef.h>

/* Runs one command; returns 0 if it is known (the reply is "ok"), -EINVAL if not. */
typedef int (*control_fn)(const char *command, void *arg);

struct control; /* opaque */

/* Removes a stale socket, binds path (0600) and starts the accept thread.
 * Returns 0 and *out, or -errno. Borrows path. */
int control_start(const char *path, control_fn fn, void *arg, struct control **out);
/* Stops accepting, closes the socket and every held connection, removes path. */
void control_stop(struct control *c);

/* Client: sends command to the daemon at path and waits for the reply and then EOF.
 * Returns 0 on "ok", -EINVAL on "bad request", -errno on a connection failure (err
 * gets "Error connecting to: <path>: <reason>"). */
int control_send(const char *path, const char *command, char *err, size_t errsz);

#endif
