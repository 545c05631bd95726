/* cli: what the command-line tools (vm-control, imagetool) print the same way. */
#ifndef SS_CLI_H
#define SS_CLI_H

/* Prints "Error <doing>: <message>" and a newline on stderr; returns 1 (the exit status
 * of a failed command). */
int cli_fail(const char *doing, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
