#include "vl2/network.hpp"

#include <algorithm>
#include <random>

#include "crypto/armor.hpp"
#include "node.hpp"
#include "vl2/ndp.hpp"

namespace zt {

using wire::Verb;

namespace {

constexpr uint16_t kEtherTypeArp = 0x0806, kEtherTypeIpv6 = 0x86dd;
constexpr size_t kMaxMulticastPayload = 10000;
constexpr size_t kMaxGatherTargets = 16;
constexpr size_t kLikeRecordLength = 18;
// Records per LIKE packet, so packets stay under 10,024 bytes.
constexpr size_t kLikesPerPacket = (wire::kMaxPacketLength - wire::kPayloadOffset) / kLikeRecordLength;

const char* platformName() {
#if defined(__x86_64__)
  return "linux/x86_64";
#elif defined(__aarch64__)
  return "linux/aarch64";
#else
  return "linux/unknown";
#endif
}

// An IPv4 ARP request (§3.2): its target protocol address picks the group.
bool isArpRequest(uint16_t etherType, ByteView p) {
  return etherType == kEtherTypeArp && p.size() >= 28 && p[2] == 0x08 && p[3] == 0x00 && p[4] == 6 && p[5] == 4 &&
         p[7] == 1;
}

FrameMeta frameMeta(uint64_t networkId, FrameDirection direction, Address sender, Address receiver, uint64_t srcMac,
                    uint64_t dstMac, uint16_t etherType, ByteView payload) {
  FrameMeta m;
  m.networkId = networkId;
  m.direction = direction;
  m.sender = sender;
  m.receiver = receiver;
  m.sourceMac = macBytes(srcMac);
  m.destMac = macBytes(dstMac);
  m.etherType = etherType;
  m.payload = payload;
  return m;
}

void writeOkHeader(Writer& w, Verb inRe, uint64_t packetId) { w.u8(uint8_t(inRe)).u64(packetId); }

}  // namespace

const char* virtualNetworkStatusName(VirtualNetworkStatus s) {
  switch (s) {
    case VirtualNetworkStatus::RequestingConfiguration: return "REQUESTING_CONFIGURATION";
    case VirtualNetworkStatus::Ok: return "OK";
    case VirtualNetworkStatus::AccessDenied: return "ACCESS_DENIED";
    case VirtualNetworkStatus::NotFound: return "NOT_FOUND";
    case VirtualNetworkStatus::PortError: return "PORT_ERROR";
    case VirtualNetworkStatus::ClientTooOld: return "CLIENT_TOO_OLD";
    case VirtualNetworkStatus::AuthenticationRequired: return "AUTHENTICATION_REQUIRED";
  }
  return "UNKNOWN";
}

Network::Network(NetworkEnvironment& env, uint64_t networkId)
    : env_(env), id_(networkId), mac_(memberMac(env.selfIdentity().address(), networkId)) {}

Network::~Network() = default;

// ================================================================================================
// Lifecycle and the host's view
// ================================================================================================

void Network::start(int64_t now) {
  std::optional<Bytes> saved = env_.host().stateGet(StateObject::NetworkConfig, {id_, 0});
  if (saved && saved->size() > 1) {
    Result<Dictionary> dict = Dictionary::parse(*saved);
    Result<NetworkConfig> parsed = dict ? NetworkConfig::fromDictionary(*dict) : fail(dict.error());
    if (parsed && parsed->networkId == id_ && parsed->issuedTo == self()) adopt(now, std::move(*parsed));
  } else if (!saved) {
    persist();  // the placeholder of a network without a config
  }
  reportToHost(VirtualNetworkConfigOperation::Up);
  // A member waiting for its addresses should not wait for the next 5 s tick.
  if (!config_) requestConfig(now);
}

void Network::stop(bool destroy) {
  if (destroy) env_.host().statePut(StateObject::NetworkConfig, {id_, 0}, std::nullopt);
  reportToHost(destroy ? VirtualNetworkConfigOperation::Destroy : VirtualNetworkConfigOperation::Down);
}

VirtualNetworkConfig Network::describe() const {
  VirtualNetworkConfig c;
  c.networkId = id_;
  c.mac = mac_;
  c.portError = portError_;
  if (portError_ != 0) c.status = VirtualNetworkStatus::PortError;
  else if (failure_ != VirtualNetworkStatus::Ok) c.status = failure_;
  else c.status = config_ ? VirtualNetworkStatus::Ok : VirtualNetworkStatus::RequestingConfiguration;
  if (config_) {
    c.name = config_->name;
    c.type = config_->type;
    c.mtu = config_->mtu;
    c.bridge = isActiveBridge(self());
    c.broadcastEnabled = config_->broadcastEnabled();
    c.netconfRevision = config_->revision;
    c.assignedAddresses = config_->assignedAddresses;
    c.routes = config_->routes;
    c.dns = config_->dns;
  }
  c.multicastSubscriptions = ownGroups();
  return c;
}

void Network::reportToHost(VirtualNetworkConfigOperation op) {
  if (op == VirtualNetworkConfigOperation::ConfigUpdate && !portUp_) op = VirtualNetworkConfigOperation::Up;
  const int error = env_.host().virtualNetworkConfig(id_, op, describe());
  if (op == VirtualNetworkConfigOperation::Up || op == VirtualNetworkConfigOperation::ConfigUpdate) {
    portUp_ = true;
    portError_ = error;
  } else {
    portUp_ = false;
  }
}

void Network::persist() {
  static constexpr uint8_t kPlaceholder[] = {'\n'};
  if (config_) env_.host().statePut(StateObject::NetworkConfig, {id_, 0}, config_->toDictionary().serialize());
  else env_.host().statePut(StateObject::NetworkConfig, {id_, 0}, ByteView(kPlaceholder));
}

bool Network::isActiveBridge(Address a) const {
  if (!config_) return false;
  return std::any_of(config_->specialists.begin(), config_->specialists.end(), [&](const Specialist& s) {
    return s.address() == a && (s.roles() & Specialist::kActiveBridge);
  });
}

std::vector<Address> Network::activeBridges() const {
  std::vector<Address> out;
  if (config_)
    for (const Specialist& s : config_->specialists)
      if (s.roles() & Specialist::kActiveBridge) out.push_back(s.address());
  return out;
}

std::vector<MulticastGroup> Network::ownGroups() const {
  std::vector<MulticastGroup> out(subscriptions_.begin(), subscriptions_.end());
  const MulticastGroup broadcast{kBroadcastMac, 0};
  if (config_ && config_->broadcastEnabled() && !subscriptions_.count(broadcast)) out.push_back(broadcast);
  return out;
}

bool Network::subscribesTo(const MulticastGroup& group) const {
  return subscriptions_.count(group) ||
         (config_ && config_->broadcastEnabled() && group == MulticastGroup{kBroadcastMac, 0});
}

// The controller, the roots and the always-contact specialists, sorted, without us.
std::vector<Address> Network::upstreams(int64_t now) const {
  (void)now;
  std::vector<Address> out = env_.rootAddresses();
  out.push_back(controller());
  if (config_)
    for (const Specialist& s : config_->specialists)
      if (s.roles() & (Specialist::kAnchor | Specialist::kMulticastReplicator)) out.push_back(s.address());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  std::erase(out, self());
  return out;
}

// ================================================================================================
// Timers
// ================================================================================================

void Network::tick(int64_t now) {
  const int64_t interval = config_ ? kRequestIntervalConfigured : kRequestIntervalUnconfigured;
  if (!config_ || lastConfigTime_ == 0 || now - lastConfigTime_ >= interval) requestConfig(now);
  multicast_.expire(now);
  if (!config_) return;
  if (now - lastUpstreamLike_ >= kLikeInterval) {
    lastUpstreamLike_ = now;
    const std::vector<MulticastGroup> groups = ownGroups();
    for (Address up : upstreams(now)) announce(now, up, groups);
  }
  const std::vector<Address> up = upstreams(now);
  for (auto& [peer, m] : members_) {
    if (std::binary_search(up.begin(), up.end(), peer)) continue;
    m.refresh(config());
    if (now - m.lastLikeSent < kLikeInterval) continue;
    std::optional<Identity> identity = env_.peerIdentity(now, peer);
    if (identity && m.gated(config(), *identity)) {
      m.lastLikeSent = now;
      announce(now, peer, ownGroups());
    }
  }
}

// ================================================================================================
// Config requests and replies (vl2-config-controller.md §2-3, §5.4)
// ================================================================================================

void Network::requestConfig(int64_t now) {
  if ((id_ >> 56) == 0xff) return;  // ad-hoc ids never go on the wire
  lastRequest_ = now;
  Dictionary metadata;
  metadata.setNumber("v", 7);
  metadata.setNumber("vend", 1);
  metadata.setNumber("pv", 12);
  metadata.setNumber("majv", 1);
  metadata.setNumber("minv", 14);
  metadata.setNumber("revv", 1);
  metadata.setNumber("mr", kMaxNetworkRules);
  metadata.setNumber("mc", NetworkConfig::kMaxCapabilities);
  metadata.setNumber("mcr", kMaxCapabilityRules);
  metadata.setNumber("mt", NetworkConfig::kMaxTags);
  metadata.setNumber("f", 0);
  metadata.setNumber("revr", 1);
  metadata.setString("o", platformName());
  const Bytes dict = metadata.serialize();
  if (controller() == self()) return env_.requestOwnConfig(now, id_, dict);
  const uint64_t revision = config_ ? config_->revision : 0, timestamp = config_ ? config_->timestamp : 0;
  env_.send(now, controller(), Verb::NetworkConfigRequest, [&](Writer& w) {
    w.u64(id_).u16(uint16_t(dict.size())).bytes(dict).u64(revision).u64(timestamp);
  }, {.compress = true, .expectReply = true});
}

std::optional<Identity> Network::controllerIdentity(int64_t now) {
  if (controller() == self()) return env_.selfIdentity().publicOnly();
  return env_.peerIdentity(now, controller());
}

void Network::receiveConfigChunk(int64_t now, Address sender, uint64_t packetId, const wire::NetworkConfigChunk& chunk,
                                 bool push) {
  if (!chunk.signedPart) {
    // Legacy form: the whole config, only as an answer from the controller itself.
    if (!push && sender == controller()) applyDictionary(now, chunk.chunk, sender, packetId, false);
    return;
  }
  const wire::NetworkConfigChunk::Signed& s = *chunk.signedPart;
  if (uint64_t(s.index) + chunk.chunk.size() > s.totalLength || s.totalLength >= kConfigCapacity) return;
  if (s.signatureType != 1 || s.signature.size() != Signature{}.size()) return;
  uint64_t chunkId = 0;
  for (size_t j = 0; j < 8; ++j) chunkId = chunkId << 8 | uint8_t(s.signature[j] ^ s.signature[j + 8]);

  Assembly* slot = nullptr;
  for (Assembly& a : assemblies_)
    if (a.updateId == s.updateId) slot = &a;
  if (slot && std::find(slot->chunkIds.begin(), slot->chunkIds.end(), chunkId) != slot->chunkIds.end()) return;
  if (!slot) slot = &*std::min_element(assemblies_.begin(), assemblies_.end(),
                                       [](const Assembly& a, const Assembly& b) { return a.lastUsed < b.lastUsed; });
  std::optional<Identity> signer = controllerIdentity(now);
  if (!signer || !signer->verify(chunk.signedMessage(), s.signature)) return;

  if (s.flags & wire::NetworkConfigChunk::kFlagFastPropagation) {
    for (const auto& [peer, m] : members_) {
      if (peer == sender || peer == controller()) continue;
      env_.send(now, peer, Verb::NetworkConfig, [&](Writer& w) { chunk.write(w); }, {.compress = true});
    }
  }
  if (slot->updateId != s.updateId || slot->data.size() != s.totalLength) {
    *slot = Assembly{};
    slot->updateId = s.updateId;
    slot->data.assign(s.totalLength, 0);
  }
  slot->lastUsed = now;
  if (slot->chunkIds.size() > kConfigCapacity / 1024) return;
  slot->chunkIds.push_back(chunkId);
  std::copy(chunk.chunk.begin(), chunk.chunk.end(), slot->data.begin() + s.index);
  slot->received += chunk.chunk.size();
  if (slot->received != s.totalLength) return;
  const Bytes whole = std::move(slot->data);
  const uint64_t updateId = slot->updateId;
  *slot = Assembly{};
  slot->updateId = updateId;  // later duplicates of this update stay recognisable
  applyDictionary(now, whole, sender, packetId, push);
  if (push) {
    // 1.14's acknowledgement quotes ECHO as the in-re verb (spec §3.2 step 8).
    env_.send(now, sender, Verb::Ok, [&](Writer& w) {
      writeOkHeader(w, Verb::Echo, packetId);
      w.u64(id_).u64(updateId);
    }, {});
  }
}

void Network::applyDictionary(int64_t now, ByteView dictionary, Address sender, uint64_t pushPacketId, bool push) {
  (void)sender, (void)pushPacketId, (void)push;
  Result<Dictionary> dict = Dictionary::parse(dictionary);
  if (!dict) return;
  Result<NetworkConfig> parsed = NetworkConfig::fromDictionary(*dict);
  if (!parsed || parsed->networkId != id_ || parsed->issuedTo != self()) return;
  lastConfigTime_ = now;
  applyConfig(now, std::move(*parsed));
}

void Network::applyConfig(int64_t now, NetworkConfig next) {
  const bool changed = !config_ || !(*config_ == next);
  if (!changed && failure_ == VirtualNetworkStatus::Ok) return;
  failure_ = VirtualNetworkStatus::Ok;
  if (changed) {
    // A config that enables broadcast makes the broadcast group one of ours: a joined group.
    const MulticastGroup broadcast[] = {{kBroadcastMac, 0}};
    const bool hadBroadcast = subscribesTo(broadcast[0]);
    adopt(now, std::move(next));
    persist();
    if (!hadBroadcast && subscribesTo(broadcast[0])) announceJoined(now, broadcast);
  }
  reportToHost(VirtualNetworkConfigOperation::ConfigUpdate);
}

// Takes a config as ours: our tags for the rules, our credentials for pushes (§7.8: a push is
// due to every peer again), the peers' credentials re-validated against its timestamp.
void Network::adopt(int64_t now, NetworkConfig next) {
  config_ = std::move(next);
  configChangedAt_ = now;
  ownTags_.clear();
  for (const Tag& t : config_->tags) ownTags_.push_back({t.id, t.value});
  CredentialBundle bundle;
  if (config_->com) bundle.coms.push_back(*config_->com);
  bundle.capabilities = config_->capabilities;
  bundle.tags = config_->tags;
  bundle.coos = config_->coos;
  credentialPush_ = bundle.write();
  for (auto& [peer, m] : members_) m.configChanged(config());
}

void Network::receiveControllerError(int64_t now, Address sender, wire::ErrorCode code) {
  (void)now;
  if (sender != controller()) return;
  VirtualNetworkStatus status;
  switch (code) {
    case wire::ErrorCode::ObjNotFound:
    case wire::ErrorCode::UnsupportedOperation: status = VirtualNetworkStatus::NotFound; break;
    case wire::ErrorCode::NetworkAccessDenied: status = VirtualNetworkStatus::AccessDenied; break;
    case wire::ErrorCode::NetworkAuthenticationRequired: status = VirtualNetworkStatus::AuthenticationRequired; break;
    default: return;
  }
  if (failure_ == status) return;
  failure_ = status;
  reportToHost(VirtualNetworkConfigOperation::ConfigUpdate);
}

// ================================================================================================
// Credentials and gating (vl2-config-controller.md §7)
// ================================================================================================

Membership* Network::gatedIn(int64_t now, const Identity& peer) {
  Membership& m = membership(peer.address());
  if (!m.gated(config(), peer)) return nullptr;
  if (now - m.lastLikeSent >= kLikeInterval) {
    const std::vector<Address> up = upstreams(now);
    if (!std::binary_search(up.begin(), up.end(), peer.address())) {
      m.lastLikeSent = now;
      announce(now, peer.address(), ownGroups());
    }
  }
  return &m;
}

bool Network::gated(int64_t now, Address peer) {
  std::optional<Identity> identity = env_.peerIdentity(now, peer);
  return identity && membership(peer).gated(config(), *identity);
}

void Network::needCertificate(int64_t now, Address peer, uint8_t verb, uint64_t packetId) {
  env_.send(now, peer, Verb::Error, [&](Writer& w) {
    w.u8(verb).u64(packetId).u8(uint8_t(wire::ErrorCode::NeedMembershipCertificate)).u64(id_);
  }, {});
}

void Network::pushCredentialsIfDue(int64_t now, Address peer, bool afterError) {
  if (!config_ || !config_->com || peer == self()) return;
  Membership& m = membership(peer);
  if (!m.pushDue(now, configChangedAt_, afterError)) return;
  m.pushed(now);
  env_.send(now, peer, Verb::NetworkCredentials, [&](Writer& w) { w.bytes(credentialPush_); }, {.compress = true});
}

void Network::receiveNeedCertificate(int64_t now, Address sender) { pushCredentialsIfDue(now, sender, true); }

void Network::receiveCom(int64_t now, Address sender, const CertificateOfMembership& com) {
  (void)sender;
  if (com.networkId() != id_ || com.issuedTo() == self()) return;
  if (std::optional<Identity> c = controllerIdentity(now)) membership(com.issuedTo()).addCom(config(), *c, com);
}

void Network::receiveCapability(int64_t now, Address sender, const Capability& cap) {
  (void)sender;
  if (cap.networkId != id_ || cap.issuedTo() == self()) return;
  if (std::optional<Identity> c = controllerIdentity(now)) membership(cap.issuedTo()).addCapability(config(), *c, cap);
}

void Network::receiveTag(int64_t now, Address sender, const Tag& tag) {
  (void)sender;
  if (tag.networkId != id_ || tag.issuedTo == self()) return;
  if (std::optional<Identity> c = controllerIdentity(now)) membership(tag.issuedTo).addTag(config(), *c, tag);
}

void Network::receiveCoo(int64_t now, Address sender, const CertificateOfOwnership& coo) {
  (void)sender;
  if (coo.networkId != id_ || coo.issuedTo == self()) return;
  if (std::optional<Identity> c = controllerIdentity(now)) membership(coo.issuedTo).addCoo(config(), *c, coo);
}

void Network::receiveRevocation(int64_t now, Address sender, const Revocation& revocation) {
  if (revocation.networkId != id_) return;
  std::optional<Identity> c = controllerIdentity(now);
  if (!c) return;
  Membership& target = membership(revocation.target);
  if (target.addRevocation(*c, revocation) != CredentialResult::Accepted) return;
  target.refresh(config());
  if (!(revocation.flags & Revocation::kFlagFastPropagation)) return;
  for (const auto& [peer, m] : members_) {
    if (peer == sender || peer == revocation.signer || peer == self()) continue;
    env_.send(now, peer, Verb::NetworkCredentials, [&](Writer& w) {
      w.u8(0).u16(0).u16(0).u16(1);
      revocation.write(w);
      w.u16(0);
    }, {.compress = true});
  }
}

// ================================================================================================
// Unicast frames (frames file §2)
// ================================================================================================

// Rules that open with ACCEPT (the default) accept every frame, both ways, before any match, copy
// or capability: the verdict needs nothing from the frame, and unicast skips the rules altogether.
bool Network::acceptsEveryFrame() const {
  return !config_->rules.empty() && config_->rules.front().type == RuleType::ActionAccept;
}

RulesVerdict Network::evaluate(FrameDirection direction, Address sender, Address receiver, uint64_t srcMac,
                               uint64_t dstMac, uint16_t etherType, ByteView payload, const Membership* peer) {
  if (acceptsEveryFrame()) {
    RulesVerdict accept;
    accept.action = RulesAction::Accept;
    accept.networkResult = ListResult::Accept;
    return accept;
  }
  const FrameMeta meta = frameMeta(id_, direction, sender, receiver, srcMac, dstMac, etherType, payload);
  RulesContext context;
  context.networkRules = config_->rules;
  context.unknownMatchesMatch = config_->flags & NetworkConfig::kFlagRulesUnknownMatch;
  if (direction == FrameDirection::Outbound) {
    context.capabilities = config_->capabilities;
    context.senderTags = ownTags_;
    if (peer) context.receiverTags = peer->tags();
    context.ownership = config_->coos;
  } else {
    if (peer) {
      context.capabilities = peer->capabilities();
      context.senderTags = peer->tags();
      context.ownership = peer->coos();
    }
    context.receiverTags = ownTags_;
    if (config_->ndpEmulation()) context.ndpEmulatedAddresses = config_->assignedAddresses;
  }
  return evaluateRules(meta, context, random_);
}

void Network::sendExtFrame(int64_t now, Address to, uint8_t flags, uint64_t srcMac, uint64_t dstMac,
                           uint16_t etherType, ByteView payload, bool compress) {
  env_.send(now, to, Verb::ExtFrame, [&](Writer& w) {
    w.u64(id_).u8(flags);
    wire::writeMac(w, dstMac);
    wire::writeMac(w, srcMac);
    w.u16(etherType).bytes(payload);
  }, {.compress = compress, .expectReply = bool(flags & wire::ExtFrame::kFlagAckWanted)});
}

// TEE/WATCH copies of §5.3 step 4: the first `length` bytes, original MACs, LZ4 offered.
void Network::sendCopies(int64_t now, FrameDirection direction, const RulesVerdict& verdict, uint64_t srcMac,
                         uint64_t dstMac, uint16_t etherType, ByteView payload) {
  for (const RuleCopy* copy : {&verdict.networkCopy, &verdict.capabilityCopy}) {
    if (copy->target.value == 0) continue;
    const size_t length = std::min<size_t>(payload.size(), copy->length);
    sendExtFrame(now, copy->target, copyFrameFlags(direction, *copy), srcMac, dstMac, etherType,
                 payload.first(length), !(config_->flags & NetworkConfig::kFlagDisableCompression));
  }
}

void Network::sendFromHost(int64_t now, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload) {
  if (!config_) return;
  if (srcMac != mac_ && !isActiveBridge(self())) return;
  if (isMulticastMac(dstMac)) {
    MulticastGroup group{dstMac, 0};
    if (dstMac == kBroadcastMac) {
      if (isArpRequest(etherType, payload)) group.adi = uint32_t(loadU64(payload.data() + 20));  // target IPv4 at 24..27
      else if (!config_->broadcastEnabled()) return;
    } else if (config_->ndpEmulation() && etherType == kEtherTypeIpv6) {
      if (std::optional<EmulatedNeighbor> answer = emulateNeighborSolicitation(
              id_, self(), config_->assignedAddresses, etherType, payload)) {
        env_.host().virtualNetworkFrame(id_, memberMac(answer->owner, id_), srcMac, kEtherTypeIpv6, 0,
                                        answer->advertisement);
        return;
      }
    }
    return sendMulticast(now, srcMac, group, etherType, payload);
  }
  if (dstMac == mac_) return env_.host().virtualNetworkFrame(id_, srcMac, dstMac, etherType, 0, payload);
  if (isMemberMac(dstMac, id_)) return sendUnicast(now, srcMac, dstMac, etherType, payload);
  sendBridged(now, srcMac, dstMac, etherType, payload);
}

void Network::sendUnicast(int64_t now, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload) {
  const Address to = macMember(dstMac, id_);
  if (!acceptsEveryFrame()) {
    auto known = members_.find(to);
    const RulesVerdict verdict = evaluate(FrameDirection::Outbound, self(), to, srcMac, dstMac, etherType, payload,
                                          known == members_.end() ? nullptr : &known->second);
    if (!verdict.accepted()) return;
    sendCopies(now, FrameDirection::Outbound, verdict, srcMac, dstMac, etherType, payload);
    if (verdict.redirectTarget.value != 0) {
      return sendExtFrame(now, verdict.redirectTarget, redirectFrameFlags(FrameDirection::Outbound), srcMac, dstMac,
                          etherType, payload, !(config_->flags & NetworkConfig::kFlagDisableCompression));
    }
  }
  pushCredentialsIfDue(now, to, false);
  if (srcMac != mac_) return sendExtFrame(now, to, 0x00, srcMac, dstMac, etherType, payload, false);
  env_.send(now, to, Verb::Frame, [&](Writer& w) {
    uint8_t head[10];  // network id and ethertype in one append, then the payload
    storeU64(head, id_);
    storeU16(head + 8, etherType);
    w.bytes(head).bytes(payload);
  }, {});
}

void Network::sendBridged(int64_t now, uint64_t srcMac, uint64_t dstMac, uint16_t etherType, ByteView payload) {
  const RulesVerdict first = evaluate(FrameDirection::Outbound, self(), Address{}, srcMac, dstMac, etherType, payload, nullptr);
  if (!first.accepted()) return;
  std::vector<Address> recipients;
  auto learned = bridgeRoutes_.find(dstMac);
  if (learned != bridgeRoutes_.end() && learned->second != self() && isActiveBridge(learned->second)) {
    recipients.push_back(learned->second);
  } else {
    recipients = activeBridges();
    std::erase(recipients, self());
    if (recipients.size() > 32) {
      std::shuffle(recipients.begin(), recipients.end(), std::mt19937_64(randomU64()));
      recipients.resize(32);
    }
  }
  for (Address to : recipients) {
    auto known = members_.find(to);
    if (evaluate(FrameDirection::Outbound, self(), to, srcMac, dstMac, etherType, payload,
                 known == members_.end() ? nullptr : &known->second).accepted())
      sendExtFrame(now, to, 0x00, srcMac, dstMac, etherType, payload, false);
  }
}

bool Network::deliverInbound(int64_t now, const Identity& sender, const Membership& m, uint64_t srcMac, uint64_t dstMac,
                             uint16_t etherType, ByteView payload, bool checkAddressing) {
  RulesAction action = RulesAction::Accept;
  if (!acceptsEveryFrame()) {
    const RulesVerdict verdict = evaluate(FrameDirection::Inbound, sender.address(), self(), srcMac, dstMac, etherType,
                                          payload, &m);
    if (!verdict.accepted()) return true;
    sendCopies(now, FrameDirection::Inbound, verdict, srcMac, dstMac, etherType, payload);
    if (verdict.redirectTarget.value != 0) {
      sendExtFrame(now, verdict.redirectTarget, redirectFrameFlags(FrameDirection::Inbound), srcMac, dstMac, etherType,
                   payload, !(config_->flags & NetworkConfig::kFlagDisableCompression));
      return true;
    }
    action = verdict.action;
  }
  if (checkAddressing && action == RulesAction::Accept) {
    if (srcMac != memberMac(sender.address(), id_)) {
      if (!isActiveBridge(sender.address())) return false;
      learnBridgeRoute(srcMac, sender.address());
    } else if (dstMac != mac_) {
      if (isMulticastMac(dstMac) ? config_->multicastLimit == 0 : !isActiveBridge(self())) return false;
    }
  }
  env_.host().virtualNetworkFrame(id_, srcMac, dstMac, etherType, 0, payload);
  return true;
}

void Network::receiveFrame(int64_t now, const Identity& sender, uint64_t packetId, const wire::Frame& frame) {
  const Membership* m = gatedIn(now, sender);
  if (!m) return needCertificate(now, sender.address(), uint8_t(Verb::Frame), packetId);
  if (frame.payload.empty()) return;
  deliverInbound(now, sender, *m, memberMac(sender.address(), id_), mac_, frame.etherType, frame.payload, false);
}

void Network::receiveExtFrame(int64_t now, const Identity& sender, uint64_t packetId, const wire::ExtFrame& frame) {
  if (frame.flags & wire::ExtFrame::kFlagCom) {
    Reader r(frame.com);
    if (Result<CertificateOfMembership> com = CertificateOfMembership::read(r)) receiveCom(now, sender.address(), *com);
  }
  const Membership* m = gatedIn(now, sender);
  if (!m) return needCertificate(now, sender.address(), uint8_t(Verb::ExtFrame), packetId);
  if (frame.sourceMac == 0 || frame.sourceMac == mac_) return;
  if (!frame.payload.empty() &&
      !deliverInbound(now, sender, *m, frame.sourceMac, frame.destinationMac, frame.etherType, frame.payload, true))
    return;
  if (frame.flags & wire::ExtFrame::kFlagAckWanted) {
    env_.send(now, sender.address(), Verb::Ok, [&](Writer& w) {
      writeOkHeader(w, Verb::ExtFrame, packetId);
      w.u64(id_);
    }, {});
  }
}

// ================================================================================================
// Multicast (frames file §3)
// ================================================================================================

void Network::subscribe(int64_t now, const MulticastGroup& group) {
  if (!subscriptions_.insert(group).second) return;
  const MulticastGroup one[] = {group};
  announceJoined(now, one);
}

// Groups we just joined go out at once (§3.3), to every upstream and every gated member, so that
// a sender's gather finds us without waiting for the 60 s announcement.
void Network::announceJoined(int64_t now, std::span<const MulticastGroup> groups) {
  for (Address up : upstreams(now)) announce(now, up, groups);
  for (const auto& [peer, m] : members_) {
    std::optional<Identity> identity = env_.peerIdentity(now, peer);
    if (identity && m.gated(config(), *identity)) announce(now, peer, groups);
  }
}

void Network::unsubscribe(const MulticastGroup& group) { subscriptions_.erase(group); }

void Network::announce(int64_t now, Address to, std::span<const MulticastGroup> groups) {
  for (size_t start = 0; start < groups.size(); start += kLikesPerPacket) {
    const auto part = groups.subspan(start, std::min(kLikesPerPacket, groups.size() - start));
    env_.send(now, to, Verb::MulticastLike, [&](Writer& w) {
      for (const MulticastGroup& g : part) {
        w.u64(id_);
        g.write(w);
      }
    }, {.compress = true});
  }
}

void Network::learnSubscriber(int64_t now, const MulticastGroup& group, Address member) {
  if (member == self() || member.reserved()) return;
  multicast_.learn(now, group, member);
  for (QueuedMulticast* q : multicast_.pendingFor(group, member)) {
    q->sentTo.push_back(member);
    sendMulticastTo(now, member, q->sourceMac, q->group, q->etherType, q->payload, 0);
  }
}

void Network::receiveLike(int64_t now, const Identity& sender, const MulticastGroup& group) {
  if (gatedIn(now, sender) || env_.rootMode()) learnSubscriber(now, group, sender.address());
}

void Network::receiveGatherResults(int64_t now, const MulticastGroup& group, const wire::GatherResults& results) {
  for (Address a : results.addresses) learnSubscriber(now, group, a);
}

void Network::receiveGather(int64_t now, const Identity& sender, uint64_t packetId, const wire::MulticastGather& gather) {
  if (gather.flags & wire::MulticastGather::kFlagCom) {
    Reader r(gather.com);
    if (Result<CertificateOfMembership> com = CertificateOfMembership::read(r)) receiveCom(now, sender.address(), *com);
  }
  if (gather.gatherLimit == 0 || !(gatedIn(now, sender) || env_.rootMode())) return;
  const wire::GatherResults results =
      gatherResults(multicast_, gather.group, sender.address(), gather.gatherLimit, self(), subscribesTo(gather.group));
  if (results.addresses.empty()) return;
  env_.send(now, sender.address(), Verb::Ok, [&](Writer& w) {
    writeOkHeader(w, Verb::MulticastGather, packetId);
    wire::OkMulticastGather{id_, gather.group, results}.write(w);
  }, {.compress = true});
}

void Network::sendGather(int64_t now, const MulticastGroup& group, uint32_t limit) {
  multicast_.gathered(now, group);
  std::vector<Address> targets;
  if (Address root = env_.bestRoot(now); root.value != 0) targets.push_back(root);
  targets.push_back(controller());
  for (const Specialist& s : config_->specialists)
    if (s.roles() & (Specialist::kAnchor | Specialist::kMulticastReplicator)) targets.push_back(s.address());
  std::sort(targets.begin(), targets.end());
  targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
  std::erase(targets, self());
  if (targets.size() > kMaxGatherTargets) targets.resize(kMaxGatherTargets);
  for (Address to : targets) {
    env_.send(now, to, Verb::MulticastGather, [&](Writer& w) {
      w.u64(id_).u8(config_->com ? wire::MulticastGather::kFlagCom : 0);
      group.write(w);
      w.u32(limit);
      if (config_->com) config_->com->write(w);
    }, {.compress = true, .expectReply = true});
  }
}

void Network::sendMulticastTo(int64_t now, Address to, uint64_t srcMac, const MulticastGroup& group,
                              uint16_t etherType, ByteView payload, uint32_t gatherLimit) {
  auto known = members_.find(to);
  if (!evaluate(FrameDirection::Outbound, self(), to, srcMac, group.mac, etherType, payload,
                known == members_.end() ? nullptr : &known->second).accepted())
    return;
  pushCredentialsIfDue(now, to, false);
  uint8_t flags = gatherLimit ? wire::MulticastFrame::kFlagGatherLimit : 0;
  if (srcMac != mac_) flags |= wire::MulticastFrame::kFlagSourceMac;
  env_.send(now, to, Verb::MulticastFrame, [&](Writer& w) {
    w.u64(id_).u8(flags);
    if (gatherLimit) w.u32(gatherLimit);
    if (srcMac != mac_) wire::writeMac(w, srcMac);
    group.write(w);
    w.u16(etherType).bytes(payload);
  }, {.compress = !(config_->flags & NetworkConfig::kFlagDisableCompression), .expectReply = gatherLimit != 0});
}

void Network::sendMulticast(int64_t now, uint64_t srcMac, const MulticastGroup& group, uint16_t etherType,
                            ByteView payload) {
  const unsigned limit = unsigned(config_->multicastLimit);
  if (limit == 0) return;
  const RulesVerdict first = evaluate(FrameDirection::Outbound, self(), Address{}, srcMac, group.mac, etherType,
                                      payload, nullptr);
  if (!first.accepted()) return;
  sendCopies(now, FrameDirection::Outbound, first, srcMac, group.mac, etherType, payload);

  std::vector<Address> known = multicast_.subscribers(group);
  std::erase(known, self());
  std::shuffle(known.begin(), known.end(), std::mt19937_64(randomU64()));
  std::vector<Address> bridges = activeBridges();
  std::erase(bridges, self());
  std::vector<Address> recipients;
  for (Address a : bridges)
    if (recipients.size() < limit) recipients.push_back(a);
  for (Address a : known)
    if (recipients.size() < limit && std::find(recipients.begin(), recipients.end(), a) == recipients.end())
      recipients.push_back(a);

  uint32_t gatherLimit = 1;
  if (known.size() < limit) {
    gatherLimit = uint32_t(limit - known.size() + 1);
    if (known.empty() || multicast_.gatherDue(now, group, false)) sendGather(now, group, gatherLimit);
    QueuedMulticast& queued = multicast_.enqueue(
        {group, srcMac, etherType, Bytes(payload.begin(), payload.end()), limit, self(), recipients,
         now + MulticastState::kQueueTimeout});
    (void)queued;
  }
  for (Address to : recipients) sendMulticastTo(now, to, srcMac, group, etherType, payload, gatherLimit);
}

void Network::receiveMulticastFrame(int64_t now, const Identity& sender, uint64_t packetId,
                                    const wire::MulticastFrame& frame) {
  if (frame.flags & wire::MulticastFrame::kFlagCom) {
    Reader r(frame.com);
    if (Result<CertificateOfMembership> com = CertificateOfMembership::read(r)) receiveCom(now, sender.address(), *com);
  }
  if (!gatedIn(now, sender)) return needCertificate(now, sender.address(), uint8_t(Verb::MulticastFrame), packetId);
  if (config_->multicastLimit == 0) return;
  const uint64_t srcMac = (frame.flags & wire::MulticastFrame::kFlagSourceMac) ? frame.sourceMac
                                                                               : memberMac(sender.address(), id_);
  if (!frame.payload.empty() && frame.payload.size() <= kMaxMulticastPayload) {
    if (!isMulticastMac(frame.group.mac) || srcMac == 0 || isMulticastMac(srcMac) || srcMac == mac_) return;
    if (srcMac != memberMac(sender.address(), id_)) {
      if (!isActiveBridge(sender.address())) return;
      learnBridgeRoute(srcMac, sender.address());
    }
    const Membership& m = membership(sender.address());
    const RulesVerdict verdict = evaluate(FrameDirection::Inbound, sender.address(), self(), srcMac, frame.group.mac,
                                          frame.etherType, frame.payload, &m);
    if (verdict.accepted()) {
      sendCopies(now, FrameDirection::Inbound, verdict, srcMac, frame.group.mac, frame.etherType, frame.payload);
      env_.host().virtualNetworkFrame(id_, srcMac, frame.group.mac, frame.etherType, 0, frame.payload);
    }
  }
  if (!(frame.flags & wire::MulticastFrame::kFlagGatherLimit) || frame.gatherLimit == 0) return;
  const wire::GatherResults results = gatherResults(multicast_, frame.group, sender.address(), frame.gatherLimit,
                                                    self(), subscribesTo(frame.group));
  if (results.addresses.empty()) return;
  env_.send(now, sender.address(), Verb::Ok, [&](Writer& w) {
    writeOkHeader(w, Verb::MulticastFrame, packetId);
    w.u64(id_);
    frame.group.write(w);
    w.u8(wire::OkMulticastFrame::kFlagGatherResults);
    results.write(w);
  }, {.compress = true});
}

}  // namespace zt
