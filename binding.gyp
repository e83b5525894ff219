{
  "targets": [
    {
      "target_name": "statsd_native",
      "sources": [
        "native/aggregator.cc",
        "native/binding.cc",
        "native/binding_history.cc",
        "native/binding_router.cc",
        "native/binding_layout.cc",
        "native/codec.cc",
        "native/etsy_names.cc",
        "native/flush_brubeck.cc",
        "native/flush_etsy.cc",
        "native/flush_statsd.cc",
        "native/graphite.cc",
        "native/histogram.cc",
        "native/history.cc",
        "native/path_pattern.cc",
        "native/router.cc",
        "native/line_stager.cc",
        "native/metric_key.cc",
        "native/number.cc",
        "native/serializer.cc",
        "native/shard_pool.cc",
        "native/snapshot.cc",
        "native/structure.cc",
        "native/udp_receiver.cc",
        "native/unix_socket.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=c++17", "-O2"],
      "cflags": ["-O3", "-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-O3", "-fvisibility=hidden", "-fno-exceptions", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lpthread"]
    }
  ]
}
