// Module entry point of build/Release/ztkube.node.
#include "addon/bindings.hpp"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  zt::addon::registerTools(env, exports);
  zt::addon::registerNode(env, exports);
  zt::addon::registerDataplane(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(ztkube, init)
