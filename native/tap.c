/*
 * vswitch_tap: the project's own small N-API addon for Linux TAP devices.
 *
 * Why it exists: Node cannot ioctl(), so it cannot attach to /dev/net/tun, and the data path wants
 * batched reads and writes straight into the SharedArrayBuffer packet pool with no JS object, Buffer or
 * promise per frame. This file is that and nothing more: open/attach a TAP, carrier, a read batch, a write
 * batch (exactly one read()/write() per frame: that is the TAP's framing), a level-triggered uv_poll on the
 * calling thread's own libuv loop (whose wake reads the first batch itself), and teardown; plus two things
 * the datapath workers need to allocate nothing per wake: doorbells (uv_async) and a clock read into a
 * Float64Array.
 *
 * Trade-offs:
 *  - Plain C against node_api.h (no node-addon-api, no npm dependency): more boilerplate, but it builds
 *    with nothing but node-gyp, python3, make and a C compiler.
 *  - All calls are synchronous on a non-blocking fd. A read batch costs one N-API call plus one read()
 *    per frame; recvmmsg() does not exist for character devices, so this is the floor without io_uring.
 *  - Arguments are validated once per batch (every offset bounds-checked before the first read), never
 *    per byte; a bad batch throws before touching the fd, so no frame is lost to a thrown exception.
 *  - Per-env state (N-API instance data): every fd and poll handle belongs to the env (main thread or
 *    worker) that made it, and that env's teardown closes them. Teardown uses an *async* cleanup hook
 *    (napi_add_async_cleanup_hook, N-API 8) rather than napi_add_env_cleanup_hook: uv_close() completes
 *    on a later loop turn, and only an async hook makes Node keep spinning the loop until it has;
 *    otherwise a worker's uv_loop_close() would find our handles still open and abort the process.
 *  - Poll handles are returned to JS as small integer ids, not externals: unpoll(id) on an id that is
 *    already gone is a no-op instead of a use-after-free, which makes unpoll/close idempotent.
 *  - close(fd) only closes fds this env opened (and still holds): a second close of a number the kernel
 *    may have handed out again to someone else is a no-op, never a stray close.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8 /* 8: napi_add_async_cleanup_hook; Node 20 provides 9 */

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* Size of the virtio_net_hdr we ask for: 12 = the v1 header with num_buffers (virtio 1.0 layout, what
 * QEMU and vhost use); 10 would drop num_buffers. The offload issue fills its fields in later. */
#define kVnetHdrLen 12

/* Longest interface name the kernel accepts: IFNAMSIZ (16) including the terminating NUL. */
#define kMaxIfName (IFNAMSIZ - 1)

typedef struct tap_poll tap_poll;
typedef struct tap_bell tap_bell;

typedef struct tap_state {
  napi_env env;
  uv_loop_t* loop;
  tap_poll* polls;     /* live, not yet closing, poll handles */
  tap_bell* bells;     /* live, not yet closing, doorbells */
  int live;            /* poll records allocated and not yet freed (includes closing ones) */
  uint32_t next_id;    /* poll ids start at 1; 0 never names a handle */
  int* fds;            /* fds this env opened and has not closed */
  int nfds;
  int capfds;
  napi_async_cleanup_hook_handle hook;
  int tearing_down;
} tap_state;

/* A poll's receive arrays, resolved once at poll() (pointers into the caller's typed arrays, which the refs
 * keep alive): on a readable wake on_poll reads the first batch itself, before calling into JS, so a wake
 * costs one N-API crossing instead of two (the callback, then readBatch). ctl[0] = frames to read (the
 * caller's free slots, 0: none), ctl[1] = bytes per frame; the caller rewrites both between wakes. */
typedef struct tap_rx {
  napi_ref refs[4];
  uint8_t* bytes;
  size_t nbytes;
  int32_t* offsets;
  int32_t* lens;
  int32_t* ctl;
  size_t nslots; /* min(offsets, lens) length */
} tap_rx;

struct tap_poll {
  uv_poll_t handle;
  tap_state* st;
  tap_poll* next;
  napi_ref callback;
  napi_async_context ctx;
  uint32_t id;
  int fd;
  tap_rx* rx; /* NULL: the callback reads for itself */
};

/* ------------------------------------------------------------------------------------------------ */
/* errors */

static napi_value throw_msg(napi_env env, const char* code, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value throw_range(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

static napi_value throw_type(napi_env env, const char* msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

/* "CALL SUBJECT: strerror (hint)", with err.code = "EPERM" etc. */
static napi_value throw_errno(napi_env env, const char* call, const char* subject, int err, const char* hint) {
  char msg[320];
  snprintf(msg, sizeof msg, "%s%s%s: %s%s%s%s", call, subject ? " " : "", subject ? subject : "", strerror(err),
           hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
  const char* code = strerrorname_np(err);
  return throw_msg(env, code ? code : "ERR_TAP", msg);
}

/* An N-API call failed: surface its own message unless it already threw. */
static napi_value throw_napi(napi_env env, const char* what) {
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "vswitch_tap: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown N-API error");
  return throw_msg(env, "ERR_NAPI", msg);
}

#define NAPI_OK(call)                          \
  do {                                         \
    if ((call) != napi_ok) return throw_napi(env, #call); \
  } while (0)

/* ------------------------------------------------------------------------------------------------ */
/* argument helpers */

static tap_state* get_state(napi_env env) {
  void* data = NULL;
  napi_get_instance_data(env, &data);
  return (tap_state*)data;
}

static int arg_int32(napi_env env, napi_value v, const char* fn, const char* what, int32_t* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: %s must be a number", fn, what);
    throw_type(env, msg);
    return 0;
  }
  napi_get_value_int32(env, v, out);
  return 1;
}

/* A typed array of the given element type: data pointer (already adjusted by byteOffset) and length in
 * elements. Works for arrays over a SharedArrayBuffer as well as over an ArrayBuffer. */
static int arg_typed(napi_env env, napi_value v, napi_typedarray_type want, const char* fn, const char* what,
                     void** data, size_t* length) {
  bool is = false;
  napi_typedarray_type type;
  napi_value ab;
  size_t byte_offset;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, data, &ab, &byte_offset) != napi_ok || type != want) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: %s must be a %s", fn, what, want == napi_uint8_array ? "Uint8Array" : "Int32Array");
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

static int opt_bool(napi_env env, napi_value obj, const char* key, int dflt) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return dflt;
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return dflt;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_undefined) return dflt;
  if (napi_coerce_to_bool(env, v, &v) != napi_ok || napi_get_value_bool(env, v, &b) != napi_ok) return dflt;
  return b ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* fd bookkeeping */

static int fd_track(tap_state* st, int fd) {
  if (st->nfds == st->capfds) {
    int cap = st->capfds ? st->capfds * 2 : 8; /* 8: a worker rarely owns more TAP queues than that */
    int* grown = realloc(st->fds, (size_t)cap * sizeof *grown);
    if (!grown) return 0;
    st->fds = grown;
    st->capfds = cap;
  }
  st->fds[st->nfds++] = fd;
  return 1;
}

static int fd_tracked(const tap_state* st, int fd) {
  for (int i = 0; i < st->nfds; i++)
    if (st->fds[i] == fd) return 1;
  return 0;
}

static int fd_untrack(tap_state* st, int fd) {
  for (int i = 0; i < st->nfds; i++) {
    if (st->fds[i] == fd) {
      st->fds[i] = st->fds[--st->nfds];
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* poll handles */

static void state_maybe_done(tap_state* st) {
  if (st->tearing_down && st->live == 0 && st->hook != NULL) {
    napi_async_cleanup_hook_handle h = st->hook;
    st->hook = NULL;
    napi_remove_async_cleanup_hook(h);
  }
}

static void on_poll_closed(uv_handle_t* h) {
  tap_poll* p = (tap_poll*)h->data;
  tap_state* st = p->st;
  napi_env env = st->env;
  napi_handle_scope scope = NULL;
  napi_open_handle_scope(env, &scope);
  if (p->callback) napi_delete_reference(env, p->callback);
  if (p->ctx) napi_async_destroy(env, p->ctx);
  if (p->rx) {
    for (int i = 0; i < 4; i++)
      if (p->rx->refs[i]) napi_delete_reference(env, p->rx->refs[i]);
    free(p->rx);
  }
  if (scope) napi_close_handle_scope(env, scope);
  free(p);
  st->live--;
  state_maybe_done(st);
}

/* Unlinked from st->polls already; stop watching the fd now (uv_close stops it synchronously) and free
 * the record once libuv is done with it. */
static void poll_close(tap_poll* p) {
  uv_close((uv_handle_t*)&p->handle, on_poll_closed);
}

static tap_poll* poll_unlink(tap_state* st, uint32_t id, int fd) {
  for (tap_poll** pp = &st->polls; *pp; pp = &(*pp)->next) {
    tap_poll* p = *pp;
    if ((id != 0 && p->id == id) || (id == 0 && p->fd == fd)) {
      *pp = p->next;
      p->next = NULL;
      return p;
    }
  }
  return NULL;
}

/* The first read batch of a wake, into the registered arrays: frames read, or -errno if the first read
 * failed hard (as readBatch). Offsets are checked here, per frame, against the bytes array. */
static int32_t rx_read(tap_poll* p) {
  tap_rx* rx = p->rx;
  int32_t max = rx->ctl[0], capacity = rx->ctl[1];
  if (max <= 0 || capacity <= 0) return 0;
  if ((size_t)max > rx->nslots) max = (int32_t)rx->nslots;
  int32_t n = 0;
  int err = 0;
  while (n < max) {
    int32_t off = rx->offsets[n];
    if (off < 0 || (size_t)off + (size_t)capacity > rx->nbytes) break; /* the caller's bug: stop, never overrun */
    ssize_t r = read(p->fd, rx->bytes + off, (size_t)capacity);
    if (r >= 0) {
      rx->lens[n++] = (int32_t)r;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
    break;
  }
  return (n == 0 && err != 0) ? -err : n;
}

static void on_poll(uv_poll_t* h, int status, int events) {
  (void)events;
  tap_poll* p = (tap_poll*)h->data;
  tap_state* st = p->st;
  if (st->tearing_down || p->callback == NULL) return;
  int32_t pre = status == 0 && p->rx != NULL ? rx_read(p) : 0;
  napi_env env = st->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  napi_value* arg = argv;
  if (napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb != NULL &&
      (status == 0 ? napi_get_undefined(env, &recv) : napi_get_global(env, &recv)) == napi_ok &&
      napi_create_int32(env, status, &argv[0]) == napi_ok &&
      napi_create_int32(env, pre, &argv[1]) == napi_ok) {
    /* Readable: a plain call, no callback scope. The datapath callback schedules no promise or nextTick
     * (it reads, switches and writes synchronously), so the scope's tick and microtask processing, and
     * its async-hooks bookkeeping, are work it does not need on every wake (bench/wake.ts measures the
     * difference). An error status is rare and ends in link events: it keeps make_callback, which runs
     * ticks and microtasks afterwards like any libuv callback in Node (and needs an object receiver: the
     * global). Either way a throw is reported as
     * an uncaught exception (the worker's fault handling) instead of being lost. */
    napi_status s = status == 0 ? napi_call_function(env, recv, cb, 2, arg, &result)
                                : napi_make_callback(env, p->ctx, recv, cb, 2, arg, &result);
    if (s != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

/* ------------------------------------------------------------------------------------------------ */
/* doorbells: a worker's wake-up from other threads without a promise per wake */

/* A doorbell is a uv_async_t on its owner's loop, found by the address of a shared Int32Array word (the
 * queue tables' doorbell word of a worker, the same address in every thread): ring(array, index) from any
 * thread sends it, and the owner's callback runs on its loop like a poll wake. Atomics.waitAsync does the
 * same with a promise (and its reaction and result objects) per wake, which is garbage per wake. The
 * registry is process-wide (every env loads this one library) and guarded by a mutex, so a ring never
 * touches a bell that is being closed. */
#define kMaxBells 256 /* 64 workers x a few switches; a ring scans up to the highest slot in use */

struct tap_bell {
  uv_async_t async;
  tap_state* st;
  tap_bell* next;
  napi_ref callback;
  const void* key;
  int slot;
};

static pthread_mutex_t g_bells_mu = PTHREAD_MUTEX_INITIALIZER;
static tap_bell* g_bells[kMaxBells];
static int g_bells_top; /* slots [0, top) may be in use */

static void on_bell(uv_async_t* h) {
  tap_bell* b = (tap_bell*)h->data;
  tap_state* st = b->st;
  if (st->tearing_down || b->callback == NULL) return;
  napi_env env = st->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, result;
  if (napi_get_reference_value(env, b->callback, &cb) == napi_ok && cb != NULL && napi_get_undefined(env, &recv) == napi_ok &&
      napi_call_function(env, recv, cb, 0, NULL, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    napi_value exc;
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void on_bell_closed(uv_handle_t* h) {
  tap_bell* b = (tap_bell*)h->data;
  tap_state* st = b->st;
  napi_handle_scope scope = NULL;
  napi_open_handle_scope(st->env, &scope);
  if (b->callback) napi_delete_reference(st->env, b->callback);
  if (scope) napi_close_handle_scope(st->env, scope);
  free(b);
  st->live--;
  state_maybe_done(st);
}

/* Out of the registry (no ring reaches it after this) and closed; the record is freed once libuv is done. */
static void bell_close(tap_bell* b) {
  pthread_mutex_lock(&g_bells_mu);
  g_bells[b->slot] = NULL;
  while (g_bells_top > 0 && g_bells[g_bells_top - 1] == NULL) g_bells_top--;
  pthread_mutex_unlock(&g_bells_mu);
  uv_close((uv_handle_t*)&b->async, on_bell_closed);
}

static int arg_word(napi_env env, napi_value arr, napi_value idx, const char* fn, const void** key) {
  int32_t* data;
  size_t len;
  int32_t i;
  if (!arg_typed(env, arr, napi_int32_array, fn, "words", (void**)&data, &len) || !arg_int32(env, idx, fn, "index", &i)) return 0;
  if (i < 0 || (size_t)i >= len) {
    throw_range(env, "doorbell index outside the array");
    return 0;
  }
  *key = data + i;
  return 1;
}

/* bell(words, index, onRing) -> id: ring(words, index) from any thread calls onRing() on this thread's loop
 * (several rings before it runs make one call). */
static napi_value js_bell(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const void* key;
  if (argc < 3) return throw_type(env, "bell(words, index, onRing)");
  if (!arg_word(env, argv[0], argv[1], "bell", &key)) return NULL;
  napi_valuetype t;
  NAPI_OK(napi_typeof(env, argv[2], &t));
  if (t != napi_function) return throw_type(env, "bell: onRing must be a function");
  if (st->tearing_down) return throw_msg(env, "ERR_TAP", "bell: environment is shutting down");
  tap_bell* b = calloc(1, sizeof *b);
  if (!b) return throw_errno(env, "bell", NULL, ENOMEM, NULL);
  b->st = st;
  b->key = key;
  b->async.data = b;
  if (napi_create_reference(env, argv[2], 1, &b->callback) != napi_ok) {
    free(b);
    return throw_napi(env, "bell reference");
  }
  int rc = uv_async_init(st->loop, &b->async, on_bell);
  if (rc != 0) {
    napi_delete_reference(env, b->callback);
    free(b);
    return throw_msg(env, uv_err_name(rc), "bell: uv_async_init failed");
  }
  st->live++;
  pthread_mutex_lock(&g_bells_mu);
  int slot = -1;
  for (int i = 0; i < kMaxBells; i++)
    if (g_bells[i] == NULL) {
      slot = i;
      break;
    }
  if (slot >= 0) {
    g_bells[slot] = b;
    if (slot >= g_bells_top) g_bells_top = slot + 1;
  }
  pthread_mutex_unlock(&g_bells_mu);
  if (slot < 0) {
    b->slot = 0;
    uv_close((uv_handle_t*)&b->async, on_bell_closed);
    return throw_msg(env, "ERR_TAP", "bell: too many doorbells in this process");
  }
  b->slot = slot;
  b->next = st->bells;
  st->bells = b;
  napi_value ret;
  NAPI_OK(napi_create_int32(env, slot + 1, &ret));
  return ret;
}

/* ring(words, index) -> undefined: wake every bell on that word (any thread; none registered: nothing). */
static napi_value js_ring(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const void* key;
  if (argc < 2) return throw_type(env, "ring(words, index)");
  if (!arg_word(env, argv[0], argv[1], "ring", &key)) return NULL;
  pthread_mutex_lock(&g_bells_mu);
  for (int i = 0; i < g_bells_top; i++)
    if (g_bells[i] != NULL && g_bells[i]->key == key) uv_async_send(&g_bells[i]->async);
  pthread_mutex_unlock(&g_bells_mu);
  return NULL;
}

/* unbell(id) -> true if it closed a bell of this thread, false if gone already (idempotent) */
static napi_value js_unbell(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id;
  if (argc < 1 || !arg_int32(env, argv[0], "unbell", "id", &id)) return NULL;
  tap_bell* found = NULL;
  for (tap_bell** pp = &st->bells; *pp; pp = &(*pp)->next)
    if ((*pp)->slot + 1 == id) {
      found = *pp;
      *pp = found->next;
      break;
    }
  if (found) bell_close(found);
  napi_value ret;
  NAPI_OK(napi_get_boolean(env, found != NULL, &ret));
  return ret;
}

/* now(out) -> undefined: out[0] = CLOCK_MONOTONIC in milliseconds (fractional). performance.now() and
 * Date.now() return a fresh heap number per call, garbage on a path that reads the clock per breath or per
 * poll; this writes into a Float64Array the caller keeps. */
static napi_value js_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is = false;
  napi_typedarray_type type;
  size_t len = 0;
  void* data = NULL;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[0], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array || len < 1)
    return throw_type(env, "now: out must be a Float64Array of at least 1 element");
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ((double*)data)[0] = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
  return NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* exported functions */

/* An error met while attaching, reported after the thread is back in its own network namespace. */
typedef struct tap_err {
  const char* call;
  const char* subject;
  int err;
  const char* hint;
} tap_err;

/* The attach itself: the create:false check, /dev/net/tun, TUNSETIFF, the vnet header size and
 * TUNSETPERSIST, all in the calling thread's current network namespace. Returns the fd or -1 with *e set. */
static int tap_attach(const char* name, size_t name_len, int vnet, int mq, int create, int persist, char* out_name,
                      tap_err* e) {
  /* create:false must not create. Checked in this thread's network namespace (if_nametoindex asks the
   * kernel through a socket, which /sys/class/net may not reflect after a setns). A racing creator between
   * this check and TUNSETIFF would be attached to, which is what the caller asked for anyway. */
  if (!create && if_nametoindex(name) == 0) {
    e->call = "open";
    e->subject = name;
    e->err = ENODEV;
    e->hint = "no such interface in this network namespace (create: false)";
    return -1;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    e->call = "open";
    e->subject = "/dev/net/tun";
    e->err = err;
    e->hint = err == ENOENT || err == ENODEV ? "is the tun module loaded and the device node present?"
              : err == EACCES || err == EPERM ? "need root or CAP_NET_ADMIN"
                                              : NULL;
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) | (mq ? IFF_MULTI_QUEUE : 0);
  memcpy(ifr.ifr_name, name, name_len); /* name_len <= kMaxIfName, ifr zeroed: NUL-terminated */
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    e->call = "TUNSETIFF";
    e->subject = name;
    e->err = err;
    e->hint = err == EPERM || err == EACCES ? "need root or CAP_NET_ADMIN"
              : err == EBUSY ? "already attached: a single-queue TAP takes one fd, or the flags differ"
              : err == EINVAL ? "an interface of that name exists but is not a TAP, or its vnetHdr/multiQueue flags differ"
                              : NULL;
    return -1;
  }
  memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
  if (vnet) {
    int sz = kVnetHdrLen;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      e->call = "TUNSETVNETHDRSZ";
      e->subject = name;
      e->err = errno;
      e->hint = NULL;
      close(fd);
      return -1;
    }
  }
  /* Persistent: the device (its MAC, addresses, routes) outlives this fd, so a datapath worker or a
   * daemon that dies and comes back re-attaches to the same interface. */
  if (persist && ioctl(fd, TUNSETPERSIST, 1) < 0) {
    e->call = "TUNSETPERSIST";
    e->subject = name;
    e->err = errno;
    e->hint = NULL;
    close(fd);
    return -1;
  }
  return fd;
}

/* open(name, { vnetHdr, multiQueue, create, persist, netns, replaceFd }) -> { fd, name }
 * replaceFd: an fd this env holds whose device went away; the new attachment takes over its number
 * (dup3), so other threads that write through that number (borrowed TAP fds) follow without being told.
 * netns: a namespace name under /run/netns (what `ip netns` makes). The thread enters it for the attach
 * and comes back (setns on a network namespace affects the calling thread only), so the interface is
 * created there, or found there again after a restart, without `ip link set netns`. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));

  char name[64]; /* 64: room to detect (and report) names longer than kMaxIfName */
  size_t name_len = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_string) return throw_type(env, "open: name must be a string");
  NAPI_OK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len));
  if (name_len == 0 || name_len > kMaxIfName || strchr(name, '/') || strcmp(name, ".") == 0 ||
      strcmp(name, "..") == 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "open: interface name \"%s\" must be 1-%d bytes without '/'", name, kMaxIfName);
    return throw_range(env, msg);
  }

  int vnet = 0, mq = 0, create = 1, persist = 0;
  int32_t replace = -1;
  char ns[256] = "";
  if (argc >= 2) {
    napi_typeof(env, argv[1], &t);
    if (t == napi_object) {
      vnet = opt_bool(env, argv[1], "vnetHdr", 0);
      mq = opt_bool(env, argv[1], "multiQueue", 0);
      create = opt_bool(env, argv[1], "create", 1);
      persist = opt_bool(env, argv[1], "persist", 0);
      bool has_replace = false;
      napi_value rv;
      if (napi_has_named_property(env, argv[1], "replaceFd", &has_replace) == napi_ok && has_replace &&
          napi_get_named_property(env, argv[1], "replaceFd", &rv) == napi_ok) {
        napi_valuetype rt;
        napi_typeof(env, rv, &rt);
        if (rt != napi_undefined && !arg_int32(env, rv, "open", "replaceFd", &replace)) return NULL;
        if (replace >= 0 && !fd_tracked(st, replace)) return throw_range(env, "open: replaceFd is not a TAP fd this thread opened");
      }
      bool has = false;
      napi_value v;
      if (napi_has_named_property(env, argv[1], "netns", &has) == napi_ok && has &&
          napi_get_named_property(env, argv[1], "netns", &v) == napi_ok) {
        napi_valuetype vt;
        napi_typeof(env, v, &vt);
        if (vt == napi_string) {
          size_t n = 0;
          NAPI_OK(napi_get_value_string_utf8(env, v, ns, sizeof ns, &n));
          if (n == 0 || n >= sizeof ns - 1 || strchr(ns, '/') || strcmp(ns, ".") == 0 || strcmp(ns, "..") == 0)
            return throw_range(env, "open: netns must be a namespace name (as `ip netns list` shows it), without '/'");
        } else if (vt != napi_undefined && vt != napi_null) {
          return throw_type(env, "open: netns must be a string");
        }
      }
    } else if (t != napi_undefined && t != napi_null) {
      return throw_type(env, "open: options must be an object");
    }
  }

  int home = -1;
  if (ns[0]) {
    char path[300];
    snprintf(path, sizeof path, "/run/netns/%s", ns);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      int err = errno;
      return throw_errno(env, "open", path, err, err == ENOENT ? "no such network namespace (ip netns list)" : NULL);
    }
    home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0 || setns(target, CLONE_NEWNET) < 0) {
      int err = errno;
      if (home >= 0) close(home);
      close(target);
      return throw_errno(env, "setns", path, err, err == EPERM ? "need root or CAP_SYS_ADMIN" : NULL);
    }
    close(target);
  }
  char kname[IFNAMSIZ];
  tap_err e = {0};
  int fd = tap_attach(name, name_len, vnet, mq, create, persist, kname, &e);
  if (home >= 0) {
    /* Back home before anything else runs on this thread; failing that, the thread would go on in the
     * wrong namespace, so it is fatal. */
    if (setns(home, CLONE_NEWNET) < 0) napi_fatal_error("vswitch_tap open", NAPI_AUTO_LENGTH, "setns back to the thread's own network namespace failed", NAPI_AUTO_LENGTH);
    close(home);
  }
  if (fd < 0) {
    if (e.err == ENODEV && strcmp(e.call, "open") == 0 && e.subject == name) {
      char msg[300];
      snprintf(msg, sizeof msg, "open %s: no such interface in %s%s (create: false)", name,
               ns[0] ? "network namespace " : "this network namespace", ns);
      return throw_msg(env, "ENODEV", msg);
    }
    return throw_errno(env, e.call, e.subject, e.err, e.hint);
  }

  if (replace >= 0) {
    tap_poll* p;
    while ((p = poll_unlink(st, 0, replace)) != NULL) poll_close(p); /* never swap an fd under a live watcher */
    if (dup3(fd, replace, O_CLOEXEC) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, "dup3", kname, err, NULL);
    }
    close(fd);
    fd = replace;
  } else if (!fd_track(st, fd)) {
    close(fd);
    return throw_errno(env, "open", kname, ENOMEM, NULL);
  }

  napi_value out, vfd, vname;
  NAPI_OK(napi_create_object(env, &out));
  NAPI_OK(napi_create_int32(env, fd, &vfd));
  NAPI_OK(napi_create_string_utf8(env, kname, NAPI_AUTO_LENGTH, &vname)); /* kernel-expanded "tap%d" */
  NAPI_OK(napi_set_named_property(env, out, "fd", vfd));
  NAPI_OK(napi_set_named_property(env, out, "name", vname));
  return out;
}

/* unixDgram(bindPath, peer) -> fd: a non-blocking AF_UNIX datagram socket bound at bindPath and connected
 * to `peer` (the raw struct sockaddr_un a VDE client sent, 110 bytes; an abstract name when sun_path[0] is
 * 0). One datagram is one frame, so readBatch/writeBatch/poll/close serve it as they serve a TAP; connected,
 * it receives only from that peer. */
static napi_value js_unix_dgram(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[sizeof(((struct sockaddr_un*)0)->sun_path) + 1];
  size_t path_len = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_string) return throw_type(env, "unixDgram: bindPath must be a string");
  NAPI_OK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len));
  struct sockaddr_un self;
  if (path_len == 0 || path_len >= sizeof self.sun_path) return throw_range(env, "unixDgram: bindPath must be 1-107 bytes");
  bool is_typed = false;
  if (argc < 2 || napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed)
    return throw_type(env, "unixDgram: peer must be a Uint8Array holding a struct sockaddr_un");
  napi_typedarray_type tt;
  size_t plen = 0;
  void* pdata = NULL;
  NAPI_OK(napi_get_typedarray_info(env, argv[1], &tt, &plen, &pdata, NULL, NULL));
  struct sockaddr_un peer;
  if (tt != napi_uint8_array || plen < sizeof(sa_family_t) + 1 || plen > sizeof peer)
    return throw_range(env, "unixDgram: peer must be 3-110 bytes of struct sockaddr_un");
  memset(&peer, 0, sizeof peer);
  memcpy(&peer, pdata, plen);
  if (peer.sun_family != AF_UNIX) return throw_range(env, "unixDgram: peer is not an AF_UNIX address");
  /* a pathname is as long as its string; an abstract name is every byte the client sent */
  socklen_t peer_len = peer.sun_path[0] != 0
                           ? (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strnlen(peer.sun_path, sizeof peer.sun_path))
                           : (socklen_t)plen;
  memset(&self, 0, sizeof self);
  self.sun_family = AF_UNIX;
  memcpy(self.sun_path, path, path_len);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", "AF_UNIX SOCK_DGRAM", errno, NULL);
  if (bind(fd, (struct sockaddr*)&self, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1)) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", path, err, err == EADDRINUSE ? "the path exists already" : NULL);
  }
  if (connect(fd, (struct sockaddr*)&peer, peer_len) < 0) {
    int err = errno;
    close(fd);
    unlink(path);
    return throw_errno(env, "connect", peer.sun_path[0] ? peer.sun_path : "(abstract peer)", err, err == ENOENT || err == ECONNREFUSED ? "the client's socket is not there" : NULL);
  }
  if (!fd_track(st, fd)) {
    close(fd);
    unlink(path);
    return throw_errno(env, "unixDgram", path, ENOMEM, NULL);
  }
  napi_value ret;
  NAPI_OK(napi_create_int32(env, fd, &ret));
  return ret;
}

/* unpersist(fd) -> true: TUNSETPERSIST 0, so the device goes away with its last fd (a port removed for good). */
static napi_value js_unpersist(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !arg_int32(env, argv[0], "unpersist", "fd", &fd)) return NULL;
  if (ioctl(fd, TUNSETPERSIST, 0) < 0) return throw_errno(env, "TUNSETPERSIST", NULL, errno, NULL);
  napi_value ret;
  NAPI_OK(napi_get_boolean(env, true, &ret));
  return ret;
}

/* setCarrier(fd, up) -> true, or false when the kernel has no TUNSETCARRIER (EINVAL, before 4.19) */
static napi_value js_set_carrier(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 2 || !arg_int32(env, argv[0], "setCarrier", "fd", &fd)) return throw_type(env, "setCarrier(fd, up)");
  bool up = false;
  napi_value b;
  NAPI_OK(napi_coerce_to_bool(env, argv[1], &b));
  NAPI_OK(napi_get_value_bool(env, b, &up));
  int v = up ? 1 : 0;
  napi_value ret;
  if (ioctl(fd, TUNSETCARRIER, &v) < 0) {
    int err = errno;
    if (err != EINVAL) {
      char subject[32];
      snprintf(subject, sizeof subject, "fd %d", fd);
      return throw_errno(env, "TUNSETCARRIER", subject, err, NULL);
    }
    NAPI_OK(napi_get_boolean(env, false, &ret));
    return ret;
  }
  NAPI_OK(napi_get_boolean(env, true, &ret));
  return ret;
}

/* setOffload(fd, flags) -> the flags the kernel accepted. TUNSETOFFLOAD takes TUN_F_CSUM | TUN_F_TSO4 |
 * TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6 (USO since 6.2); an older kernel refuses unknown
 * bits with EINVAL, so the USO bits are dropped and the call retried once before giving up. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
static napi_value js_set_offload(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, flags;
  if (argc < 2 || !arg_int32(env, argv[0], "setOffload", "fd", &fd) || !arg_int32(env, argv[1], "setOffload", "flags", &flags))
    return throw_type(env, "setOffload(fd, flags)");
  unsigned int f = (unsigned int)flags;
  if (ioctl(fd, TUNSETOFFLOAD, f) < 0) {
    int err = errno;
    unsigned int without_uso = f & ~(unsigned int)(TUN_F_USO4 | TUN_F_USO6);
    if (err == EINVAL && without_uso != f && ioctl(fd, TUNSETOFFLOAD, without_uso) == 0) {
      f = without_uso;
    } else {
      char subject[32];
      snprintf(subject, sizeof subject, "fd %d", fd);
      return throw_errno(env, "TUNSETOFFLOAD", subject, err, NULL);
    }
  }
  napi_value ret;
  NAPI_OK(napi_create_int32(env, (int32_t)f, &ret));
  return ret;
}

/* readBatch(fd, bytes, offsets, capacity, lens, max) -> frames read (>= 0) or -errno */
static napi_value js_read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_type(env, "readBatch(fd, bytes, offsets, capacity, lens, max)");
  int32_t fd, capacity, max;
  uint8_t* bytes;
  int32_t *offsets, *lens;
  size_t nbytes, noff, nlens;
  if (!arg_int32(env, argv[0], "readBatch", "fd", &fd) ||
      !arg_typed(env, argv[1], napi_uint8_array, "readBatch", "bytes", (void**)&bytes, &nbytes) ||
      !arg_typed(env, argv[2], napi_int32_array, "readBatch", "offsets", (void**)&offsets, &noff) ||
      !arg_int32(env, argv[3], "readBatch", "capacity", &capacity) ||
      !arg_typed(env, argv[4], napi_int32_array, "readBatch", "lens", (void**)&lens, &nlens) ||
      !arg_int32(env, argv[5], "readBatch", "max", &max))
    return NULL;
  if (max < 0 || (size_t)max > noff || (size_t)max > nlens) return throw_range(env, "readBatch: max exceeds offsets/lens length");
  if (capacity <= 0) return throw_range(env, "readBatch: capacity must be > 0");
  for (int32_t i = 0; i < max; i++) {
    if (offsets[i] < 0 || (size_t)offsets[i] + (size_t)capacity > nbytes) {
      char msg[160];
      snprintf(msg, sizeof msg, "readBatch: offsets[%d]=%d + capacity %d exceeds bytes length %zu", i, offsets[i], capacity,
               nbytes);
      return throw_range(env, msg);
    }
  }

  int32_t n = 0, result;
  int err = 0;
  while (n < max) {
    ssize_t r = read(fd, bytes + offsets[n], (size_t)capacity);
    if (r >= 0) {
      /* A frame longer than `capacity` is silently truncated to it (measured on 6.x: read() returns
       * capacity and the rest is lost), so the caller treats lens[n] == capacity as oversize. */
      lens[n++] = (int32_t)r;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
    break;
  }
  /* A hard error after some frames is reported on the next call, which fails at once. */
  result = (n == 0 && err != 0) ? -err : n;
  napi_value ret;
  NAPI_OK(napi_create_int32(env, result, &ret));
  return ret;
}

/* writeBatch(fd, bytes, offsets, lens, n) -> frames written before the first failure; on a failure at
 * frame k < n, lens[k] is overwritten with -errno (-EAGAIN: kernel queue full) so the caller can tell a
 * full queue from a broken device without another call. */
static napi_value js_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_type(env, "writeBatch(fd, bytes, offsets, lens, n)");
  int32_t fd, n;
  uint8_t* bytes;
  int32_t *offsets, *lens;
  size_t nbytes, noff, nlens;
  if (!arg_int32(env, argv[0], "writeBatch", "fd", &fd) ||
      !arg_typed(env, argv[1], napi_uint8_array, "writeBatch", "bytes", (void**)&bytes, &nbytes) ||
      !arg_typed(env, argv[2], napi_int32_array, "writeBatch", "offsets", (void**)&offsets, &noff) ||
      !arg_typed(env, argv[3], napi_int32_array, "writeBatch", "lens", (void**)&lens, &nlens) ||
      !arg_int32(env, argv[4], "writeBatch", "n", &n))
    return NULL;
  if (n < 0 || (size_t)n > noff || (size_t)n > nlens) return throw_range(env, "writeBatch: n exceeds offsets/lens length");
  for (int32_t i = 0; i < n; i++) {
    if (offsets[i] < 0 || lens[i] < 0 || (size_t)offsets[i] + (size_t)lens[i] > nbytes) {
      char msg[160];
      snprintf(msg, sizeof msg, "writeBatch: frame %d (offset %d, length %d) exceeds bytes length %zu", i, offsets[i],
               lens[i], nbytes);
      return throw_range(env, msg);
    }
  }

  int32_t k = 0;
  while (k < n) {
    ssize_t w = write(fd, bytes + offsets[k], (size_t)lens[k]);
    if (w >= 0) {
      k++; /* a TAP write takes the whole frame or fails: no partial writes */
      continue;
    }
    if (errno == EINTR) continue;
    lens[k] = -errno;
    break;
  }
  napi_value ret;
  NAPI_OK(napi_create_int32(env, k, &ret));
  return ret;
}

/* poll(fd, onReadable(status, pre), rx?) -> handle id. status 0: readable; < 0: a libuv error (e.g. UV_EBADF
 * after the interface was deleted), after which libuv has stopped the watcher. With rx ({ bytes, offsets,
 * lens, ctl }: see tap_rx) a readable wake first reads up to ctl[0] frames as readBatch would and passes
 * the count (or -errno) as `pre`; without it `pre` is 0. */
static napi_value js_poll(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 2 || !arg_int32(env, argv[0], "poll", "fd", &fd)) return throw_type(env, "poll(fd, onReadable, rx?)");
  napi_valuetype rxt = napi_undefined;
  if (argc >= 3) NAPI_OK(napi_typeof(env, argv[2], &rxt));
  tap_rx rx;
  memset(&rx, 0, sizeof rx);
  napi_value rxv[4];
  if (rxt == napi_object) {
    static const char* const keys[4] = {"bytes", "offsets", "lens", "ctl"};
    for (int i = 0; i < 4; i++) NAPI_OK(napi_get_named_property(env, argv[2], keys[i], &rxv[i]));
    size_t noff, nlens, nctl;
    if (!arg_typed(env, rxv[0], napi_uint8_array, "poll", "rx.bytes", (void**)&rx.bytes, &rx.nbytes) ||
        !arg_typed(env, rxv[1], napi_int32_array, "poll", "rx.offsets", (void**)&rx.offsets, &noff) ||
        !arg_typed(env, rxv[2], napi_int32_array, "poll", "rx.lens", (void**)&rx.lens, &nlens) ||
        !arg_typed(env, rxv[3], napi_int32_array, "poll", "rx.ctl", (void**)&rx.ctl, &nctl))
      return NULL;
    if (nctl < 2) return throw_range(env, "poll: rx.ctl must hold 2 entries (frames to read, bytes per frame)");
    rx.nslots = noff < nlens ? noff : nlens;
  } else if (rxt != napi_undefined) {
    return throw_type(env, "poll: rx must be { bytes, offsets, lens, ctl } or undefined");
  }
  napi_valuetype t;
  NAPI_OK(napi_typeof(env, argv[1], &t));
  if (t != napi_function) return throw_type(env, "poll: onReadable must be a function");
  if (fd < 0) return throw_range(env, "poll: fd must be >= 0");
  if (st->tearing_down) return throw_msg(env, "ERR_TAP", "poll: environment is shutting down");
  for (tap_poll* q = st->polls; q; q = q->next) {
    if (q->fd == fd) {
      char msg[64];
      snprintf(msg, sizeof msg, "poll fd %d: already polled on this thread", fd);
      return throw_msg(env, "EEXIST", msg);
    }
  }

  tap_poll* p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "poll", NULL, ENOMEM, NULL);
  p->st = st;
  p->fd = fd;
  p->handle.data = p;
  int rc = uv_poll_init(st->loop, &p->handle, fd);
  if (rc != 0) {
    free(p);
    char msg[96];
    snprintf(msg, sizeof msg, "uv_poll_init fd %d: %s", fd, uv_strerror(rc));
    return throw_msg(env, uv_err_name(rc), msg);
  }
  st->live++; /* from here on the record is freed by on_poll_closed */
  napi_value resource, rname;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "vswitch:tap", NAPI_AUTO_LENGTH, &rname) != napi_ok ||
      napi_async_init(env, resource, rname, &p->ctx) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &p->callback) != napi_ok) {
    poll_close(p);
    return throw_napi(env, "poll setup");
  }
  rc = uv_poll_start(&p->handle, UV_READABLE, on_poll);
  if (rc == 0 && rxt == napi_object) {
    p->rx = malloc(sizeof *p->rx);
    if (p->rx == NULL) rc = UV_ENOMEM;
    else {
      *p->rx = rx;
      for (int i = 0; i < 4 && rc == 0; i++)
        if (napi_create_reference(env, rxv[i], 1, &p->rx->refs[i]) != napi_ok) rc = UV_ENOMEM;
    }
  }
  if (rc != 0) {
    poll_close(p);
    char msg[96];
    snprintf(msg, sizeof msg, "uv_poll_start fd %d: %s", fd, uv_strerror(rc));
    return throw_msg(env, uv_err_name(rc), msg);
  }
  p->id = ++st->next_id;
  if (p->id == 0) p->id = ++st->next_id; /* wrapped: 0 never names a handle */
  p->next = st->polls;
  st->polls = p;
  napi_value ret;
  NAPI_OK(napi_create_uint32(env, p->id, &ret));
  return ret;
}

/* unpoll(id) -> true if it stopped a handle, false if the id was already gone */
static napi_value js_unpoll(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t id = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok) return throw_type(env, "unpoll: id must be a number");
  tap_poll* p = id ? poll_unlink(st, id, -1) : NULL;
  if (p) poll_close(p);
  napi_value ret;
  NAPI_OK(napi_get_boolean(env, p != NULL, &ret));
  return ret;
}

/* dup(fd) -> a new close-on-exec fd on the same open TAP, owned (and closed at teardown) by this env. A TAP
 * lives while any fd on it is open: the control thread keeps a dup of each TAP a worker opened, so a worker
 * whose env is torn down (a crash) closes its own fds and the device, its addresses and neighbours stay. */
static napi_value js_dup(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !arg_int32(env, argv[0], "dup", "fd", &fd)) return NULL;
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (nfd < 0) return throw_errno(env, "dup", NULL, errno, NULL);
  if (!fd_track(st, nfd)) {
    close(nfd);
    return throw_errno(env, "dup", NULL, ENOMEM, NULL);
  }
  napi_value out;
  NAPI_OK(napi_create_int32(env, nfd, &out));
  return out;
}

/* redup(from, to) -> true: `to`, an fd this env holds, now names what `from` names (dup3): a kept copy of a
 * TAP fd follows the device a revived port re-attached to, and threads writing through `to` follow too. */
static napi_value js_redup(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t from, to;
  if (argc < 2 || !arg_int32(env, argv[0], "redup", "from", &from) || !arg_int32(env, argv[1], "redup", "to", &to)) return NULL;
  if (!fd_tracked(st, to)) return throw_range(env, "redup: `to` is not an fd this thread holds");
  if (dup3(from, to, O_CLOEXEC) < 0) return throw_errno(env, "dup3", NULL, errno, NULL);
  napi_value ret;
  NAPI_OK(napi_get_boolean(env, true, &ret));
  return ret;
}

/* close(fd) -> true if it closed an fd this env opened (stopping its polls first), false otherwise */
static napi_value js_close(napi_env env, napi_callback_info info) {
  tap_state* st = get_state(env);
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !arg_int32(env, argv[0], "close", "fd", &fd)) return NULL;
  int owned = fd >= 0 && fd_untrack(st, fd);
  if (owned) {
    tap_poll* p;
    while ((p = poll_unlink(st, 0, fd)) != NULL) poll_close(p); /* never close an fd under a live watcher */
    close(fd);
  }
  napi_value ret;
  NAPI_OK(napi_get_boolean(env, owned, &ret));
  return ret;
}

/* ------------------------------------------------------------------------------------------------ */
/* env teardown */

static void on_teardown(napi_async_cleanup_hook_handle handle, void* arg) {
  (void)handle;
  tap_state* st = (tap_state*)arg;
  st->tearing_down = 1;
  while (st->bells) {
    tap_bell* b = st->bells;
    st->bells = b->next;
    bell_close(b);
  }
  while (st->polls) {
    tap_poll* p = st->polls;
    st->polls = p->next;
    p->next = NULL;
    poll_close(p);
  }
  for (int i = 0; i < st->nfds; i++) close(st->fds[i]);
  st->nfds = 0;
  state_maybe_done(st); /* else the last on_poll_closed removes the hook */
}

/* Runs when the napi_env is deleted, which the async hook's reference on it defers until after teardown. */
static void state_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  tap_state* st = (tap_state*)data;
  for (int i = 0; i < st->nfds; i++) close(st->fds[i]);
  free(st->fds);
  free(st);
}

NAPI_MODULE_INIT() {
  tap_state* st = calloc(1, sizeof *st);
  if (!st) return throw_errno(env, "vswitch_tap init", NULL, ENOMEM, NULL);
  st->env = env;
  if (napi_get_uv_event_loop(env, &st->loop) != napi_ok || napi_set_instance_data(env, st, state_finalize, NULL) != napi_ok) {
    free(st);
    return throw_napi(env, "init");
  }
  NAPI_OK(napi_add_async_cleanup_hook(env, on_teardown, st, &st->hook));

  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setCarrier", NULL, js_set_carrier, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setOffload", NULL, js_set_offload, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readBatch", NULL, js_read_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeBatch", NULL, js_write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poll", NULL, js_poll, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unpoll", NULL, js_unpoll, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unpersist", NULL, js_unpersist, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dup", NULL, js_dup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"redup", NULL, js_redup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixDgram", NULL, js_unix_dgram, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bell", NULL, js_bell, NULL, NULL, NULL, napi_enumerable, NULL},
      {"now", NULL, js_now, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ring", NULL, js_ring, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unbell", NULL, js_unbell, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_OK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value hdr;
  NAPI_OK(napi_create_int32(env, kVnetHdrLen, &hdr));
  NAPI_OK(napi_set_named_property(env, exports, "vnetHdrLen", hdr));
  return exports;
}
