/* The helpers of the volume builders (rootdisk.c, rootdisk_efi.c): run a program and say
 * why it failed in its own words; copy a file it made into a volume at an offset. */
#ifndef HV_CMDRUN_H
#define HV_CMDRUN_H

#include <stddef.h>
#include <stdint.h>

/* Runs argv (argv[0] found on $PATH, stdin /dev/null). 0, or -errno with err
 * "<prog> failed (status N): <its last output>". */
int cmdrun(char *const argv[], char *err, size_t errsz);

/* Runs argv as cmdrun does; *status is waitpid's and out (outsz > 0) holds the last
 * outsz - 1 bytes of its output. 0 once it ran, or -errno with err if it could not. */
int cmdrun_status(char *const argv[], int *status, char *out, size_t outsz, char *err,
		  size_t errsz);

/* grub-mkimage -O format -d gdir -p prefix -c <cfg> -o out modules...: a GRUB image
 * whose embedded config (the text cfg_text, written to cfg_path for the run and removed
 * after) finds the root partition. 0, or -errno with err. */
int cmdrun_grub_mkimage(const char *format, const char *gdir, const char *prefix,
			const char *cfg_text, const char *cfg_path, const char *out,
			const char *const *modules, size_t nmodules, char *err, size_t errsz);

/* Copies the file at path into fd at offset, at most max bytes (-EFBIG beyond).
 * 0 or -errno with err. */
int cmdrun_place(int fd, const char *path, uint64_t offset, uint64_t max, char *err, size_t errsz);

#endif
