// The N-API class over LineRouter (router.h), kept out of binding.cc.
#ifndef STATSD_BINDING_ROUTER_H_
#define STATSD_BINDING_ROUTER_H_

#include <napi.h>

namespace statsd {

// The `Router` constructor binding.cc exports (src/scale/router.ts).
Napi::Function DefineRouter(Napi::Env env);

}  // namespace statsd

#endif  // STATSD_BINDING_ROUTER_H_
