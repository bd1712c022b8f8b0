// The seam between a Node and the network controller it may run (vl2-config-controller.md §8):
// the node hands NETWORK_CONFIG_REQUESTs for its networks to a NetconfMaster and sends the
// messages it returns. Sans-I/O on both sides: the controller never touches the wire.
#pragma once
#include <cstdint>
#include <vector>

#include "address.hpp"
#include "crypto/identity.hpp"
#include "util/bytes.hpp"
#include "vl2/dictionary.hpp"
#include "wire/packet.hpp"

namespace zt {

struct NetconfMessage {
  enum class Kind : uint8_t {
    ConfigReply,  // OK in re NETWORK_CONFIG_REQUEST `inRePacketId`; payload = one config chunk
    ConfigPush,   // NETWORK_CONFIG; payload = one config chunk
    Error,        // ERROR in re NETWORK_CONFIG_REQUEST: code, network id, then payload (may be empty)
    Credentials,  // NETWORK_CREDENTIALS; payload = the whole verb payload (e.g. a revocation)
  };
  Kind kind = Kind::ConfigReply;
  Address to;
  uint64_t networkId = 0;
  uint64_t inRePacketId = 0;  // ConfigReply, Error (0: a re-run without a request: not sent)
  wire::ErrorCode error = wire::ErrorCode::None;
  Bytes payload;
};

class NetconfMaster {
 public:
  virtual ~NetconfMaster() = default;
  // A request from `member` for one of our networks. packetId 0 marks our own request, handed
  // over directly (then ConfigReply messages come back to us without a packet id).
  virtual std::vector<NetconfMessage> handleRequest(int64_t now, const Identity& member, uint64_t packetId,
                                                    uint64_t networkId, const Dictionary& metadata) = 0;
};

}  // namespace zt
