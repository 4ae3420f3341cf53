/*
 * The hot loop of kakehashi.match.engine.Matcher, compiled.
 *
 * Why C: matching costs one pass over every object of every observation, and in CPython
 * the interpreter's own work on that pass (about 0.9 us an observation before any lookup)
 * is already near the one-microsecond budget the engine aims for. This file does the
 * same pass with the same dictionaries, the same order of hits and the same callbacks as
 * Matcher._feed_python; it adds no rule of its own. Everything rare or unusual is left to
 * Python: an observation that is not a tuple of plain dicts is handed to `fallback`
 * whole; normalisation that would change the text, checks, nested-property probes, IPv6
 * networks and the resolution of hits are Python callables. Computed here: the lookups
 * themselves (a Bloom filter asked before a large table), the IPv4 network lookup (the
 * text read as inet_pton(AF_INET) reads it, then binary searches over the ranges
 * AddressIndex.c_table() prepared), and the value of one hash (file:hashes.'SHA-256').
 *
 * Arguments are built by kakehashi.match.cplans.c_plans; their shapes are checked as
 * they are used, so a wrong shape is a TypeError, never a crash.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *str_type;  /* "type" */
static PyObject *str_empty; /* "" */
static PyObject *str_bool;  /* "bool" */

#define BUCKET_COUNT 65536 /* IPv4 ranges are bucketed by the address's first 16 bits */

static int
bad_shape(const char *what)
{
    PyErr_Format(PyExc_TypeError, "kakehashi.match._scan: %s", what);
    return -1;
}

/* Call with one or two arguments; a new reference, or NULL with an exception. */
static PyObject *
call1(PyObject *callable, PyObject *a)
{
    PyObject *args[1] = {a};
    return PyObject_Vectorcall(callable, args, 1, NULL);
}

static PyObject *
call2(PyObject *callable, PyObject *a, PyObject *b)
{
    PyObject *args[2] = {a, b};
    return PyObject_Vectorcall(callable, args, 2, NULL);
}

/* hits.setdefault(target, example) for one target, or each of a tuple of them. */
static int
add_targets(PyObject *hits, PyObject *targets, PyObject *example)
{
    if (PyLong_CheckExact(targets)) {
        return PyDict_SetDefault(hits, targets, example) == NULL ? -1 : 0;
    }
    if (!PyTuple_CheckExact(targets)) {
        return bad_shape("targets must be an int or a tuple");
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(targets); i++) {
        if (PyDict_SetDefault(hits, PyTuple_GET_ITEM(targets, i), example) == NULL) {
            return -1;
        }
    }
    return 0;
}

/* The address text as socket.inet_pton(AF_INET) accepts it: four decimal octets, no
 * leading zeros, nothing else. 1 and *out set, or 0 when it is not such an address. */
static int
parse_ipv4(PyObject *text, uint32_t *out)
{
    if (!PyUnicode_IS_ASCII(text)) {
        return 0;
    }
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    uint32_t address = 0, octet = 0;
    int octets = 0, saw_digit = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= '0' && c <= '9') {
            if (saw_digit && octet == 0) {
                return 0; /* a leading zero */
            }
            octet = octet * 10 + (uint32_t)(c - '0');
            if (octet > 255) {
                return 0;
            }
            if (!saw_digit) {
                if (++octets > 4) {
                    return 0;
                }
                saw_digit = 1;
            }
        }
        else if (c == '.' && saw_digit) {
            if (octets == 4) {
                return 0;
            }
            address = (address << 8) | octet;
            octet = 0;
            saw_digit = 0;
        }
        else {
            return 0;
        }
    }
    if (octets < 4 || !saw_digit) {
        return 0;
    }
    *out = (address << 8) | octet;
    return 1;
}

/* Ranges as AddressIndex.c_table() lays them out: `pairs` holds (start, end) as native
 * 32-bit numbers, sorted and disjoint, so that a start and its end share a cache line;
 * `targets` is parallel to it. The targets of the range among [lo, hi) that holds
 * `number` (borrowed), NULL when none does, or NULL with an exception on a bad shape. */
static PyObject *
find_range(PyObject *pairs, PyObject *targets, Py_ssize_t lo, Py_ssize_t hi, uint32_t number)
{
    if (!PyBytes_CheckExact(pairs) || !PyList_CheckExact(targets) ||
        PyBytes_GET_SIZE(pairs) != PyList_GET_SIZE(targets) * 8 || lo < 0 || lo > hi ||
        hi > PyList_GET_SIZE(targets)) {
        bad_shape("IPv4 ranges must be (bytes of pairs, list) of one length");
        return NULL;
    }
    const char *bytes = PyBytes_AS_STRING(pairs);
    Py_ssize_t first = lo;
    while (lo < hi) { /* bisect_right over the starts */
        Py_ssize_t mid = lo + (hi - lo) / 2;
        uint32_t start;
        memcpy(&start, bytes + mid * 8, 4);
        if (number < start) {
            hi = mid;
        }
        else {
            lo = mid + 1;
        }
    }
    if (lo == first) {
        return NULL;
    }
    uint32_t end;
    memcpy(&end, bytes + (lo - 1) * 8 + 4, 4);
    return number <= end ? PyList_GET_ITEM(targets, lo - 1) : NULL;
}

/* The IPv4 networks holding `value`. The table is (wide pairs or None, wide targets or
 * None, pairs, offsets, targets): networks of /16 or longer sit in `pairs`, and `offsets`
 * (65,537 numbers) says where each /16 bucket's ranges begin and end. */
static int
add_ipv4_networks(PyObject *hits, PyObject *table, PyObject *value)
{
    uint32_t number;
    if (!parse_ipv4(value, &number)) {
        return 0;
    }
    if (!PyTuple_CheckExact(table) || PyTuple_GET_SIZE(table) != 5) {
        return bad_shape("an IPv4 table must be a tuple of 5");
    }
    PyObject *found;
    PyObject *wide_pairs = PyTuple_GET_ITEM(table, 0);
    if (wide_pairs != Py_None) {
        PyObject *wide_targets = PyTuple_GET_ITEM(table, 1);
        Py_ssize_t count = PyList_Check(wide_targets) ? PyList_GET_SIZE(wide_targets) : 0;
        found = find_range(wide_pairs, wide_targets, 0, count, number);
        if (found == NULL && PyErr_Occurred()) {
            return -1;
        }
        if (found != NULL && add_targets(hits, found, value) < 0) {
            return -1;
        }
    }
    PyObject *offsets = PyTuple_GET_ITEM(table, 3);
    if (!PyBytes_CheckExact(offsets) || PyBytes_GET_SIZE(offsets) != (BUCKET_COUNT + 1) * 4) {
        return bad_shape("IPv4 offsets must be 65537 numbers");
    }
    uint32_t bounds[2];
    memcpy(bounds, PyBytes_AS_STRING(offsets) + (number >> 16) * 4, 8);
    if (bounds[0] == bounds[1]) {
        return 0; /* no network in this /16 */
    }
    found = find_range(PyTuple_GET_ITEM(table, 2), PyTuple_GET_ITEM(table, 4),
                       (Py_ssize_t)bounds[0], (Py_ssize_t)bounds[1], number);
    if (found == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    return add_targets(hits, found, value);
}

/* A blocked Bloom filter over a large exact table's keys: two bits in one 64-bit word,
 * chosen by the key's Python hash, mixed (small ints hash to themselves). A key whose
 * bits are not both set is not in the table; asking the filter touches one cache line
 * where a missing key costs the dict two or three scattered ones. */
static inline uint64_t
mix(Py_hash_t hash)
{
    uint64_t x = (uint64_t)hash; /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline int
bloom_may_hold(const uint64_t *words, int word_bits, uint64_t x)
{
    uint64_t word = words[x >> (64 - word_bits)];
    uint64_t want = (1ULL << (x & 63)) | (1ULL << ((x >> 6) & 63));
    return (word & want) == want;
}

/* log2 of a filter's number of words (its size in bytes: a power of two, at least 16),
 * or -1 for another size. Asked on every lookup, so without a loop where the compiler
 * offers a count of trailing zeros. */
static int
bloom_word_bits(Py_ssize_t size)
{
    if (size < 16 || (size & (size - 1)) != 0) {
        return -1;
    }
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll((unsigned long long)size) - 3; /* 8 bytes a word */
#else
    int bits = 0;
    for (Py_ssize_t words = size / 8; words > 1; words >>= 1) {
        bits++;
    }
    return bits;
#endif
}

/* `exact.get(key)` as a new reference (NULL: absent, or an exception is set). */
static PyObject *
exact_get(PyObject *exact, PyObject *key, PyObject *bloom)
{
    if (bloom != Py_None) {
        Py_hash_t hash = PyObject_Hash(key); /* cached in a str */
        if (hash == -1) {
            return NULL;
        }
        int word_bits = bloom_word_bits(PyBytes_GET_SIZE(bloom));
        if (word_bits < 0) {
            bad_shape("a filter's size must be a power of two");
            return NULL;
        }
        if (!bloom_may_hold((const uint64_t *)PyBytes_AS_STRING(bloom), word_bits, mix(hash))) {
            return NULL;
        }
    }
    PyObject *found = PyDict_GetItemWithError(exact, key);
    Py_XINCREF(found);
    return found;
}

/* Rules the loop applies itself when they would not change the text: the rest, and any
 * text they would change, go to the Python rule. Kinds (cplans.rule_kind): */
enum { RULE_PYTHON = 0, RULE_LOWER = 1, RULE_DOMAIN = 2 };

/* normalise(value) as a new reference: the value itself when `kind` says the rule leaves
 * ASCII text without capitals (and, for a domain, without a trailing dot) as it is. */
static PyObject *
normalised(PyObject *normalise, long kind, PyObject *value)
{
    if ((kind == RULE_LOWER || kind == RULE_DOMAIN) && PyUnicode_IS_ASCII(value)) {
        const unsigned char *s = PyUnicode_1BYTE_DATA(value);
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        int unchanged = !(kind == RULE_DOMAIN && n > 0 && s[n - 1] == '.');
        for (Py_ssize_t i = 0; unchanged && i < n; i++) {
            unchanged = !(s[i] >= 'A' && s[i] <= 'Z');
        }
        if (unchanged) {
            return Py_NewRef(value);
        }
    }
    return call1(normalise, value);
}

/* exact.get(exact_key(value)) as a new reference (NULL: absent, or an exception is set).
 * anchors.exact_key: text, numbers and bytes are their own keys; booleans are tagged. */
static PyObject *
exact_lookup(PyObject *exact, PyObject *bloom, PyObject *value)
{
    if (PyUnicode_CheckExact(value) || PyLong_CheckExact(value) || PyFloat_CheckExact(value) ||
        PyBytes_CheckExact(value)) {
        return exact_get(exact, value, bloom);
    }
    if (PyBool_Check(value)) {
        PyObject *tagged = PyTuple_Pack(2, str_bool, value);
        if (tagged == NULL) {
            return NULL;
        }
        PyObject *found = exact_get(exact, tagged, bloom);
        Py_DECREF(tagged);
        return found;
    }
    return NULL;
}

static int
call_checks(PyObject *checks, PyObject *value, PyObject *hits)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(checks); i++) {
        PyObject *none = call2(PyTuple_GET_ITEM(checks, i), value, hits);
        if (none == NULL) {
            return -1;
        }
        Py_DECREF(none);
    }
    return 0;
}

/* One fast probe on one object: Matcher._feed_python's inner loop body. The probe is
 * (key, rule, slash rule, exact, IPv4 table, IPv6 lookup, checks, network checks, bloom,
 * rule kind). */
static int
run_probe(PyObject *probe, PyObject *obj, PyObject *hits)
{
    if (!PyTuple_CheckExact(probe) || PyTuple_GET_SIZE(probe) != 10) {
        return bad_shape("a fast probe must be a tuple of 10");
    }
    PyObject *key = PyTuple_GET_ITEM(probe, 0);
    PyObject *rule = PyTuple_GET_ITEM(probe, 1);
    PyObject *slash_rule = PyTuple_GET_ITEM(probe, 2);
    PyObject *exact = PyTuple_GET_ITEM(probe, 3);
    PyObject *ipv4_table = PyTuple_GET_ITEM(probe, 4);
    PyObject *ipv6_lookup = PyTuple_GET_ITEM(probe, 5);
    PyObject *checks = PyTuple_GET_ITEM(probe, 6);
    PyObject *network_checks = PyTuple_GET_ITEM(probe, 7);
    PyObject *bloom = PyTuple_GET_ITEM(probe, 8);
    long rule_kind = PyLong_AsLong(PyTuple_GET_ITEM(probe, 9));
    if (rule_kind == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (!PyDict_CheckExact(exact) || !PyTuple_CheckExact(checks) ||
        !PyTuple_CheckExact(network_checks) || (bloom != Py_None && !PyBytes_CheckExact(bloom))) {
        return bad_shape("a fast probe's exact table and checks");
    }

    PyObject *value = PyDict_GetItemWithError(obj, key);
    if (value == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (value == Py_None) {
        return 0;
    }
    Py_INCREF(value); /* callbacks run below; hold what they are given */
    PyObject *found = NULL;
    int result = -1;
    int is_text = PyUnicode_CheckExact(value);
    int has_slash = 0;
    if (is_text) {
        has_slash = PyUnicode_FindChar(value, '/', 0, PyUnicode_GET_LENGTH(value), 1) >= 0;
        PyObject *normalise = rule != Py_None ? rule : (has_slash ? slash_rule : Py_None);
        if (normalise != Py_None) {
            PyObject *normal = normalised(normalise, normalise == rule ? rule_kind : 0, value);
            if (normal == NULL) {
                goto done;
            }
            found = exact_get(exact, normal, bloom);
            Py_DECREF(normal);
        }
        else {
            found = exact_get(exact, value, bloom);
        }
        if (found == NULL && PyErr_Occurred()) {
            goto done;
        }
        if (!has_slash && (ipv4_table != Py_None || ipv6_lookup != Py_None)) {
            if (PyUnicode_FindChar(value, ':', 0, PyUnicode_GET_LENGTH(value), 1) >= 0) {
                if (ipv6_lookup != Py_None) {
                    PyObject *inside = call1(ipv6_lookup, value);
                    if (inside == NULL) {
                        goto done;
                    }
                    int added = add_targets(hits, inside, value);
                    Py_DECREF(inside);
                    if (added < 0) {
                        goto done;
                    }
                }
            }
            else if (ipv4_table != Py_None && add_ipv4_networks(hits, ipv4_table, value) < 0) {
                goto done;
            }
        }
    }
    else {
        found = exact_lookup(exact, bloom, value);
        if (found == NULL && PyErr_Occurred()) {
            goto done;
        }
    }
    if (found != NULL && add_targets(hits, found, value) < 0) {
        goto done;
    }
    if (call_checks(checks, value, hits) < 0) {
        goto done;
    }
    /* Checks that only ever act on a network value ("10.1.0.0/16"): not called for others. */
    if (is_text && has_slash && call_checks(network_checks, value, hits) < 0) {
        goto done;
    }
    result = 0;
done:
    Py_XDECREF(found);
    Py_DECREF(value);
    return result;
}

/* A probe of one hash (file:hashes.'SHA-256'), as Matcher._slow would run it: the value
 * under the canonical name, else under a name that canonical_hash_name() maps to it. The
 * entry is (outer key, name, rule, rule kind, exact, bloom, checks, canonical names,
 * (probe,)); anything but a plain dict of hashes whose other names are all canonical
 * already is handed to `slow` with (probe,). */
static int
run_hash_probe(PyObject *entry, PyObject *obj, PyObject *observation, PyObject *hits,
               PyObject *slow)
{
    PyObject *outer_key = PyTuple_GET_ITEM(entry, 0);
    PyObject *name = PyTuple_GET_ITEM(entry, 1);
    PyObject *rule = PyTuple_GET_ITEM(entry, 2);
    long rule_kind = PyLong_AsLong(PyTuple_GET_ITEM(entry, 3));
    PyObject *exact = PyTuple_GET_ITEM(entry, 4);
    PyObject *bloom = PyTuple_GET_ITEM(entry, 5);
    PyObject *checks = PyTuple_GET_ITEM(entry, 6);
    PyObject *canonical = PyTuple_GET_ITEM(entry, 7);
    PyObject *python = PyTuple_GET_ITEM(entry, 8);
    if (rule_kind == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (!PyDict_CheckExact(exact) || !PyTuple_CheckExact(checks) ||
        !PyFrozenSet_CheckExact(canonical) || (bloom != Py_None && !PyBytes_CheckExact(bloom))) {
        return bad_shape("a hash probe's tables");
    }
    PyObject *hashes = PyDict_GetItemWithError(obj, outer_key);
    if (hashes == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyDict_CheckExact(hashes)) {
        goto in_python;
    }
    PyObject *value = PyDict_GetItemWithError(hashes, name);
    if (value == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        Py_ssize_t position = 0;
        PyObject *key, *ignored;
        while (PyDict_Next(hashes, &position, &key, &ignored)) {
            int known = PySet_Contains(canonical, key);
            if (known < 0) {
                return -1;
            }
            if (!known) {
                goto in_python; /* "sha256" and the like: canonical_hash_name() decides */
            }
        }
        return 0;
    }
    if (value == Py_None) {
        return 0;
    }
    PyObject *normal;
    if (PyUnicode_CheckExact(value) && rule != Py_None) {
        Py_INCREF(value); /* held while the rule runs */
        normal = normalised(rule, rule_kind, value);
        Py_DECREF(value);
        if (normal == NULL) {
            return -1;
        }
    }
    else {
        normal = Py_NewRef(value);
    }
    int result = -1;
    PyObject *found = exact_lookup(exact, bloom, normal);
    if (found == NULL && PyErr_Occurred()) {
        goto done;
    }
    if (found != NULL && add_targets(hits, found, normal) < 0) {
        goto done;
    }
    result = call_checks(checks, normal, hits);
done:
    Py_XDECREF(found);
    Py_DECREF(normal);
    return result;

in_python:;
    PyObject *args[4] = {python, obj, observation, hits};
    PyObject *none = PyObject_Vectorcall(slow, args, 4, NULL);
    if (none == NULL) {
        return -1;
    }
    Py_DECREF(none);
    return 0;
}

/* One object: its type's plan (fast probes, slow probes, scan targets). */
static int
run_plan(PyObject *plan, PyObject *obj, PyObject *observation, PyObject *hits, PyObject *slow)
{
    if (!PyTuple_CheckExact(plan) || PyTuple_GET_SIZE(plan) != 3) {
        return bad_shape("a plan must be (fast, slow, scan)");
    }
    PyObject *fast = PyTuple_GET_ITEM(plan, 0);
    PyObject *slow_probes = PyTuple_GET_ITEM(plan, 1);
    PyObject *scan = PyTuple_GET_ITEM(plan, 2);
    if (!PyTuple_CheckExact(fast) || !PyTuple_CheckExact(slow_probes) ||
        !PyTuple_CheckExact(scan)) {
        return bad_shape("a plan's parts must be tuples");
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fast); i++) {
        if (run_probe(PyTuple_GET_ITEM(fast, i), obj, hits) < 0) {
            return -1;
        }
    }
    /* Each slow entry is a hash probe (a tuple of 9) or (probe,) for Matcher._slow. */
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(slow_probes); i++) {
        PyObject *entry = PyTuple_GET_ITEM(slow_probes, i);
        if (!PyTuple_CheckExact(entry)) {
            return bad_shape("a slow entry must be a tuple");
        }
        if (PyTuple_GET_SIZE(entry) == 9) {
            if (run_hash_probe(entry, obj, observation, hits, slow) < 0) {
                return -1;
            }
            continue;
        }
        PyObject *args[4] = {entry, obj, observation, hits};
        PyObject *none = PyObject_Vectorcall(slow, args, 4, NULL);
        if (none == NULL) {
            return -1;
        }
        Py_DECREF(none);
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(scan); i++) {
        if (PyDict_SetDefault(hits, PyTuple_GET_ITEM(scan, i), str_empty) == NULL) {
            return -1;
        }
    }
    return 0;
}

enum { SCANNED = 0, DELEGATE = 1, FAILED = -1 };

/* Every object of one observation. DELEGATE: not a tuple of plain dicts; hits cleared. */
static int
scan_observation(PyObject *observation, PyObject *plans, PyObject *hits, PyObject *slow)
{
    if (!PyTuple_Check(observation) || PyTuple_GET_SIZE(observation) < 1) {
        return DELEGATE;
    }
    PyObject *objects = PyTuple_GET_ITEM(observation, 0);
    if (!PyDict_CheckExact(objects)) {
        return DELEGATE;
    }
    Py_INCREF(objects);
    int result = SCANNED;
    Py_ssize_t position = 0;
    PyObject *name, *obj;
    while (PyDict_Next(objects, &position, &name, &obj)) {
        if (!PyDict_CheckExact(obj)) {
            PyDict_Clear(hits);
            result = DELEGATE;
            break;
        }
        PyObject *type = PyDict_GetItemWithError(obj, str_type);
        if (type == NULL) {
            if (PyErr_Occurred()) {
                result = FAILED;
                break;
            }
            continue; /* not an SCO */
        }
        PyObject *plan = PyDict_GetItemWithError(plans, type);
        if (plan == NULL) {
            if (PyErr_Occurred()) {
                if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
                    result = FAILED;
                    break;
                }
                PyErr_Clear(); /* an unhashable "type": not an SCO */
            }
            continue;
        }
        Py_INCREF(obj);
        Py_INCREF(plan);
        int failed = run_plan(plan, obj, observation, hits, slow) < 0;
        Py_DECREF(plan);
        Py_DECREF(obj);
        if (failed) {
            result = FAILED;
            break;
        }
    }
    Py_DECREF(objects);
    return result;
}

PyDoc_STRVAR(feed_doc,
             "feed(observations, plans, hits, resolve, slow, fallback) -> int\n\n"
             "Match observations in order; the number read. See kakehashi.match.engine.");

static PyObject *
feed(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "feed() takes 6 arguments");
        return NULL;
    }
    PyObject *plans = args[1], *hits = args[2];
    PyObject *resolve = args[3], *slow = args[4], *fallback = args[5];
    if (!PyDict_CheckExact(plans) || !PyDict_CheckExact(hits)) {
        PyErr_SetString(PyExc_TypeError, "feed(): plans and hits must be dicts");
        return NULL;
    }
    PyObject *iterator = PyObject_GetIter(args[0]);
    if (iterator == NULL) {
        return NULL;
    }
    Py_ssize_t count = 0;
    PyObject *observation;
    while ((observation = PyIter_Next(iterator)) != NULL) {
        count++;
        int scanned = scan_observation(observation, plans, hits, slow);
        PyObject *answer = NULL;
        if (scanned == SCANNED && PyDict_GET_SIZE(hits) > 0) {
            answer = call2(resolve, hits, observation);
            PyDict_Clear(hits);
        }
        else if (scanned == SCANNED) {
            answer = Py_NewRef(Py_None);
        }
        else if (scanned == DELEGATE) {
            answer = call1(fallback, observation);
        }
        else {
            PyDict_Clear(hits);
        }
        Py_DECREF(observation);
        if (answer == NULL) {
            Py_DECREF(iterator);
            return NULL;
        }
        Py_DECREF(answer);
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromSsize_t(count);
}

PyDoc_STRVAR(parse_ipv4_doc,
             "parse_ipv4(text) -> int | None\n\n"
             "The IPv4 address as socket.inet_pton(AF_INET) reads it; None if it is not one.");

static PyObject *
parse_ipv4_py(PyObject *module, PyObject *text)
{
    uint32_t number;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "parse_ipv4() takes a str");
        return NULL;
    }
    if (!parse_ipv4(text, &number)) {
        Py_RETURN_NONE;
    }
    return PyLong_FromUnsignedLong(number);
}

PyDoc_STRVAR(bloom_doc,
             "bloom(keys, size) -> bytes\n\n"
             "The filter exact_get asks before a large table: size bytes (a power of two).");

static PyObject *
bloom(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "bloom() takes 2 arguments");
        return NULL;
    }
    Py_ssize_t size = PyLong_AsSsize_t(args[1]);
    if (size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    int word_bits = bloom_word_bits(size);
    if (word_bits < 0) {
        PyErr_SetString(PyExc_ValueError, "bloom(): size must be a power of two, at least 16");
        return NULL;
    }
    PyObject *filter = PyBytes_FromStringAndSize(NULL, size);
    if (filter == NULL) {
        return NULL;
    }
    uint64_t *words = (uint64_t *)PyBytes_AS_STRING(filter);
    memset(words, 0, (size_t)size);
    PyObject *iterator = PyObject_GetIter(args[0]);
    if (iterator == NULL) {
        Py_DECREF(filter);
        return NULL;
    }
    PyObject *key;
    while ((key = PyIter_Next(iterator)) != NULL) {
        Py_hash_t hash = PyObject_Hash(key);
        Py_DECREF(key);
        if (hash == -1) {
            break;
        }
        uint64_t x = mix(hash);
        words[x >> (64 - word_bits)] |= (1ULL << (x & 63)) | (1ULL << ((x >> 6) & 63));
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        Py_DECREF(filter);
        return NULL;
    }
    return filter;
}

static PyMethodDef scan_methods[] = {
    {"bloom", (PyCFunction)(void (*)(void))bloom, METH_FASTCALL, bloom_doc},
    {"feed", (PyCFunction)(void (*)(void))feed, METH_FASTCALL, feed_doc},
    {"parse_ipv4", parse_ipv4_py, METH_O, parse_ipv4_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "kakehashi.match._scan",
    "The matcher's hot loop, compiled (see kakehashi.match.engine).", -1, scan_methods,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    str_type = PyUnicode_InternFromString("type");
    str_empty = PyUnicode_InternFromString("");
    str_bool = PyUnicode_InternFromString("bool");
    if (str_type == NULL || str_empty == NULL || str_bool == NULL) {
        return NULL;
    }
    return PyModule_Create(&scan_module);
}
