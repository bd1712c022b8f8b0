// Registration functions of the addon's parts; addon.cpp calls each from the module initialiser.
#pragma once
#include <napi.h>

namespace zt::addon {

// Stateless inspection tools behind the CLI: identities, packets, worlds, network configs.
void registerTools(Napi::Env env, Napi::Object exports);

// The VL1 Node class (node_binding.cpp): host callbacks in JS, processing in the core.
void registerNode(Napi::Env env, Napi::Object exports);

// The Dataplane class (dataplane_binding.cpp): pods on native worker threads, control calls as Promises.
void registerDataplane(Napi::Env env, Napi::Object exports);

}  // namespace zt::addon
