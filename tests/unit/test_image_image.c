/* Unit tests for lib/image/image: the Image JSON in Go's field order with unknown and
 * undecoded fields kept, byte-identical re-encoding, times, tags, and the rules for
 * image and directory names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "json.h"

static const char full[] =
    "{\"BuildBranch\":\"main\",\"BuildCommitId\":\"abc123\",\"BuildGitUrl\":\"https://g/x\","
    "\"CreatedBy\":\"alice\",\"CreatedFor\":\"bob\",\"Filter\":{\"FilterLines\":[\"/tmp/.*\"]},"
    "\"FileSystem\":{\"InodeTable\":{\"1\":{\"Uid\":0,\"Gid\":0,\"Symlink\":\"/boot\"}},"
    "\"NumRegularInodes\":0,\"TotalDataBytes\":0,\"DirectoryCount\":1,\"EntryList\":"
    "[{\"Name\":\"boot\",\"InodeNumber\":1}],\"EntriesByName\":null,\"Mode\":16877,"
    "\"Uid\":0,\"Gid\":0},"
    "\"Triggers\":null,\"ReleaseNotes\":null,\"BuildLog\":{\"Object\":null,\"URL\":\"u\"},"
    "\"CreatedOn\":\"2024-05-01T10:00:00.123456789Z\",\"ExpiresAt\":\"0001-01-01T00:00:00Z\","
    "\"OwnerGroups\":[\"ops\"],\"OwnerUsers\":null,\"Packages\":[{\"Name\":\"p\",\"Size\":1,"
    "\"Version\":\"1\"}],\"SourceImage\":\"base/1\",\"Tags\":{\"a\":\"1\",\"b\":\"2\"},"
    "\"XFuture\":[1,2]}";

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		fail_msg("bad test JSON: %s: %s", e.text, s);
	return j;
}

static int decode(const char *s, struct image *img, char *err, size_t errsz)
{
	json_t *j = parse(s);
	int rc = image_from_json(j, img, err, errsz);

	json_decref(j);
	return rc;
}

static char *encode(const struct image *img, bool with_fs)
{
	json_t *j = image_to_json(img, with_fs);
	char *s;

	assert_non_null(j);
	s = sjson_dumps(j, 0);
	json_decref(j);
	return s;
}

static void test_full_round_trip(void **state)
{
	struct image img;
	char err[256], *out;

	(void)state;
	assert_int_equal(decode(full, &img, err, sizeof(err)), 0);
	assert_string_equal(img.build_branch, "main");
	assert_string_equal(img.build_commit_id, "abc123");
	assert_string_equal(img.created_by, "alice");
	assert_int_equal(img.created_on.tv_sec, 1714557600);
	assert_int_equal(img.created_on.tv_nsec, 123456789);
	assert_int_equal(img.expires_at.tv_sec, 0);
	assert_true(img.has_fs);
	assert_int_equal(img.fs.n_inodes, 1);
	assert_string_equal(json_string_value(json_object_get(img.tags, "b")), "2");
	assert_non_null(json_object_get(img.extra, "Filter"));
	assert_non_null(json_object_get(img.extra, "XFuture"));
	assert_null(json_object_get(img.extra, "BuildBranch"));
	out = encode(&img, true);
	assert_string_equal(out, full);
	free(out);
	/* Without the file system. */
	out = encode(&img, false);
	assert_non_null(strstr(out, "\"FileSystem\":null,\"Triggers\""));
	free(out);
	image_free(&img);
	image_free(&img);
	image_free(NULL);
}

static void test_minimal_and_normalised(void **state)
{
	static const char zero[] =
	    "{\"BuildBranch\":\"\",\"BuildCommitId\":\"\",\"BuildGitUrl\":\"\",\"CreatedBy\":\"\","
	    "\"CreatedFor\":\"\",\"Filter\":null,\"FileSystem\":null,\"Triggers\":null,"
	    "\"ReleaseNotes\":null,\"BuildLog\":null,\"CreatedOn\":\"0001-01-01T00:00:00Z\","
	    "\"ExpiresAt\":\"0001-01-01T00:00:00Z\",\"OwnerGroups\":null,\"OwnerUsers\":null,"
	    "\"Packages\":null,\"SourceImage\":\"\",\"Tags\":null}";
	struct image img, img2;
	char err[256], *out, *out2;

	(void)state;
	assert_int_equal(decode("{\"SourceImage\":null}", &img, err, sizeof(err)), 0);
	assert_false(img.has_fs);
	assert_null(img.tags);
	out = encode(&img, true);
	assert_string_equal(out, zero);
	free(out);
	image_free(&img);

	/* Any case, an offset time, unsorted tags: written back in Go's form, which
	 * then round-trips exactly. */
	assert_int_equal(decode("{\"tags\":{\"z\":\"1\",\"a\":\"2\"},\"buildbranch\":\"b\","
				"\"filter\":null,\"Filter\":{\"x\":1},\"createdon\":"
				"\"2024-05-01T12:00:00+02:00\",\"zzz\":1,\"Aaa\":2}",
				&img, err, sizeof(err)),
			 0);
	assert_string_equal(img.build_branch, "b");
	out = encode(&img, true);
	assert_non_null(strstr(out, "\"BuildBranch\":\"b\""));
	assert_non_null(strstr(out, "\"Filter\":{\"x\":1}"));
	assert_non_null(strstr(out, "\"CreatedOn\":\"2024-05-01T10:00:00Z\""));
	assert_non_null(strstr(out, "\"Tags\":{\"a\":\"2\",\"z\":\"1\"},\"Aaa\":2,\"zzz\":1}"));
	assert_int_equal(decode(out, &img2, err, sizeof(err)), 0);
	out2 = encode(&img2, true);
	assert_string_equal(out, out2);
	free(out);
	free(out2);
	image_free(&img);
	image_free(&img2);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *json, *err;
	} bads[] = {
	    {"[]", "expected object, got array"},
	    {"{\"BuildBranch\":5}", "BuildBranch: expected string, got integer"},
	    {"{\"CreatedOn\":\"yesterday\"}", "CreatedOn: bad RFC 3339 time"},
	    {"{\"ExpiresAt\":3}", "ExpiresAt: expected string"},
	    {"{\"Tags\":{\"k\":1}}", "Tags.k: expected string, got integer"},
	    {"{\"Tags\":[]}", "Tags: expected object"},
	    {"{\"FileSystem\":[]}", "FileSystem: expected object"},
	    {"{\"BuildGitUrl\":5}", "BuildGitUrl: expected string, got integer"},
	    {"{\"packages\":{}}", "Packages: expected array, got object"},
	    {"{\"FileSystem\":{\"Mode\":16877,\"EntryList\":[{\"Name\":\"..\",\"InodeNumber\":1}]}"
	     "}",
	     "FileSystem.EntryList[0].Name: \"..\" refused"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct image img;
		char err[512] = "";
		int rc = decode(bads[i].json, &img, err, sizeof(err));

		if (rc != -EINVAL || !strstr(err, bads[i].err))
			fail_msg("case %zu: rc %d, err \"%s\", want \"%s\"", i, rc, err,
				 bads[i].err);
		assert_null(img.extra);
		assert_null(img.build_branch);
		assert_false(img.has_fs);
	}
}

static void test_names(void **state)
{
	static const char *good_dirs[] = {"a", "a/b", "hypervisor", "x.y/z-1/...", "a b"};
	static const struct {
		const char *name, *err;
	} bad[] = {
	    {"", "empty name"},
	    {"/a", "empty component"},
	    {"a/", "empty component"},
	    {"a//b", "empty component"},
	    {"a/../b", "\"a/../b\": component \"..\" refused"},
	    {"./a", "component \".\" refused"},
	    {"a/\x01", "control character in component 2"},
	    {"a/b\x7f", "control character"},
	};
	char err[256], longname[1100], comp[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good_dirs) / sizeof(good_dirs[0]); i++)
		assert_int_equal(image_dirname_check(good_dirs[i], err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(image_dirname_check(bad[i].name, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].err))
			fail_msg("%zu: \"%s\" lacks \"%s\"", i, err, bad[i].err);
		assert_int_equal(image_name_check(bad[i].name, err, sizeof(err)), -EINVAL);
	}
	memset(longname, 'a', sizeof(longname));
	for (size_t i = 100; i < sizeof(longname); i += 101)
		longname[i] = '/';
	longname[IMAGE_FULLNAME_MAX] = '\0';
	assert_int_equal(image_dirname_check(longname, err, sizeof(err)), 0);
	longname[IMAGE_FULLNAME_MAX] = 'a';
	longname[IMAGE_FULLNAME_MAX + 1] = '\0';
	assert_int_equal(image_dirname_check(longname, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 1024"));
	memset(comp, 'c', 256);
	comp[256] = '\0';
	assert_int_equal(image_dirname_check(comp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "component longer than 255 bytes"));

	assert_int_equal(image_name_check("stream/2024-01-18:22:57:43", err, sizeof(err)), 0);
	assert_int_equal(image_name_check("a/b/c", err, sizeof(err)), 0);
	assert_int_equal(image_name_check("leafonly", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "<directory>/<leaf>"));
}

static void test_name_dir_and_leaf(void **state)
{
	char out[16], leaf[32];

	(void)state;
	assert_int_equal(image_name_dir("a/b/leaf", out, sizeof(out)), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(image_name_dir("leaf", out, sizeof(out)), -EINVAL);
	assert_int_equal(image_name_dir("0123456789abcdefgh/x", out, sizeof(out)), -ENAMETOOLONG);
	image_leaf_now(leaf, sizeof(leaf));
	assert_int_equal(strlen(leaf), 19);
	assert_true(leaf[4] == '-' && leaf[7] == '-' && leaf[10] == ':' && leaf[13] == ':' &&
		    leaf[16] == ':');
	assert_true(strncmp(leaf, "2020", 4) > 0);
	assert_int_equal(image_name_check("s/x", NULL, 0), 0);
}

static void test_tags_match(void **state)
{
	struct image img;
	char err[256];
	json_t *m;

	(void)state;
	assert_int_equal(
	    decode("{\"Tags\":{\"arch\":\"x86_64\",\"role\":\"hv\"}}", &img, err, sizeof(err)), 0);
	assert_true(image_tags_match(&img, NULL));
	m = parse("{}");
	assert_true(image_tags_match(&img, m));
	json_decref(m);
	m = parse("{\"arch\":[\"arm64\",\"x86_64\"]}");
	assert_true(image_tags_match(&img, m));
	json_decref(m);
	m = parse("{\"arch\":[\"x86_64\"],\"role\":[\"installer\"]}");
	assert_false(image_tags_match(&img, m));
	json_decref(m);
	m = parse("{\"missing\":[\"x\"]}");
	assert_false(image_tags_match(&img, m));
	json_decref(m);
	image_free(&img);
	assert_int_equal(decode("{}", &img, err, sizeof(err)), 0);
	m = parse("{\"arch\":[\"x86_64\"]}");
	assert_false(image_tags_match(&img, m));
	json_decref(m);
	image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_round_trip),   cmocka_unit_test(test_minimal_and_normalised),
	    cmocka_unit_test(test_refusals),	      cmocka_unit_test(test_names),
	    cmocka_unit_test(test_name_dir_and_leaf), cmocka_unit_test(test_tags_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
