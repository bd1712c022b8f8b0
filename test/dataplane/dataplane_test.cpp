// The data plane against the real kernel: a root, a controller and three members, each a pod in
// its own namespace on a bridged 198.18.0.0/24 underlay, all run by one Dataplane with two
// worker threads over real UDP sockets and real TAPs. The members' kernels then talk to each
// other through ZeroTier: ping over IPv4 and IPv6, TCP.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "../io/bridge_fixture.hpp"
#include "crypto/armor.hpp"
#include "crypto/identity.hpp"
#include "dataplane/dataplane.hpp"
#include "../io/underlay_fixture.hpp"
#include "vl1/world.hpp"
#include "vl2/mac.hpp"
#include "wire/codec_util.hpp"

namespace zt::dataplane {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Records what the dataplane tells its host, as the addon would queue it for JavaScript.
class Recorder : public DataplaneObserver {
 public:
  struct SeenConfig {
    VirtualNetworkConfigOperation op;
    VirtualNetworkConfig config;
    std::string interfaceName, applyError;
  };

  void statePut(const std::string& pod, StateKey key, std::optional<ByteView> data) override {
    std::lock_guard lock(mutex_);
    if (data) state_[pod][key] = Bytes(data->begin(), data->end());
    else state_[pod].erase(key);
  }
  void event(const std::string& pod, Event e, std::string_view) override {
    std::lock_guard lock(mutex_);
    events_[pod].push_back(e);
  }
  void networkConfig(const std::string& pod, VirtualNetworkConfigOperation op, const VirtualNetworkConfig& c,
                     const std::string& interfaceName, const std::string& applyError) override {
    std::lock_guard lock(mutex_);
    configs_[pod][c.networkId] = {op, c, interfaceName, applyError};
    changed_.notify_all();
  }
  void controllerChange(const std::string& pod, const ControllerStoreChange& change) override {
    std::lock_guard lock(mutex_);
    ControllerSetup& records = records_[pod];
    auto& list = change.kind == ControllerStoreChange::Kind::SaveNetwork ? records.networks : records.members;
    if (change.kind == ControllerStoreChange::Kind::SaveNetwork || change.kind == ControllerStoreChange::Kind::SaveMember) {
      std::erase_if(list, [&](const json& r) { return r["id"] == change.record["id"]; });
      list.push_back(change.record);
    }
  }

  // Seeds the records a controller pod starts with (its store reports later changes only).
  void seedRecords(const std::string& pod, const ControllerSetup& setup) {
    std::lock_guard lock(mutex_);
    records_[pod] = setup;
  }
  // Seeds what the host store held before the pod started (the node only reports changes).
  void seedState(const std::string& pod, const std::map<StateKey, Bytes>& state) {
    std::lock_guard lock(mutex_);
    state_[pod] = state;
  }
  ControllerSetup records(const std::string& pod) {
    std::lock_guard lock(mutex_);
    return records_[pod];
  }
  std::map<StateKey, Bytes> state(const std::string& pod) {
    std::lock_guard lock(mutex_);
    return state_[pod];
  }
  std::vector<Event> events(const std::string& pod) {
    std::lock_guard lock(mutex_);
    return events_[pod];
  }
  std::optional<SeenConfig> config(const std::string& pod, uint64_t networkId) {
    std::lock_guard lock(mutex_);
    auto p = configs_.find(pod);
    if (p == configs_.end() || !p->second.count(networkId)) return std::nullopt;
    return p->second.at(networkId);
  }
  // Waits until the pod's last report for the network satisfies `done`.
  bool waitConfig(const std::string& pod, uint64_t networkId, const std::function<bool(const SeenConfig&)>& done,
                  std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      auto p = configs_.find(pod);
      return p != configs_.end() && p->second.count(networkId) && done(p->second.at(networkId));
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::map<StateKey, Bytes>> state_;
  std::map<std::string, std::vector<Event>> events_;
  std::map<std::string, std::map<uint64_t, SeenConfig>> configs_;
  std::map<std::string, ControllerSetup> records_;
};

std::string vectorIdentity(size_t i) {
  static const json valid = [] {
    std::ifstream in(std::string(ZT_VECTORS) + "/identities.json");
    return json::parse(in)["valid"];
  }();
  return valid.at(i)["secret"].get<std::string>();
}

Bytes bytesOf(const std::string& s) { return Bytes(s.begin(), s.end()); }

bool shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// Up to three tries: the first echo may wait for address resolution through the network.
bool pings(const test::ScopedNetns& from, const InetAddress& to) {
  const std::string command = "ip netns exec " + from.name() + " ping -" + (to.family == InetAddress::Family::V6 ? "6" : "4") +
                              " -c1 -W2 " + to.ipString();
  for (int attempt = 0; attempt < 3; ++attempt)
    if (shell(command)) return true;
  return false;
}

json ipJson(const test::ScopedNetns& ns, const std::string& args) {
  json parsed = json::parse(ns.capture("ip -j " + args), nullptr, false);
  return parsed.is_discarded() ? json::array() : parsed;
}

// "ip/prefixlen" of every address on the interface.
std::set<std::string> addressesListed(const test::ScopedNetns& ns, const std::string& interface) {
  std::set<std::string> out;
  for (const json& link : ipJson(ns, "addr show dev " + interface))
    for (const json& a : link["addr_info"]) out.insert(a["local"].get<std::string>() + "/" + std::to_string(a["prefixlen"].get<int>()));
  return out;
}

InetAddress addressOf(const VirtualNetworkConfig& c, InetAddress::Family family, uint8_t firstByte = 0) {
  for (const InetAddress& a : c.assignedAddresses)
    if (a.family == family && (firstByte == 0 || a.ip[0] == firstByte)) return a;
  return {};
}

const std::vector<std::string> kMembers = {"m1", "m2", "m3"};

class DataplaneLab : public ::testing::Test {
 protected:
  static constexpr uint16_t kPort = 9993;

  void SetUp() override {
    ASSERT_TRUE(underlay.ok()) << underlay.error();
    const std::vector<std::string> names = {"root", "ctl", "m1", "m2", "m3"};
    for (size_t i = 0; i < names.size(); ++i) {
      ASSERT_TRUE(underlay.addHost(names[i], int(i) + 1)) << underlay.error();
      Result<Identity> id = Identity::fromString(vectorIdentity(i));
      ASSERT_TRUE(id.ok());
      identities[names[i]] = *id;
    }
    SecretKey signerSecret;
    randomBytes(signerSecret);
    const PublicKey signerPublic = publicKeyOf(signerSecret);
    World planet;
    planet.type = World::Planet;
    planet.id = World::kPublicPlanetId;
    planet.timestamp = 1'900'000'000'000;
    planet.updatesMustBeSignedBy = signerPublic;
    planet.roots.push_back({identities["root"].publicOnly(), {*InetAddress::parse("198.18.0.1/9993")}});
    planet.sign(signerSecret, signerPublic);
    planetBytes = planet.serialize();

    networkId = identities["ctl"].address().value << 24 | 0x000001;
    nwid = wire::hex64(networkId);
    ControllerSetup setup;
    setup.networks.push_back(
        {{"id", nwid}, {"nwid", nwid}, {"name", "dpt"}, {"private", true}, {"mtu", 2800},
         {"v4AssignMode", {{"zt", true}}}, {"v6AssignMode", {{"zt", true}, {"rfc4193", true}, {"6plane", false}}},
         {"ipAssignmentPools", {{{"ipRangeStart", "198.19.1.10"}, {"ipRangeEnd", "198.19.1.250"}},
                                {{"ipRangeStart", "fd00:19::10"}, {"ipRangeEnd", "fd00:19::ff"}}}},
         {"routes", {{{"target", "198.19.0.0/16"}, {"via", nullptr}},
                     {{"target", "fd00:19::/64"}, {"via", nullptr}},
                     {{"target", "198.19.200.0/24"}, {"via", "198.19.1.1"}}}}});
    for (const std::string& m : kMembers)
      setup.members.push_back({{"nwid", nwid}, {"id", identities[m].address().toString()}, {"authorized", true}});
    recorder.seedRecords("dpt/ctl", setup);
    startDataplane(false);
  }

  PodOptions podOptions(const std::string& name, bool restart) {
    PodOptions o;
    o.key = "dpt/" + name;
    o.netnsPath = underlay.host(name).path();
    o.bind = *InetAddress::parse("0.0.0.0/9993");
    if (restart) {
      o.state = recorder.state(o.key);
    } else {
      o.state[{StateObject::IdentitySecret, {0, 0}}] = bytesOf(identities[name].toString(true));
      o.state[{StateObject::Planet, {0, 0}}] = planetBytes;
      recorder.seedState(o.key, o.state);
    }
    return o;
  }

  // Root, controller and members; members join (on a restart they rejoin from their saved config).
  void startDataplane(bool restart) {
    dataplane = std::make_unique<Dataplane>(recorder, 2);
    PodOptions root = podOptions("root", restart);
    root.node.rootMode = true;
    PodOptions ctl = podOptions("ctl", restart);
    ctl.controller = recorder.records("dpt/ctl");
    for (PodOptions* o : {&root, &ctl}) {
      Result<PodInfo> info = dataplane->attach(std::move(*o));
      ASSERT_TRUE(info.ok()) << info.error();
    }
    for (const std::string& m : kMembers) {
      PodOptions o = podOptions(m, restart);
      if (!restart) o.networks = {networkId};
      Result<PodInfo> info = dataplane->attach(std::move(o));
      ASSERT_TRUE(info.ok()) << info.error();
      EXPECT_EQ(info->address, identities[m].address());
      EXPECT_EQ(info->udpLocal.port, kPort);
    }
  }

  // Waits for every member's TAP to carry an OK config.
  void waitConfigured() {
    for (const std::string& m : kMembers) {
      ASSERT_TRUE(recorder.waitConfig("dpt/" + m, networkId, [](const Recorder::SeenConfig& s) {
        return s.config.status == VirtualNetworkStatus::Ok && !s.interfaceName.empty() &&
               s.config.assignedAddresses.size() == 3;
      })) << m << " got no config; its status: " << statusText("dpt/" + m) << "\nthe controller's: " << statusText("dpt/ctl");
    }
  }

  std::string statusText(const std::string& pod) {
    Result<json> s = dataplane->status(pod);
    return s ? s->dump() : s.error();
  }

  VirtualNetworkConfig configOf(const std::string& m) { return recorder.config("dpt/" + m, networkId)->config; }
  const test::ScopedNetns& ns(const std::string& name) { return underlay.host(name); }

  // Declared before the dataplane: the namespaces outlive its TAPs and sockets.
  test::BridgedUnderlay underlay{"dpt"};
  Recorder recorder;
  std::map<std::string, Identity> identities;
  Bytes planetBytes;
  uint64_t networkId = 0;
  std::string nwid;
  std::unique_ptr<Dataplane> dataplane;
};

TEST_F(DataplaneLab, MembersGetTapsWithTheConfigsMacMtuAddressesAndRoutes) {
  waitConfigured();
  for (const std::string& m : kMembers) {
    const Recorder::SeenConfig seen = *recorder.config("dpt/" + m, networkId);
    EXPECT_EQ(seen.applyError, "");
    EXPECT_EQ(seen.interfaceName, interfaceNameOf(networkId));
    EXPECT_EQ(seen.config.mac, memberMac(identities[m].address(), networkId));
    const json link = ipJson(ns(m), "link show dev " + seen.interfaceName);
    ASSERT_EQ(link.size(), 1u) << m;
    EXPECT_EQ(link[0]["address"], wire::macToString(seen.config.mac));
    EXPECT_EQ(link[0]["mtu"], 2800);
    EXPECT_NE(link[0]["flags"].dump().find("UP"), std::string::npos);
    const std::set<std::string> listed = addressesListed(ns(m), seen.interfaceName);
    for (const InetAddress& a : seen.config.assignedAddresses)
      EXPECT_TRUE(listed.count(a.ipString() + "/" + std::to_string(a.port))) << m << " lacks " << a.toString();
    EXPECT_EQ(addressOf(seen.config, InetAddress::Family::V4).port, 16) << "netmask from the 198.19.0.0/16 route";
    const json routes = ipJson(ns(m), "route show dev " + seen.interfaceName);
    auto hasRoute = [&](const std::string& dst, const std::string& gateway) {
      return std::any_of(routes.begin(), routes.end(),
                         [&](const json& r) { return r["dst"] == dst && r.value("gateway", "") == gateway; });
    };
    EXPECT_TRUE(hasRoute("198.19.200.0/24", "198.19.1.1")) << routes.dump();
    EXPECT_TRUE(hasRoute("198.19.0.0/16", "")) << routes.dump();
  }
  // The status view has the interface and the node's view of the network.
  Result<json> status = dataplane->status("dpt/m1");
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_EQ((*status)["address"], identities["m1"].address().toString());
  EXPECT_EQ((*status)["online"], true);
  ASSERT_EQ((*status)["networks"].size(), 1u);
  EXPECT_EQ((*status)["networks"][0]["interface"], interfaceNameOf(networkId));
  EXPECT_EQ((*status)["networks"][0]["status"], "OK");
}

TEST_F(DataplaneLab, MembersPingEachOtherOverIpv4AndIpv6AndCarryTcp) {
  waitConfigured();
  for (const std::string& from : kMembers) {
    for (const std::string& to : kMembers) {
      if (from == to) continue;
      for (auto [family, first] : {std::pair{InetAddress::Family::V4, uint8_t(0)},
                                   {InetAddress::Family::V6, uint8_t(0xfd)}}) {
        const InetAddress target = addressOf(configOf(to), family, first);
        EXPECT_TRUE(pings(ns(from), target)) << from << " -> " << to << " " << target.ipString();
      }
    }
  }
  // The rfc4193 address too (its neighbour solicitations are answered by the node itself).
  for (const InetAddress& a : configOf("m2").assignedAddresses)
    if (a.family == InetAddress::Family::V6) {
      EXPECT_TRUE(pings(ns("m1"), a)) << a.ipString();
    }

  InetAddress server = addressOf(configOf("m2"), InetAddress::Family::V4);
  server.port = 5201;
  test::TransferResult t = test::transferTcp(ns("m1").path(), ns("m2").path(), server, 1 << 20, 0, true);
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(t.received, 1u << 20);
  EXPECT_EQ(t.receivedDigest, t.sentDigest);

  Result<json> status = dataplane->status("dpt/m1");
  ASSERT_TRUE(status.ok());
  const json counters = (*status)["networks"][0]["counters"];
  EXPECT_GT(counters.at("bytesOut").get<uint64_t>(), 1u << 20) << counters.dump();
  EXPECT_GT(counters.at("packetsIn").get<uint64_t>(), 0u);
  EXPECT_EQ(counters.at("offloadDrops"), 0);
  // The offloads worked both ways: the sender read TCP super-frames and cut them to the MTU,
  // the receiver's TAP got merged ones.
  EXPECT_LT(counters.at("tapReads").get<uint64_t>(), counters.at("packetsOut").get<uint64_t>()) << counters.dump();
  Result<json> receiver = dataplane->status("dpt/m2");
  ASSERT_TRUE(receiver.ok());
  const json received = (*receiver)["networks"][0]["counters"];
  EXPECT_LT(received.at("tapWrites").get<uint64_t>(), received.at("packetsIn").get<uint64_t>()) << received.dump();
}

TEST_F(DataplaneLab, RestartFromRecordedStateKeepsAddressesAndIps) {
  waitConfigured();
  std::map<std::string, VirtualNetworkConfig> before;
  for (const std::string& m : kMembers) before[m] = configOf(m);
  dataplane.reset();
  for (const std::string& m : kMembers) {
    EXPECT_EQ(recorder.config("dpt/" + m, networkId)->op, VirtualNetworkConfigOperation::Down);
    EXPECT_EQ(ipJson(ns(m), "link show dev " + interfaceNameOf(networkId)).size(), 0u) << m << ": TAP left behind";
  }

  startDataplane(true);
  waitConfigured();
  for (const std::string& m : kMembers) {
    EXPECT_EQ(configOf(m).mac, before[m].mac);
    EXPECT_EQ(configOf(m).assignedAddresses, before[m].assignedAddresses) << m;
  }
  EXPECT_TRUE(pings(ns("m1"), addressOf(configOf("m3"), InetAddress::Family::V4)));
  EXPECT_TRUE(pings(ns("m3"), addressOf(configOf("m2"), InetAddress::Family::V6, 0xfd)));
}

TEST_F(DataplaneLab, DetachRemovesTheTapAndTheNode) {
  waitConfigured();
  ASSERT_TRUE(dataplane->detach("dpt/m2").ok());
  EXPECT_EQ(ipJson(ns("m2"), "link show dev " + interfaceNameOf(networkId)).size(), 0u);
  EXPECT_EQ(recorder.events("dpt/m2").back(), Event::Down);
  EXPECT_FALSE(dataplane->status("dpt/m2").ok());
  EXPECT_FALSE(pings(ns("m1"), addressOf(configOf("m2"), InetAddress::Family::V4)));
  EXPECT_TRUE(pings(ns("m1"), addressOf(configOf("m3"), InetAddress::Family::V4)));
}

TEST_F(DataplaneLab, ConfigUpdateReplacesStaleRoutesAndSetsTheNewMtu) {
  waitConfigured();
  json network = recorder.records("dpt/ctl").networks.at(0);
  network["mtu"] = 1400;
  network["routes"][2] = {{"target", "198.19.201.0/24"}, {"via", "198.19.1.1"}};
  ASSERT_TRUE(dataplane->setNetwork("dpt/ctl", network).ok());
  for (const std::string& m : kMembers) {
    ASSERT_TRUE(recorder.waitConfig("dpt/" + m, networkId, [](const Recorder::SeenConfig& s) { return s.config.mtu == 1400; }))
        << m;
    const std::string tap = interfaceNameOf(networkId);
    EXPECT_EQ(recorder.config("dpt/" + m, networkId)->applyError, "");
    EXPECT_EQ(ipJson(ns(m), "link show dev " + tap).at(0).at("mtu"), 1400);
    const std::string routes = ipJson(ns(m), "route show dev " + tap).dump();
    EXPECT_EQ(routes.find("198.19.200.0/24"), std::string::npos) << routes;
    EXPECT_NE(routes.find("198.19.201.0/24"), std::string::npos) << routes;
  }
  // Still connected, and TCP is cut at the smaller MTU.
  InetAddress server = addressOf(configOf("m3"), InetAddress::Family::V4);
  server.port = 5202;
  test::TransferResult t = test::transferTcp(ns("m1").path(), ns("m3").path(), server, 256 << 10, 0, true);
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(t.receivedDigest, t.sentDigest);
}

TEST_F(DataplaneLab, LeaveRemovesTheTapAndJoinBringsItBack) {
  waitConfigured();
  const std::vector<InetAddress> addresses = configOf("m3").assignedAddresses;
  ASSERT_TRUE(dataplane->leave("dpt/m3", networkId).ok());
  EXPECT_EQ(recorder.config("dpt/m3", networkId)->op, VirtualNetworkConfigOperation::Destroy);
  EXPECT_EQ(ipJson(ns("m3"), "link show dev " + interfaceNameOf(networkId)).size(), 0u);
  EXPECT_FALSE(recorder.state("dpt/m3").count({StateObject::NetworkConfig, {networkId, 0}})) << "saved config deleted";
  EXPECT_FALSE(dataplane->leave("dpt/m3", networkId).ok());
  ASSERT_TRUE(dataplane->join("dpt/m3", networkId).ok());
  waitConfigured();
  EXPECT_EQ(configOf("m3").assignedAddresses, addresses);
  EXPECT_TRUE(pings(ns("m3"), addressOf(configOf("m1"), InetAddress::Family::V4)));
}

TEST_F(DataplaneLab, TapDeletedUnderneathIsReportedAndClosed) {
  waitConfigured();
  const std::string tap = interfaceNameOf(networkId);
  ASSERT_TRUE(shell("ip -n " + ns("m1").name() + " link del " + tap));
  ASSERT_TRUE(recorder.waitConfig("dpt/m1", networkId, [](const Recorder::SeenConfig& s) { return !s.applyError.empty(); }));
  const Recorder::SeenConfig seen = *recorder.config("dpt/m1", networkId);
  EXPECT_EQ(seen.interfaceName, "");
  EXPECT_NE(seen.applyError.find("dpt/m1: network " + nwid + " interface " + tap + ": TAP: read"), std::string::npos)
      << seen.applyError;
  Result<json> status = dataplane->status("dpt/m1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["networks"][0]["interface"], "");
  EXPECT_TRUE(pings(ns("m2"), addressOf(configOf("m3"), InetAddress::Family::V4))) << "the others carry on";
}

TEST_F(DataplaneLab, DeauthorisedMemberIsCutOff) {
  waitConfigured();
  const InetAddress m1 = addressOf(configOf("m1"), InetAddress::Family::V4),
                    m2 = addressOf(configOf("m2"), InetAddress::Family::V4);
  ASSERT_TRUE(pings(ns("m3"), m1));
  Result<bool> set = dataplane->setMember(
      "dpt/ctl", {{"nwid", nwid}, {"id", identities["m3"].address().toString()}, {"authorized", false}});
  ASSERT_TRUE(set.ok()) << set.error();
  bool cutOff = false;
  for (int i = 0; i < 10 && !cutOff; ++i) cutOff = !shell("ip netns exec " + ns("m3").name() + " ping -c1 -W1 " + m1.ipString());
  EXPECT_TRUE(cutOff);
  EXPECT_FALSE(pings(ns("m1"), addressOf(configOf("m3"), InetAddress::Family::V4)));
  EXPECT_TRUE(pings(ns("m1"), m2)) << "the others stay connected";
  Result<json> members = dataplane->memberStatus("dpt/ctl", networkId);
  ASSERT_TRUE(members.ok());
  EXPECT_NE(members->dump().find("\"address\":\"" + identities["m3"].address().toString() + "\",\"authorized\":false"),
            std::string::npos)
      << members->dump();
}

TEST_F(DataplaneLab, NetlinkFailureIsAPortErrorNamingPodNetworkAndInterface) {
  waitConfigured();
  // A gateway on no subnet of ours: the kernel refuses the route.
  json network = recorder.records("dpt/ctl").networks.at(0);
  network["routes"].push_back({{"target", "198.19.201.0/24"}, {"via", "198.19.99.1"}});
  network["routes"][0]["target"] = "198.19.1.0/24";  // the addresses become /24: 198.19.99.1 is off-link
  ASSERT_TRUE(dataplane->setNetwork("dpt/ctl", network).ok());
  ASSERT_TRUE(recorder.waitConfig("dpt/m1", networkId, [](const Recorder::SeenConfig& s) { return !s.applyError.empty(); }));
  const std::string error = recorder.config("dpt/m1", networkId)->applyError;
  EXPECT_NE(error.find("dpt/m1"), std::string::npos) << error;
  EXPECT_NE(error.find(nwid), std::string::npos) << error;
  EXPECT_NE(error.find(interfaceNameOf(networkId)), std::string::npos) << error;
  EXPECT_NE(error.find("add route 198.19.201.0/24 via 198.19.99.1"), std::string::npos) << error;
  Result<json> status = dataplane->status("dpt/m1");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["networks"][0]["status"], "PORT_ERROR");
}

TEST(Dataplane, AttachErrorsNameThePod) {
  Recorder recorder;
  Dataplane dataplane(recorder, 1);
  PodOptions o;
  o.key = "dpt/missing";
  o.netnsPath = "/var/run/netns/dpt-does-not-exist";
  o.bind = *InetAddress::parse("0.0.0.0/0");
  Result<PodInfo> info = dataplane.attach(o);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().find("dpt/missing"), std::string::npos) << info.error();
  EXPECT_NE(info.error().find("dpt-does-not-exist"), std::string::npos) << info.error();
  EXPECT_FALSE(dataplane.status("dpt/missing").ok());
  o.bind = {};
  info = dataplane.attach(o);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error(), "dpt/missing: no UDP bind address");
  o.bind = *InetAddress::parse("0.0.0.0/0");
  o.netnsPath = "";
  o.state[{StateObject::IdentitySecret, {0, 0}}] = bytesOf("not an identity");
  info = dataplane.attach(o);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().find("dpt/missing"), std::string::npos) << info.error();
}

TEST(Dataplane, PodKeysAreUniqueAndControllerRecordsAreChecked) {
  test::ScopedNetns solo("dpt-solo");
  Recorder recorder;
  Dataplane dataplane(recorder, 1);
  PodOptions o;
  o.key = "dpt/solo";
  o.netnsPath = solo.path();
  o.bind = *InetAddress::parse("127.0.0.1/0");
  o.state[{StateObject::IdentitySecret, {0, 0}}] = bytesOf(vectorIdentity(0));
  Result<PodInfo> first = dataplane.attach(o);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_NE(first->udpLocal.port, 0) << "port 0 picks one";
  Result<PodInfo> again = dataplane.attach(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), "dpt/solo: already attached");
  Result<bool> set = dataplane.setMember("dpt/solo", {{"nwid", "0000000000000001"}, {"id", "0000000001"}});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error(), "dpt/solo: runs no network controller");

  o.key = "dpt/ctl";
  o.state[{StateObject::IdentitySecret, {0, 0}}] = bytesOf(vectorIdentity(1));
  o.controller = ControllerSetup{{json{{"id", "not a network id"}}}, {}};
  Result<PodInfo> bad = dataplane.attach(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("dpt/ctl: controller network record", 0), 0u) << bad.error();
  EXPECT_FALSE(dataplane.status("dpt/ctl").ok()) << "a failed attach leaves nothing behind";
  EXPECT_TRUE(dataplane.detach("dpt/solo").ok());
  EXPECT_FALSE(dataplane.detach("dpt/solo").ok());
}

}  // namespace
}  // namespace zt::dataplane
