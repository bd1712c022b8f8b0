// What we hold about one peer on one network (vl2-config-controller.md §7): the credentials it
// presented (COM, capabilities, tags, ownership certificates), revocation thresholds, whether it
// is gated in (§7.7), and when we last pushed our own credentials to it (§7.8).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "crypto/identity.hpp"
#include "vl2/credentials.hpp"
#include "vl2/netconf.hpp"
#include "vl2/rules_engine.hpp"

namespace zt {

enum class CredentialResult : uint8_t { Rejected, Redundant, Accepted };

class Membership {
 public:
  static constexpr int64_t kPushInterval = 500000;        // re-push before frames after this
  static constexpr int64_t kPushOnErrorInterval = 1000;    // after NEED_MEMBERSHIP_CERTIFICATE

  // Each add* checks the credential against our config and the controller's identity. `ours` is
  // the config we hold (credentials are refused without one, except revocations).
  CredentialResult addCom(const NetworkConfig* ours, const Identity& controller, const CertificateOfMembership& com);
  CredentialResult addCapability(const NetworkConfig* ours, const Identity& controller, const Capability& cap);
  CredentialResult addTag(const NetworkConfig* ours, const Identity& controller, const Tag& tag);
  CredentialResult addCoo(const NetworkConfig* ours, const Identity& controller, const CertificateOfOwnership& coo);
  CredentialResult addRevocation(const Identity& controller, const Revocation& revocation);

  // §7.7: public network, or a COM above the revocation threshold that agrees with ours.
  bool gated(const NetworkConfig* ours, const Identity& peer) const;

  // Rebuilds the views the rules engine reads (valid, unrevoked, within ctmd of our config);
  // called when credentials change and on the housekeeping tick, never per frame.
  void refresh(const NetworkConfig* ours);
  // Our config changed: gating is decided afresh, credentials re-validated.
  void configChanged(const NetworkConfig* ours) {
    agreement_.reset();
    refresh(ours);
  }
  std::span<const Capability> capabilities() const { return validCapabilities_; }
  std::span<const TagValue> tags() const { return validTags_; }
  std::span<const CertificateOfOwnership> coos() const { return validCoos_; }

  // §7.8: whether a push is due before a frame (or after an ERROR when `afterError`).
  bool pushDue(int64_t now, int64_t configChangedAt, bool afterError) const;
  void pushed(int64_t now) { lastPushed_ = now; }

  const std::optional<CertificateOfMembership>& com() const { return com_; }

  int64_t lastLikeSent = 0;  // full group list sent to this member (frames file §3.3)

 private:
  bool withinDelta(const NetworkConfig* ours, uint64_t timestamp) const;
  bool revoked(CredentialType type, uint32_t id, uint64_t timestamp) const;

  std::optional<CertificateOfMembership> com_;
  uint64_t comRevocationThreshold_ = 0;
  std::map<uint32_t, Capability> capabilities_;
  std::map<uint32_t, Tag> tags_;
  std::map<uint32_t, CertificateOfOwnership> coos_;
  std::map<std::pair<CredentialType, uint32_t>, uint64_t> revocationThresholds_;
  std::vector<Capability> validCapabilities_;
  std::vector<TagValue> validTags_;
  std::vector<CertificateOfOwnership> validCoos_;
  int64_t lastPushed_ = -1;  // -1: never
  // COM agreement hashes the peer's identity: computed once per COM, threshold and config, not
  // per frame. Cleared when any of those changes.
  mutable std::optional<bool> agreement_;
};

}  // namespace zt
