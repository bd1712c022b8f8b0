#include "vl2/membership.hpp"

namespace zt {

namespace {

uint64_t distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

// Keeps the newest credential per id; an older or identical one is redundant.
template <class Credential>
CredentialResult keepNewest(std::map<uint32_t, Credential>& held, const Credential& offered) {
  auto it = held.find(offered.id);
  if (it != held.end() && (it->second == offered || it->second.timestamp > offered.timestamp))
    return CredentialResult::Redundant;
  held[offered.id] = offered;
  return CredentialResult::Accepted;
}

}  // namespace

bool Membership::withinDelta(const NetworkConfig* ours, uint64_t timestamp) const {
  return ours && distance(timestamp, ours->timestamp) <= ours->credentialTimeMaxDelta;
}

bool Membership::revoked(CredentialType type, uint32_t id, uint64_t timestamp) const {
  auto it = revocationThresholds_.find({type, id});
  return it != revocationThresholds_.end() && timestamp <= it->second;
}

CredentialResult Membership::addCom(const NetworkConfig* ours, const Identity& controller,
                                    const CertificateOfMembership& com) {
  if (!ours || com.timestamp() <= comRevocationThreshold_) return CredentialResult::Rejected;
  if (com_) {
    if (com.timestamp() < com_->timestamp()) return CredentialResult::Rejected;
    if (com == *com_) return CredentialResult::Redundant;
  }
  if (com.signer != controller.address() || !com.verify(controller)) return CredentialResult::Rejected;
  com_ = com;
  agreement_.reset();
  return CredentialResult::Accepted;
}

CredentialResult Membership::addCapability(const NetworkConfig* ours, const Identity& controller,
                                           const Capability& cap) {
  if (!withinDelta(ours, cap.timestamp) || revoked(CredentialType::Capability, cap.id, cap.timestamp) ||
      !cap.verify(controller))
    return CredentialResult::Rejected;
  CredentialResult r = keepNewest(capabilities_, cap);
  if (r == CredentialResult::Accepted) refresh(ours);
  return r;
}

CredentialResult Membership::addTag(const NetworkConfig* ours, const Identity& controller, const Tag& tag) {
  if (!withinDelta(ours, tag.timestamp) || revoked(CredentialType::Tag, tag.id, tag.timestamp) ||
      tag.signer != controller.address() || !tag.verify(controller))
    return CredentialResult::Rejected;
  CredentialResult r = keepNewest(tags_, tag);
  if (r == CredentialResult::Accepted) refresh(ours);
  return r;
}

CredentialResult Membership::addCoo(const NetworkConfig* ours, const Identity& controller,
                                    const CertificateOfOwnership& coo) {
  if (!withinDelta(ours, coo.timestamp) || revoked(CredentialType::Coo, coo.id, coo.timestamp) ||
      coo.signer != controller.address() || !coo.verify(controller))
    return CredentialResult::Rejected;
  CredentialResult r = keepNewest(coos_, coo);
  if (r == CredentialResult::Accepted) refresh(ours);
  return r;
}

CredentialResult Membership::addRevocation(const Identity& controller, const Revocation& revocation) {
  if (revocation.signer != controller.address() || !revocation.verify(controller)) return CredentialResult::Rejected;
  switch (revocation.credentialType) {
    case CredentialType::Com:
      if (revocation.threshold <= comRevocationThreshold_) return CredentialResult::Redundant;
      comRevocationThreshold_ = revocation.threshold;
      agreement_.reset();
      return CredentialResult::Accepted;
    case CredentialType::Capability:
    case CredentialType::Tag:
    case CredentialType::Coo: {
      uint64_t& threshold = revocationThresholds_[{revocation.credentialType, revocation.credentialId}];
      if (revocation.threshold <= threshold) return CredentialResult::Redundant;
      threshold = revocation.threshold;
      comRevocationThreshold_ = revocation.threshold;  // 1.14: cuts the member off as well
      agreement_.reset();
      return CredentialResult::Accepted;
    }
    default:
      return CredentialResult::Rejected;
  }
}

bool Membership::gated(const NetworkConfig* ours, const Identity& peer) const {
  if (!ours) return false;
  if (ours->isPublic()) return true;
  if (!agreement_)
    agreement_ = com_ && ours->com && com_->timestamp() > comRevocationThreshold_ && ours->com->agreesWith(*com_, peer);
  return *agreement_;
}

void Membership::refresh(const NetworkConfig* ours) {
  validCapabilities_.clear();
  validTags_.clear();
  validCoos_.clear();
  for (const auto& [id, cap] : capabilities_)
    if (withinDelta(ours, cap.timestamp) && !revoked(CredentialType::Capability, id, cap.timestamp))
      validCapabilities_.push_back(cap);
  for (const auto& [id, tag] : tags_)
    if (withinDelta(ours, tag.timestamp) && !revoked(CredentialType::Tag, id, tag.timestamp))
      validTags_.push_back({tag.id, tag.value});
  for (const auto& [id, coo] : coos_)
    if (withinDelta(ours, coo.timestamp) && !revoked(CredentialType::Coo, id, coo.timestamp))
      validCoos_.push_back(coo);
}

bool Membership::pushDue(int64_t now, int64_t configChangedAt, bool afterError) const {
  if (lastPushed_ < configChangedAt) return true;
  return now - lastPushed_ > (afterError ? kPushOnErrorInterval : kPushInterval);
}

}  // namespace zt
