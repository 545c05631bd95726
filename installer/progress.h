/* progress: the steps of the install as the status page shows them (the functions
 * the other parts call are in installer.h). */
#ifndef SS_INSTALLER_PROGRESS_H
#define SS_INSTALLER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum progress_state { PROGRESS_WAITING, PROGRESS_RUNNING, PROGRESS_DONE, PROGRESS_FAILED };

/* The install's end: "" while it runs, then "complete" or the failure. */
void inst_progress_finish(int rc, const char *msg);
/* The final line for the status page (e.g. "reboot held by SIGTSTP"). */
void inst_progress_set_state(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes the steps as an HTML table (state, time, progress) into f. */
void inst_progress_html(FILE *f);
/* Writes the steps as plain lines "NAME STATE [SECONDS] [DONE/TOTAL UNIT] [MESSAGE]". */
void inst_progress_text(FILE *f);

#endif
