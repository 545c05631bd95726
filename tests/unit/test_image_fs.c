/* Unit tests for lib/image/fs: decoding a FileSystem as Go writes it (inode kinds from
 * their keys), byte-identical re-encoding, the walk, counts, objects and usage, and
 * every refusal naming its JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/fs.h"
#include "json.h"

#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define HA H64("aaaa")
#define HB H64("bbbb")
#define HZ H64("0000")

/* As Go's encoding/json writes it: map keys sorted as strings ("10" before "2"). */
static const char good[] =
    "{\"InodeTable\":{"
    "\"1\":{\"EntryList\":[{\"Name\":\"passwd\",\"InodeNumber\":2},"
    "{\"Name\":\"zz-hardlink\",\"InodeNumber\":2}],\"EntriesByName\":null,"
    "\"Mode\":16877,\"Uid\":0,\"Gid\":0},"
    "\"10\":{\"Mode\":8612,\"Uid\":0,\"Gid\":5,\"MtimeNanoSeconds\":0,"
    "\"MtimeSeconds\":1700000000,\"Rdev\":1281},"
    "\"11\":{\"Mode\":33188,\"Uid\":0,\"Gid\":0,\"Source\":\"host:6971\"},"
    "\"2\":{\"Mode\":33188,\"Uid\":0,\"Gid\":0,\"MtimeNanoSeconds\":123456789,"
    "\"MtimeSeconds\":1700000001,\"Size\":5000,\"Hash\":\"" HA "\"},"
    "\"3\":{\"Uid\":1000,\"Gid\":1000,\"Symlink\":\"../../outside\"},"
    "\"4\":{\"Mode\":33261,\"Uid\":0,\"Gid\":0,\"MtimeNanoSeconds\":0,"
    "\"MtimeSeconds\":-5,\"Size\":0,\"Hash\":\"" HZ "\"},"
    "\"5\":{\"Mode\":33188,\"Uid\":0,\"Gid\":0,\"MtimeNanoSeconds\":0,"
    "\"MtimeSeconds\":0,\"Size\":1,\"Hash\":\"" HB "\"},"
    "\"6\":{\"Mode\":33188,\"Uid\":0,\"Gid\":0,\"MtimeNanoSeconds\":0,"
    "\"MtimeSeconds\":0,\"Size\":5000,\"Hash\":\"" HA "\"},"
    "\"7\":{\"EntryList\":[],\"EntriesByName\":null,\"Mode\":16749,\"Uid\":0,\"Gid\":0}"
    "},\"NumRegularInodes\":4,\"TotalDataBytes\":10001,\"DirectoryCount\":3,"
    "\"EntryList\":[{\"Name\":\"a-copy\",\"InodeNumber\":6},{\"Name\":\"dev-sda1\","
    "\"InodeNumber\":10},{\"Name\":\"empty\",\"InodeNumber\":4},{\"Name\":\"etc\","
    "\"InodeNumber\":1},{\"Name\":\"gen\",\"InodeNumber\":11},{\"Name\":\"link\","
    "\"InodeNumber\":3},{\"Name\":\"one\",\"InodeNumber\":5},{\"Name\":\"ro\","
    "\"InodeNumber\":7}],\"EntriesByName\":null,\"Mode\":16877,\"Uid\":0,\"Gid\":0}";

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_ALLOW_NUL, &e);

	if (!j)
		fail_msg("bad test JSON: %s at %d: %s", e.text, e.position, s);
	return j;
}

static int decode(const char *s, struct image_fs *fs, char *err, size_t errsz)
{
	json_t *j = parse(s);
	int rc = image_fs_from_json(j, fs, err, errsz);

	json_decref(j);
	return rc;
}

static void test_decode_kinds(void **state)
{
	struct image_fs fs;
	const struct image_inode *ino;
	char err[256];

	(void)state;
	assert_int_equal(decode(good, &fs, err, sizeof(err)), 0);
	assert_int_equal(fs.n_inodes, 9);
	assert_int_equal(fs.root.kind, IMAGE_INODE_DIRECTORY);
	assert_int_equal(fs.root.n_entries, 8);
	assert_string_equal(fs.root.entries[3].name, "etc");
	ino = image_fs_inode(&fs, 2);
	assert_non_null(ino);
	assert_int_equal(ino->kind, IMAGE_INODE_REGULAR);
	assert_int_equal(ino->size, 5000);
	assert_int_equal(ino->mtime_nsec, 123456789);
	assert_int_equal(ino->hash.b[0], 0xaa);
	assert_int_equal(image_fs_inode(&fs, 3)->kind, IMAGE_INODE_SYMLINK);
	assert_string_equal(image_fs_inode(&fs, 3)->symlink, "../../outside");
	assert_int_equal(image_fs_inode(&fs, 10)->kind, IMAGE_INODE_SPECIAL);
	assert_int_equal(image_fs_inode(&fs, 10)->rdev, 1281);
	assert_int_equal(image_fs_inode(&fs, 11)->kind, IMAGE_INODE_COMPUTED);
	assert_string_equal(image_fs_inode(&fs, 11)->source, "host:6971");
	assert_int_equal(image_fs_inode(&fs, 4)->mtime_sec, -5);
	assert_null(image_fs_inode(&fs, 8));
	assert_null(image_fs_inode(&fs, 12));
	assert_int_equal(fs.num_regular_inodes, 4);
	assert_int_equal(fs.total_data_bytes, 10001);
	assert_int_equal(fs.directory_count, 3);
	image_fs_free(&fs);
	image_fs_free(&fs);
	image_fs_free(NULL);
}

static void test_round_trip(void **state)
{
	struct image_fs fs, fs2;
	char err[256], *out, *out2;
	json_t *j;

	(void)state;
	assert_int_equal(decode(good, &fs, err, sizeof(err)), 0);
	j = image_fs_to_json(&fs);
	assert_non_null(j);
	out = sjson_dumps(j, 0);
	json_decref(j);
	assert_string_equal(out, good);
	/* And once more from what we wrote. */
	assert_int_equal(decode(out, &fs2, err, sizeof(err)), 0);
	j = image_fs_to_json(&fs2);
	out2 = sjson_dumps(j, 0);
	json_decref(j);
	assert_string_equal(out, out2);
	free(out);
	free(out2);
	image_fs_free(&fs);
	image_fs_free(&fs2);
}

struct seen {
	char paths[16][64];
	bool first[16];
	int n;
};

static int record(const char *path, const struct image_inode *ino, bool first, void *arg)
{
	struct seen *s = arg;

	(void)ino;
	assert_true(s->n < 16);
	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
	s->first[s->n++] = first;
	return strcmp(path, "one") ? 0 : 77;
}

static void test_walk_counts_objects(void **state)
{
	static const char *want[] = {"a-copy",		"dev-sda1", "empty", "etc", "etc/passwd",
				     "etc/zz-hardlink", "gen",	    "link",  "one"};
	struct image_object *objs;
	struct image_fs fs;
	struct seen s = {0};
	char err[256];
	size_t n;

	(void)state;
	assert_int_equal(decode(good, &fs, err, sizeof(err)), 0);
	assert_int_equal(image_fs_walk(&fs, record, &s), 77);
	assert_int_equal(s.n, 9);
	for (int i = 0; i < s.n; i++)
		assert_string_equal(s.paths[i], want[i]);
	assert_true(s.first[4]);
	assert_false(s.first[5]); /* hard link */

	fs.num_regular_inodes = fs.total_data_bytes = fs.directory_count = 0;
	image_fs_count(&fs);
	assert_int_equal(fs.num_regular_inodes, 4);
	assert_int_equal(fs.total_data_bytes, 10001);
	assert_int_equal(fs.directory_count, 3);

	assert_int_equal(image_fs_objects(&fs, &objs, &n), 0);
	assert_int_equal(n, 2); /* HA twice, HB once, the empty file none */
	assert_int_equal(objs[0].hash.b[0], 0xaa);
	assert_int_equal(objs[0].size, 5000);
	assert_int_equal(objs[1].hash.b[0], 0xbb);
	free(objs);

	/* 2 dirs x 4096 + 2 x 8192 + 4096 + 0 + symlink 64 */
	assert_int_equal(image_fs_estimate_usage(&fs, 4096), 8192 + 16384 + 4096 + 64);
	assert_int_equal(image_fs_estimate_usage(&fs, 0), 8192 + 16384 + 4096 + 64);
	/* A block size that is no power of two rounds files to its highest power of two
	 * but counts directories at the full size (as Go). */
	assert_int_equal(image_fs_estimate_usage(&fs, 5000), 10000 + 16384 + 4096 + 64);
	image_fs_free(&fs);
}

static void test_name_ok(void **state)
{
	char long_name[300];

	(void)state;
	assert_true(image_fs_name_ok("a"));
	assert_true(image_fs_name_ok("..."));
	assert_true(image_fs_name_ok(".hidden"));
	assert_false(image_fs_name_ok(""));
	assert_false(image_fs_name_ok("."));
	assert_false(image_fs_name_ok(".."));
	assert_false(image_fs_name_ok("a/b"));
	memset(long_name, 'x', sizeof(long_name));
	long_name[255] = '\0';
	assert_true(image_fs_name_ok(long_name));
	long_name[255] = 'x';
	long_name[256] = '\0';
	assert_false(image_fs_name_ok(long_name));
}

/* Root fields around a table and a root entry list. */
#define ROOT(table, entries)                                                                       \
	"{\"InodeTable\":{" table "},\"EntryList\":[" entries "],\"Mode\":16877}"
#define REG(n, size, hash) "\"" #n "\":{\"Mode\":33188,\"Size\":" #size ",\"Hash\":\"" hash "\"}"
#define DIR(n, entries) "\"" #n "\":{\"Mode\":16877,\"EntryList\":[" entries "]}"
#define ENT(name, n) "{\"Name\":\"" name "\",\"InodeNumber\":" #n "}"

static const struct bad {
	const char *json;
	const char *err;
} bads[] = {
    {"[]", "expected object, got array"},
    {ROOT("", ENT("..", 1)), "EntryList[0].Name: \"..\" refused"},
    {ROOT("", ENT(".", 1)), "EntryList[0].Name: \".\" refused"},
    {ROOT("", ENT("", 1)), "EntryList[0].Name: \"\" refused"},
    {ROOT(REG(1, 0, HZ), ENT("a/b", 1)), "EntryList[0].Name: \"a/b\" refused"},
    {ROOT(REG(1, 0, HZ), ENT("a\\u0000b", 1)), "EntryList[0].Name: string contains a NUL"},
    {ROOT(DIR(12, ENT("ok", 2) "," ENT("..", 2)) "," REG(2, 0, HZ), ENT("d", 12)),
     "InodeTable.12.EntryList[1].Name: \"..\" refused"},
    {ROOT(REG(1, 0, HZ), ENT("a", 1) "," ENT("b", 1) "," ENT("a", 1)),
     "EntryList[2].Name: duplicate name \"a\""},
    {ROOT(REG(1, 0, HZ), ENT("a", 2)), "EntryList[0].InodeNumber: inode 2 not in InodeTable"},
    {ROOT(REG(1, 0, HZ), ENT("a", 0)), "EntryList[0].InodeNumber: 0 refused"},
    {ROOT(DIR(1, "") "," DIR(2, ENT("x", 1)), ENT("a", 1) "," ENT("b", 2)),
     "directory inode 1 linked twice"},
    {ROOT(DIR(1, ENT("b", 2)) "," DIR(2, ENT("a", 1)), ""),
     "InodeTable.1: directory not reachable from the root (a cycle?)"},
    {ROOT(DIR(1, ENT("b", 2)) "," DIR(2, ENT("a", 1)), ENT("x", 1)),
     "directory inode 1 linked twice"},
    {ROOT(REG(1, 5, HZ), ENT("a", 1)), "InodeTable.1.Hash: missing for Size 5"},
    {ROOT("\"1\":{\"Mode\":33188,\"Size\":5,\"Hash\":\"\"}", ENT("a", 1)),
     "InodeTable.1.Hash: missing for Size 5"},
    {ROOT(REG(1, 5, "AB"), ENT("a", 1)), "InodeTable.1.Hash: not 128 lower-case hex"},
    {ROOT(REG(1, -5, HA), ENT("a", 1)), "InodeTable.1.Size"},
    {ROOT("\"1\":{\"Mode\":16877,\"Size\":1,\"Hash\":\"" HA "\"}", ENT("a", 1)),
     "InodeTable.1.Mode: 040755: file type does not match the inode kind"},
    {ROOT("\"1\":{\"Mode\":33188,\"EntryList\":[]}", ENT("a", 1)),
     "InodeTable.1.Mode: 0100644: file type does not match"},
    {ROOT("\"1\":{\"Mode\":49645,\"Rdev\":0}", ENT("s", 1)),
     "InodeTable.1.Mode: 0140755: file type does not match"},
    {ROOT("\"1\":{\"Mode\":1048576,\"Rdev\":0}", ENT("s", 1)),
     "InodeTable.1.Mode: 1048576: unknown bits"},
    {ROOT("\"1\":{\"Mode\":33188,\"Rdev\":0,\"Hash\":\"" HA "\"}", ENT("s", 1)),
     "InodeTable.1: keys of more than one inode kind"},
    {ROOT("\"1\":{\"Mode\":33188}", ENT("s", 1)), "InodeTable.1: no Hash, Source"},
    {ROOT("\"1\":{\"Symlink\":\"\"}", ENT("s", 1)), "InodeTable.1.Symlink: target of 0 bytes"},
    {ROOT("\"01\":{\"Symlink\":\"x\"}", ""), "InodeTable.01: not an inode number"},
    {ROOT("\"0\":{\"Symlink\":\"x\"}", ""), "InodeTable.0: not an inode number"},
    {ROOT("\"x\":{\"Symlink\":\"x\"}", ""), "InodeTable.x: not an inode number"},
    {ROOT("\"99999999999999999999\":{\"Symlink\":\"x\"}", ""), "not an inode number"},
    {ROOT("\"1\":{\"Mode\":33188,\"Size\":0,\"Hash\":\"" HZ "\",\"MtimeNanoSeconds\":"
	  "1000000000}",
	  ENT("a", 1)),
     "InodeTable.1.MtimeNanoSeconds: 1000000000 out of range"},
    {ROOT("\"1\":{\"Mode\":33188,\"Size\":0,\"Hash\":\"" HZ "\",\"MtimeSeconds\":"
	  "999999999999}",
	  ENT("a", 1)),
     "InodeTable.1.MtimeSeconds: 999999999999 out of range"},
    {ROOT("\"1\":{\"Uid\":-1,\"Symlink\":\"x\"}", ENT("a", 1)), "InodeTable.1.Uid"},
    {ROOT("\"1\":[]", ENT("a", 1)), "InodeTable.1: expected object, got array"},
    {"{\"Mode\":33188}", "Mode: 0100644: file type does not match"},
    {"{\"Mode\":16877,\"EntryList\":{}}", "EntryList: expected array"},
    {"{\"Mode\":16877,\"InodeTable\":[]}", "InodeTable: expected object"},
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct image_fs fs;
		char err[512] = "";
		int rc = decode(bads[i].json, &fs, err, sizeof(err));

		if (rc != -EINVAL || !strstr(err, bads[i].err))
			fail_msg("case %zu: rc %d, err \"%s\", want \"%s\"", i, rc, err,
				 bads[i].err);
		assert_int_equal(fs.n_inodes, 0);
		assert_null(fs.inodes);
		assert_null(fs.root.entries);
	}
}

/* A chain of n nested directories "d/d/d/...". */
static char *nested(unsigned n, const char *name)
{
	size_t cap = (size_t)n * 120 + 4096, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	len += (size_t)snprintf(s + len, cap - len, "{\"InodeTable\":{");
	for (unsigned i = 1; i <= n; i++) {
		if (i < n)
			len += (size_t)snprintf(s + len, cap - len,
						"%s\"%u\":{\"Mode\":16877,\"EntryList\":[{\"Name\":"
						"\"%s\",\"InodeNumber\":%u}]}",
						i > 1 ? "," : "", i, name, i + 1);
		else
			len += (size_t)snprintf(s + len, cap - len,
						"%s\"%u\":{\"Mode\":16877,\"EntryList\":[]}",
						i > 1 ? "," : "", i);
	}
	snprintf(s + len, cap - len,
		 "},\"EntryList\":[{\"Name\":\"%s\",\"InodeNumber\":1}],\"Mode\":16877}", name);
	return s;
}

static void test_depth_and_path_limits(void **state)
{
	struct image_fs fs;
	char err[512], name[200];
	char *s;

	(void)state;
	s = nested(IMAGE_DEPTH_MAX, "d");
	assert_int_equal(decode(s, &fs, err, sizeof(err)), 0);
	image_fs_free(&fs);
	free(s);
	s = nested(IMAGE_DEPTH_MAX + 1, "d");
	assert_int_equal(decode(s, &fs, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nested deeper than 256"));
	free(s);
	/* 30 levels of 150-byte names: a path over 4096 bytes. */
	memset(name, 'n', 150);
	name[150] = '\0';
	s = nested(30, name);
	assert_int_equal(decode(s, &fs, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "path longer than 4096 bytes"));
	free(s);
}

static void test_empty_and_null(void **state)
{
	struct image_fs fs;
	char err[256], *out;
	json_t *j;

	(void)state;
	assert_int_equal(decode("{\"InodeTable\":null,\"EntryList\":null,\"Mode\":16877}", &fs, err,
				sizeof(err)),
			 0);
	assert_int_equal(fs.n_inodes, 0);
	j = image_fs_to_json(&fs);
	out = sjson_dumps(j, 0);
	assert_string_equal(out, "{\"InodeTable\":{},\"NumRegularInodes\":0,\"TotalDataBytes\":0,"
				 "\"DirectoryCount\":0,\"EntryList\":[],\"EntriesByName\":null,"
				 "\"Mode\":16877,\"Uid\":0,\"Gid\":0}");
	free(out);
	json_decref(j);
	image_fs_free(&fs);
	/* Keys in any case, as Go decodes. */
	assert_int_equal(decode("{\"inodetable\":{\"1\":{\"symlink\":\"t\"}},\"entrylist\":"
				"[{\"name\":\"l\",\"inodenumber\":1}],\"mode\":16877}",
				&fs, err, sizeof(err)),
			 0);
	assert_int_equal(image_fs_inode(&fs, 1)->kind, IMAGE_INODE_SYMLINK);
	image_fs_free(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_kinds),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_walk_counts_objects),
	    cmocka_unit_test(test_name_ok),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_depth_and_path_limits),
	    cmocka_unit_test(test_empty_and_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
