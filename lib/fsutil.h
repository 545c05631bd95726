/* fsutil: file-system helpers every program shares: crash-safe atomic writes,
 * per-directory lock files, mkdir -p, path joining that cannot escape a root,
 * bounded whole-file reads and exact read/write loops on file descriptors.
 * All functions return 0 (or a count) on success and a negative errno on failure. */
#ifndef SS_FSUTIL_H
#define SS_FSUTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes exactly len bytes, retrying on EINTR and short writes. Returns 0 or -errno. */
int fsutil_write_all(int fd, const void *buf, size_t len);

/* Reads until len bytes or end of file, retrying on EINTR and short reads.
 * Returns the number of bytes read (< len only at end of file) or -errno. */
ssize_t fsutil_read_all(int fd, void *buf, size_t len);

/* Reads a whole file into a new NUL-terminated buffer (*buf, caller frees; *len
 * excludes the NUL; len may be NULL). Fails with -EFBIG if the file is larger than
 * max bytes, leaving *buf NULL. Borrows path. */
int fsutil_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Replaces path with buf atomically and durably: writes "<path>~" with the given
 * mode (exactly, umask ignored), fsyncs it, renames it over path and fsyncs the
 * directory. On any failure the temp file is removed and the old file is left
 * intact. Concurrent writers of one path must be serialised by the caller (they
 * share the temp name). Borrows path and buf. */
int fsutil_write_atomic(const char *path, const void *buf, size_t len, mode_t mode);

/* Test hook: steps of fsutil_write_atomic at which the hook (if set) is called, so
 * that a test can kill the process at each point. Not for production use. */
enum fsutil_step {
	FSUTIL_STEP_OPENED,  /* temp created and empty */
	FSUTIL_STEP_PARTIAL, /* half of the data written */
	FSUTIL_STEP_WRITTEN, /* all data written, not yet synced */
	FSUTIL_STEP_SYNCED,  /* temp fsynced and closed */
	FSUTIL_STEP_RENAMED, /* renamed over the target, directory not yet synced */
	FSUTIL_STEP_DONE,    /* directory synced */
};
extern void (*fsutil_test_hook)(enum fsutil_step step);
/* Test switch: makes fsutil_open_beneath use its fallback walk instead of openat2. */
extern bool fsutil_test_no_openat2;

/* Takes an exclusive flock on "<dir>/.lock" (created 0644 if missing) and records
 * "<pid> <what>\n" in it. Returns the open lock fd (>= 0; keep it open to hold the
 * lock, fsutil_unlock() to release) or -errno. With nonblock, a held lock fails
 * with -EWOULDBLOCK and, if err is not NULL, *err gets a new message naming the
 * holder ("<dir> is locked by pid 123 (hypervisor)"). what is a short description
 * of the holder (e.g. the program name); borrows dir and what. */
int fsutil_lock_dir(const char *dir, const char *what, bool nonblock, char **err);

/* Releases a lock taken by fsutil_lock_dir (closes fd; accepts -1). */
void fsutil_unlock(int fd);

/* Creates path and its missing parents with mode (as mkdir(2): umask applies).
 * Existing directories are fine; an existing non-directory gives -ENOTDIR/-EEXIST. */
int fsutil_mkdir_p(const char *path, mode_t mode);

/* Joins root and rel lexically into a new string (*out, caller frees). rel must be
 * relative and may not contain ".." components; "." and repeated slashes are
 * dropped. An empty rel (or only ".") yields root itself. Returns -EINVAL for an
 * absolute rel or a ".." component. Does not look at the file system: use
 * fsutil_open_beneath when symlinks under root may be hostile. */
int fsutil_path_join(const char *root, const char *rel, char **out);

/* Opens rel beneath the directory fd rootfd (flags/mode as openat(2), O_CLOEXEC
 * added) so that neither "..", absolute paths nor symlinks (at any component) can
 * leave or redirect it: openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, falling
 * back to a component-by-component O_NOFOLLOW walk on kernels without openat2.
 * Returns the new fd or -errno (-EXDEV escapes, -ELOOP symlinks). */
int fsutil_open_beneath(int rootfd, const char *rel, int flags, mode_t mode);

/* Copies src to dst (created with mode 0600, must not exist) with copy_file_range
 * and fsyncs it; on failure dst is removed. -EIO if src shrinks while copied.
 * Borrows src and dst. */
int fsutil_copy_file(const char *src, const char *dst);

/* Gives src the second name dst (a hard link), or, across file systems (EXDEV),
 * makes dst a copy of it with fsutil_copy_file. Borrows src and dst. */
int fsutil_link_or_copy(const char *src, const char *dst);

#endif
