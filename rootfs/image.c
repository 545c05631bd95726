/* In-memory image tree: canonical paths, conflict checks, sorted output. */
#include "rootfs/image.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_MAX_HOPS 32

struct rootfs_image {
	struct rootfs_node **nodes; /* insertion order */
	size_t n_nodes, cap_nodes;
	struct rootfs_node **table; /* open-addressing hash index, size a power of 2 */
	size_t table_size;
	struct rootfs_node **sorted;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static void free_node(struct rootfs_node *n)
{
	if (n == NULL)
		return;
	free(n->path);
	free(n->source);
	free(n->data);
	free(n->target);
	free(n);
}

void rootfs_image_free(struct rootfs_image *img)
{
	if (img == NULL)
		return;
	for (size_t i = 0; i < img->n_nodes; i++)
		free_node(img->nodes[i]);
	free(img->nodes);
	free(img->table);
	free(img->sorted);
	free(img);
}

struct rootfs_node *rootfs_image_get(const struct rootfs_image *img, const char *path)
{
	size_t mask = img->table_size - 1;

	for (size_t i = (size_t)hash_str(path) & mask;; i = (i + 1) & mask) {
		struct rootfs_node *n = img->table[i];

		if (n == NULL)
			return NULL;
		if (strcmp(n->path, path) == 0)
			return n;
	}
}

static void table_put(struct rootfs_node **table, size_t size, struct rootfs_node *n)
{
	size_t mask = size - 1, i = (size_t)hash_str(n->path) & mask;

	while (table[i] != NULL)
		i = (i + 1) & mask;
	table[i] = n;
}

/* Takes ownership of n (freed on failure). */
static int insert(struct rootfs_image *img, struct rootfs_node *n)
{
	if ((img->n_nodes + 1) * 2 > img->table_size) {
		size_t size = img->table_size ? img->table_size * 2 : 256;
		struct rootfs_node **t = calloc(size, sizeof(*t));

		if (t == NULL)
			goto out_nomem;
		for (size_t i = 0; i < img->n_nodes; i++)
			table_put(t, size, img->nodes[i]);
		free(img->table);
		img->table = t;
		img->table_size = size;
	}
	if (img->n_nodes == img->cap_nodes) {
		size_t cap = img->cap_nodes ? img->cap_nodes * 2 : 128;
		struct rootfs_node **a = realloc(img->nodes, cap * sizeof(*a));

		if (a == NULL)
			goto out_nomem;
		img->nodes = a;
		img->cap_nodes = cap;
	}
	img->nodes[img->n_nodes++] = n;
	table_put(img->table, img->table_size, n);
	free(img->sorted);
	img->sorted = NULL;
	return 0;

out_nomem:
	free_node(n);
	return -ENOMEM;
}

static struct rootfs_node *new_node(const char *path, enum rootfs_node_type type, unsigned mode)
{
	struct rootfs_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->path = strdup(path);
	if (n->path == NULL) {
		free(n);
		return NULL;
	}
	n->type = type;
	n->mode = mode;
	return n;
}

struct rootfs_image *rootfs_image_new(void)
{
	struct rootfs_image *img = calloc(1, sizeof(*img));
	struct rootfs_node *root;

	if (img == NULL)
		return NULL;
	root = new_node("/", ROOTFS_NODE_DIR, 0755);
	if (root == NULL || insert(img, root) < 0) {
		rootfs_image_free(img);
		return NULL;
	}
	return img;
}

int rootfs_path_normalize(const char *path, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = path;

	if (path[0] != '/')
		return -EINVAL;
	if (cap < 2)
		return -ENAMETOOLONG;
	while (*p != '\0') {
		const char *c, *e;
		size_t n;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		c = p;
		e = strchrnul(c, '/');
		n = (size_t)(e - c);
		p = e;
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + n >= cap)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

int rootfs_image_resolve(const struct rootfs_image *img, const char *path, char *out, size_t cap)
{
	char cur[PATH_MAX], buf[PATH_MAX];
	size_t done = 0; /* cur[0..done) is resolved */
	int hops = 0, rc;

	if ((rc = rootfs_path_normalize(path, cur, sizeof(cur))) < 0)
		return rc;
	for (;;) {
		char *slash = strchr(cur + done + 1, '/');
		struct rootfs_node *n;

		if (slash == NULL)
			break; /* last component: not followed */
		*slash = '\0';
		n = rootfs_image_get(img, cur);
		*slash = '/';
		if (n == NULL || n->type == ROOTFS_NODE_DIR) {
			done = (size_t)(slash - cur);
			continue;
		}
		if (n->type != ROOTFS_NODE_SYMLINK)
			return -ENOTDIR;
		if (++hops > IMAGE_MAX_HOPS)
			return -ELOOP;
		/* Replace cur[0..slash) by the link target, relative to its parent. */
		if (n->target[0] == '/') {
			rc = snprintf(buf, sizeof(buf), "%s%s", n->target, slash);
		} else {
			size_t parent = done;

			rc = snprintf(buf, sizeof(buf), "%.*s/%s%s", (int)parent, cur, n->target,
				      slash);
		}
		if (rc < 0 || (size_t)rc >= sizeof(buf))
			return -ENAMETOOLONG;
		if ((rc = rootfs_path_normalize(buf, cur, sizeof(cur))) < 0)
			return rc;
		done = 0;
	}
	if (strlen(cur) >= cap)
		return -ENAMETOOLONG;
	memcpy(out, cur, strlen(cur) + 1);
	return 0;
}

/* Makes sure every parent of the canonical path exists as a directory. */
static int add_parents(struct rootfs_image *img, const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *s = strchr(buf + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		struct rootfs_node *n;
		int rc;

		*s = '\0';
		n = rootfs_image_get(img, buf);
		if (n == NULL) {
			n = new_node(buf, ROOTFS_NODE_DIR, 0755);
			if (n == NULL)
				return -ENOMEM;
			if ((rc = insert(img, n)) < 0)
				return rc;
		} else if (n->type != ROOTFS_NODE_DIR) {
			return -ENOTDIR;
		}
		*s = '/';
	}
	return 0;
}

/* Resolves path, creates its parents, and returns the existing node there (or
 * NULL) with the canonical path in canon. */
static int prepare(struct rootfs_image *img, const char *path, char *canon,
		   struct rootfs_node **existing)
{
	int rc;

	if ((rc = rootfs_image_resolve(img, path, canon, PATH_MAX)) < 0)
		return rc;
	if ((rc = add_parents(img, canon)) < 0)
		return rc;
	*existing = rootfs_image_get(img, canon);
	return 0;
}

static int streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int rootfs_image_add_dir(struct rootfs_image *img, const char *path, int mode)
{
	char canon[PATH_MAX];
	struct rootfs_node *n;
	int rc;

	if ((rc = prepare(img, path, canon, &n)) < 0)
		return rc;
	if (n != NULL) {
		if (n->type != ROOTFS_NODE_DIR)
			return -EEXIST;
		if (mode >= 0) {
			if (n->explicit_mode && n->mode != (unsigned)mode)
				return -EEXIST;
			n->mode = (unsigned)mode;
			n->explicit_mode = 1;
		}
		return 0;
	}
	if ((n = new_node(canon, ROOTFS_NODE_DIR, mode >= 0 ? (unsigned)mode : 0755)) == NULL)
		return -ENOMEM;
	n->explicit_mode = mode >= 0;
	return insert(img, n);
}

static int add_file_node(struct rootfs_image *img, const char *path, const char *source,
			 const void *data, size_t len, int mode)
{
	char canon[PATH_MAX];
	struct rootfs_node *n;
	unsigned m = mode >= 0 ? (unsigned)mode : 0644;
	int rc;

	if ((rc = prepare(img, path, canon, &n)) < 0)
		return rc;
	if (n != NULL) {
		if (n->type != ROOTFS_NODE_FILE || n->mode != m || !streq(n->source, source))
			return -EEXIST;
		if (source == NULL && (n->data_len != len || memcmp(n->data, data, len) != 0))
			return -EEXIST;
		return 0;
	}
	if ((n = new_node(canon, ROOTFS_NODE_FILE, m)) == NULL)
		return -ENOMEM;
	if (source != NULL) {
		n->source = strdup(source);
		if (n->source == NULL)
			goto out_nomem;
	} else {
		n->data = malloc(len ? len : 1);
		if (n->data == NULL)
			goto out_nomem;
		memcpy(n->data, data, len);
		n->data_len = len;
	}
	return insert(img, n);

out_nomem:
	free_node(n);
	return -ENOMEM;
}

int rootfs_image_add_file(struct rootfs_image *img, const char *path, const char *source, int mode)
{
	return add_file_node(img, path, source, NULL, 0, mode);
}

int rootfs_image_add_data(struct rootfs_image *img, const char *path, const void *data, size_t len,
			  int mode)
{
	return add_file_node(img, path, NULL, data, len, mode);
}

int rootfs_image_add_symlink(struct rootfs_image *img, const char *path, const char *target)
{
	char canon[PATH_MAX];
	struct rootfs_node *n;
	int rc;

	if (target[0] == '\0')
		return -EINVAL;
	if ((rc = prepare(img, path, canon, &n)) < 0)
		return rc;
	if (n != NULL)
		return n->type == ROOTFS_NODE_SYMLINK && strcmp(n->target, target) == 0 ? 0
											: -EEXIST;
	if ((n = new_node(canon, ROOTFS_NODE_SYMLINK, 0777)) == NULL)
		return -ENOMEM;
	if ((n->target = strdup(target)) == NULL) {
		free_node(n);
		return -ENOMEM;
	}
	return insert(img, n);
}

int rootfs_image_add_nod(struct rootfs_image *img, const char *path, enum rootfs_node_type type,
			 unsigned major, unsigned minor, int mode)
{
	char canon[PATH_MAX];
	struct rootfs_node *n;
	unsigned m = mode >= 0 ? (unsigned)mode : 0600;
	int rc;

	if (type != ROOTFS_NODE_CHR && type != ROOTFS_NODE_BLK)
		return -EINVAL;
	if ((rc = prepare(img, path, canon, &n)) < 0)
		return rc;
	if (n != NULL)
		return n->type == type && n->major == major && n->minor == minor && n->mode == m
			   ? 0
			   : -EEXIST;
	if ((n = new_node(canon, type, m)) == NULL)
		return -ENOMEM;
	n->major = major;
	n->minor = minor;
	return insert(img, n);
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp((*(struct rootfs_node *const *)a)->path,
		      (*(struct rootfs_node *const *)b)->path);
}

struct rootfs_node **rootfs_image_sorted(struct rootfs_image *img, size_t *n)
{
	if (img->sorted == NULL) {
		img->sorted = malloc(img->n_nodes * sizeof(*img->sorted));
		if (img->sorted == NULL)
			return NULL;
		memcpy(img->sorted, img->nodes, img->n_nodes * sizeof(*img->sorted));
		qsort(img->sorted, img->n_nodes, sizeof(*img->sorted), cmp_node);
	}
	*n = img->n_nodes;
	return img->sorted;
}
