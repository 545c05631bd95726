/* flags: command-line flags with the syntax and messages of Go's flag package, plus
 * the project's flags files ("name=value" lines, hypervisor.md §2.1).
 *
 *   -name=value  -name value  --name  --name=value   (one or two dashes)
 *   -b  -b=true  -b=false     (a bool never takes the next argument)
 *   "--" ends the flags; so does the first non-flag argument ("-" is one).
 *   -h, -help, --help print the usage (unless the program defines such a flag).
 *
 * Later sources override earlier ones: definition default < flags_load_file() calls
 * in order < flags_parse(). Each definition binds a caller variable that is set to
 * the default at once and to every later value. String and list values are owned by
 * the flag set and stay valid until flags_free().
 *
 * Definitions are programming, not user, errors: defining a name twice, an empty
 * name or running out of memory while defining aborts. */
#ifndef SS_FLAGS_H
#define SS_FLAGS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Returned by flags_parse when help was asked for (the caller should exit 0). */
#define FLAGS_EHELP (-ECANCELED)

struct flags;

/* A comma-separated list flag's value: n strings in v, then NULL (owned by the flag set). */
struct flags_list {
	size_t n;
	char **v;
};

/* Custom flag setter: parses value into arg. On failure returns a negative errno and
 * may set *err to a new message (shown as: invalid value "x" for flag -n: <err>). */
typedef int (*flags_set_fn)(void *arg, const char *value, char **err);

/* New empty flag set. prog names the program in messages; usage (may be NULL) is
 * printed verbatim before the flag list by flags_print_usage. Borrows both strings
 * (copied). Returns NULL only on allocation failure. */
struct flags *flags_new(const char *prog, const char *usage);
/* Frees the set and every string/list value it owns (accepts NULL). */
void flags_free(struct flags *fs);

/* Definitions; name without dashes, help is one sentence. Borrow all strings. */
void flags_string(struct flags *fs, const char *name, const char **var, const char *def,
		  const char *help);
void flags_bool(struct flags *fs, const char *name, bool *var, bool def, const char *help);
void flags_int(struct flags *fs, const char *name, int *var, int def, const char *help);
void flags_int64(struct flags *fs, const char *name, int64_t *var, int64_t def, const char *help);
void flags_uint64(struct flags *fs, const char *name, uint64_t *var, uint64_t def,
		  const char *help);
/* Go duration syntax ("250ms", "1h30m", "2s"), stored as nanoseconds. */
void flags_duration(struct flags *fs, const char *name, int64_t *var_ns, int64_t def_ns,
		    const char *help);
/* Byte size: "1048576", "512K", "1M", "10G", "2T" (binary units; "KiB", "GB" and
 * lower case accepted). */
void flags_size(struct flags *fs, const char *name, uint64_t *var, uint64_t def, const char *help);
/* Comma-separated list; def is in the same syntax (NULL or "" = empty list). */
void flags_strlist(struct flags *fs, const char *name, struct flags_list *var, const char *def,
		   const char *help);
/* Custom type: set(arg, value) parses; def_text is the default shown in the usage
 * (NULL or "" = none) and is not passed to set. type names the value in the usage. */
void flags_func(struct flags *fs, const char *name, const char *type, flags_set_fn set, void *arg,
		const char *def_text, const char *help);
/* Defines -version; flags_parse_or_exit prints text to stdout and exits 0 on it. */
void flags_version(struct flags *fs, const char *text);

/* Sets one flag by name as the command line would (bools take "true"/"false" etc.).
 * Returns 0, -ENOENT for an unknown flag or -EINVAL for a bad value; *err (may be
 * NULL) gets a new message in Go's words. */
int flags_set(struct flags *fs, const char *name, const char *value, char **err);

/* Applies a flags file: one "name=value" per line, name and value trimmed, blank lines
 * and lines starting with '#' or ';' skipped. A line without '=', a name with a space,
 * an unknown flag or a bad value fail with -EINVAL and *err = "path:line: why".
 * A missing file is fine (returns 0). Borrows path. */
int flags_load_file(struct flags *fs, const char *path, char **err);

/* Loads "<dir>/flags.default" then "<dir>/flags.extra" (e.g. "/etc/hypervisor" or
 * the result of flags_user_config_dir). Stops at the first error. */
int flags_load_dir(struct flags *fs, const char *dir, char **err);

/* For main(): flags_load_dir, and on failure "<prog>: path:line: why" printed to
 * stderr. dir NULL does nothing (e.g. flags_user_config_dir found no HOME). Returns 0
 * or the negative errno; the program chooses its exit status. */
int flags_load_config(struct flags *fs, const char *dir);

/* Returns a new string "$HOME/.config/<prog>" (NULL if HOME is unset or on
 * allocation failure). */
char *flags_user_config_dir(const char *prog);

/* Parses argv[1..argc-1]. Returns 0, FLAGS_EHELP, or -EINVAL with *err (may be NULL)
 * a new message such as "flag provided but not defined: -x". Borrows argv, which must
 * outlive the positional-argument accessors below. */
int flags_parse(struct flags *fs, int argc, char *const argv[], char **err);

/* For main(): parse; on FLAGS_EHELP print the usage to stderr and exit 0; on error
 * print the message and the usage to stderr and exit 2; on -version (if defined)
 * print the version to stdout and exit 0. */
void flags_parse_or_exit(struct flags *fs, int argc, char *const argv[]);

/* Positional arguments left after the flags (borrowed from argv). */
int flags_nargs(const struct flags *fs);
const char *flags_arg(const struct flags *fs, int i); /* NULL if out of range */
char *const *flags_args(const struct flags *fs);

/* True if the flag was set by a file, flags_set or the command line. */
bool flags_is_set(const struct flags *fs, const char *name);

/* Prints the usage line and every flag sorted by name, as Go's PrintDefaults. */
void flags_print_usage(const struct flags *fs, FILE *out);

/* Go time.ParseDuration: returns 0 and *ns, or -EINVAL / -ERANGE. */
int flags_parse_duration(const char *s, int64_t *ns);
/* Go Duration.String ("1h30m0s", "250ms", "0s") into buf; returns buf. */
char *flags_format_duration(int64_t ns, char *buf, size_t size);
/* Size syntax above: returns 0 and *bytes, or -EINVAL / -ERANGE. */
int flags_parse_size(const char *s, uint64_t *bytes);
/* Shortest exact form: "10G", "1536", "0". Returns buf. */
char *flags_format_size(uint64_t bytes, char *buf, size_t size);

#endif
