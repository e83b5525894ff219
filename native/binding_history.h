// The N-API class over HistoryStore (history.h), kept out of binding.cc.
#ifndef STATSD_BINDING_HISTORY_H_
#define STATSD_BINDING_HISTORY_H_

#include <napi.h>

namespace statsd {

// The `History` constructor binding.cc exports (src/daemon/history/store.ts).
Napi::Function DefineHistory(Napi::Env env);

}  // namespace statsd

#endif  // STATSD_BINDING_HISTORY_H_
