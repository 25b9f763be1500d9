# The project's one native addon: TAP open/ioctl, batched read/write into the packet pool, uv_poll,
# the workers' doorbells (uv_async) and a non-allocating clock.
# Node cannot ioctl(), so TAP ports need this; everything else stays in TypeScript. Built by
# `npm install` (package.json "install": "node-gyp rebuild") into build/Release/vswitch_tap.node,
# which src/ports/tap-native.ts loads. Plain C on node_api.h: no node-addon-api, no npm dependency.
{
  "targets": [
    {
      "target_name": "vswitch_tap",
      "sources": ["native/tap.c"],
      # NAPI_VERSION is pinned in tap.c (8: async cleanup hooks) so the file builds the same anywhere.
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
