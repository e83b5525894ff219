// The `layout` export: the names of every array slot and flag that crosses the
// N-API boundary (layout.h, records.h, serializer.h), for src/core/native.ts to
// check at load. Contract: built from the same tables the C++ side writes by,
// so the names always describe this addon's layout.
#ifndef STATSD_BINDING_LAYOUT_H_
#define STATSD_BINDING_LAYOUT_H_

#include <napi.h>

namespace statsd {

Napi::Object LayoutExport(Napi::Env env);

}  // namespace statsd

#endif  // STATSD_BINDING_LAYOUT_H_
