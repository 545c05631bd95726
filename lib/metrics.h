/* metrics: a writer of the Prometheus text exposition format 0.0.4 for /metrics pages.
 * A metric is declared once (HELP and TYPE lines), then each of its samples is written
 * with optional labels given as name, value pairs ended by NULL:
 *
 *     metrics_declare(f, "vms", METRICS_GAUGE, "VMs by state.");
 *     metrics_uint(f, "vms", 3, "state", "running", NULL);   ->  vms{state="running"} 3
 *
 * Metric and label names are the program's constants and are written as given; label
 * values and help texts are escaped as the format requires. Pure: writes to the FILE*
 * only. */
#ifndef SS_METRICS_H
#define SS_METRICS_H

#include <stdint.h>
#include <stdio.h>

/* The Content-Type of a /metrics answer. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_UNTYPED,
};

/* "# HELP name help" (help with \ and newline escaped) and "# TYPE name type". */
void metrics_declare(FILE *f, const char *name, enum metrics_type type, const char *help);

/* One sample: name, labels (name, value, ..., NULL; values escaped), value. */
void metrics_uint(FILE *f, const char *name, uint64_t value, ...) __attribute__((sentinel));
void metrics_int(FILE *f, const char *name, int64_t value, ...) __attribute__((sentinel));

/* A metric with one unlabelled sample: metrics_declare then metrics_uint. */
void metrics_one(FILE *f, const char *name, enum metrics_type type, const char *help,
		 uint64_t value);

#endif
