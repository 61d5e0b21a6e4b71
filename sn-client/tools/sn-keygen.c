/*
 * sn-keygen - write a new random pre-shared key for one station's link
 * frames (codec/frame.h: MQTTSN_FRAME_KEY_LEN octets, key id 0-3) as one
 * line of a key file. Arguments and wiring over libsodium.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/frame.h"
#include "codec/keyfile.h"
#include "sn-client/cli.h"

static const char usage[] =
	"usage: sn-keygen -i CLIENT_ID [-k KEY_ID] -o FILE [-f | -a]\n"
	"\n"
	"Write a new random pre-shared key for the station CLIENT_ID, for\n"
	"encrypted link frames (ChaCha20-Poly1305, codec/FRAMES.md). The key file\n"
	"is text, one key a line:\n"
	"  CLIENT_ID KEY_ID HEXKEY\n"
	"separated by one space: the station's MQTT-SN client id (1-23 octets,\n"
	"no spaces or control characters), the key id 0-3 the frames carry, and\n"
	"the 32-octet key as 64 lowercase hex digits. Lines starting with '#'\n"
	"are comments. A station needs its own line; the bridge's key file holds\n"
	"the lines of all its stations (build it with -a). The file is created\n"
	"with mode 0600; keep it so.\n"
	"\n"
	"  -i, --client-id ID   the station's client id\n"
	"  -k, --key-id N       key id 0-3 (default 0); a second id lets a\n"
	"                       station's key be rotated\n"
	"  -o, --output FILE    the key file to write; it must not exist\n"
	"  -f, --force          replace FILE if it exists\n"
	"  -a, --append         add the line to FILE (created if missing), unless\n"
	"                       it already holds a key for that client id and\n"
	"                       key id; FILE must not be readable by others\n"
	"      --help           this text\n"
	"\n"
	"The key is never printed. Exit status: 0 done; 1 an error (FILE exists,\n"
	"cannot be written, already has that key); 2 bad arguments.\n";

enum { OPT_HELP = 256 };

static const struct option longopts[] = {
	{ "client-id", required_argument, NULL, 'i' },
	{ "key-id", required_argument, NULL, 'k' },
	{ "output", required_argument, NULL, 'o' },
	{ "force", no_argument, NULL, 'f' },
	{ "append", no_argument, NULL, 'a' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

#define HELPED (-1)
#define LINE_MAX_LEN (MQTTSN_CLIENT_ID_MAX + 3 + 2 * MQTTSN_FRAME_KEY_LEN + 2)
#define KEYFILE_MAX (1024u * 1024u) /* a key file larger than this is something else */

struct opts {
	const char *client_id, *out;
	long key_id;
	bool force, append;
};

static int bad(const char *what)
{
	fprintf(stderr, "sn-keygen: %s\n(try --help)\n", what);
	return SNC_EXIT_USAGE;
}

/* 5.3.1: 1-23 characters; and one word on a line of the key file. */
static bool client_id_ok(const char *id)
{
	size_t len = strlen(id);

	if (len < 1 || len > MQTTSN_CLIENT_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)id[i];

		if (ch <= ' ' || ch == 0x7F)
			return false;
	}
	return id[0] != '#';
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof *o);
	while ((c = getopt_long(argc, argv, "i:k:o:fa", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o->client_id = optarg; break;
		case 'k':
			if (!snc_cli_parse_long(optarg, 0, MQTTSN_FRAME_KEY_IDS - 1, &o->key_id))
				return bad("--key-id: a key id is 0-3");
			break;
		case 'o': o->out = optarg; break;
		case 'f': o->force = true; break;
		case 'a': o->append = true; break;
		case OPT_HELP:
			fputs(usage, stdout);
			return HELPED;
		default:
			return SNC_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return bad("unexpected argument");
	if (o->client_id == NULL)
		return bad("-i CLIENT_ID is required");
	if (!client_id_ok(o->client_id))
		return bad("-i: a client id is 1-23 octets, without spaces or control "
		           "characters, not starting with '#'");
	if (o->out == NULL || o->out[0] == '\0')
		return bad("-o FILE is required");
	if (o->force && o->append)
		return bad("-f replaces the file, -a adds to it: not both");
	return SNC_EXIT_OK;
}

/* ---------------------------------------------------------------- appending */

/*
 * Appending: the file must be private already, and must not hold a key for
 * the same client id and key id (the bridge could not tell them apart).
 * fd is open for reading at offset 0. SNC_EXIT_OK, or SNC_EXIT_ERROR after
 * saying why.
 */
static int check_existing(int fd, const struct opts *o)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, pos = 0;
	unsigned line = 0;
	struct mqttsn_keyfile_entry e;
	int rc;
	struct stat st;
	int ex = SNC_EXIT_OK;

	if (fstat(fd, &st) != 0) {
		fprintf(stderr, "sn-keygen: %s: %s\n", o->out, strerror(errno));
		return SNC_EXIT_ERROR;
	}
	if ((st.st_mode & 077) != 0) {
		fprintf(stderr, "sn-keygen: %s: open to others (mode %04o): chmod 600 it first\n",
		        o->out, (unsigned)(st.st_mode & 07777));
		return SNC_EXIT_ERROR;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = cap >= KEYFILE_MAX ? NULL : realloc(buf, cap ? cap * 2 : 4096);

			if (nb == NULL) {
				fprintf(stderr, "sn-keygen: %s: %s\n", o->out,
				        cap >= KEYFILE_MAX ? "larger than 1 MiB: not a key file"
				                           : "out of memory");
				free(buf);
				return SNC_EXIT_ERROR;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "sn-keygen: %s: %s\n", o->out, strerror(errno));
			free(buf);
			return SNC_EXIT_ERROR;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* The parser the bridge uses (codec/keyfile.h): a damaged file is not appended to. */
	while (ex == SNC_EXIT_OK && (rc = mqttsn_keyfile_next(buf, len, &pos, &line, &e)) != 0) {
		if (rc < 0) {
			fprintf(stderr, "sn-keygen: %s:%u: %s\n", o->out, line, mqttsn_keyfile_strerror(rc));
			ex = SNC_EXIT_ERROR;
		} else if (strcmp(e.client_id, o->client_id) == 0 && e.key_id == o->key_id) {
			fprintf(stderr, "sn-keygen: %s: already holds a key for %s with key id %ld\n",
			        o->out, o->client_id, o->key_id);
			ex = SNC_EXIT_ERROR;
		}
	}
	sodium_memzero(&e, sizeof e);
	if (ex == SNC_EXIT_OK && len > 0 && buf[len - 1] != '\n') {
		fprintf(stderr, "sn-keygen: %s: last line is not terminated: not a key file?\n", o->out);
		ex = SNC_EXIT_ERROR;
	}
	if (buf != NULL)
		sodium_memzero(buf, len);
	free(buf);
	return ex;
}

/* ---------------------------------------------------------------- writing */

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static int keygen(const struct opts *o)
{
	uint8_t key[MQTTSN_FRAME_KEY_LEN];
	char hex[2 * MQTTSN_FRAME_KEY_LEN + 1], line[LINE_MAX_LEN + 1];
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC, fd, n, ex = SNC_EXIT_ERROR;

	if (sodium_init() < 0) {
		fprintf(stderr, "sn-keygen: libsodium failed to initialise\n");
		return SNC_EXIT_ERROR;
	}
	if (o->append)
		flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
	else
		flags |= o->force ? O_TRUNC : O_EXCL;
	fd = open(o->out, flags, 0600);
	if (fd < 0) {
		fprintf(stderr, "sn-keygen: %s: %s%s\n", o->out, strerror(errno),
		        errno == EEXIST ? " (-f to replace it, -a to add to it)" : "");
		return SNC_EXIT_ERROR;
	}
	/* A replaced file keeps its old mode, and a umask may narrow ours. */
	if (!o->append && fchmod(fd, 0600) != 0) {
		fprintf(stderr, "sn-keygen: %s: %s\n", o->out, strerror(errno));
		goto out;
	}
	if (o->append && check_existing(fd, o) != SNC_EXIT_OK)
		goto out;
	randombytes_buf(key, sizeof key);
	sodium_bin2hex(hex, sizeof hex, key, sizeof key);
	n = snprintf(line, sizeof line, "%s %ld %s\n", o->client_id, o->key_id, hex);
	if (n < 0 || (size_t)n >= sizeof line) {
		fprintf(stderr, "sn-keygen: %s: line too long\n", o->out);
		goto out;
	}
	if (!write_all(fd, line, (size_t)n) || fsync(fd) != 0) {
		fprintf(stderr, "sn-keygen: %s: %s\n", o->out, strerror(errno));
		goto out;
	}
	ex = SNC_EXIT_OK;
out:
	sodium_memzero(key, sizeof key);
	sodium_memzero(hex, sizeof hex);
	sodium_memzero(line, sizeof line);
	if (close(fd) != 0 && ex == SNC_EXIT_OK) {
		fprintf(stderr, "sn-keygen: %s: %s\n", o->out, strerror(errno));
		ex = SNC_EXIT_ERROR;
	}
	if (ex == SNC_EXIT_OK)
		printf("%s: key id %ld for %s\n", o->out, o->key_id, o->client_id);
	return ex;
}

int main(int argc, char **argv)
{
	struct opts o;
	int ex = parse(argc, argv, &o);

	if (ex != SNC_EXIT_OK)
		return ex == HELPED ? SNC_EXIT_OK : ex;
	return keygen(&o);
}
