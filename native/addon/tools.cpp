// Thin bindings of the core's inspection functions. Every failure becomes a JS Error carrying the
// core's one-line message; structured results cross the boundary as JSON text.
#include <pthread.h>
#include <sched.h>

#include <string>
#include <thread>
#include <vector>

#include "addon/bindings.hpp"
#include "crypto/identity.hpp"
#include "vl1/world_json.hpp"
#include "vl2/netconf_json.hpp"
#include "wire/decode.hpp"

namespace zt::addon {
namespace {

[[noreturn]] void raise(Napi::Env env, const std::string& message) {
  throw Napi::Error::New(env, message);
}

template <class T>
T unwrap(Napi::Env env, Result<T> result) {
  if (!result) raise(env, result.error());
  return std::move(*result);
}

std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsString()) raise(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

ByteView bufferArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsBuffer()) raise(info.Env(), std::string(name) + " must be a Buffer");
  auto buffer = info[i].As<Napi::Buffer<uint8_t>>();
  return {buffer.Data(), buffer.Length()};
}

Identity identityArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return unwrap(info.Env(), Identity::fromString(stringArg(info, i, name)));
}

Identity secretIdentityArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Identity id = identityArg(info, i, name);
  if (!id.hasSecret()) raise(info.Env(), std::string(name) + " has no secret key");
  return id;
}

template <size_t N>
std::array<uint8_t, N> keyArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  auto bytes = fromHex(stringArg(info, i, name));
  if (!bytes || bytes->size() != N)
    raise(info.Env(), std::string(name) + " must be " + std::to_string(N) + " bytes of hex");
  std::array<uint8_t, N> key;
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

Napi::Value jsonText(Napi::Env env, Result<nlohmann::json> result) {
  return Napi::String::New(env, unwrap(env, std::move(result)).dump());
}

Napi::Value identityGenerate(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), Identity::generate().toString(true));
}

// The same on libuv's thread pool: the proof of work takes about 150 ms of one core, which an
// agent attaching pods cannot spend on its event loop.
// Proof of work off the event loop. At idle priority (spares made ahead of need) it runs on a
// thread of its own at SCHED_IDLE, so it only takes CPU time nobody else wants: a libuv thread put
// there could not come back to normal priority without CAP_SYS_NICE.
class IdentityGeneration final : public Napi::AsyncWorker {
 public:
  IdentityGeneration(Napi::Env env, bool idle)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), idle_(idle) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (!idle_) {
      identity_ = Identity::generate().toString(true);
      return;
    }
    std::thread worker([this] {
      sched_param param{};
      pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
      identity_ = Identity::generate().toString(true);
    });
    worker.join();
  }
  void OnOK() override { deferred_.Resolve(Napi::String::New(Env(), identity_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  bool idle_;
  std::string identity_;
};

// identityGenerateAsync(idle = false)
Napi::Value identityGenerateAsync(const Napi::CallbackInfo& info) {
  bool idle = info.Length() > 0 && info[0].ToBoolean();
  auto* work = new IdentityGeneration(info.Env(), idle);  // napi deletes it once settled
  Napi::Promise promise = work->promise();
  work->Queue();
  return promise;
}

// A text that does not parse is as invalid as one that fails the proof of work.
Napi::Value identityValidate(const Napi::CallbackInfo& info) {
  auto id = Identity::fromString(stringArg(info, 0, "identity"));
  return Napi::Boolean::New(info.Env(), id && id->validate());
}

Napi::Value identityGetPublic(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), identityArg(info, 0, "identity").toString(false));
}

Napi::Value identitySign(const Napi::CallbackInfo& info) {
  Identity id = secretIdentityArg(info, 0, "identity");
  Signature signature = id.sign(bufferArg(info, 1, "message"));
  return Napi::String::New(info.Env(), toHex(signature));
}

// A signature that is not even hex is simply not a valid signature.
Napi::Value identityVerify(const Napi::CallbackInfo& info) {
  Identity id = identityArg(info, 0, "identity");
  ByteView message = bufferArg(info, 1, "message");
  auto signature = fromHex(stringArg(info, 2, "signature"));
  return Napi::Boolean::New(info.Env(), signature && id.verify(message, *signature));
}

Napi::Value identityAgree(const Napi::CallbackInfo& info) {
  Identity self = secretIdentityArg(info, 0, "secret identity");
  Identity peer = identityArg(info, 1, "peer identity");
  auto key = self.agree(peer);
  if (!key) raise(info.Env(), "key agreement failed: unusable peer key");
  return Napi::String::New(info.Env(), toHex(*key));
}

Napi::Value decodePacket(const Napi::CallbackInfo& info) {
  Identity receiver = secretIdentityArg(info, 0, "receiver identity");
  Identity sender = identityArg(info, 1, "sender identity");
  if (info.Length() < 3 || !info[2].IsArray()) raise(info.Env(), "datagrams must be an array of Buffers");
  auto array = info[2].As<Napi::Array>();
  std::vector<ByteView> datagrams;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsBuffer()) raise(info.Env(), "datagram " + std::to_string(i) + " must be a Buffer");
    auto buffer = item.As<Napi::Buffer<uint8_t>>();
    datagrams.emplace_back(buffer.Data(), buffer.Length());
  }
  return jsonText(info.Env(), wire::decodePacket(receiver, sender, datagrams));
}

Napi::Value describeWorldJs(const Napi::CallbackInfo& info) {
  return jsonText(info.Env(), describeWorld(bufferArg(info, 0, "world")));
}

Napi::Value createWorldJs(const Napi::CallbackInfo& info) {
  auto spec = nlohmann::json::parse(stringArg(info, 0, "world spec"), nullptr, false);
  if (spec.is_discarded()) raise(info.Env(), "world spec is not valid JSON");
  auto secret = keyArg<std::tuple_size_v<SecretKey>>(info, 1, "signing secret key");
  auto pub = keyArg<std::tuple_size_v<PublicKey>>(info, 2, "signing public key");
  Bytes world = unwrap(info.Env(), createWorld(spec, secret, pub));
  return Napi::Buffer<uint8_t>::Copy(info.Env(), world.data(), world.size());
}

Napi::Value decodeNetconfJs(const Napi::CallbackInfo& info) {
  return jsonText(info.Env(), decodeNetconf(bufferArg(info, 0, "dictionary")));
}

}  // namespace

void registerTools(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> tools[] = {
      {"identityGenerate", identityGenerate}, {"identityGenerateAsync", identityGenerateAsync},
      {"identityValidate", identityValidate},
      {"identityGetPublic", identityGetPublic}, {"identitySign", identitySign},
      {"identityVerify", identityVerify},     {"identityAgree", identityAgree},
      {"decodePacket", decodePacket},         {"describeWorld", describeWorldJs},
      {"createWorld", createWorldJs},         {"decodeNetconf", decodeNetconfJs},
  };
  for (const auto& [name, fn] : tools) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace zt::addon
