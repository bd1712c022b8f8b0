#include "lab.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "crypto/armor.hpp"

// Every replaceable form is defined, all on malloc/free, so that no allocation made by one
// allocator is freed by another (AddressSanitizer reports that as a mismatch).
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  if (zt::lab::countingAllocations) ++zt::lab::allocationsCounted;
  return std::malloc(size ? size : 1);
}
void* operator new(size_t size) {
  if (void* p = operator new(size, std::nothrow)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return operator new(size, std::nothrow); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace zt::lab {

InetAddress labAddress(uint8_t host) { return InetAddress::v4({198, 18, 0, host}, 9993); }

// ---- LabHost

std::optional<Bytes> LabHost::stateGet(StateObject type, const StateId& id) {
  auto it = store.find({type, id});
  if (it == store.end()) return std::nullopt;
  return it->second;
}

void LabHost::statePut(StateObject type, const StateId& id, std::optional<ByteView> data) {
  ++puts[type];
  if (data) store[{type, id}] = Bytes(data->begin(), data->end());
  else store.erase({type, id});
}

std::vector<NodeHost::StateId> LabHost::stateList(StateObject type) {
  std::vector<StateId> ids;
  for (const auto& [key, value] : store)
    if (key.first == type) ids.push_back(key.second);
  return ids;
}

void LabHost::onEvent(Event e, std::string_view detail) {
  events.push_back(e);
  lastDetail = std::string(detail);
}

bool LabHost::wirePacketSend(int64_t, const InetAddress& to, ByteView data, unsigned) {
  net_.send(*this, to, data);
  return true;
}

void LabHost::virtualNetworkFrame(uint64_t networkId, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, uint16_t,
                                  ByteView payload) {
  if (onFrame) onFrame(etherType, payload);
  else if (recordFrames) frames.push_back({networkId, srcMac, dstMac, etherType, Bytes(payload.begin(), payload.end())});
}

int LabHost::virtualNetworkConfig(uint64_t, VirtualNetworkConfigOperation op, const VirtualNetworkConfig& config) {
  configOps.push_back(op);
  lastConfig = config;
  return 0;
}

bool LabHost::fired(Event e) const { return std::find(events.begin(), events.end(), e) != events.end(); }

size_t LabHost::framesFrom(uint64_t srcMac, uint16_t etherType) const {
  return size_t(std::count_if(frames.begin(), frames.end(), [&](const DeliveredFrame& f) {
    return f.srcMac == srcMac && f.etherType == etherType;
  }));
}

// ---- Underlay

void Underlay::send(const LabHost& from, const InetAddress& to, ByteView data) {
  if (intercept && intercept(from, to, data)) return;
  const bool counting = countingAllocations;
  countingAllocations = false;
  log.push_back({from.addr(), to, Bytes(data.begin(), data.end())});
  inFlight.push_back(log.back());
  countingAllocations = counting;
}

void Underlay::deliverAll() {
  for (int guard = 0; !inFlight.empty() && guard < 100000; ++guard) {
    Datagram d = std::move(inFlight.front());
    inFlight.pop_front();
    if (filter && !filter(d)) continue;
    auto it = hosts.find(d.to.toString());
    if (it == hosts.end() || !it->second->node) continue;
    ProcessResult r = it->second->node->processWirePacket(now, 0, d.from, d.data);
    it->second->deadline = std::min(it->second->deadline, r.nextDeadline);
  }
}

void Underlay::run(int64_t ms) {
  for (int64_t end = now + ms; now < end; now += 10) {
    deliverAll();
    for (auto& [addr, h] : hosts)
      if (h->node && now >= h->deadline) h->deadline = h->node->processBackgroundTasks(now).nextDeadline;
    deliverAll();
  }
}

void Underlay::inject(LabHost& to, const InetAddress& from, ByteView data) {
  to.node->processWirePacket(now, 0, from, data);
  deliverAll();
}

// ---- worlds

KeyPair freshKeyPair() {
  KeyPair k;
  randomBytes(k.secret);
  k.pub = publicKeyOf(k.secret);
  return k;
}

World makePlanet(const Identity& root, const InetAddress& endpoint, uint64_t timestamp, const KeyPair& signer,
                 const PublicKey& nextKey) {
  World w;
  w.type = World::Planet;
  w.id = World::kPublicPlanetId;
  w.timestamp = timestamp;
  w.updatesMustBeSignedBy = nextKey;
  w.roots.push_back({root.publicOnly(), {endpoint}});
  w.sign(signer.secret, signer.pub);
  return w;
}

// ---- Lab

LabHost& Lab::addHost(uint8_t host, const std::optional<std::string>& secret, NodeOptions options,
                      const std::optional<World>& world) {
  auto h = std::make_unique<LabHost>(net, labAddress(host));
  if (secret) {
    h->store[{StateObject::IdentitySecret, {0, 0}}] = Bytes(secret->begin(), secret->end());
    if (Result<Identity> id = Identity::fromString(*secret)) h->identity = std::move(*id);
  }
  h->store[{StateObject::Planet, {0, 0}}] = (world ? *world : planet).serialize();
  boot(*h, options);
  LabHost& ref = *h;
  net.hosts[ref.addr().toString()] = &ref;
  owned.push_back(std::move(h));
  return ref;
}

void Lab::boot(LabHost& h, NodeOptions options) {
  Result<std::unique_ptr<Node>> node = Node::create(h, net.now, options);
  if (!node) throw std::runtime_error("lab host " + h.addr().toString() + ": " + node.error());
  h.node = std::move(*node);
  h.deadline = net.now;
}

}  // namespace zt::lab
