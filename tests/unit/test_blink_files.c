/*
 * test_blink_files.c - the files of the bridge's link frames: the key file
 * and dictionaries (bridge/keys.h: mode check, errors naming file:line,
 * duplicates, lookup) and the per-station counter files
 * (bridge/link_state.h: round trip, missing, damaged, awkward client ids).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bridge/keys.h"
#include "bridge/link_state.h"

#define HEX0 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEXF "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_blink_files.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const void *text, size_t len, mode_t mode, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_key_file(void **state)
{
	(void)state;
	char path[256], err[512], want[600];
	struct gw_link_keys k;
	const char text[] = "# keys\nst-b 0 " HEX0 "\nst-a 1 " HEXF "\n\nst-a 0 " HEX0 "\n";
	write_file("keys", text, strlen(text), 0600, path, sizeof path);
	assert_int_equal(gw_link_keys_load(&k, path, NULL, 0, err, sizeof err), 0);
	assert_int_equal(k.n, 2);
	assert_string_equal(k.st[0].client_id, "st-a");
	assert_true(k.st[0].ring.set[0] && k.st[0].ring.set[1]);
	assert_int_equal(k.st[0].send_id, 0); /* its last line */
	assert_int_equal(k.st[0].ring.key[1][0], 0xFF);
	const struct gw_station_key *s = gw_link_keys_find(&k, "st-b", 4);
	assert_non_null(s);
	assert_int_equal(s->send_id, 0);
	assert_null(gw_link_keys_find(&k, "st-c", 4));
	assert_null(gw_link_keys_find(&k, "st-", 3));
	assert_null(gw_link_keys_find(&k, "", 0));
	assert_null(gw_link_keys_dict(&k, 1));
	gw_link_keys_free(&k);

	/* Open to others: refused, as ssh refuses a private key. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(gw_link_keys_load(&k, path, NULL, 0, err, sizeof err), -1);
	snprintf(want, sizeof want,
	         "%s: open to group or others (mode 0640): the keys must be private, chmod 600 it", path);
	assert_string_equal(err, want);
	assert_int_equal(k.n, 0);

	const char dup[] = "st-a 0 " HEX0 "\nst-b 0 " HEX0 "\n#\nst-a 0 " HEXF "\n";
	write_file("dup", dup, strlen(dup), 0600, path, sizeof path);
	assert_int_equal(gw_link_keys_load(&k, path, NULL, 0, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:4: a second key for st-a with key id 0 (the first is on line 1)", path);
	assert_string_equal(err, want);

	const char bad[] = "st-a 0 " HEX0 "\nst-b 5 " HEX0 "\n";
	write_file("bad", bad, strlen(bad), 0400, path, sizeof path);
	assert_int_equal(gw_link_keys_load(&k, path, NULL, 0, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: the key id must be 0, 1, 2 or 3", path);
	assert_string_equal(err, want);

	snprintf(path, sizeof path, "%s/none", dir);
	assert_int_equal(gw_link_keys_load(&k, path, NULL, 0, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(gw_link_keys_load(&k, dir, NULL, 0, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: not a regular file", dir);
	assert_string_equal(err, want);

	/* No key file at all: no stations. */
	assert_int_equal(gw_link_keys_load(&k, NULL, NULL, 0, err, sizeof err), 0);
	assert_int_equal(k.n, 0);
	gw_link_keys_free(&k);
}

static void test_dictionaries(void **state)
{
	(void)state;
	char p1[256], p2[256], p3[256], err[512], want[600];
	uint8_t buf[256];
	struct mqttsn_frame_dict d = {.id = 7, .ptr = (const uint8_t *)"{\"temp_c\":4.0}", .len = 14};
	int n = mqttsn_frame_dict_encode(&d, buf, sizeof buf);
	assert_true(n > 0);
	write_file("d7", buf, (size_t)n, 0644, p1, sizeof p1);
	d.id = 9;
	n = mqttsn_frame_dict_encode(&d, buf, sizeof buf);
	write_file("d9", buf, (size_t)n, 0644, p2, sizeof p2);
	char *paths[3] = {p1, p2, p3};
	struct gw_link_keys k;
	assert_int_equal(gw_link_keys_load(&k, NULL, paths, 2, err, sizeof err), 0);
	assert_int_equal(k.ndicts, 2);
	assert_int_equal(gw_link_keys_dict(&k, 9)->id, 9);
	assert_true(gw_link_keys_dict(&k, 9) == &k.dicts[1]);
	assert_null(gw_link_keys_dict(&k, 8));
	assert_memory_equal(k.dicts[0].ptr, "{\"temp_c\":4.0}", 14);
	gw_link_keys_free(&k);

	paths[1] = p1;
	assert_int_equal(gw_link_keys_load(&k, NULL, paths, 2, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: dictionary id 7 is given twice", p1);
	assert_string_equal(err, want);

	buf[12] ^= 1; /* the CRC no longer matches */
	write_file("dx", buf, (size_t)n, 0644, p3, sizeof p3);
	paths[0] = p3;
	assert_int_equal(gw_link_keys_load(&k, NULL, paths, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, ": not a dictionary file ("));
}

static void test_state_files(void **state)
{
	(void)state;
	char err[512], path[512], want[700];
	uint64_t tx = 1, rx = 1;
	assert_int_equal(gw_link_state_prepare(dir, err, sizeof err), 0);
	assert_int_equal(gw_link_state_load(dir, "st/../1", &tx, &rx, err, sizeof err), 1);
	assert_int_equal(gw_link_state_save(dir, "st/../1", 2048, 77, err, sizeof err), 0);
	assert_int_equal(gw_link_state_load(dir, "st/../1", &tx, &rx, err, sizeof err), 0);
	assert_int_equal(tx, 2048);
	assert_int_equal(rx, 77);
	assert_int_equal(gw_link_state_save(dir, "st/../1", UINT64_MAX, UINT64_MAX - 1, err, sizeof err), 0);
	assert_int_equal(gw_link_state_load(dir, "st/../1", &tx, &rx, err, sizeof err), 0);
	assert_true(tx == UINT64_MAX && rx == UINT64_MAX - 1);
	/* The name is the client id in hex; the file is private. */
	struct stat st;
	snprintf(path, sizeof path, "%s/73742f2e2e2f31.link", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("snbridge-link 1 tx_mark=5 rx_floor=x st/../1\n", f);
	fclose(f);
	assert_int_equal(gw_link_state_load(dir, "st/../1", &tx, &rx, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: damaged", path);
	assert_memory_equal(err, want, strlen(want));
	/* Another station's file under this name is damage too. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("snbridge-link 1 tx_mark=5 rx_floor=6 st-x\n", f);
	fclose(f);
	assert_int_equal(gw_link_state_load(dir, "st/../1", &tx, &rx, err, sizeof err), -1);

	snprintf(path, sizeof path, "%s/file", dir);
	write_file("file", "x", 1, 0600, path, sizeof path);
	assert_int_equal(gw_link_state_prepare(path, err, sizeof err), -1);
	snprintf(want, sizeof want, "link_state_dir %s: not a directory", path);
	assert_string_equal(err, want);
	snprintf(path, sizeof path, "%s/new", dir);
	assert_int_equal(gw_link_state_prepare(path, err, sizeof err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof path, "%s/no/such", dir);
	assert_int_equal(gw_link_state_save(path, "a", 1, 1, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dictionaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
