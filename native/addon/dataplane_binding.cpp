// The Dataplane for JavaScript: `new Dataplane(observer, threads)`. Pods run on native worker
// threads; packets never reach JavaScript. Control calls return Promises and run on libuv's
// thread pool (they block until the owning worker ran them). What the workers report (state
// writes, events, network configs, controller record writes) is queued and delivered to the
// observer on the JS thread in order, batched through one thread-safe function.
#include <deque>
#include <mutex>
#include <variant>

#include <nlohmann/json.hpp>

#include "addon/bindings.hpp"
#include "dataplane/dataplane.hpp"
#include "vl2/text_forms.hpp"

namespace zt::addon {
namespace {

using dataplane::ControllerSetup;
using dataplane::PodOptions;
using dataplane::StateKey;
using nlohmann::json;

// One report for the observer, already in the shape JS receives.
struct Report {
  std::string method;  // observer method name
  std::string pod;
  json args;           // the remaining arguments (strings/numbers/null)
  std::optional<Bytes> data;  // statePut's object (nullopt: deleted)
};

// Queues reports from worker threads and drains them on the JS thread.
class QueuedObserver final : public dataplane::DataplaneObserver {
 public:
  QueuedObserver(Napi::Env env, Napi::Object observer) : observer_(Napi::Persistent(observer)) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "ztkube-dataplane", 0, 1);
  }

  // Delivers what is still queued, then lets the process exit (after the workers stopped).
  void finish(Napi::Env env) {
    drain(env);
    tsfn_.Release();
  }

  void statePut(const std::string& pod, StateKey key, std::optional<ByteView> data) override {
    Report r{"statePut", pod, json::array({int(key.type), hex64(key.id[0]), hex64(key.id[1])}), std::nullopt};
    if (data) r.data = Bytes(data->begin(), data->end());
    push(std::move(r));
  }

  void event(const std::string& pod, Event e, std::string_view detail) override {
    push({"event", pod, json::array({eventName(e), std::string(detail)}), std::nullopt});
  }

  void networkConfig(const std::string& pod, VirtualNetworkConfigOperation op, const VirtualNetworkConfig& config,
                     const std::string& interfaceName, const std::string& applyError) override {
    push({"networkConfig", pod, json::array({int(op), virtualNetworkConfigToJson(config), interfaceName, applyError}),
          std::nullopt});
  }

  void controllerChange(const std::string& pod, const ControllerStoreChange& c) override {
    using Kind = ControllerStoreChange::Kind;
    json args;
    switch (c.kind) {
      case Kind::SaveNetwork: args = json::array({"network", c.record}); break;
      case Kind::SaveMember: args = json::array({"member", c.record}); break;
      case Kind::DeleteNetwork: args = json::array({"deleteNetwork", hex64(c.networkId)}); break;
      case Kind::DeleteMember: args = json::array({"deleteMember", hex64(c.networkId), c.member.toString()}); break;
    }
    push({"controllerChange", pod, std::move(args), std::nullopt});
  }

 private:
  void push(Report report) {
    bool wake;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(report));
      wake = !scheduled_;
      scheduled_ = true;
    }
    if (wake) tsfn_.NonBlockingCall([this](Napi::Env env, Napi::Function) { drain(env); });
  }

  void drain(Napi::Env env) {
    std::deque<Report> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(queue_);
      scheduled_ = false;
    }
    Napi::Object observer = observer_.Value();
    for (Report& r : batch) {
      Napi::Value fn = observer.Get(r.method);
      if (!fn.IsFunction()) continue;
      std::vector<napi_value> args{Napi::String::New(env, r.pod)};
      for (const json& a : r.args) args.push_back(toJs(env, a));
      if (r.method == "statePut")
        args.push_back(r.data ? Napi::Buffer<uint8_t>::Copy(env, r.data->data(), r.data->size()).As<Napi::Value>()
                              : env.Null());
      fn.As<Napi::Function>().Call(observer, args);
    }
  }

  static Napi::Value toJs(Napi::Env env, const json& v) {
    if (v.is_string()) return Napi::String::New(env, v.get<std::string>());
    if (v.is_number()) return Napi::Number::New(env, v.get<double>());
    if (v.is_null()) return env.Null();
    return Napi::String::New(env, v.dump());  // objects cross as JSON text
  }

  Napi::ObjectReference observer_;
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mutex_;
  std::deque<Report> queue_;
  bool scheduled_ = false;
};

// Runs `work` on libuv's thread pool and settles a Promise with its JSON result (as text) or error.
// `after`, when given, runs on the JS thread before the Promise settles.
class ControlCall final : public Napi::AsyncWorker {
 public:
  ControlCall(Napi::Env env, std::function<Result<json>()> work, std::function<void(Napi::Env)> after = {})
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        after_(std::move(after)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    Result<json> r = work_();
    if (r) result_ = std::move(*r);
    else SetError(r.error());
  }
  void OnOK() override {
    if (after_) after_(Env());
    deferred_.Resolve(Napi::String::New(Env(), result_.dump()));
  }
  void OnError(const Napi::Error& e) override {
    if (after_) after_(Env());
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<Result<json>()> work_;
  std::function<void(Napi::Env)> after_;
  json result_;
};

template <class T>
Result<json> asJson(Result<T> r) {
  if (!r) return fail(r.error());
  if constexpr (std::is_same_v<T, bool>) return json(nullptr);
  else return json(std::move(*r));
}

class DataplaneWrap : public Napi::ObjectWrap<DataplaneWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Dataplane",
                       {InstanceMethod<&DataplaneWrap::attach>("attach"),
                        InstanceMethod<&DataplaneWrap::detach>("detach"),
                        InstanceMethod<&DataplaneWrap::join>("join"),
                        InstanceMethod<&DataplaneWrap::leave>("leave"),
                        InstanceMethod<&DataplaneWrap::status>("status"),
                        InstanceMethod<&DataplaneWrap::controllerSet>("controllerSet"),
                        InstanceMethod<&DataplaneWrap::controllerDelete>("controllerDelete"),
                        InstanceMethod<&DataplaneWrap::controllerMembers>("controllerMembers"),
                        InstanceMethod<&DataplaneWrap::close>("close")});
  }

  // new Dataplane(observer, threads)
  explicit DataplaneWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DataplaneWrap>(info) {
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsNumber())
      throw Napi::TypeError::New(info.Env(), "new Dataplane(observer, threads)");
    unsigned threads = info[1].As<Napi::Number>().Uint32Value();
    if (threads == 0 || threads > 64) throw Napi::RangeError::New(info.Env(), "threads must be 1..64");
    observer_ = std::make_shared<QueuedObserver>(info.Env(), info[0].As<Napi::Object>());
    dataplane_ = std::make_shared<dataplane::Dataplane>(*observer_, threads);
  }

 private:
  // attach(options JSON text, state: [[type, id0, id1, Buffer], ...])
  Napi::Value attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "attach(options, state)");
    json o = json::parse(text(info, 0, "options"), nullptr, false);
    if (!o.is_object() || !o["key"].is_string()) throw Napi::TypeError::New(env, "options must be a JSON object with a key");
    PodOptions options;
    options.key = o["key"];
    options.netnsPath = o.value("netns", "");
    std::optional<InetAddress> bind = InetAddress::parse(o.value("bind", "0.0.0.0/9993"));
    if (!bind) throw Napi::TypeError::New(env, "pod " + options.key + ": bind must be \"ip/port\"");
    options.bind = *bind;
    options.node.rootMode = o.value("rootMode", false);
    for (const json& n : o.value("networks", json::array())) options.networks.push_back(networkId(env, n));
    if (o.contains("controller")) {
      ControllerSetup setup;
      for (const json& n : o["controller"].value("networks", json::array())) setup.networks.push_back(n);
      for (const json& m : o["controller"].value("members", json::array())) setup.members.push_back(m);
      options.controller = std::move(setup);
    }
    Napi::Array state = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < state.Length(); ++i) {
      Napi::Array entry = state.Get(i).As<Napi::Array>();
      auto id0 = parseHex64(entry.Get(1u).ToString().Utf8Value()), id1 = parseHex64(entry.Get(2u).ToString().Utf8Value());
      Napi::Value data = entry.Get(3u);
      if (!id0 || !id1 || !data.IsBuffer()) throw Napi::TypeError::New(env, "pod " + options.key + ": bad state entry");
      auto bytes = data.As<Napi::Buffer<uint8_t>>();
      options.state[{StateObject(entry.Get(0u).ToNumber().Uint32Value()), {*id0, *id1}}] =
          Bytes(bytes.Data(), bytes.Data() + bytes.Length());
    }
    return run(env, [options = std::move(options)](dataplane::Dataplane& dp) mutable -> Result<json> {
      Result<dataplane::PodInfo> pod = dp.attach(std::move(options));
      if (!pod) return fail(pod.error());
      return json{{"address", pod->address.toString()},
                  {"publicIdentity", pod->publicIdentity},
                  {"udpLocal", pod->udpLocal.toString()}};
    });
  }

  Napi::Value detach(const Napi::CallbackInfo& info) {
    return run(info.Env(), [pod = text(info, 0, "pod")](dataplane::Dataplane& dp) { return asJson(dp.detach(pod)); });
  }

  Napi::Value join(const Napi::CallbackInfo& info) {
    uint64_t nwid = networkId(info.Env(), text(info, 1, "networkId"));
    return run(info.Env(), [pod = text(info, 0, "pod"), nwid](dataplane::Dataplane& dp) { return asJson(dp.join(pod, nwid)); });
  }

  Napi::Value leave(const Napi::CallbackInfo& info) {
    uint64_t nwid = networkId(info.Env(), text(info, 1, "networkId"));
    return run(info.Env(), [pod = text(info, 0, "pod"), nwid](dataplane::Dataplane& dp) { return asJson(dp.leave(pod, nwid)); });
  }

  Napi::Value status(const Napi::CallbackInfo& info) {
    return run(info.Env(), [pod = text(info, 0, "pod")](dataplane::Dataplane& dp) { return asJson(dp.status(pod)); });
  }

  // controllerSet(pod, "network"|"member", record JSON text)
  Napi::Value controllerSet(const Napi::CallbackInfo& info) {
    std::string kind = text(info, 1, "kind");
    json record = json::parse(text(info, 2, "record"), nullptr, false);
    if (!record.is_object() || (kind != "network" && kind != "member"))
      throw Napi::TypeError::New(info.Env(), "controllerSet(pod, \"network\"|\"member\", record)");
    return run(info.Env(), [pod = text(info, 0, "pod"), kind, record](dataplane::Dataplane& dp) {
      return asJson(kind == "network" ? dp.setNetwork(pod, record) : dp.setMember(pod, record));
    });
  }

  // controllerDelete(pod, networkId, member?)
  Napi::Value controllerDelete(const Napi::CallbackInfo& info) {
    uint64_t nwid = networkId(info.Env(), text(info, 1, "networkId"));
    std::optional<Address> member;
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      member = Address::parse(text(info, 2, "member"));
      if (!member) throw Napi::TypeError::New(info.Env(), "member must be 10 hex digits");
    }
    return run(info.Env(), [pod = text(info, 0, "pod"), nwid, member](dataplane::Dataplane& dp) {
      return asJson(member ? dp.deleteMember(pod, nwid, *member) : dp.deleteNetwork(pod, nwid));
    });
  }

  Napi::Value controllerMembers(const Napi::CallbackInfo& info) {
    uint64_t nwid = networkId(info.Env(), text(info, 1, "networkId"));
    return run(info.Env(), [pod = text(info, 0, "pod"), nwid](dataplane::Dataplane& dp) { return asJson(dp.memberStatus(pod, nwid)); });
  }

  // Detaches every pod and stops the workers; the observer gets every last report (DOWN events,
  // state writes) before the Promise resolves. Later calls are refused.
  Napi::Value close(const Napi::CallbackInfo& info) {
    std::shared_ptr<dataplane::Dataplane> dp = live(info.Env());
    dataplane_.reset();
    return queue(info.Env(), [dp = std::move(dp)]() mutable {
      dp.reset();  // the last reference: joins the workers
      return Result<json>(json(nullptr));
    }, [observer = observer_](Napi::Env env) { observer->finish(env); });
  }

  std::shared_ptr<dataplane::Dataplane> live(Napi::Env env) {
    if (!dataplane_) throw Napi::Error::New(env, "the dataplane is closed");
    return dataplane_;
  }

  // Runs a control call on the open dataplane.
  template <class Work>
  Napi::Value run(Napi::Env env, Work&& work) {
    return queue(env, [dp = live(env), work = std::forward<Work>(work)]() mutable { return work(*dp); });
  }

  static Napi::Value queue(Napi::Env env, std::function<Result<json>()> work, std::function<void(Napi::Env)> after = {}) {
    auto* call = new ControlCall(env, std::move(work), std::move(after));
    Napi::Promise promise = call->promise();
    call->Queue();
    return promise;
  }

  static std::string text(const Napi::CallbackInfo& info, size_t i, const char* name) {
    if (i >= info.Length() || !info[i].IsString())
      throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
    return info[i].As<Napi::String>().Utf8Value();
  }

  static uint64_t networkId(Napi::Env env, const json& v) {
    std::optional<uint64_t> id;
    if (v.is_string() && v.get<std::string>().size() == 16) id = parseHex64(v.get<std::string>());
    if (!id) throw Napi::TypeError::New(env, "network ids are 16 hex digits: " + v.dump());
    return *id;
  }

  // Shared with the close call, which may finish after this object is collected; the dataplane
  // (declared after it, so destroyed first) holds a reference to it.
  std::shared_ptr<QueuedObserver> observer_;
  std::shared_ptr<dataplane::Dataplane> dataplane_;
};

}  // namespace

void registerDataplane(Napi::Env env, Napi::Object exports) { exports.Set("Dataplane", DataplaneWrap::define(env)); }

}  // namespace zt::addon
