/*
 * gw_map.c - a small u32 -> pointer hash map with linear probing, for the
 * tokens of the shared broker connection (many clients, one token space).
 *
 * Deletion shifts the following entries back instead of leaving tombstones,
 * so lookups stay short however many tokens come and go.
 */
#include <stdlib.h>

#include "bridge/gw_int.h"

static size_t home(const struct gw_map *m, uint32_t key)
{
	/* Knuth's multiplicative hash spreads sequential mids */
	return (size_t)(key * 2654435761u) & (m->cap - 1);
}

static int grow(struct gw_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i;
	struct gw_map_slot *old = m->slots, *n = calloc(cap, sizeof *n);
	size_t oldcap = m->cap;

	if (n == NULL)
		return -1;
	m->slots = n;
	m->cap = cap;
	m->count = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].used)
			(void)gw_map_put(m, old[i].key, old[i].val);
	free(old);
	return 0;
}

int gw_map_put(struct gw_map *m, uint32_t key, void *val)
{
	size_t i;

	if ((m->count + 1) * 2 > m->cap && grow(m) != 0)
		return -1;
	for (i = home(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i].used) {
			m->slots[i].used = true;
			m->slots[i].key = key;
			m->slots[i].val = val;
			m->count++;
			return 0;
		}
		if (m->slots[i].key == key) {
			m->slots[i].val = val;
			return 0;
		}
	}
}

static size_t find(const struct gw_map *m, uint32_t key)
{
	size_t i;

	if (m->cap == 0)
		return SIZE_MAX;
	for (i = home(m, key); m->slots[i].used; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key == key)
			return i;
	return SIZE_MAX;
}

void *gw_map_get(const struct gw_map *m, uint32_t key)
{
	size_t i = find(m, key);

	return i == SIZE_MAX ? NULL : m->slots[i].val;
}

static void del_at(struct gw_map *m, size_t i)
{
	size_t j = i, mask = m->cap - 1;

	m->slots[i].used = false;
	m->count--;
	for (;;) {
		size_t h;

		j = (j + 1) & mask;
		if (!m->slots[j].used)
			return;
		h = home(m, m->slots[j].key);
		/* j's entry may fill the hole at i unless its home lies in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].used = false;
			i = j;
		}
	}
}

void gw_map_del(struct gw_map *m, uint32_t key)
{
	size_t i = find(m, key);

	if (i != SIZE_MAX)
		del_at(m, i);
}

void gw_map_free(struct gw_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}
