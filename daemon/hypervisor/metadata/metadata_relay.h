/* A TCP relay from a listening socket (a metadata namespace's hypervisor port) to an
 * address in the host namespace: what ss-metadatad does with the rpc_listener hook. */
#ifndef SS_METADATA_RELAY_H
#define SS_METADATA_RELAY_H

#include <netinet/in.h>

struct metadata_relay;

/* Accepts on listen_fd (borrowed: it must stay open until metadata_relay_stop) and
 * copies bytes both ways between each accepted connection and a new connection to `to`,
 * in one thread, at most 32 connections, each closed after 60 s without traffic.
 * Returns 0 and sets *out, or a negative errno. */
int metadata_relay_start(int listen_fd, const struct sockaddr_in *to, struct metadata_relay **out);

/* Stops the thread and closes every relayed connection; accepts NULL. */
void metadata_relay_stop(struct metadata_relay *r);

#endif
