/* status: what the installer serves on -portNum (6978) while it runs: the status page
 * (steps, progress, open shells, the log), Installer.Shell (a PTY shell, spec §6) and
 * the enrolment methods Installer.GetCertificateRequest / SetCertificates
 * (docs/enrolment.md). */
#ifndef SS_INSTALLER_STATUS_H
#define SS_INSTALLER_STATUS_H

#include <pthread.h>
#include <stdbool.h>

#include <openssl/evp.h>

#include "http.h"
#include "installer/instflags.h"
#include "srpc.h"

#define STATUS_MAX_SHELLS 16

struct status_shell {
	bool used;
	char tty[64];
	char user[128];
	char peer[64];
};

struct inst_status {
	const struct inst_flags *flags; /* borrowed */
	EVP_PKEY *key;			/* the installer's key; borrowed */
	const char *ca_file;		/* the fleet's CA.pem; borrowed */
	const char *work;		/* where the enrolled cert.pem and key.pem go */
	const char *config_source;	/* for the page */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Enrolment, under mu: set by inst_status_enrol_wait, cleared when it ends. */
	bool enrol_waiting;
	bool enrol_busy; /* a SetCertificates is being checked */
	char token[65];
	char hostname[256];
	char ip[64];   /* the machine's address for the request's SAN; "" = none */
	bool enrolled; /* cert_path and key_path written */
	char cert_path[4096], key_path[4096];
	/* Open remote shells, under mu. */
	struct status_shell shells[STATUS_MAX_SHELLS];
	int nshells;
};

/* Initialises st (mutex, condition). */
void inst_status_init(struct inst_status *st);

/* The routes of the status page; borrows st. */
struct http_routes inst_status_routes(struct inst_status *st);

/* Registers Installer.Shell and the enrolment methods (lib/server srpc_register). */
int inst_status_register(struct srpc_server *srv, void *st);

/* The "enrol" step: waits until a client has called Installer.SetCertificates with a
 * certificate for the installer's key, chained to st->ca_file and MACed with token.
 * Then st->cert_path and st->key_path hold the machine's certificate and key. Returns
 * 0, or -ETIMEDOUT after timeout_s seconds (0 = none). */
int inst_status_enrol_wait(struct inst_status *st, const char *token, const char *hostname,
			   const char *ip, int timeout_s);

/* Number of open remote shells. */
int inst_status_nshells(struct inst_status *st);

#endif
