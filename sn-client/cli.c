/*
 * cli.c - helpers shared by the command-line tools (cli.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/mqttsn.h"
#include "sn-client/cli.h"

int snc_cli_exit_code(int err)
{
	switch (err) {
	case SNC_OK:
		return SNC_EXIT_OK;
	case SNC_ERR_TIMEOUT:
	case SNC_ERR_GONE:
		return SNC_EXIT_TIMEOUT;
	default:
		return SNC_EXIT_ERROR;
	}
}

bool snc_cli_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int snc_cli_read_all(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *b = NULL;
	size_t n = 0, cap = 0;
	int rc = SNC_OK;

	*buf = NULL;
	*len = 0;
	if (f == NULL)
		return SNC_ERR_IO;
	for (;;) {
		size_t got;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *nb;

			/* One octet beyond max is enough to know it is too big. */
			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= n) {
				rc = SNC_ERR_TOO_BIG;
				break;
			}
			nb = realloc(b, ncap);
			if (nb == NULL) {
				rc = SNC_ERR_NOMEM;
				break;
			}
			b = nb;
			cap = ncap;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n > max) {
			rc = SNC_ERR_TOO_BIG;
			break;
		}
		if (got == 0) {
			if (ferror(f))
				rc = SNC_ERR_IO;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (rc != SNC_OK) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return SNC_OK;
}

void snc_cli_trace(void *arg, bool out, const uint8_t *buf, size_t len)
{
	FILE *f = arg;
	struct mqttsn_msg m;
	char line[512];
	int rc = mqttsn_decode(buf, len, &m);

	if (rc != MQTTSN_OK) {
		fprintf(f, "%s malformed (%zu octets): %s\n", out ? "->" : "<-", len, mqttsn_strerror(rc));
		return;
	}
	(void)mqttsn_format(line, sizeof line, &m);
	fprintf(f, "%s %s\n", out ? "->" : "<-", line);
	fflush(f);
}

void snc_cli_print_packet(FILE *f, const char *prefix, const uint8_t *buf, size_t len, bool hex)
{
	struct mqttsn_msg m;
	char line[1024];
	int rc = mqttsn_decode(buf, len, &m);

	if (rc == MQTTSN_OK) {
		(void)mqttsn_format(line, sizeof line, &m);
		fprintf(f, "%s %s", prefix, line);
	} else {
		fprintf(f, "%s malformed (%zu octets): %s", prefix, len, mqttsn_strerror(rc));
	}
	if (hex) {
		fputs(" |", f);
		for (size_t i = 0; i < len; i++)
			fprintf(f, " %02x", buf[i]);
	}
	fputc('\n', f);
	fflush(f);
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

volatile sig_atomic_t *snc_cli_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: poll() must return */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return &interrupted;
}
