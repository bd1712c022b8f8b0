// The Node for JavaScript: `new Node(callbacks, now, options)`, VL1 and VL2, and optionally the
// network controller for networks whose id starts with its address (runController). The host callbacks are plain
// JS functions called synchronously on the JS thread while a Node method runs (the core is
// single-threaded and does no I/O). A callback that throws does not unwind through the core:
// the first exception is kept and rethrown when the Node method returns. Callbacks must not
// call back into the same Node (that is refused).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>

#include "addon/bindings.hpp"
#include "controller/controller.hpp"
#include "node.hpp"
#include "node_json.hpp"
#include "vl2/text_forms.hpp"

namespace zt::addon {
namespace {

// A 48-bit MAC as 12 hex digits.
std::string macHex(uint64_t mac) { return hex64(mac).substr(4); }

// NodeHost over JS functions. Exceptions from JS are parked in `pending` for the caller.
class JsHost final : public NodeHost {
 public:
  JsHost(Napi::Env env, Napi::Object callbacks) : env_(env) {
    auto take = [&](const char* name, bool required) {
      Napi::Value v = callbacks.Get(name);
      if (v.IsFunction()) return Napi::Persistent(v.As<Napi::Function>());
      if (required) throw Napi::TypeError::New(env, std::string("callbacks.") + name + " must be a function");
      return Napi::FunctionReference();
    };
    stateGet_ = take("stateGet", true);
    statePut_ = take("statePut", true);
    event_ = take("event", true);
    wirePacketSend_ = take("wirePacketSend", true);
    stateList_ = take("stateList", false);
    virtualNetworkFrame_ = take("virtualNetworkFrame", false);
    virtualNetworkConfig_ = take("virtualNetworkConfig", false);
    pathCheck_ = take("pathCheck", false);
    pathLookup_ = take("pathLookup", false);
  }

  std::optional<Napi::Error> pending;

  void setControllerListener(Napi::Function fn) { controllerChange_ = Napi::Persistent(fn); }

  // A record the controller wrote: ("network"|"member", record) or ("deleteNetwork"|"deleteMember", nwid, address).
  void controllerChange(const ControllerStoreChange& c) {
    using Kind = ControllerStoreChange::Kind;
    auto text = [&](const std::string& v) { return Napi::String::New(env_, v).As<Napi::Value>(); };
    switch (c.kind) {
      case Kind::SaveNetwork: call(controllerChange_, {text("network"), text(c.record.dump())}); break;
      case Kind::SaveMember: call(controllerChange_, {text("member"), text(c.record.dump())}); break;
      case Kind::DeleteNetwork: call(controllerChange_, {text("deleteNetwork"), text(hex64(c.networkId))}); break;
      case Kind::DeleteMember:
        call(controllerChange_, {text("deleteMember"), text(hex64(c.networkId)), text(c.member.toString())});
        break;
    }
  }

  std::optional<Bytes> stateGet(StateObject type, const StateId& id) override {
    Napi::Value v = call(stateGet_, {num(double(type)), idArray(id)});
    if (!v.IsBuffer()) return std::nullopt;
    auto b = v.As<Napi::Buffer<uint8_t>>();
    return Bytes(b.Data(), b.Data() + b.Length());
  }

  void statePut(StateObject type, const StateId& id, std::optional<ByteView> data) override {
    Napi::Value payload = data ? Napi::Buffer<uint8_t>::Copy(env_, data->data(), data->size()).As<Napi::Value>() : env_.Null();
    call(statePut_, {num(double(type)), idArray(id), payload});
  }

  std::vector<StateId> stateList(StateObject type) override {
    std::vector<StateId> out;
    if (stateList_.IsEmpty()) return out;
    Napi::Value v = call(stateList_, {num(double(type))});
    if (!v.IsArray()) return out;
    auto list = v.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value item = list.Get(i);
      if (!item.IsArray() || item.As<Napi::Array>().Length() != 2) continue;
      auto pair = item.As<Napi::Array>();
      auto a = parseHex64(pair.Get(0u).ToString().Utf8Value()), b = parseHex64(pair.Get(1u).ToString().Utf8Value());
      if (a && b) out.push_back({*a, *b});
    }
    return out;
  }

  void onEvent(Event e, std::string_view detail) override {
    call(event_, {Napi::String::New(env_, eventName(e)), Napi::String::New(env_, std::string(detail))});
  }

  bool wirePacketSend(int64_t localSocket, const InetAddress& remote, ByteView data, unsigned ttl) override {
    Napi::Value r = call(wirePacketSend_, {num(double(localSocket)), Napi::String::New(env_, remote.toString()),
                                           Napi::Buffer<uint8_t>::Copy(env_, data.data(), data.size()), num(ttl)});
    return r.IsUndefined() || r.ToBoolean().Value();
  }

  void virtualNetworkFrame(uint64_t networkId, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, uint16_t vlanId,
                           ByteView payload) override {
    if (virtualNetworkFrame_.IsEmpty()) return;
    call(virtualNetworkFrame_, {Napi::String::New(env_, hex64(networkId)), Napi::String::New(env_, macHex(srcMac)),
                                Napi::String::New(env_, macHex(dstMac)), num(etherType), num(vlanId),
                                Napi::Buffer<uint8_t>::Copy(env_, payload.data(), payload.size())});
  }

  // The config crosses as JSON text (virtualNetworkConfigToJson); a number returned is the port error.
  int virtualNetworkConfig(uint64_t networkId, VirtualNetworkConfigOperation op,
                           const VirtualNetworkConfig& config) override {
    if (virtualNetworkConfig_.IsEmpty()) return 0;
    Napi::Value r = call(virtualNetworkConfig_, {Napi::String::New(env_, hex64(networkId)), num(double(op)),
                                                 Napi::String::New(env_, virtualNetworkConfigToJson(config).dump())});
    return r.IsNumber() ? r.As<Napi::Number>().Int32Value() : 0;
  }

  bool pathCheck(Address peer, int64_t localSocket, const InetAddress& remote) override {
    if (pathCheck_.IsEmpty()) return true;
    Napi::Value r = call(pathCheck_, {Napi::String::New(env_, peer.toString()), num(double(localSocket)),
                                      Napi::String::New(env_, remote.toString())});
    return r.IsUndefined() || r.ToBoolean().Value();
  }

  std::optional<InetAddress> pathLookup(Address peer, InetAddress::Family family) override {
    if (pathLookup_.IsEmpty()) return std::nullopt;
    Napi::Value r = call(pathLookup_, {Napi::String::New(env_, peer.toString()), num(double(family))});
    if (!r.IsString()) return std::nullopt;
    return InetAddress::parse(r.As<Napi::String>().Utf8Value());
  }

 private:
  Napi::Value num(double v) { return Napi::Number::New(env_, v); }
  Napi::Value idArray(const StateId& id) {
    Napi::Array a = Napi::Array::New(env_, 2);
    a.Set(0u, Napi::String::New(env_, hex64(id[0])));
    a.Set(1u, Napi::String::New(env_, hex64(id[1])));
    return a;
  }

  // Calls a JS callback; after the first exception, later callbacks are skipped.
  Napi::Value call(Napi::FunctionReference& fn, std::initializer_list<napi_value> args) {
    if (pending) return env_.Undefined();
    try {
      return fn.Call(args);
    } catch (const Napi::Error& e) {
      pending = e;
      return env_.Undefined();
    }
  }

  Napi::Env env_;
  Napi::FunctionReference stateGet_, statePut_, event_, wirePacketSend_, stateList_, virtualNetworkFrame_,
      virtualNetworkConfig_, pathCheck_, pathLookup_, controllerChange_;
};

class NodeWrap : public Napi::ObjectWrap<NodeWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Node",
                       {InstanceMethod<&NodeWrap::processWirePacket>("processWirePacket"),
                        InstanceMethod<&NodeWrap::processBackgroundTasks>("processBackgroundTasks"),
                        InstanceMethod<&NodeWrap::address>("address"),
                        InstanceMethod<&NodeWrap::status>("status"),
                        InstanceMethod<&NodeWrap::peers>("peers"),
                        InstanceMethod<&NodeWrap::counters>("counters"),
                        InstanceMethod<&NodeWrap::echo>("echo"),
                        InstanceMethod<&NodeWrap::addLocalInterfaceAddress>("addLocalInterfaceAddress"),
                        InstanceMethod<&NodeWrap::orbit>("orbit"),
                        InstanceMethod<&NodeWrap::deorbit>("deorbit"),
                        InstanceMethod<&NodeWrap::setRootMode>("setRootMode"),
                        InstanceMethod<&NodeWrap::join>("join"),
                        InstanceMethod<&NodeWrap::leave>("leave"),
                        InstanceMethod<&NodeWrap::processVirtualNetworkFrame>("processVirtualNetworkFrame"),
                        InstanceMethod<&NodeWrap::multicastSubscribe>("multicastSubscribe"),
                        InstanceMethod<&NodeWrap::multicastUnsubscribe>("multicastUnsubscribe"),
                        InstanceMethod<&NodeWrap::networks>("networks"),
                        InstanceMethod<&NodeWrap::networkConfig>("networkConfig"),
                        InstanceMethod<&NodeWrap::runController>("runController"),
                        InstanceMethod<&NodeWrap::controllerSet>("controllerSet"),
                        InstanceMethod<&NodeWrap::controllerDelete>("controllerDelete"),
                        InstanceMethod<&NodeWrap::controllerMembers>("controllerMembers"),
                        InstanceMethod<&NodeWrap::shutdown>("shutdown")});
  }

  // new Node(callbacks, now, options?)
  explicit NodeWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NodeWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsNumber())
      throw Napi::TypeError::New(env, "new Node(callbacks, now, options?)");
    host_ = std::make_unique<JsHost>(env, info[0].As<Napi::Object>());
    NodeOptions options;
    if (info.Length() > 2 && info[2].IsObject()) options = parseOptions(info[2].As<Napi::Object>());
    Result<std::unique_ptr<Node>> node = guarded(env, [&] { return Node::create(*host_, now(info, 1), options); });
    if (!node) throw Napi::Error::New(env, node.error());
    node_ = std::move(*node);
  }

 private:
  static NodeOptions parseOptions(Napi::Object o) {
    NodeOptions options;
    if (o.Get("peerActivityTimeout").IsNumber()) options.peerActivityTimeout = o.Get("peerActivityTimeout").As<Napi::Number>().Int64Value();
    if (o.Get("physicalMtu").IsNumber()) options.physicalMtu = size_t(o.Get("physicalMtu").As<Napi::Number>().Int64Value());
    if (o.Get("loadPeerCache").IsBoolean()) options.loadPeerCache = o.Get("loadPeerCache").As<Napi::Boolean>();
    if (o.Get("rootMode").IsBoolean()) options.rootMode = o.Get("rootMode").As<Napi::Boolean>();
    return options;
  }

  static int64_t now(const Napi::CallbackInfo& info, size_t i) {
    if (i >= info.Length() || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "now must be a number (ms)");
    return info[i].As<Napi::Number>().Int64Value();
  }

  static std::string str(const Napi::CallbackInfo& info, size_t i, const char* name) {
    if (i >= info.Length() || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
    return info[i].As<Napi::String>().Utf8Value();
  }

  static Address addressArg(const Napi::CallbackInfo& info, size_t i) {
    std::optional<Address> a = Address::parse(str(info, i, "address"));
    if (!a) throw Napi::TypeError::New(info.Env(), "address must be 10 hex digits");
    return *a;
  }

  static InetAddress endpointArg(const Napi::CallbackInfo& info, size_t i) {
    std::optional<InetAddress> a = InetAddress::parse(str(info, i, "remote"));
    if (!a) throw Napi::TypeError::New(info.Env(), "remote must be \"ip/port\"");
    return *a;
  }

  static uint64_t hexArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
    std::optional<uint64_t> v = parseHex64(str(info, i, name));
    if (!v) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be up to 16 hex digits");
    return *v;
  }

  // Runs a core call, refusing re-entry from a callback and rethrowing a callback's exception.
  template <class F>
  std::invoke_result_t<F&> guarded(Napi::Env env, F&& f) {
    if (busy_) throw Napi::Error::New(env, "Node method called from inside one of its own callbacks");
    struct Busy {
      bool& flag;
      explicit Busy(bool& f) : flag(f) { flag = true; }
      ~Busy() { flag = false; }
    } busy(busy_);
    auto result = f();
    if (host_->pending) {
      Napi::Error e = *host_->pending;
      host_->pending.reset();
      throw e;
    }
    return result;
  }

  Node& node(Napi::Env env) {
    if (!node_) throw Napi::Error::New(env, "node was not created");
    return *node_;
  }

  Napi::Value processResult(Napi::Env env, const ProcessResult& r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("result", int(r.code));
    o.Set("nextDeadline", double(r.nextDeadline));
    return o;
  }

  Napi::Value processWirePacket(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t t = now(info, 0);
    if (info.Length() < 4 || !info[1].IsNumber() || !info[3].IsBuffer())
      throw Napi::TypeError::New(env, "processWirePacket(now, localSocket, remote, data: Buffer)");
    int64_t sock = info[1].As<Napi::Number>().Int64Value();
    InetAddress remote = endpointArg(info, 2);
    auto data = info[3].As<Napi::Buffer<uint8_t>>();
    ByteView bytes(data.Data(), data.Length());
    return processResult(env, guarded(env, [&] { return node(env).processWirePacket(t, sock, remote, bytes); }));
  }

  Napi::Value processBackgroundTasks(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    return processResult(info.Env(), guarded(info.Env(), [&] { return node(info.Env()).processBackgroundTasks(t); }));
  }

  Napi::Value echo(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    Address to = addressArg(info, 1);
    return processResult(info.Env(), guarded(info.Env(), [&] { return node(info.Env()).echo(t, to); }));
  }

  Napi::Value address(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), node(info.Env()).address().toString());
  }

  Napi::Value status(const Napi::CallbackInfo& info) {
    NodeStatus s = node(info.Env()).status();
    nlohmann::json j = {{"address", s.address.toString()}, {"publicIdentity", s.publicIdentity}, {"online", s.online}};
    return Napi::String::New(info.Env(), j.dump());
  }

  Napi::Value peers(const Napi::CallbackInfo& info) {
    nlohmann::json list = nlohmann::json::array();
    for (const PeerInfo& p : node(info.Env()).peers()) list.push_back(peerInfoToJson(p));
    return Napi::String::New(info.Env(), list.dump());
  }

  Napi::Value counters(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), countersToJson(node(info.Env()).counters()).dump());
  }

  Napi::Value addLocalInterfaceAddress(const Napi::CallbackInfo& info) {
    node(info.Env()).addLocalInterfaceAddress(endpointArg(info, 0));
    return info.Env().Undefined();
  }

  Napi::Value orbit(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    uint64_t moon = hexArg(info, 1, "moonId");
    Address seed = addressArg(info, 2);
    return processResult(info.Env(), guarded(info.Env(), [&] { return node(info.Env()).orbit(t, moon, seed); }));
  }

  Napi::Value deorbit(const Napi::CallbackInfo& info) {
    uint64_t moon = hexArg(info, 0, "moonId");
    return Napi::Number::New(info.Env(), int(guarded(info.Env(), [&] { return node(info.Env()).deorbit(moon); })));
  }

  Napi::Value setRootMode(const Napi::CallbackInfo& info) {
    bool root = info.Length() > 0 && info[0].ToBoolean().Value();
    guarded(info.Env(), [&] {
      node(info.Env()).setRootMode(root);
      return 0;
    });
    return info.Env().Undefined();
  }

  // ---- VL2

  Napi::Value join(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    uint64_t nwid = hexArg(info, 1, "networkId");
    return Napi::Number::New(info.Env(), int(guarded(info.Env(), [&] { return node(info.Env()).join(t, nwid); })));
  }

  Napi::Value leave(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    uint64_t nwid = hexArg(info, 1, "networkId");
    return Napi::Number::New(info.Env(), int(guarded(info.Env(), [&] { return node(info.Env()).leave(t, nwid); })));
  }

  // (now, networkId, srcMac, dstMac, etherType, vlanId, payload: Buffer)
  Napi::Value processVirtualNetworkFrame(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t t = now(info, 0);
    uint64_t nwid = hexArg(info, 1, "networkId"), src = hexArg(info, 2, "srcMac"), dst = hexArg(info, 3, "dstMac");
    if (info.Length() < 7 || !info[4].IsNumber() || !info[5].IsNumber() || !info[6].IsBuffer())
      throw Napi::TypeError::New(env, "processVirtualNetworkFrame(now, networkId, srcMac, dstMac, etherType, vlanId, payload: Buffer)");
    auto etherType = uint16_t(info[4].As<Napi::Number>().Uint32Value());
    auto vlan = uint16_t(info[5].As<Napi::Number>().Uint32Value());
    auto payload = info[6].As<Napi::Buffer<uint8_t>>();
    ByteView bytes(payload.Data(), payload.Length());
    return processResult(env, guarded(env, [&] {
      return node(env).processVirtualNetworkFrame(t, nwid, src, dst, etherType, vlan, bytes);
    }));
  }

  // (now, networkId, mac, adi?)
  Napi::Value multicastSubscribe(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    uint64_t nwid = hexArg(info, 1, "networkId"), mac = hexArg(info, 2, "mac");
    uint32_t adi = adiArg(info, 3);
    return Napi::Number::New(info.Env(),
                             int(guarded(info.Env(), [&] { return node(info.Env()).multicastSubscribe(t, nwid, mac, adi); })));
  }

  // (networkId, mac, adi?)
  Napi::Value multicastUnsubscribe(const Napi::CallbackInfo& info) {
    uint64_t nwid = hexArg(info, 0, "networkId"), mac = hexArg(info, 1, "mac");
    uint32_t adi = adiArg(info, 2);
    return Napi::Number::New(info.Env(),
                             int(guarded(info.Env(), [&] { return node(info.Env()).multicastUnsubscribe(nwid, mac, adi); })));
  }

  Napi::Value networks(const Napi::CallbackInfo& info) {
    std::vector<uint64_t> ids = node(info.Env()).networks();
    Napi::Array out = Napi::Array::New(info.Env(), ids.size());
    for (uint32_t i = 0; i < ids.size(); ++i) out.Set(i, Napi::String::New(info.Env(), hex64(ids[i])));
    return out;
  }

  // JSON text of the network's config, or null when not joined.
  Napi::Value networkConfig(const Napi::CallbackInfo& info) {
    std::optional<VirtualNetworkConfig> c = node(info.Env()).networkConfig(hexArg(info, 0, "networkId"));
    if (!c) return info.Env().Null();
    return Napi::String::New(info.Env(), virtualNetworkConfigToJson(*c).dump());
  }

  // ---- the embedded controller

  // (now, records: JSON text {networks: [...], members: [...]}, onChange(kind, ...)). The records
  // are checked and loaded into memory; every later write the controller makes goes to onChange,
  // synchronously.
  Napi::Value runController(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t t = now(info, 0);
    std::string text = str(info, 1, "records");
    if (info.Length() < 3 || !info[2].IsFunction()) throw Napi::TypeError::New(env, "runController(now, records, onChange)");
    if (controller_) throw Napi::Error::New(env, "the controller is already running");
    nlohmann::json records = nlohmann::json::parse(text, nullptr, false);
    if (!records.is_object()) throw Napi::TypeError::New(env, "records must be a JSON object {networks, members}");
    auto store = std::make_unique<MemoryControllerStore>();
    Result<bool> loaded = store->load(records.value("networks", std::vector<nlohmann::json>{}),
                                      records.value("members", std::vector<nlohmann::json>{}), uint64_t(t));
    if (!loaded) throw Napi::Error::New(env, loaded.error());
    host_->setControllerListener(info[2].As<Napi::Function>());
    store->setListener([host = host_.get()](const ControllerStoreChange& c) { host->controllerChange(c); });
    controllerStore_ = std::move(store);
    controller_ = std::make_unique<NetworkController>(node(env).identity(), *controllerStore_);
    node(env).setNetconfMaster(controller_.get());
    return env.Undefined();
  }

  // (now, "network"|"member", record JSON text): the fields given replace the stored ones; the
  // resulting pushes and revocations are sent. Throws with the controller's reason on bad input.
  Napi::Value controllerSet(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t t = now(info, 0);
    std::string kind = str(info, 1, "kind");
    nlohmann::json record = nlohmann::json::parse(str(info, 2, "record"), nullptr, false);
    if (!record.is_object()) throw Napi::TypeError::New(env, "record must be a JSON object");
    if (kind != "network" && kind != "member") throw Napi::TypeError::New(env, "kind must be \"network\" or \"member\"");
    NetworkController& ctl = controller(env);
    return changeRecords(env, t, [&] {
      return kind == "network" ? ctl.setNetwork(uint64_t(t), record) : ctl.setMember(uint64_t(t), record);
    });
  }

  // (now, networkId, memberAddress?): deletes the member, or without it the network record.
  Napi::Value controllerDelete(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t t = now(info, 0);
    uint64_t nwid = hexArg(info, 1, "networkId");
    NetworkController& ctl = controller(env);
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      Address member = addressArg(info, 2);
      return changeRecords(env, t, [&] { return ctl.deleteMember(uint64_t(t), nwid, member); });
    }
    return changeRecords(env, t, [&] { return ctl.deleteNetwork(uint64_t(t), nwid); });
  }

  // (now, networkId): JSON text, a list of memberStatusToJson objects.
  Napi::Value controllerMembers(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    uint64_t nwid = hexArg(info, 1, "networkId");
    nlohmann::json list = nlohmann::json::array();
    for (const MemberStatus& m : controller(info.Env()).memberStatus(uint64_t(t), nwid)) list.push_back(memberStatusToJson(m));
    return Napi::String::New(info.Env(), list.dump());
  }

  NetworkController& controller(Napi::Env env) {
    if (!controller_) throw Napi::Error::New(env, "the controller is not running (call runController first)");
    return *controller_;
  }

  // Runs a record change and sends the pushes and revocations it returns.
  template <class Change>
  Napi::Value changeRecords(Napi::Env env, int64_t t, Change&& change) {
    Result<std::vector<ControllerMessage>> result = guarded(env, [&] {
      Result<std::vector<ControllerMessage>> r = change();
      if (r) node(env).sendControllerMessages(t, *r);
      return r;
    });
    if (!result) throw Napi::Error::New(env, result.error());
    return env.Undefined();
  }

  static uint32_t adiArg(const Napi::CallbackInfo& info, size_t i) {
    if (i >= info.Length() || info[i].IsUndefined()) return 0;
    if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "adi must be a number");
    return info[i].As<Napi::Number>().Uint32Value();
  }

  Napi::Value shutdown(const Napi::CallbackInfo& info) {
    int64_t t = now(info, 0);
    guarded(info.Env(), [&] {
      node(info.Env()).shutdown(t);
      return 0;
    });
    return info.Env().Undefined();
  }

  std::unique_ptr<JsHost> host_;
  // Declared before node_ so the node, which points at the controller, is destroyed first.
  std::unique_ptr<MemoryControllerStore> controllerStore_;
  std::unique_ptr<NetworkController> controller_;
  std::unique_ptr<Node> node_;
  bool busy_ = false;
};

}  // namespace

void registerNode(Napi::Env env, Napi::Object exports) { exports.Set("Node", NodeWrap::define(env)); }

}  // namespace zt::addon
